//! PKCE (RFC 7636) with S256, and the `state` that ties a redirect to the consent that asked
//! for it. Both come from the operating system's random numbers, through rand.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use protocol::Secret;

/// A PKCE pair: the verifier stays in the bridge until the code exchange; the challenge goes
/// into the authorization URL.
#[derive(Debug, Clone)]
pub struct Pkce {
    pub verifier: Secret,
    /// `BASE64URL(SHA-256(verifier))`, sent with `code_challenge_method=S256`.
    pub challenge: String,
}

impl Pkce {
    /// A fresh pair: 48 random bytes make a 64-character verifier (RFC 7636 allows 43 to 128)
    /// of base64url characters, all of them "unreserved".
    pub fn new() -> Pkce {
        Pkce::from_verifier(Secret::new(
            URL_SAFE_NO_PAD.encode(rand::random::<[u8; 48]>()),
        ))
    }

    pub fn from_verifier(verifier: Secret) -> Pkce {
        let digest = ring::digest::digest(&ring::digest::SHA256, verifier.expose().as_bytes());
        Pkce {
            challenge: URL_SAFE_NO_PAD.encode(digest.as_ref()),
            verifier,
        }
    }
}

impl Default for Pkce {
    fn default() -> Pkce {
        Pkce::new()
    }
}

/// A fresh `state`: 32 random bytes, base64url.
pub fn random_state() -> Secret {
    Secret::new(URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_rfc_7636s_s256() {
        // RFC 7636, appendix B.
        let pkce = Pkce::from_verifier(Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert_eq!(
            pkce.challenge,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(format!("{pkce:?}").matches("****").count(), 1);
    }

    #[test]
    fn verifiers_and_states_are_long_unreserved_and_different() {
        let (a, b) = (Pkce::new(), Pkce::new());
        for verifier in [&a.verifier, &b.verifier] {
            let text = verifier.expose();
            assert_eq!(text.len(), 64);
            assert!(
                text.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"-._~".contains(&c)),
                "{text}"
            );
        }
        assert_ne!(a.verifier, b.verifier);
        assert_ne!(random_state(), random_state());
        assert_eq!(random_state().expose().len(), 43);
    }
}
