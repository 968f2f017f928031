//! OAuth against a real OAuth server: panva's oidc-provider (`tests/oauth/provider.mjs`, installed
//! into `.tools/oauth` by `cargo xtask test`), started by each test on 127.0.0.1:0 with 3-second
//! access tokens. A small browser follows its redirects, keeping its cookies, until they reach
//! the bridge's loopback listener.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::future::join_all;
use mailbridge::oauth::{
    AccessTokens, Connected, ConsentError, GrantInfo, MAIL_SCOPE, OAuthClient, Pkce, RefreshTokens,
    TokenConfig, TokenError, TokenHealth,
};
use mailbridge::store::StoreError;
use protocol::Secret;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::oauth_provider::{Browser, Provider};

const USER: &str = "user@example.com";

#[tokio::test]
async fn consent_gives_tokens_and_a_refresh_gives_a_new_access_token() {
    let provider = Provider::start();
    let client = provider.client();
    let (connected, page) = provider.connect(&client, USER).await;
    let connected = connected.unwrap_or_else(|error| provider.fail(&format!("consent: {error}")));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("mailbridge is connected; you can close this tab."),
        "{}",
        page.body
    );
    assert_eq!(connected.scope, MAIL_SCOPE);
    assert_eq!(connected.tokens.expires_in, Duration::from_secs(3));
    assert!(provider.active(&connected.tokens.access_token).await);
    let debug = format!("{connected:?}");
    for secret in [&connected.tokens.access_token, &connected.refresh_token] {
        assert!(!debug.contains(secret.expose()), "{debug}");
    }

    let refreshed = mailbridge::oauth::refresh(&client, &connected.refresh_token).await;
    let refreshed = refreshed.unwrap_or_else(|error| provider.fail(&format!("refresh: {error}")));
    assert_ne!(refreshed.access_token, connected.tokens.access_token);
    assert!(provider.active(&refreshed.access_token).await);
    provider.sync().await;
    assert_eq!(provider.grants("authorization_code"), 1);
    assert_eq!(provider.grants("refresh_token"), 1);
}

#[tokio::test]
async fn the_callback_port_is_closed_after_one_use() {
    let provider = Provider::start();
    let client = provider.client();
    let consent = provider.consent(&client, USER).await;
    let port = consent.port();
    let mut browser = Browser::new();
    let callback = browser
        .follow_to_listener(&provider, consent.url(), port)
        .await;
    let (page, connected) = tokio::join!(browser.get(&callback), consent.finish(&client));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(connected.is_ok(), "{connected:?}");
    // Reloading the tab, or anyone else, finds nothing there.
    assert_closed(port).await;
}

#[tokio::test]
async fn a_state_mismatch_is_refused_and_closes_the_listener() {
    let provider = Provider::start();
    let client = provider.client();
    let consent = provider.consent(&client, USER).await;
    let port = consent.port();
    let mut browser = Browser::new();
    let callback = browser
        .follow_to_listener(&provider, consent.url(), port)
        .await;
    let forged = replace_param(&callback, "state", "forged-by-another-tab");
    let (page, result) = tokio::join!(browser.get(&forged), consent.finish(&client));
    assert!(
        matches!(result, Err(ConsentError::StateMismatch)),
        "{result:?}"
    );
    assert_eq!(page.status, 400);
    assert!(page.body.contains("state does not match"), "{}", page.body);
    assert_closed(port).await;
    // The code was never sent to the server.
    provider.sync().await;
    assert_eq!(provider.grants("authorization_code"), 0);
}

#[tokio::test]
async fn a_code_without_its_pkce_verifier_is_refused_by_the_server() {
    let provider = Provider::start();
    let client = provider.client();
    let consent = provider.consent(&client, USER).await;
    let mut browser = Browser::new();
    let callback = browser
        .follow_to_listener(&provider, consent.url(), consent.port())
        .await;
    // Someone who intercepted the redirect has the code but not the verifier.
    let code = Secret::new(param(&callback, "code").unwrap_or_default());
    let intercepted = mailbridge::oauth::exchange_code(
        &client,
        &code,
        consent.redirect_uri(),
        &Pkce::new().verifier,
    )
    .await;
    match &intercepted {
        Err(TokenError::Refused { status, error, .. }) => {
            assert_eq!((*status, error.error.as_str()), (400, "invalid_grant"));
            assert_eq!(
                error.description.as_deref(),
                Some("grant request is invalid")
            );
        }
        other => provider.fail(&format!("a wrong verifier gave {other:?}")),
    }
    assert!(
        intercepted
            .as_ref()
            .map_err(ToString::to_string)
            .is_err_and(|text| text.contains("refused: invalid_grant")),
        "{intercepted:?}"
    );
    provider.sync().await;
    assert_eq!(provider.errors("invalid_grant"), 1);
    assert_eq!(provider.grants("authorization_code"), 0);
    // The listener, which has the verifier, still connects with the same code.
    let (page, connected) = tokio::join!(browser.get(&callback), consent.finish(&client));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(connected.is_ok(), "{connected:?}");
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once_for_many_callers() {
    let provider = Provider::start();
    let client = provider.client();
    let (connected, _) = provider.connect(&client, USER).await;
    let connected = connected.unwrap_or_else(|error| provider.fail(&format!("consent: {error}")));
    let store = Arc::new(Store::default());
    let tokens = AccessTokens::new(store.clone(), TokenConfig::default());
    if let Err(error) = tokens.connected("work", &connected).await {
        provider.fail(&format!("storing the connection: {error}"));
    }
    assert_eq!(
        store.get("work").ok().flatten(),
        Some(connected.refresh_token.clone())
    );
    let first = tokens.access_token("work", &client).await;
    assert_eq!(first.as_ref().ok(), Some(&connected.tokens.access_token));

    // The server's clock decides expiry, so this waits for it: 3 s tokens.
    tokio::time::sleep(connected.tokens.expires_in + Duration::from_millis(300)).await;
    assert!(!provider.active(&connected.tokens.access_token).await);
    let calls = (0..16).map(|_| tokens.access_token("work", &client));
    let results = join_all(calls).await;
    let fresh = match &results[0] {
        Ok(token) => token.clone(),
        Err(error) => provider.fail(&format!("refresh: {error}")),
    };
    assert_ne!(fresh, connected.tokens.access_token);
    for result in &results {
        assert_eq!(result.as_ref().ok(), Some(&fresh));
    }
    assert!(provider.active(&fresh).await);
    provider.sync().await;
    assert_eq!(provider.grants("refresh_token"), 1);
    let health = tokens
        .health("work", Some(&grant(&client, &connected)))
        .await;
    assert!(
        matches!(
            &health,
            TokenHealth::Healthy {
                expires_in: Some(_),
                warning: None,
                ..
            }
        ),
        "{health:?}"
    );
}

#[tokio::test]
async fn a_revoked_refresh_token_means_sign_in_again_with_the_servers_error() {
    let provider = Provider::start();
    let client = provider.client();
    let (connected, _) = provider.connect(&client, USER).await;
    let connected = connected.unwrap_or_else(|error| provider.fail(&format!("consent: {error}")));
    if let Err(error) = mailbridge::oauth::revoke(&client, &connected.refresh_token).await {
        provider.fail(&format!("revoke: {error}"));
    }
    // A bridge started later: the refresh token in the store, nothing in memory.
    let store = Arc::new(Store::default());
    let _ = store.set("work", &connected.refresh_token);
    let tokens = AccessTokens::new(store, TokenConfig::default());
    for _ in 0..2 {
        let result = tokens.access_token("work", &client).await;
        let error = result.as_ref().err().and_then(TokenError::oauth_error);
        assert_eq!(
            error.map(|e| (e.error.as_str(), e.description.as_deref())),
            Some(("invalid_grant", Some("grant request is invalid"))),
            "{result:?}"
        );
    }
    provider.sync().await;
    // The refused token was sent once; the second call was answered from memory.
    assert_eq!(provider.errors("invalid_grant"), 1);
    assert_eq!(provider.count("grant.revoked"), 1);
    assert!(!provider.active(&connected.tokens.access_token).await);
    match tokens
        .health("work", Some(&grant(&client, &connected)))
        .await
    {
        TokenHealth::SignInAgain {
            error,
            description,
            likely_causes,
        } => {
            assert_eq!(error, "invalid_grant");
            assert_eq!(description.as_deref(), Some("grant request is invalid"));
            assert!(!likely_causes.is_empty());
        }
        other => provider.fail(&format!("health after revocation: {other:?}")),
    }
}

#[tokio::test]
async fn an_expired_refresh_token_means_sign_in_again() {
    let provider = Provider::start();
    // This client's refresh tokens live 2 s, like a Testing consent screen's after 7 days.
    let client = provider.short_lived_client();
    let (connected, _) = provider.connect(&client, USER).await;
    let connected = connected.unwrap_or_else(|error| provider.fail(&format!("consent: {error}")));
    let store = Arc::new(Store::default());
    let _ = store.set("work", &connected.refresh_token);
    let tokens = AccessTokens::new(store, TokenConfig::default());
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let result = tokens.access_token("work", &client).await;
    let health = tokens
        .health("work", Some(&grant(&client, &connected)))
        .await;
    assert_eq!(
        result
            .as_ref()
            .err()
            .and_then(TokenError::oauth_error)
            .map(|e| e.error.as_str()),
        Some("invalid_grant"),
        "{result:?}"
    );
    assert_eq!(health.title(), "sign in again", "{health}");
}

#[tokio::test]
async fn a_declined_consent_says_so_to_the_browser_and_the_bridge() {
    let provider = Provider::start();
    let client = provider.client();
    let (result, page) = provider.connect(&client, "declines@example.com").await;
    match &result {
        Err(ConsentError::Denied(error)) => {
            assert_eq!(error.error, "access_denied");
            assert_eq!(
                error.description.as_deref(),
                Some("The user declined to give access.")
            );
        }
        other => provider.fail(&format!("a declined consent gave {other:?}")),
    }
    assert_eq!(page.status, 400);
    assert!(page.body.contains("access was not given"), "{}", page.body);
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_network_trouble_and_keeps_the_refresh_token() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|error| panic!("no free port: {error}"));
    let client = OAuthClient {
        token_uri: format!("http://127.0.0.1:{closed}/token"),
        ..OAuthClient::google("1.apps.example", &Secret::new("s"))
            .unwrap_or_else(|error| panic!("{error}"))
    };
    let store = Arc::new(Store::default());
    let _ = store.set("work", &Secret::new("refresh-token-kept"));
    let tokens = AccessTokens::new(store.clone(), TokenConfig::default());
    let result = tokens.access_token("work", &client).await;
    assert!(
        matches!(&result, Err(error @ TokenError::Network(_)) if error.is_transient()),
        "{result:?}"
    );
    let info = GrantInfo {
        client_id: client.client_id.clone(),
        scope: MAIL_SCOPE.to_owned(),
        consented_at: std::time::SystemTime::now(),
        last_refresh: None,
    };
    let health = tokens.health("work", Some(&info)).await;
    assert_eq!(health.title(), "network trouble", "{health}");
    assert!(health.to_string().contains("the refresh token is kept"));
    assert_eq!(
        store.get("work").ok().flatten(),
        Some(Secret::new("refresh-token-kept"))
    );
}

/// Fails if the callback listener still accepts on `port`, showing what it answers.
async fn assert_closed(port: u16) {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await else {
        return;
    };
    let local = stream.local_addr().map(|addr| addr.port());
    // With nothing listening, a connect that picks the port itself as its source port meets
    // itself (TCP simultaneous open): that too says the port is closed.
    if local.as_ref().is_ok_and(|&local| local == port) {
        return;
    }
    let _ = stream
        .write_all(b"GET /probe HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut answer)).await;
    // The freed port may already be another test's: only our listener's own page (which
    // names mailbridge waiting for the browser) means it is still open.
    if !String::from_utf8_lossy(&answer).contains("mailbridge waiting for a browser") {
        return;
    }
    panic!(
        "port {port} still accepts after the redirect (from local port {local:?}); it answered:\n{}",
        String::from_utf8_lossy(&answer)
    );
}

/// The refresh tokens, as the bridge's secret store would keep them.
#[derive(Default)]
struct Store(Mutex<HashMap<String, Secret>>);

impl RefreshTokens for Store {
    fn get(&self, account: &str) -> Result<Option<Secret>, StoreError> {
        let tokens = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(tokens.get(account).cloned())
    }

    fn set(&self, account: &str, refresh_token: &Secret) -> Result<(), StoreError> {
        let mut tokens = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        tokens.insert(account.to_owned(), refresh_token.clone());
        Ok(())
    }
}

/// What the bridge would keep beside the profile after `connected`.
fn grant(client: &OAuthClient, connected: &Connected) -> GrantInfo {
    GrantInfo {
        client_id: client.client_id.clone(),
        scope: connected.scope.clone(),
        consented_at: connected.consented_at,
        last_refresh: None,
    }
}

/// The raw value of `name` in `url`'s query.
fn param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.to_owned())
    })
}

fn replace_param(url: &str, name: &str, value: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let pairs = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key == name => format!("{key}={value}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>();
    format!("{base}?{}", pairs.join("&"))
}
