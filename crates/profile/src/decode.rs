//! Reading a team file: the JSON is walked by hand first so that every structural error is
//! reported with its JSON path at once (serde stops at the first); serde then builds the values
//! from a document already known to fit, and validation runs on each profile.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::preset::Preset;
use crate::profile::{AuthMethod, OAuthMechanism, Profile, Security};
use crate::team::{FORMAT, VERSION};
use crate::validate::Problem;

/// Keys of the objects in a team file, in the order the types serialize them. A test checks these
/// against what serde writes.
pub(crate) const FILE_KEYS: &[&str] = &["format", "version", "profiles"];
pub(crate) const PROFILE_KEYS: &[&str] = &[
    "id",
    "name",
    "preset",
    "host",
    "port",
    "security",
    "extra_ca_pem",
    "auth",
    "oauth",
    "username",
    "from",
    "reply_to",
    "limits",
    "headers",
];
pub(crate) const MAILBOX_KEYS: &[&str] = &["name", "address"];
pub(crate) const OAUTH_KEYS: &[&str] = &["client_id", "mechanism", "endpoints"];
pub(crate) const ENDPOINTS_KEYS: &[&str] = &["auth_uri", "token_uri", "revocation_uri", "issuer"];
pub(crate) const LIMITS_KEYS: &[&str] = &["daily", "per_minute"];
pub(crate) const HEADER_KEYS: &[&str] = &["name", "value"];

/// Part of the message when serde rejects a document the walk let through, which would mean the
/// walk and the types disagree; tests make sure no malformed document reaches it.
pub(crate) const UNEXPECTED: &str = "could not be read";

const IMPORT_FIX: &str = "import a file made with mailbridge's team export; it starts with \
                          {\"format\": \"mailbridge-profiles\", \"version\": 1";

/// The profiles of a team file, or every problem with it.
pub(crate) fn read_team_file(json: &str) -> Result<Vec<Profile>, Vec<Problem>> {
    let root: Value = serde_json::from_str(json).map_err(|error| vec![syntax_problem(&error)])?;
    let mut reader = Reader::default();
    let Some(file) = reader.object(
        &root,
        "$",
        "a team file (an object with \"format\", \"version\" and \"profiles\")",
    ) else {
        return Err(reader.problems);
    };
    // A file of another format or version would only produce noise further down.
    reader.format_and_version(file);
    if !reader.problems.is_empty() {
        return Err(reader.problems);
    }
    reader.keys(file, "$", FILE_KEYS);
    let mut profiles = Vec::new();
    if let Some(list) = reader.field(file, "$", "profiles", true) {
        match list.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    let path = format!("$.profiles[{i}]");
                    if let Some(profile) = reader.profile(item, &path) {
                        profiles.push((path, profile));
                    }
                }
            }
            None => reader.push(
                "$.profiles",
                format!("expected a list of profiles, found {}", describe(list)),
                "write \"profiles\": [ ... ]",
            ),
        }
    }
    check_duplicates(&profiles, &mut reader.problems);
    if reader.problems.is_empty() {
        Ok(profiles.into_iter().map(|(_, profile)| profile).collect())
    } else {
        Err(reader.problems)
    }
}

fn syntax_problem(error: &serde_json::Error) -> Problem {
    let at = format!("line {} column {}", error.line(), error.column());
    if error.is_eof() {
        Problem::new(
            "$",
            format!("the file ends too early, at {at}"),
            "the file looks cut off; copy or download it again in full",
        )
    } else {
        Problem::new(
            "$",
            format!("the file is not valid JSON: {error}"),
            format!("correct the JSON near {at}, or export the file again"),
        )
    }
}

fn check_duplicates(profiles: &[(String, Profile)], problems: &mut Vec<Problem>) {
    for (j, (path, profile)) in profiles.iter().enumerate() {
        let earlier = profiles.get(..j).unwrap_or_default();
        if let Some((first, _)) = earlier.iter().find(|(_, other)| other.id == profile.id) {
            problems.push(Problem::new(
                format!("{path}.id"),
                format!("the id {:?} is also used by {first}", profile.id.0),
                "give each profile its own id",
            ));
        }
        if let Some((first, _)) = earlier.iter().find(|(_, other)| other.name == profile.name) {
            problems.push(Problem::new(
                format!("{path}.name"),
                format!("the name {:?} is also used by {first}", profile.name),
                "rename one of them",
            ));
        }
    }
}

#[derive(Default)]
struct Reader {
    problems: Vec<Problem>,
    /// How many of `problems` are unknown keys. Those do not stop a profile from being read and
    /// validated, so its other problems are reported in the same round.
    unknown_keys: usize,
}

impl Reader {
    fn push(
        &mut self,
        path: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.problems.push(Problem::new(path, message, fix));
    }

    fn format_and_version(&mut self, file: &Map<String, Value>) {
        match file.get("format") {
            Some(Value::String(format)) if format == FORMAT => {}
            None => self.push(
                "$.format",
                format!("the \"format\" key is missing, so this is not a mailbridge team file (format {FORMAT:?})"),
                IMPORT_FIX,
            ),
            Some(other) => self.push(
                "$.format",
                format!("the format is {}, but this mailbridge reads format {FORMAT:?} only", describe(other)),
                IMPORT_FIX,
            ),
        }
        match file.get("version") {
            Some(version) if version.as_u64() == Some(u64::from(VERSION)) => {}
            None => self.push(
                "$.version",
                "the \"version\" key is missing",
                format!("add \"version\": {VERSION}"),
            ),
            Some(version) => {
                let newer = version.as_u64().is_some_and(|v| v > u64::from(VERSION));
                self.push(
                    "$.version",
                    format!("version {version} is not supported: this mailbridge reads version {VERSION} only"),
                    if newer {
                        "update mailbridge to import this file, or ask whoever exported it for a file from the same mailbridge version as yours"
                    } else {
                        "export the file again with a current mailbridge"
                    },
                );
            }
        }
    }

    fn object<'v>(
        &mut self,
        value: &'v Value,
        path: &str,
        what: &str,
    ) -> Option<&'v Map<String, Value>> {
        let object = value.as_object();
        if object.is_none() {
            self.push(
                path,
                format!("expected {what}, found {}", describe(value)),
                format!("write {what} here"),
            );
        }
        object
    }

    /// Reports keys the types do not have; secret-looking ones get their own message because a
    /// secret in a shared file is a leak to act on, not a typo.
    fn keys(&mut self, object: &Map<String, Value>, path: &str, known: &[&str]) {
        for key in object.keys().filter(|key| !known.contains(&key.as_str())) {
            self.unknown_keys += 1;
            let key_path = join(path, key);
            if is_secret_key(key) {
                self.push(
                    key_path,
                    format!("{key:?} is not allowed: secrets are never shared in team files"),
                    "remove the key, and change that secret since it has been shared; each person signs in on \
                     their own machine with their own app password or OAuth2",
                );
            } else {
                self.push(
                    key_path,
                    format!("unknown key {key:?}"),
                    format!("remove it; the keys here are {}", known.join(", ")),
                );
            }
        }
    }

    /// The value of `key`: a problem when a required key is missing; `None` also for an optional
    /// key that is missing or null.
    fn field<'v>(
        &mut self,
        object: &'v Map<String, Value>,
        path: &str,
        key: &str,
        required: bool,
    ) -> Option<&'v Value> {
        match object.get(key) {
            None if required => {
                self.push(
                    join(path, key),
                    format!("the required key {key:?} is missing"),
                    format!("add {key:?}"),
                );
                None
            }
            Some(Value::Null) if !required => None,
            found => found,
        }
    }

    fn string(
        &mut self,
        object: &Map<String, Value>,
        path: &str,
        key: &str,
        required: bool,
        what: &str,
    ) {
        if let Some(value) = self.field(object, path, key, required)
            && !value.is_string()
        {
            self.expected(join(path, key), what, value);
        }
    }

    fn integer(
        &mut self,
        object: &Map<String, Value>,
        path: &str,
        key: &str,
        max: u64,
        what: &str,
    ) {
        if let Some(value) = self.field(object, path, key, true)
            && value.as_u64().is_none_or(|n| n > max)
        {
            self.expected(join(path, key), what, value);
        }
    }

    /// An enum given by its serde names, so the accepted spellings cannot drift from the types.
    fn variant<T: Serialize>(
        &mut self,
        object: &Map<String, Value>,
        path: &str,
        key: &str,
        all: &[T],
        what: &str,
    ) {
        let Some(value) = self.field(object, path, key, true) else {
            return;
        };
        let names: Vec<String> = all
            .iter()
            .filter_map(|v| serde_json::to_value(v).ok()?.as_str().map(str::to_string))
            .collect();
        if !value
            .as_str()
            .is_some_and(|s| names.iter().any(|name| name == s))
        {
            let quoted: Vec<String> = names.iter().map(|name| format!("{name:?}")).collect();
            self.push(
                join(path, key),
                format!("{} is not a known {what}", describe(value)),
                format!("use one of {}", quoted.join(", ")),
            );
        }
    }

    fn expected(&mut self, path: String, what: &str, found: &Value) {
        self.push(
            path,
            format!("expected {what}, found {}", describe(found)),
            format!("write {what} here"),
        );
    }

    fn profile(&mut self, value: &Value, path: &str) -> Option<Profile> {
        let before = self.problems.len() - self.unknown_keys;
        let object = self.object(value, path, "a profile (an object)")?;
        self.keys(object, path, PROFILE_KEYS);
        self.string(
            object,
            path,
            "id",
            true,
            "an id as text, such as \"team-gmail\"",
        );
        self.string(
            object,
            path,
            "name",
            true,
            "a name as text, such as \"Team Gmail\"",
        );
        self.variant(object, path, "preset", Preset::all(), "preset");
        self.string(
            object,
            path,
            "host",
            true,
            "a host name as text, such as \"smtp.gmail.com\"",
        );
        self.integer(
            object,
            path,
            "port",
            u16::MAX.into(),
            "a port number from 1 to 65535",
        );
        self.variant(object, path, "security", &Security::ALL, "security setting");
        self.string(
            object,
            path,
            "extra_ca_pem",
            false,
            "a PEM certificate as text, or null",
        );
        self.variant(object, path, "auth", &AuthMethod::ALL, "sign-in method");
        if let Some(oauth) = self.field(object, path, "oauth", false) {
            self.oauth(oauth, &join(path, "oauth"));
        }
        self.string(
            object,
            path,
            "username",
            true,
            "a username as text, such as \"ann@gmail.com\"",
        );
        if let Some(from) = self.field(object, path, "from", true) {
            self.mailbox(from, &join(path, "from"));
        }
        if let Some(reply_to) = self.field(object, path, "reply_to", false) {
            self.mailbox(reply_to, &join(path, "reply_to"));
        }
        if let Some(limits) = self.field(object, path, "limits", true) {
            let limits_path = join(path, "limits");
            if let Some(limits) = self.object(
                limits,
                &limits_path,
                "limits (an object with \"daily\" and \"per_minute\")",
            ) {
                self.keys(limits, &limits_path, LIMITS_KEYS);
                let count = "a whole number from 0 to 4294967295";
                self.integer(limits, &limits_path, "daily", u32::MAX.into(), count);
                self.integer(limits, &limits_path, "per_minute", u32::MAX.into(), count);
            }
        }
        if let Some(headers) = self.field(object, path, "headers", false) {
            self.headers(headers, &join(path, "headers"));
        }
        if self.problems.len() - self.unknown_keys > before {
            return None;
        }
        match Profile::deserialize(&known_keys_only(value)) {
            Ok(profile) => {
                self.problems.extend(
                    profile
                        .problems()
                        .into_iter()
                        .map(|problem| problem.under(path)),
                );
                Some(profile)
            }
            Err(error) => {
                self.push(
                    path,
                    format!("the profile {UNEXPECTED}: {error}"),
                    "export the file again",
                );
                None
            }
        }
    }

    fn oauth(&mut self, value: &Value, path: &str) {
        let what = "the OAuth client (an object with \"client_id\"), or null";
        let Some(object) = self.object(value, path, what) else {
            return;
        };
        self.keys(object, path, OAUTH_KEYS);
        self.string(
            object,
            path,
            "client_id",
            true,
            "a client ID as text, such as \"1234-abc.apps.googleusercontent.com\"",
        );
        if object
            .get("mechanism")
            .is_some_and(|value| !value.is_null())
        {
            self.variant(object, path, "mechanism", &OAuthMechanism::ALL, "mechanism");
        }
        let Some(endpoints) = self.field(object, path, "endpoints", false) else {
            return;
        };
        let path = join(path, "endpoints");
        let what =
            "the authorization server (an object with \"auth_uri\" and \"token_uri\"), or null";
        let Some(endpoints) = self.object(endpoints, &path, what) else {
            return;
        };
        self.keys(endpoints, &path, ENDPOINTS_KEYS);
        for (key, required) in [
            ("auth_uri", true),
            ("token_uri", true),
            ("revocation_uri", false),
            ("issuer", false),
        ] {
            let what = if required {
                "an https:// address as text"
            } else {
                "an https:// address as text, or null"
            };
            self.string(endpoints, &path, key, required, what);
        }
    }

    fn mailbox(&mut self, value: &Value, path: &str) {
        let what = "a mailbox (an object with \"name\" and \"address\")";
        let Some(object) = self.object(value, path, what) else {
            return;
        };
        self.keys(object, path, MAILBOX_KEYS);
        self.string(
            object,
            path,
            "name",
            false,
            "a display name as text, or null",
        );
        self.string(
            object,
            path,
            "address",
            true,
            "an address as text, such as \"ann@example.com\"",
        );
    }

    fn headers(&mut self, value: &Value, path: &str) {
        let Some(items) = value.as_array() else {
            self.expected(path.to_string(), "a list of headers", value);
            return;
        };
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            let what = "a header (an object with \"name\" and \"value\")";
            let Some(object) = self.object(item, &item_path, what) else {
                continue;
            };
            self.keys(object, &item_path, HEADER_KEYS);
            self.string(
                object,
                &item_path,
                "name",
                true,
                "a header name as text, such as \"X-Campaign\"",
            );
            self.string(object, &item_path, "value", true, "a header value as text");
        }
    }
}

/// A copy of a profile without the unknown keys (already reported), which serde would refuse.
fn known_keys_only(profile: &Value) -> Value {
    fn retain(value: &mut Value, known: &[&str]) {
        if let Some(object) = value.as_object_mut() {
            object.retain(|key, _| known.contains(&key.as_str()));
        }
    }
    let mut profile = profile.clone();
    retain(&mut profile, PROFILE_KEYS);
    if let Some(object) = profile.as_object_mut() {
        for (key, value) in object.iter_mut() {
            match key.as_str() {
                "from" | "reply_to" => retain(value, MAILBOX_KEYS),
                "oauth" => {
                    retain(value, OAUTH_KEYS);
                    if let Some(endpoints) = value.get_mut("endpoints") {
                        retain(endpoints, ENDPOINTS_KEYS);
                    }
                }
                "limits" => retain(value, LIMITS_KEYS),
                "headers" => value
                    .as_array_mut()
                    .into_iter()
                    .flatten()
                    .for_each(|h| retain(h, HEADER_KEYS)),
                _ => {}
            }
        }
    }
    profile
}

/// Keys that suggest someone put a secret in the file.
fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "pwd",
        "secret",
        "token",
        "credential",
        "api_key",
        "apikey",
        "private_key",
        "privatekey",
    ]
    .iter()
    .any(|secret| key.contains(secret))
        || key == "pass"
}

/// A JSON path step: `.key` for plain keys, `["odd key"]` otherwise.
fn join(path: &str, key: &str) -> String {
    let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("{path}.{key}")
    } else {
        format!("{path}[{}]", Value::from(key))
    }
}

/// A value as a person would read it in a message.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 40 => {
            format!("the text {:?}...", s.chars().take(40).collect::<String>())
        }
        Value::String(s) => format!("the text {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}
