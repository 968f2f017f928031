//! The team file: profiles shared through git, never with secrets.
//!
//! Export writes a stable document (fixed key order, 2-space indent, trailing newline, profiles
//! sorted by name then id) so that files diff cleanly. Import is a pure function: it returns the
//! complete new list or every problem, never half an import.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::decode;
use crate::profile::{Profile, ProfileId};
use crate::validate::Problem;

/// The `format` of a team file.
pub const FORMAT: &str = "mailbridge-profiles";
/// The team file version this code reads and writes. Bump it (and check in a new schema file)
/// when a change means older mailbridge versions would misread new files.
pub const VERSION: u32 = 1;

/// Sending profiles shared by a team. No field can hold a secret, and unknown keys are refused,
/// so a password cannot travel in one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "mailbridge team profiles")]
pub struct TeamFile {
    /// Always "mailbridge-profiles".
    #[schemars(extend("const" = FORMAT))]
    pub format: String,
    /// The format version.
    #[schemars(extend("const" = VERSION))]
    pub version: u32,
    /// The profiles, sorted by name, then id.
    pub profiles: Vec<Profile>,
}

impl TeamFile {
    /// A file of the current format and version holding `profiles` in export order.
    ///
    /// A private key pasted into `extra_ca_pem` by mistake is left out: the file is meant to be
    /// shared, and validation refuses such a profile anyway.
    pub fn new(profiles: &[Profile]) -> TeamFile {
        let mut profiles: Vec<Profile> = profiles
            .iter()
            .map(|profile| {
                let mut profile = profile.clone();
                if profile
                    .extra_ca_pem
                    .as_deref()
                    .is_some_and(|pem| pem.contains("PRIVATE KEY"))
                {
                    profile.extra_ca_pem = None;
                }
                profile
            })
            .collect();
        profiles.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        TeamFile {
            format: FORMAT.to_string(),
            version: VERSION,
            profiles,
        }
    }
}

/// What to do with an imported profile whose name is already taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conflict {
    /// Keep the existing profile and drop the imported one.
    Skip,
    /// Replace the existing profile's settings with the imported ones, keeping its id (this
    /// machine's secrets for it are stored under that id).
    Overwrite,
    /// Add the imported profile under a new name, e.g. "Team Gmail (2)".
    KeepBoth,
}

/// The result of an import.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ImportOutcome {
    /// The complete new list: the existing profiles in their order (overwritten ones in place),
    /// then the added ones in file order.
    pub profiles: Vec<Profile>,
    /// Names of profiles added under their own name.
    pub added: Vec<String>,
    /// Names of existing profiles whose settings were replaced.
    pub overwritten: Vec<String>,
    /// Names of imported profiles dropped because the name was taken.
    pub skipped: Vec<String>,
    /// Imported profiles added under a new name: (name in the file, name given).
    pub renamed: Vec<(String, String)>,
}

/// The team file for `profiles`. It does not validate them; validate first, since import
/// refuses a file with an invalid profile.
pub fn export(profiles: &[Profile]) -> String {
    to_pretty_json(&TeamFile::new(profiles))
}

/// Reads a team file and merges it into `existing`, resolving name clashes with `conflict`.
///
/// Every problem is reported at once, with JSON paths such as `$.profiles[1].port`: malformed
/// JSON, another format or version, wrong types, unknown or secret keys, profiles that fail
/// validation, ids or names used twice in the file. Imported profiles keep their ids unless an
/// existing profile already uses it; then one is made from the name.
pub fn import(
    json: &str,
    existing: &[Profile],
    conflict: Conflict,
) -> Result<ImportOutcome, Vec<Problem>> {
    let incoming = decode::read_team_file(json)?;
    Ok(merge(incoming, existing, conflict))
}

/// The JSON Schema of the team file, as checked in at `schema/mailbridge-profiles.v1.schema.json`.
pub fn json_schema() -> String {
    to_pretty_json(&schemars::schema_for!(TeamFile))
}

fn to_pretty_json<T: Serialize>(value: &T) -> String {
    // Not input-dependent: these types have only string map keys and infallible Serialize impls,
    // so serde_json cannot fail here.
    let mut json = serde_json::to_string_pretty(value).expect("team file types always serialize");
    json.push('\n');
    json
}

fn merge(incoming: Vec<Profile>, existing: &[Profile], conflict: Conflict) -> ImportOutcome {
    let mut outcome = ImportOutcome {
        profiles: existing.to_vec(),
        ..ImportOutcome::default()
    };
    // A renamed copy must not take a name that exists or that a later profile in the file has.
    let mut names: Vec<String> = existing
        .iter()
        .chain(&incoming)
        .map(|p| p.name.clone())
        .collect();
    let file_ids: Vec<ProfileId> = incoming.iter().map(|p| p.id.clone()).collect();
    for profile in incoming {
        match (
            existing.iter().position(|p| p.name == profile.name),
            conflict,
        ) {
            (Some(_), Conflict::Skip) => outcome.skipped.push(profile.name),
            (Some(index), Conflict::Overwrite) => {
                if let Some(slot) = outcome.profiles.get_mut(index) {
                    *slot = Profile {
                        id: slot.id.clone(),
                        ..profile
                    };
                    outcome.overwritten.push(slot.name.clone());
                }
            }
            (Some(_), Conflict::KeepBoth) => {
                let name = free_name(&profile.name, &names);
                names.push(name.clone());
                outcome.renamed.push((profile.name.clone(), name.clone()));
                let profile =
                    with_free_id(Profile { name, ..profile }, &outcome.profiles, &file_ids);
                outcome.profiles.push(profile);
            }
            (None, _) => {
                outcome.added.push(profile.name.clone());
                let profile = with_free_id(profile, &outcome.profiles, &file_ids);
                outcome.profiles.push(profile);
            }
        }
    }
    outcome
}

/// `name (2)`, `name (3)`... the first not in `taken`; an existing ` (n)` suffix is replaced
/// rather than stacked.
fn free_name(name: &str, taken: &[String]) -> String {
    let base = name
        .strip_suffix(')')
        .and_then(|rest| rest.rsplit_once(" ("))
        .filter(|(_, n)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        .map_or(name, |(base, _)| base);
    let mut n: u64 = 2;
    loop {
        let candidate = format!("{base} ({n})");
        if !taken.contains(&candidate) {
            return candidate;
        }
        n += 1;
    }
}

fn with_free_id(profile: Profile, list: &[Profile], file_ids: &[ProfileId]) -> Profile {
    if !list.iter().any(|p| p.id == profile.id) {
        return profile;
    }
    let id = ProfileId::from_name(&profile.name, |id| {
        list.iter().any(|p| p.id.0 == id) || file_ids.iter().any(|file_id| file_id.0 == id)
    });
    Profile { id, ..profile }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::{Value, json};

    use super::*;
    use crate::address::Mailbox;
    use crate::decode::{
        ENDPOINTS_KEYS, FILE_KEYS, HEADER_KEYS, LIMITS_KEYS, MAILBOX_KEYS, OAUTH_KEYS,
        PROFILE_KEYS, UNEXPECTED,
    };
    use crate::preset::Preset;
    use crate::profile::{
        AuthMethod, Header, Limits, OAuthEndpoints, OAuthMechanism, OAuthSettings,
    };

    const CERT: &str =
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2FmZQ==\n-----END CERTIFICATE-----\n";

    fn gmail(id: &str, name: &str) -> Profile {
        Profile::from_preset(
            Preset::Gmail587,
            ProfileId(id.into()),
            name,
            "ann@gmail.com",
        )
    }

    fn team() -> Vec<Profile> {
        let relay = Profile {
            reply_to: Mailbox::parse("\"Support, Team\" <help@bücher.de>").ok(),
            headers: vec![Header {
                name: "X-Campaign".into(),
                value: "spring \"launch\"".into(),
            }],
            auth: AuthMethod::OAuth2,
            oauth: Some(OAuthSettings {
                client_id: "1234-abc.apps.googleusercontent.com".into(),
                mechanism: OAuthMechanism::Oauthbearer,
                endpoints: Some(OAuthEndpoints {
                    auth_uri: "https://login.example/authorize".into(),
                    token_uri: "https://login.example/token".into(),
                    revocation_uri: None,
                    issuer: Some("https://login.example".into()),
                }),
            }),
            ..Profile::from_preset(
                Preset::WorkspaceRelay,
                ProfileId("relay".into()),
                "Relay",
                "ops@corp.example",
            )
        };
        let sandbox = Profile {
            extra_ca_pem: Some(CERT.into()),
            ..Profile::sandbox(ProfileId("sandbox".into()), "Sandbox", 2525)
        };
        vec![sandbox, gmail("team-gmail", "Team Gmail"), relay]
    }

    fn names(profiles: &[Profile]) -> Vec<(&str, &str)> {
        profiles
            .iter()
            .map(|p| (p.id.as_str(), p.name.as_str()))
            .collect()
    }

    /// Imports `document` into nothing and expects exactly these problems, given as
    /// `(path, a fragment of the message)`.
    fn check_import(document: &str, expected: &[(&str, &str)]) {
        let problems = match import(document, &[], Conflict::Skip) {
            Ok(outcome) => panic!("expected problems, imported {:?}", names(&outcome.profiles)),
            Err(problems) => problems,
        };
        let matches = problems.len() == expected.len()
            && problems
                .iter()
                .zip(expected)
                .all(|(p, (path, fragment))| p.path == *path && p.message.contains(fragment));
        assert!(
            matches,
            "document: {document}\nexpected {expected:#?}\ngot {problems:#?}"
        );
        assert!(
            problems.iter().all(|p| !p.message.contains(UNEXPECTED)),
            "walk missed an error: {problems:#?}"
        );
    }

    /// A valid team file as a JSON value, with `edit` applied to it.
    fn document(edit: impl FnOnce(&mut Value)) -> String {
        let mut value: Value = serde_json::from_str(&export(&team())).unwrap_or_default();
        edit(&mut value);
        value.to_string()
    }

    /// The first profile in the document, which is "Relay" because export sorts by name.
    fn first(value: &mut Value) -> &mut Value {
        &mut value["profiles"][0]
    }

    #[test]
    fn export_is_stable_and_readable() {
        let golden = r#"{
  "format": "mailbridge-profiles",
  "version": 1,
  "profiles": [
    {
      "id": "team-gmail",
      "name": "Team Gmail",
      "preset": "gmail587",
      "host": "smtp.gmail.com",
      "port": 587,
      "security": "start_tls",
      "extra_ca_pem": null,
      "auth": "app_password",
      "oauth": null,
      "username": "ann@gmail.com",
      "from": {
        "name": "Ann",
        "address": "ann@gmail.com"
      },
      "reply_to": null,
      "limits": {
        "daily": 500,
        "per_minute": 20
      },
      "headers": []
    }
  ]
}
"#;
        let mut profile = gmail("team-gmail", "Team Gmail");
        profile.from.name = Some("Ann".into());
        assert_eq!(export(&[profile]), golden);
    }

    #[test]
    fn export_sorts_by_name_then_id() {
        let profiles = [
            gmail("b", "Zeta"),
            gmail("z", "Alpha"),
            gmail("a", "Alpha"),
            gmail("m", "Mid"),
        ];
        let file = TeamFile::new(&profiles);
        assert_eq!(
            names(&file.profiles),
            [("a", "Alpha"), ("z", "Alpha"), ("m", "Mid"), ("b", "Zeta")]
        );
        let mut reversed = profiles.clone();
        reversed.reverse();
        assert_eq!(export(&reversed), export(&profiles));
    }

    #[test]
    fn export_then_import_is_the_identity() {
        let first = export(&team());
        let imported = import(&first, &[], Conflict::Skip);
        let profiles = imported.as_ref().map(|outcome| outcome.profiles.clone());
        assert_eq!(profiles, Ok(TeamFile::new(&team()).profiles));
        let again = imported.map(|outcome| export(&outcome.profiles));
        assert_eq!(again.as_deref(), Ok(first.as_str()));
        // Unicode stays readable in the file rather than escaped.
        assert!(first.contains("help@bücher.de"), "{first}");
    }

    #[test]
    fn export_leaves_out_a_pasted_private_key() {
        let mut profile = gmail("g", "G");
        profile.extra_ca_pem =
            Some("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into());
        let exported = export(&[profile]);
        assert!(
            !exported.contains("PRIVATE KEY") && exported.contains("\"extra_ca_pem\": null"),
            "{exported}"
        );
    }

    #[test]
    fn other_formats_and_versions_are_refused() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            (
                r#"{"format": "thunderbird-accounts", "version": 1, "profiles": []}"#,
                &[(
                    "$.format",
                    "the format is the text \"thunderbird-accounts\", but this mailbridge reads format \"mailbridge-profiles\" only",
                )],
            ),
            (
                r#"{"version": 1, "profiles": []}"#,
                &[("$.format", "the \"format\" key is missing")],
            ),
            (
                r#"{"format": "mailbridge-profiles", "version": 2, "profiles": [{"anything": true}]}"#,
                &[(
                    "$.version",
                    "version 2 is not supported: this mailbridge reads version 1 only",
                )],
            ),
            (
                r#"{"format": "mailbridge-profiles", "version": "1", "profiles": []}"#,
                &[("$.version", "version \"1\" is not supported")],
            ),
            (
                r#"{"format": "mailbridge-profiles", "profiles": []}"#,
                &[("$.version", "missing")],
            ),
            (
                r#"{"format": 7, "version": 0}"#,
                &[
                    ("$.format", "the format is the number 7"),
                    ("$.version", "version 0"),
                ],
            ),
        ];
        for (json, expected) in cases {
            check_import(json, expected);
        }
        let newer = import(
            r#"{"format": "mailbridge-profiles", "version": 2, "profiles": []}"#,
            &[],
            Conflict::Skip,
        );
        assert!(newer.is_err_and(|p| p.iter().any(|p| p.fix.contains("update mailbridge"))));
    }

    #[test]
    fn secrets_are_refused_wherever_they_appear() {
        let cases: Vec<(String, &str)> = vec![
            (
                document(|v| first(v)["password"] = json!("abcd efgh ijkl mnop")),
                "$.profiles[0].password",
            ),
            (
                document(|v| first(v)["client_secret"] = json!("x")),
                "$.profiles[0].client_secret",
            ),
            (
                document(|v| first(v)["refresh_token"] = json!("1//0g")),
                "$.profiles[0].refresh_token",
            ),
            (
                document(|v| first(v)["from"]["appPassword"] = json!("x")),
                "$.profiles[0].from.appPassword",
            ),
            (
                document(|v| first(v)["oauth"]["client_secret"] = json!("GOCSPX-x")),
                "$.profiles[0].oauth.client_secret",
            ),
            (
                document(|v| first(v)["oauth"]["endpoints"]["access_token"] = json!("ya29.x")),
                "$.profiles[0].oauth.endpoints.access_token",
            ),
            (document(|v| v["token"] = json!("x")), "$.token"),
        ];
        for (json, path) in cases {
            check_import(&json, &[(path, "secrets are never shared in team files")]);
        }
        // An unknown key does not hide the profile's other problems.
        let json = document(|v| {
            first(v)["password"] = json!("x");
            first(v)["port"] = json!(0);
        });
        check_import(
            &json,
            &[
                ("$.profiles[0].password", "secrets are never shared"),
                ("$.profiles[0].port", "port 0 is out of range"),
            ],
        );
    }

    #[test]
    fn every_error_is_reported_with_its_path() {
        let json = document(|v| {
            first(v)["port"] = json!(70000);
            first(v)["security"] = json!("tls");
            first(v)["colour"] = json!("blue");
            first(v)["headers"][0] = json!({"name": 1});
            first(v).as_object_mut().map(|p| p.remove("username"));
            v["profiles"][1]["from"]["address"] = json!("ann@");
            v["profiles"][2]["limits"]["daily"] = json!(9999);
            v["profiles"][2]["headers"] = json!([{"name": "Bcc", "value": "x"}]);
            v["profiles"][2]["security"] = json!("plain");
        });
        check_import(
            &json,
            &[
                ("$.profiles[0].colour", "unknown key \"colour\""),
                (
                    "$.profiles[0].port",
                    "expected a port number from 1 to 65535, found the number 70000",
                ),
                (
                    "$.profiles[0].security",
                    "the text \"tls\" is not a known security setting",
                ),
                (
                    "$.profiles[0].username",
                    "the required key \"username\" is missing",
                ),
                (
                    "$.profiles[0].headers[0].name",
                    "expected a header name as text",
                ),
                ("$.profiles[0].headers[0].value", "missing"),
                (
                    "$.profiles[1].from.address",
                    "\"ann@\" is not a valid address",
                ),
                (
                    "$.profiles[2].security",
                    "plain (unencrypted) SMTP is only allowed to this machine",
                ),
                (
                    "$.profiles[2].limits.daily",
                    "9,999 a day is above the preset's limit",
                ),
                (
                    "$.profiles[2].headers[0].name",
                    "writes the Bcc header itself",
                ),
            ],
        );
    }

    #[test]
    fn malformed_documents_give_problems() {
        let cases: Vec<(String, Vec<(&str, &str)>)> = vec![
            (
                String::new(),
                vec![("$", "the file ends too early, at line 1 column 0")],
            ),
            (
                export(&team())[..200].to_string(),
                vec![("$", "ends too early")],
            ),
            (
                "{\"format\": \"mailbridge-profiles\",}".into(),
                vec![("$", "not valid JSON")],
            ),
            ("[]".into(), vec![("$", "expected a team file")]),
            ("null".into(), vec![("$", "found null")]),
            (
                r#"{"format": "mailbridge-profiles", "version": 1}"#.into(),
                vec![("$.profiles", "missing")],
            ),
            (
                r#"{"format": "mailbridge-profiles", "version": 1, "profiles": {}}"#.into(),
                vec![("$.profiles", "expected a list")],
            ),
            (
                r#"{"format": "mailbridge-profiles", "version": 1, "profiles": [3, "x", null]}"#
                    .into(),
                vec![
                    ("$.profiles[0]", "found the number 3"),
                    ("$.profiles[1]", "found the text \"x\""),
                    ("$.profiles[2]", "found null"),
                ],
            ),
            (
                document(|v| first(v)["port"] = json!(-1)),
                vec![("$.profiles[0].port", "the number -1")],
            ),
            (
                document(|v| first(v)["port"] = json!(587.5)),
                vec![("$.profiles[0].port", "the number 587.5")],
            ),
            (
                document(|v| first(v)["port"] = json!("587")),
                vec![("$.profiles[0].port", "the text \"587\"")],
            ),
            (
                document(|v| first(v)["port"] = json!(0)),
                vec![("$.profiles[0].port", "port 0 is out of range")],
            ),
            (
                document(|v| first(v)["name"] = json!(null)),
                vec![("$.profiles[0].name", "found null")],
            ),
            (
                document(|v| first(v)["preset"] = json!("outlook")),
                vec![("$.profiles[0].preset", "not a known preset")],
            ),
            (
                document(|v| first(v)["auth"] = json!(["oauth2"])),
                vec![("$.profiles[0].auth", "a list is not a known sign-in method")],
            ),
            (
                document(|v| first(v)["from"] = json!("ann@x.com")),
                vec![("$.profiles[0].from", "expected a mailbox")],
            ),
            (
                document(|v| first(v)["reply_to"] = json!({"address": true})),
                vec![("$.profiles[0].reply_to.address", "found true")],
            ),
            (
                document(|v| first(v)["limits"] = json!({"daily": 5})),
                vec![("$.profiles[0].limits.per_minute", "missing")],
            ),
            (
                document(|v| first(v)["limits"]["daily"] = json!(5_000_000_000u64)),
                vec![("$.profiles[0].limits.daily", "the number 5000000000")],
            ),
            (
                document(|v| first(v)["headers"] = json!({})),
                vec![("$.profiles[0].headers", "expected a list of headers")],
            ),
            (
                document(|v| first(v)["extra_ca_pem"] = json!(1)),
                vec![("$.profiles[0].extra_ca_pem", "expected a PEM certificate")],
            ),
            (
                document(|v| first(v)["oauth"] = json!("1234.apps.googleusercontent.com")),
                vec![("$.profiles[0].oauth", "expected the OAuth client")],
            ),
            (
                document(|v| first(v)["oauth"]["client_id"] = json!("")),
                vec![("$.profiles[0].oauth.client_id", "the client ID is empty")],
            ),
            (
                document(|v| first(v)["oauth"]["mechanism"] = json!("plain")),
                vec![("$.profiles[0].oauth.mechanism", "not a known mechanism")],
            ),
            (
                document(|v| {
                    first(v)["oauth"]["endpoints"]["token_uri"] = json!("http://login.example/t")
                }),
                vec![(
                    "$.profiles[0].oauth.endpoints.token_uri",
                    "plain http to another machine",
                )],
            ),
            (
                document(|v| {
                    first(v)["oauth"]["endpoints"] = json!({"auth_uri": "https://a.example/"})
                }),
                vec![("$.profiles[0].oauth.endpoints.token_uri", "missing")],
            ),
            (
                document(|v| first(v)["odd key"] = json!(1)),
                vec![("$.profiles[0][\"odd key\"]", "unknown key")],
            ),
            (
                document(|v| {
                    v["profiles"][1]["name"] = json!("Relay");
                    v["profiles"][2]["id"] = json!("relay");
                }),
                vec![
                    ("$.profiles[1].name", "also used by $.profiles[0]"),
                    ("$.profiles[2].id", "also used by $.profiles[0]"),
                ],
            ),
        ];
        for (json, expected) in cases {
            check_import(&json, &expected);
        }
    }

    #[test]
    fn optional_keys_may_be_left_out() {
        let json = document(|v| {
            for key in ["extra_ca_pem", "reply_to", "headers"] {
                v["profiles"][1].as_object_mut().map(|p| p.remove(key));
            }
            v["profiles"][1]["from"]
                .as_object_mut()
                .map(|m| m.remove("name"));
        });
        let imported = import(&json, &[], Conflict::Skip).map(|outcome| outcome.profiles.len());
        assert_eq!(imported, Ok(3));
    }

    #[test]
    fn conflicts_follow_the_chosen_policy() {
        let mine = {
            let mut p = gmail("team-gmail", "Team Gmail");
            p.limits = Limits {
                daily: 100,
                per_minute: 5,
            };
            p
        };
        let other = gmail("other", "Other");
        let existing = vec![mine.clone(), other.clone()];
        // The file's "Team Gmail" has a different id, and its "New" reuses the id of "Other".
        let theirs = gmail("theirs", "Team Gmail");
        let new = gmail("other", "New");
        let json = export(&[theirs.clone(), new.clone()]);
        let moved_new = Profile {
            id: ProfileId("new".into()),
            ..new.clone()
        };

        let skip = import(&json, &existing, Conflict::Skip);
        let expected_skip = ImportOutcome {
            profiles: vec![mine.clone(), other.clone(), moved_new.clone()],
            added: vec!["New".into()],
            skipped: vec!["Team Gmail".into()],
            ..ImportOutcome::default()
        };
        assert_eq!(skip, Ok(expected_skip));

        let overwrite = import(&json, &existing, Conflict::Overwrite);
        let expected_overwrite = ImportOutcome {
            profiles: vec![
                Profile {
                    id: mine.id.clone(),
                    ..theirs.clone()
                },
                other.clone(),
                moved_new.clone(),
            ],
            added: vec!["New".into()],
            overwritten: vec!["Team Gmail".into()],
            ..ImportOutcome::default()
        };
        assert_eq!(overwrite, Ok(expected_overwrite));

        let keep_both = import(&json, &existing, Conflict::KeepBoth);
        let expected_keep_both = ImportOutcome {
            profiles: vec![
                mine.clone(),
                other.clone(),
                moved_new,
                Profile {
                    name: "Team Gmail (2)".into(),
                    ..theirs.clone()
                },
            ],
            added: vec!["New".into()],
            renamed: vec![("Team Gmail".into(), "Team Gmail (2)".into())],
            ..ImportOutcome::default()
        };
        assert_eq!(keep_both, Ok(expected_keep_both));
    }

    #[test]
    fn keep_both_finds_free_names_and_ids() {
        let existing = vec![
            gmail("team-gmail", "Team Gmail"),
            gmail("team-gmail-2", "Team Gmail (2)"),
        ];
        let json = export(&[
            gmail("team-gmail", "Team Gmail"),
            gmail("x", "Team Gmail (3)"),
        ]);
        let outcome = import(&json, &existing, Conflict::KeepBoth);
        let got = outcome
            .as_ref()
            .map(|o| (names(&o.profiles), o.renamed.clone(), o.added.clone()));
        let expected = (
            vec![
                ("team-gmail", "Team Gmail"),
                ("team-gmail-2", "Team Gmail (2)"),
                ("team-gmail-4", "Team Gmail (4)"),
                ("x", "Team Gmail (3)"),
            ],
            vec![("Team Gmail".to_string(), "Team Gmail (4)".to_string())],
            vec!["Team Gmail (3)".to_string()],
        );
        assert_eq!(got, Ok(expected));
        assert_eq!(free_name("Team Gmail (2)", &[]), "Team Gmail (2)");
        assert_eq!(
            free_name("Team Gmail (2)", &["Team Gmail (2)".into()]),
            "Team Gmail (3)"
        );
        assert_eq!(free_name("Odd (x)", &[]), "Odd (x) (2)");
    }

    #[test]
    fn a_failing_import_changes_nothing() {
        let existing = team();
        let before = existing.clone();
        let json = document(|v| {
            v["profiles"][0]["port"] = json!(0);
            v["profiles"][1]["name"] = json!("Brand new");
        });
        for conflict in [Conflict::Skip, Conflict::Overwrite, Conflict::KeepBoth] {
            let result = import(&json, &existing, conflict);
            assert!(
                result.is_err_and(|problems| problems.len() == 1),
                "{conflict:?}"
            );
            assert_eq!(existing, before);
        }
    }

    #[test]
    fn reader_knows_the_same_keys_as_serde() {
        let profile = team()
            .into_iter()
            .find(|p| p.reply_to.is_some())
            .unwrap_or_else(|| gmail("g", "G"));
        let keys = |value: &Value| -> Vec<String> {
            value
                .as_object()
                .map(|object| object.keys().cloned().collect())
                .unwrap_or_default()
        };
        let value = serde_json::to_value(TeamFile::new(&[profile])).unwrap_or_default();
        let p = &value["profiles"][0];
        let cases: [(&Value, &[&str]); 7] = [
            (&value, FILE_KEYS),
            (p, PROFILE_KEYS),
            (&p["oauth"], OAUTH_KEYS),
            (&p["oauth"]["endpoints"], ENDPOINTS_KEYS),
            (&p["from"], MAILBOX_KEYS),
            (&p["limits"], LIMITS_KEYS),
            (&p["headers"][0], HEADER_KEYS),
        ];
        for (object, known) in cases {
            // Compared as sets: serde_json's Map may sort keys; the golden export test covers order.
            let mut found = keys(object);
            found.sort();
            let mut known: Vec<String> = known.iter().map(|k| k.to_string()).collect();
            known.sort();
            assert_eq!(found, known);
        }
    }

    const SCHEMA_PATH: &str = "schema/mailbridge-profiles.v1.schema.json";

    fn checked_in_schema() -> String {
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(SCHEMA_PATH))
            .unwrap_or_default()
    }

    #[test]
    fn checked_in_schema_matches_the_types() {
        let generated = json_schema();
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(SCHEMA_PATH);
            if let Err(error) = std::fs::write(&path, &generated) {
                panic!("could not write {}: {error}", path.display());
            }
        }
        // Compared as JSON values: key order inside the schema depends on whether some crate in
        // the build turns on serde_json's `preserve_order`, and does not change its meaning.
        let parse = |text: &str| serde_json::from_str::<Value>(text).ok();
        assert!(
            parse(&checked_in_schema())
                .is_some_and(|checked_in| parse(&generated) == Some(checked_in)),
            "crates/profile/{SCHEMA_PATH} no longer matches the types.\n\
             If the change is intended, regenerate it with: UPDATE_SCHEMA=1 cargo test -p profile\n\
             If older mailbridge versions would misread the new files, bump VERSION and add a new schema file.\n\
             Generated schema:\n{generated}"
        );
    }

    #[test]
    fn exported_files_fit_the_checked_in_schema() {
        let schema: Value = serde_json::from_str(&checked_in_schema()).unwrap_or_default();
        let exported: Value = serde_json::from_str(&export(&team())).unwrap_or_default();
        assert_eq!(
            schema_errors(&schema, &schema, &exported, "$"),
            Vec::<String>::new()
        );
        // The check is not vacuous: what import refuses, the schema refuses too.
        let refused = [
            document(|v| first(v)["password"] = json!("x")),
            document(|v| v["version"] = json!(2)),
            document(|v| v["format"] = json!("other")),
            document(|v| first(v)["security"] = json!("tls")),
            document(|v| first(v)["port"] = json!(70000)),
            document(|v| {
                first(v).as_object_mut().map(|p| p.remove("from"));
            }),
            document(|v| first(v)["headers"] = json!([{"name": "X"}])),
        ];
        for json in refused {
            let value: Value = serde_json::from_str(&json).unwrap_or_default();
            assert!(
                !schema_errors(&schema, &schema, &value, "$").is_empty(),
                "schema accepted {json}"
            );
            assert!(
                import(&json, &[], Conflict::Skip).is_err(),
                "import accepted {json}"
            );
        }
    }

    /// A small JSON Schema checker for the keywords schemars emits for these types; an unknown
    /// keyword fails the test so that a schemars upgrade cannot silently weaken the check.
    fn schema_errors(root: &Value, schema: &Value, value: &Value, path: &str) -> Vec<String> {
        let Some(schema) = schema.as_object() else {
            return if schema == &Value::Bool(true) {
                vec![]
            } else {
                vec![format!("{path}: bad schema {schema}")]
            };
        };
        let mut errors = Vec::new();
        for (keyword, rule) in schema {
            match keyword.as_str() {
                "$schema" | "title" | "description" | "format" | "$defs" | "default" => {}
                "$ref" => {
                    let name = rule
                        .as_str()
                        .and_then(|r| r.strip_prefix("#/$defs/"))
                        .unwrap_or_default();
                    errors.extend(schema_errors(root, &root["$defs"][name], value, path));
                }
                "type" => {
                    let types: Vec<&str> = match rule {
                        Value::Array(types) => types.iter().filter_map(Value::as_str).collect(),
                        other => other.as_str().into_iter().collect(),
                    };
                    let fits = |t: &str| match t {
                        "object" => value.is_object(),
                        "array" => value.is_array(),
                        "string" => value.is_string(),
                        "integer" => value.is_u64() || value.is_i64(),
                        "number" => value.is_number(),
                        "boolean" => value.is_boolean(),
                        "null" => value.is_null(),
                        _ => false,
                    };
                    if !types.iter().any(|t| fits(t)) {
                        errors.push(format!("{path}: {value} is not of type {rule}"));
                    }
                }
                "const" if value != rule => errors.push(format!("{path}: {value} is not {rule}")),
                "const" => {}
                "enum"
                    if !rule
                        .as_array()
                        .is_some_and(|options| options.contains(value)) =>
                {
                    errors.push(format!("{path}: {value} is not in {rule}"));
                }
                "enum" => {}
                "minimum"
                    if value
                        .as_f64()
                        .zip(rule.as_f64())
                        .is_some_and(|(v, min)| v < min) =>
                {
                    errors.push(format!("{path}: {value} is below {rule}"));
                }
                "maximum"
                    if value
                        .as_f64()
                        .zip(rule.as_f64())
                        .is_some_and(|(v, max)| v > max) =>
                {
                    errors.push(format!("{path}: {value} is above {rule}"));
                }
                "minimum" | "maximum" => {}
                "oneOf" | "anyOf" => {
                    let options = rule.as_array().map(Vec::as_slice).unwrap_or_default();
                    let fitting = options
                        .iter()
                        .filter(|option| schema_errors(root, option, value, path).is_empty())
                        .count();
                    if fitting == 0 || (keyword == "oneOf" && fitting > 1) {
                        errors.push(format!(
                            "{path}: {value} fits {fitting} of the {keyword} options"
                        ));
                    }
                }
                "required" => {
                    for key in rule
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                    {
                        if value
                            .as_object()
                            .is_some_and(|object| !object.contains_key(key))
                        {
                            errors.push(format!("{path}: required key {key} is missing"));
                        }
                    }
                }
                "properties" => {
                    for (key, property) in rule.as_object().into_iter().flatten() {
                        if let Some(found) = value.get(key) {
                            errors.extend(schema_errors(
                                root,
                                property,
                                found,
                                &format!("{path}.{key}"),
                            ));
                        }
                    }
                }
                "additionalProperties" => {
                    let known = schema.get("properties").and_then(Value::as_object);
                    for key in value
                        .as_object()
                        .into_iter()
                        .flat_map(|object| object.keys())
                    {
                        if rule == &Value::Bool(false)
                            && !known.is_some_and(|known| known.contains_key(key))
                        {
                            errors.push(format!("{path}: key {key} is not allowed"));
                        }
                    }
                }
                "items" => {
                    for (i, item) in value.as_array().into_iter().flatten().enumerate() {
                        errors.extend(schema_errors(root, rule, item, &format!("{path}[{i}]")));
                    }
                }
                other => errors.push(format!(
                    "{path}: the test's schema checker does not know {other:?}"
                )),
            }
        }
        errors
    }
}
