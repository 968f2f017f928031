//! The two SASL messages that carry a bearer token: Google's XOAUTH2 and OAUTHBEARER
//! (RFC 7628), and whether a token is good ([`check_token`]: the fixed token, then the issuer
//! through `introspect`), for the SMTP and IMAP sides alike.

use crate::introspect;
use crate::session::Shared;

/// Who logs in and with which token. It never derives `Debug`: the token must not reach a log.
#[derive(PartialEq, Eq)]
pub(crate) struct Bearer {
    pub user: Option<String>,
    pub token: Option<String>,
}

/// Splits XOAUTH2's `user=U\x01auth=Bearer T\x01\x01` into the user and token.
pub(crate) fn parse_xoauth2(decoded: &[u8]) -> Bearer {
    let text = String::from_utf8_lossy(decoded);
    let mut bearer = Bearer {
        user: None,
        token: None,
    };
    for field in text.split('\x01') {
        if let Some(value) = field.strip_prefix("user=") {
            bearer.user = Some(value.to_owned());
        } else if let Some(value) = field.strip_prefix("auth=") {
            bearer.token = bearer_token(value);
        }
    }
    bearer
}

/// Splits OAUTHBEARER's `n,a=U,\x01host=H\x01port=P\x01auth=Bearer T\x01\x01`: a GS2 header
/// (RFC 5801) with an optional authorization identity, then key=value pairs. `None` when the
/// header is malformed or asks for channel binding, which no SMTP server offers.
pub(crate) fn parse_oauthbearer(decoded: &[u8]) -> Option<Bearer> {
    let text = String::from_utf8_lossy(decoded);
    let (flag, rest) = text.split_once(',')?;
    if flag != "n" && flag != "y" {
        return None;
    }
    let (authzid, pairs) = rest.split_once(',')?;
    let user = match authzid {
        "" => None,
        other => Some(saslname(other.strip_prefix("a=")?)?),
    };
    let pairs = pairs.strip_prefix('\x01')?;
    let token = pairs
        .split('\x01')
        .find_map(|pair| pair.strip_prefix("auth="))
        .and_then(bearer_token);
    Some(Bearer { user, token })
}

/// The token of an `auth=` value: `Bearer T`, the scheme in any case (RFC 6750 section 2.1).
fn bearer_token(value: &str) -> Option<String> {
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("Bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// RFC 5801's saslname: `,` and `=` come escaped as `=2C` and `=3D`; any other `=` is an error.
fn saslname(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('=') {
        out.push_str(&rest[..at]);
        let escape = rest.get(at..at + 3)?;
        out.push(match escape {
            "=2C" | "=2c" => ',',
            "=3D" | "=3d" => '=',
            _ => return None,
        });
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    Some(out)
}

/// What became of a bearer token.
pub(crate) enum TokenCheck {
    Accepted,
    Refused,
    /// The issuer could not be asked.
    Unavailable,
}

/// The fixed token first, then the issuer. `session` names the session in the debug log;
/// neither the token nor the client secret is ever logged.
pub(crate) async fn check_token(
    shared: &Shared,
    session: &str,
    user: &str,
    token: Option<&str>,
) -> TokenCheck {
    let config = &shared.config;
    let Some(token) = token else {
        return TokenCheck::Refused;
    };
    // One account, as everywhere in the sandbox: a token for anyone else is never good.
    if !user.eq_ignore_ascii_case(&config.user) {
        return TokenCheck::Refused;
    }
    if config.oauth_token.as_deref() == Some(token) {
        return TokenCheck::Accepted;
    }
    let Some(introspector) = shared.introspector.clone() else {
        return TokenCheck::Refused;
    };
    match introspector.check(token, user).await {
        introspect::Verdict::Accepted => {
            tracing::debug!(session, "the issuer vouched for a bearer token");
            TokenCheck::Accepted
        }
        introspect::Verdict::Refused(why) => {
            tracing::debug!(session, reason = why.as_str(), "bearer token refused");
            TokenCheck::Refused
        }
        introspect::Verdict::Unavailable(error) => {
            tracing::warn!(
                session,
                endpoint = %introspector.describe(),
                %error,
                "token introspection failed; the login gets a temporary failure"
            );
            TokenCheck::Unavailable
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(bearer: Bearer) -> (Option<String>, Option<String>) {
        (bearer.user, bearer.token)
    }

    fn some(user: Option<&str>, token: Option<&str>) -> (Option<String>, Option<String>) {
        (user.map(str::to_owned), token.map(str::to_owned))
    }

    #[test]
    fn xoauth2_fields() {
        let check = |input: &str, user: Option<&str>, token: Option<&str>| {
            assert_eq!(
                pair(parse_xoauth2(input.as_bytes())),
                some(user, token),
                "{input:?}"
            );
        };
        check(
            "user=a@b\x01auth=Bearer tok\x01\x01",
            Some("a@b"),
            Some("tok"),
        );
        check(
            "user=a@b\x01auth=bearer tok en\x01\x01",
            Some("a@b"),
            Some("tok en"),
        );
        check("auth=Basic x\x01\x01", None, None);
        check("garbage", None, None);
    }

    #[test]
    fn oauthbearer_fields() {
        let check = |input: &str, expected: Option<(Option<&str>, Option<&str>)>| {
            assert_eq!(
                parse_oauthbearer(input.as_bytes()).map(pair),
                expected.map(|(user, token)| some(user, token)),
                "{input:?}"
            );
        };
        check(
            "n,a=a@b,\x01host=smtp.gmail.com\x01port=587\x01auth=Bearer tok\x01\x01",
            Some((Some("a@b"), Some("tok"))),
        );
        // RFC 7628 section 4.1's example, without the authorization identity.
        check(
            "n,,\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01",
            Some((None, Some("vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="))),
        );
        check(
            "y,a=we=2Cird=3D@b,\x01auth=BEARER t\x01\x01",
            Some((Some("we,ird=@b"), Some("t"))),
        );
        check("n,a=a@b,\x01host=x\x01\x01", Some((Some("a@b"), None)));
        check(
            "n,a=a@b,\x01auth=Basic x\x01\x01",
            Some((Some("a@b"), None)),
        );
        check("p=tls-unique,,\x01auth=Bearer t\x01\x01", None);
        check("n,a=bad=xx,\x01auth=Bearer t\x01\x01", None);
        check("n,u=a@b,\x01auth=Bearer t\x01\x01", None);
        check("n,a=a@b,auth=Bearer t", None);
        check("\x01", None);
        check("", None);
    }
}
