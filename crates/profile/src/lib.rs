//! Sending profiles for mailbridge, and the team file that shares them.
//!
//! A [`Profile`] says where to connect (host, port, TLS), how to sign in (app password, OAuth2,
//! none: never the secret itself), who mail is from, and how much may be sent. Profiles are made
//! from a [`Preset`] (Gmail on 587 or 465, the Workspace relay, the local sandbox, or custom),
//! and [`Profile::validate`] reports every problem at once, each with a field path and a fix.
//!
//! Teams share profiles through a versioned JSON file ([`export`], [`import`]) that can never carry
//! a secret. Its JSON Schema is checked in at `schema/mailbridge-profiles.v1.schema.json`.
//!
//! ```
//! use profile::{Conflict, Preset, Profile, ProfileId, export, import};
//!
//! let id = ProfileId("team-gmail".into());
//! let gmail = Profile::from_preset(Preset::Gmail587, id, "Team Gmail", "ann@gmail.com");
//! assert_eq!(gmail.validate(), Ok(()));
//!
//! let file = export(&[gmail.clone()]);
//! let outcome = import(&file, &[], Conflict::KeepBoth).map_err(|problems| format!("{problems:?}"))?;
//! assert_eq!(outcome.profiles, [gmail]);
//! # Ok::<(), String>(())
//! ```
//!
//! The crate does no IO and needs no randomness or clock, so it builds for `wasm32-unknown-unknown`
//! and runs in the browser as well as in the bridge.
//!
//! # Layout
//! - `address`: RFC 5322 address and mailbox parsing ([`Address`], [`Mailbox`], [`parse_list`]).
//! - `encoded_word`: RFC 2047 encoded-words in display names.
//! - `preset`: the known servers and Google's limits ([`Preset`]).
//! - `profile`: the profile and its parts ([`Profile`], [`ProfileId`], [`Limits`], ...).
//! - `validate`: [`Profile::validate`] and [`Problem`].
//! - `receiving`: receiving mailboxes for delivery verification, their presets and team file.
//! - `team`: the team file ([`TeamFile`], [`export`], [`import`], [`Conflict`]).
//! - `decode`: reading a team file's JSON with a path for every error.

mod address;
mod decode;
mod encoded_word;
mod preset;
mod profile;
mod receiving;
mod team;
mod validate;

pub use address::{Address, AddressError, Mailbox, Part, parse_list};
pub use preset::{GMAIL_HOST, Pool, Preset, RELAY_HOST, SANDBOX_HOST, SANDBOX_USER};
pub use profile::{
    AuthMethod, Header, Limits, OAuthEndpoints, OAuthMechanism, OAuthSettings, Profile, ProfileId,
    Security,
};
pub use receiving::{
    ImapSecurity, MAILBOX_FORMAT, MailboxAuth, MailboxFile, MailboxPreset, ReceivingMailbox,
};
pub use team::{Conflict, FORMAT, ImportOutcome, TeamFile, VERSION, export, import, json_schema};
pub use validate::{
    Problem, check_field_name, check_header_name, check_header_text, check_mailbox, is_loopback,
};
