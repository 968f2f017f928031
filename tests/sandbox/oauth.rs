//! Bearer tokens checked with their issuer: a real oidc-provider (see `oauth_provider`) issues
//! them through a consent the bridge's OAuth client goes through, and the sandbox asks it about
//! each one by token introspection. Python's smtplib signs in with XOAUTH2; OAUTHBEARER, which
//! smtplib has no helper for, and the challenges as bytes go over a raw TLS client.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use diagnosis::OAuthChallenge;
use mailbridge::oauth::Connected;
use protocol::Secret;
use sandbox::Introspection;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};

use crate::oauth_provider::Provider;
use crate::sandbox::client::TlsClient;
use crate::support::{Fixture, PASSWORD, TOKEN, message, on_tls, python, start};

/// The account the provider's consent logs in, and the sandbox's.
const USER: &str = "user@example.com";
const ACCEPTED: &str = "2.7.0 Accepted";
const BAD_CREDENTIALS: &str = "5.7.8 Username and Password not accepted. For more information, go to\n\
                               5.7.8  https://support.google.com/mail/?p=BadCredentials <id> - gsmtp";
const XOAUTH2_JSON: &str =
    r#"{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#;
const UNAVAILABLE: &str = "4.7.0 Cannot authenticate due to temporary system problem. \
                           Try again later. <id> - gsmtp";

#[tokio::test]
async fn a_real_token_signs_in_with_both_mechanisms_until_it_expires() {
    let provider = Provider::start();
    let token = access_token(&provider, USER).await;
    let fixture = start_checking(&provider).await;
    let banner = fixture.banner();
    assert!(banner.contains("/token/introspection"), "{banner}");
    assert!(!banner.contains(&secret(&provider)), "{banner}");

    let run = python(
        &fixture,
        vec![on_tls(
            &fixture,
            vec![
                json!(["ehlo"]),
                json!(["auth", "XOAUTH2", USER, token.expose()]),
                json!([
                    "sendmail",
                    "ann@example.com",
                    ["bob@example.com"],
                    message("xoauth2")
                ]),
            ],
        )],
    )
    .await;
    let (_, ehlo) = run.reply(0, 1);
    if !ehlo.contains("\nAUTH LOGIN PLAIN XOAUTH2 OAUTHBEARER\n") {
        run.fail("EHLO over TLS offers OAUTHBEARER when tokens can be introspected");
    }
    run.assert_reply(0, 2, 235, ACCEPTED);
    if run.result(0, 2)["challenges"] != json!([]) || run.result(0, 3)["refused"] != json!({}) {
        run.fail("a good token gets no challenge, and its message is accepted");
    }

    let mut client = connect(&fixture).await;
    client
        .send(format!("AUTH OAUTHBEARER {}\r\n", oauthbearer(USER, token.expose())).as_bytes())
        .await;
    client.expect("235 2.7.0 Accepted").await;
    client.start_data().await;
    client
        .send(format!("{}.\r\n", message("oauthbearer")).as_bytes())
        .await;
    client.expect("250 2.0.0 OK").await;
    let mechanisms = captured_mechanisms(&fixture);
    assert_eq!(mechanisms, ["XOAUTH2", "OAUTHBEARER"]);

    // The provider's access tokens live 3 seconds; after that introspection calls it inactive.
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let run = python(
        &fixture,
        vec![on_tls(
            &fixture,
            vec![json!(["auth", "XOAUTH2", USER, token.expose()])],
        )],
    )
    .await;
    run.assert_reply(0, 1, 535, BAD_CREDENTIALS);
    if run.result(0, 1)["challenges"] != json!([XOAUTH2_JSON]) {
        run.fail("an expired token gets Gmail's JSON challenge before the 535");
    }
    let mut client = connect(&fixture).await;
    let challenge = refused(&mut client, "XOAUTH2", &xoauth2(USER, token.expose()), "").await;
    assert_eq!(challenge.status, "400");
    assert_eq!(
        challenge.scope.as_deref(),
        Some(mailbridge::oauth::MAIL_SCOPE)
    );
    assert_eq!(challenge.schemes.as_deref(), Some("Bearer"));
    let challenge = refused(
        &mut client,
        "OAUTHBEARER",
        &oauthbearer(USER, token.expose()),
        "AQ==",
    )
    .await;
    assert_eq!(challenge.status, "invalid_token");
    assert_eq!(
        challenge.scope.as_deref(),
        Some(mailbridge::oauth::MAIL_SCOPE)
    );
}

#[tokio::test]
async fn tokens_of_another_account_and_refresh_tokens_are_refused_and_the_fixed_token_works() {
    let provider = Provider::start();
    let eves = access_token(&provider, "eve@example.com").await;
    let connected = consent(&provider, USER).await;
    let fixture = start_checking(&provider).await;
    let logs = Logs::capture();
    let login =
        |user: &str, token: &str| on_tls(&fixture, vec![json!(["auth", "XOAUTH2", user, token])]);
    let run = python(
        &fixture,
        vec![
            login(USER, eves.expose()),
            login("eve@example.com", eves.expose()),
            login(USER, connected.refresh_token.expose()),
            login(USER, TOKEN),
            login(USER, connected.tokens.access_token.expose()),
        ],
    )
    .await;
    for (session, what) in [
        (0, "eve's token for user"),
        (1, "eve's token for eve, who is not the sandbox's account"),
        (2, "a refresh token as a bearer token"),
    ] {
        let got = run.reply(session, 1);
        if got != (535, BAD_CREDENTIALS.to_owned())
            || run.result(session, 1)["challenges"] != json!([XOAUTH2_JSON])
        {
            run.fail(&format!(
                "{what}: expected the challenge and 535, got {got:?}"
            ));
        }
    }
    run.assert_reply(3, 1, 235, ACCEPTED);
    run.assert_reply(4, 1, 235, ACCEPTED);

    let mut client = connect(&fixture).await;
    let challenge = refused(
        &mut client,
        "OAUTHBEARER",
        &oauthbearer(USER, eves.expose()),
        "AQ==",
    )
    .await;
    assert_eq!(challenge.status, "invalid_token");
    // Without an authorization identity the token must be the sandbox account's.
    let anonymous = STANDARD.encode(format!(
        "n,,\x01auth=Bearer {}\x01\x01",
        connected.tokens.access_token.expose()
    ));
    client
        .send(format!("AUTH OAUTHBEARER {anonymous}\r\n").as_bytes())
        .await;
    client.expect("235 2.7.0 Accepted").await;

    let text = logs.text();
    // Refused by the issuer's answer, each for its own reason.
    for reason in ["issued for another account", "not an access token"] {
        assert!(
            text.contains(reason),
            "no refusal {reason:?} in the log:\n{text}"
        );
    }
    for secret in [
        eves.expose(),
        connected.tokens.access_token.expose(),
        connected.refresh_token.expose(),
        &secret(&provider),
    ] {
        assert!(!text.contains(secret), "a secret reached the log:\n{text}");
    }
}

#[tokio::test]
async fn an_issuer_that_is_down_or_silent_gives_a_temporary_failure_and_blocks_no_one_else() {
    // A port nothing listens on, and a listener that accepts and never answers.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .and_then(|listener| listener.local_addr())
        .unwrap_or_else(|e| panic!("cannot bind: {e}"));
    let silent = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("cannot bind: {e}"));
    let silent_addr = silent
        .local_addr()
        .unwrap_or_else(|e| panic!("no address: {e}"));
    let held = Arc::new(Mutex::new(Vec::<TcpStream>::new()));
    let holder = Arc::clone(&held);
    let accepting = tokio::spawn(async move {
        while let Ok((stream, _)) = silent.accept().await {
            holder
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(stream);
        }
    });
    let introspecting = |addr: std::net::SocketAddr| {
        move |config: &mut sandbox::Config| {
            config.user = USER.to_owned();
            config.introspection = Some(Introspection {
                url: format!("http://{addr}/token/introspection"),
                client_id: "mailbridge-test.apps.example".to_owned(),
                client_secret: "issuer-down-secret".to_owned(),
            });
        }
    };
    let down = start("oauth-issuer-down", introspecting(closed)).await;
    let stalled = start("oauth-issuer-silent", introspecting(silent_addr)).await;
    let logs = Logs::capture();
    let token = "ya29.issuer-down-token";

    let run = python(
        &down,
        vec![on_tls(
            &down,
            vec![
                json!(["auth", "XOAUTH2", USER, token]),
                json!(["auth", "XOAUTH2", USER, TOKEN]),
            ],
        )],
    )
    .await;
    run.assert_reply(0, 1, 454, UNAVAILABLE);
    if run.result(0, 1)["challenges"] != json!([]) {
        run.fail("a temporary failure is not a challenge: the token may be good");
    }
    // The fixed token needs no issuer.
    run.assert_reply(0, 2, 235, ACCEPTED);

    // While one session waits for the silent issuer, another logs in at once.
    let waiting = python(
        &stalled,
        vec![on_tls(
            &stalled,
            vec![json!(["auth", "XOAUTH2", USER, token])],
        )],
    );
    let meanwhile = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        python(
            &stalled,
            vec![on_tls(
                &stalled,
                vec![json!(["auth", "PLAIN", USER, PASSWORD])],
            )],
        )
        .await
    };
    let (waiting, meanwhile) = tokio::join!(waiting, meanwhile);
    waiting.assert_reply(0, 1, 454, UNAVAILABLE);
    meanwhile.assert_reply(0, 1, 235, ACCEPTED);
    let waited = waiting.result(0, 1)["ms"].as_f64().unwrap_or_default();
    let plain = meanwhile.result(0, 1)["ms"].as_f64().unwrap_or_default();
    assert!(
        (4_500.0..15_000.0).contains(&waited),
        "the introspection timeout is 5 s; the login waited {waited} ms"
    );
    assert!(plain < 2_000.0, "PLAIN waited {plain} ms behind the stall");
    assert!(
        !held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty(),
        "the sandbox never reached the silent issuer"
    );
    accepting.abort();

    let text = logs.text();
    assert!(text.contains("token introspection failed"), "{text}");
    for secret in [token, "issuer-down-secret"] {
        assert!(!text.contains(secret), "a secret reached the log:\n{text}");
    }
}

/// A sandbox for [`USER`] that asks `provider` about tokens, as the client tokens are issued to
/// (oidc-provider lets a client introspect only its own).
async fn start_checking(provider: &Provider) -> Fixture {
    let client = provider.client();
    let introspection = Introspection {
        url: provider.endpoint("introspection_endpoint"),
        client_id: client.client_id.clone(),
        client_secret: client.client_secret.expose().to_owned(),
    };
    start("oauth-introspection", |config| {
        config.user = USER.to_owned();
        config.introspection = Some(introspection);
    })
    .await
}

/// A whole consent for `user` through the bridge's OAuth client.
async fn consent(provider: &Provider, user: &str) -> Connected {
    let (connected, page) = provider.connect(&provider.client(), user).await;
    connected
        .unwrap_or_else(|error| provider.fail(&format!("consent for {user}: {error} ({page:?})")))
}

async fn access_token(provider: &Provider, user: &str) -> Secret {
    consent(provider, user).await.tokens.access_token
}

fn secret(provider: &Provider) -> String {
    provider.client().client_secret.expose().to_owned()
}

fn xoauth2(user: &str, token: &str) -> String {
    STANDARD.encode(format!("user={user}\x01auth=Bearer {token}\x01\x01"))
}

fn oauthbearer(user: &str, token: &str) -> String {
    STANDARD.encode(format!(
        "n,a={user},\x01host=localhost\x01port=465\x01auth=Bearer {token}\x01\x01"
    ))
}

/// Greeted and EHLOed on the implicit-TLS port, not logged in.
async fn connect(fixture: &Fixture) -> TlsClient {
    let addr = fixture.tls_addr();
    let tcp = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
    let mut client = TlsClient::handshake(fixture, tcp, String::new()).await;
    client.expect("220 ").await;
    client.send(b"EHLO oauth.example\r\n").await;
    client.expect("250-localhost at your service").await;
    client
}

/// AUTH with `response`, which must get an error challenge; `answer` is sent back, and the 535
/// must follow. Gives the challenge, decoded as the bridge's diagnosis decodes it.
async fn refused(
    client: &mut TlsClient,
    mechanism: &str,
    response: &str,
    answer: &str,
) -> OAuthChallenge {
    client
        .send(format!("AUTH {mechanism} {response}\r\n").as_bytes())
        .await;
    let reply = client.expect("334 ").await;
    let challenge = OAuthChallenge::decode(&reply["334 ".len()..])
        .unwrap_or_else(|| panic!("{mechanism}: the 334 is not a JSON error: {reply:?}"));
    client.send(format!("{answer}\r\n").as_bytes()).await;
    client
        .expect("535-5.7.8 Username and Password not accepted.")
        .await;
    challenge
}

/// The AUTH mechanism of every captured message, oldest first.
fn captured_mechanisms(fixture: &Fixture) -> Vec<String> {
    let store = fixture.store();
    let mut summaries = store
        .list()
        .unwrap_or_else(|e| panic!("listing captures: {e}"));
    summaries.sort_by_key(|summary| summary.id);
    summaries
        .iter()
        .map(|summary| {
            store
                .get(summary.id)
                .ok()
                .flatten()
                .and_then(|message| message.auth_mechanism)
                .unwrap_or_default()
        })
        .collect()
}

/// Everything logged on this test's thread (its sandbox sessions run there too, on the
/// current-thread runtime of `#[tokio::test]`) while this is alive.
struct Logs {
    text: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl Logs {
    fn capture() -> Logs {
        let text = Arc::new(Mutex::new(Vec::new()));
        let writer = Writer(Arc::clone(&text));
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        Logs {
            text,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.text.lock().unwrap_or_else(PoisonError::into_inner))
            .into_owned()
    }
}

#[derive(Clone)]
struct Writer(Arc<Mutex<Vec<u8>>>);

impl io::Write for Writer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
