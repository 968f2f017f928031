//! OAuth 2.0 for Gmail: the user's own "Desktop app" client, consent through the system browser
//! and a one-shot loopback redirect (RFC 8252) with PKCE, the token endpoint, an in-memory
//! access-token cache with one refresh at a time per account, and what the token's health is.
//!
//! Nothing here knows about profiles, the page or the outbox: the bridge keeps the client ID in
//! the profile, the client secret and the refresh token in its secret store (through
//! [`RefreshTokens`]), and asks [`AccessTokens`] for a token before each AUTH.
//!
//! Every secret (client secret, refresh token, access token, authorization code, PKCE verifier)
//! is a [`protocol::Secret`], which prints as `****`; no error, log line or `Debug` here holds
//! one.
//!
//! # Layout
//! - `client`: the OAuth client: Google's `client_secret.json`, or an ID and secret typed in.
//! - `pkce`: the PKCE verifier and S256 challenge, and the random `state`.
//! - `consent`: the authorization URL, the loopback listener and the page the browser gets.
//! - `endpoint`: the token endpoint (code exchange, refresh) and revocation; its error answers.
//! - `http`: one form POST over HTTPS (plain HTTP only to loopback), with bounded answers.
//! - `health`: the token's health states and Google's errors classified into them.
//! - `tokens`: the access-token cache per account, refreshed before expiry, one flight at a time.

mod client;
mod consent;
mod endpoint;
mod health;
mod http;
mod pkce;
mod tokens;

pub use client::{ClientFileError, GOOGLE, OAuthClient, ProviderEndpoints};
pub use consent::{CONSENT_TIMEOUT, Connected, Consent, ConsentError, ConsentRequest};
pub use endpoint::{OAuthError, TokenError, Tokens, exchange_code, refresh, revoke};
pub use health::{AgeWarning, GrantInfo, LikelyCause, ServerRefusal, TokenHealth};
pub use pkce::Pkce;
pub use tokens::{AccessTokens, REFRESH_BEFORE_EXPIRY, RefreshTokens, TokenConfig};

/// The scope Gmail's SMTP (and IMAP) servers accept for XOAUTH2 and OAUTHBEARER.
pub const MAIL_SCOPE: &str = "https://mail.google.com/";
