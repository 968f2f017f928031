//! The bridge as a login service: the systemd user unit (Linux) or launchd agent (macOS) that
//! starts `mailbridge serve` when the user logs in. This module only writes and reads the
//! files, as text; `cli/service.rs` puts them in place and talks to systemctl or launchctl.

use std::path::{Path, PathBuf};

/// The unit's name for systemd, and the agent's label for launchd.
pub const SYSTEMD_UNIT: &str = "mailbridge.service";
pub const LAUNCHD_LABEL: &str = "dev.mailbridge.serve";

/// What the service runs: the program, its arguments, and the environment that names the
/// user's stores (config, data and secrets), so the service finds what the terminal finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl ServiceSpec {
    /// `mailbridge serve` on `port`, without printing the pairing address (the service's
    /// output goes to the journal or a log file, and the token must never be in a log).
    pub fn serve(program: PathBuf, port: u16, env: Vec<(String, String)>) -> ServiceSpec {
        ServiceSpec {
            program,
            args: vec![
                "serve".to_owned(),
                "--port".to_owned(),
                port.to_string(),
                "--hide-pairing-address".to_owned(),
            ],
            env,
        }
    }
}

/// The systemd user unit, for `~/.config/systemd/user/mailbridge.service`.
pub fn systemd_unit(spec: &ServiceSpec) -> String {
    let mut exec = vec![systemd_quote(
        &spec.program.display().to_string(),
        Line::Exec,
    )];
    exec.extend(spec.args.iter().map(|arg| systemd_quote(arg, Line::Exec)));
    let mut unit = String::from(
        "# Written by `mailbridge service install`; `mailbridge service uninstall` removes it.\n\
         [Unit]\n\
         Description=mailbridge bridge: the web app's and the browser extension's way to Gmail's SMTP\n\
         \n\
         [Service]\n\
         Type=exec\n",
    );
    unit.push_str(&format!("ExecStart={}\n", exec.join(" ")));
    for (name, value) in &spec.env {
        unit.push_str(&format!(
            "Environment={}\n",
            systemd_quote(&format!("{name}={value}"), Line::Environment)
        ));
    }
    unit.push_str(
        "Restart=on-failure\n\
         RestartSec=5\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
    );
    unit
}

/// The launchd agent, for `~/Library/LaunchAgents/dev.mailbridge.serve.plist`; its output goes
/// to `log`.
pub fn launchd_plist(spec: &ServiceSpec, log: &Path) -> String {
    let mut arguments = vec![xml_string(&spec.program.display().to_string())];
    arguments.extend(spec.args.iter().map(|arg| xml_string(arg)));
    let environment: String = spec
        .env
        .iter()
        .map(|(name, value)| {
            format!(
                "\t\t<key>{}</key>\n\t\t{}\n",
                xml_escape(name),
                xml_string(value)
            )
        })
        .collect();
    let log = xml_string(&log.display().to_string());
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <!-- Written by `mailbridge service install`; `mailbridge service uninstall` removes it. -->\n\
         <plist version=\"1.0\">\n\
         <dict>\n\
         \t<key>Label</key>\n\t<string>{LAUNCHD_LABEL}</string>\n\
         \t<key>ProgramArguments</key>\n\t<array>\n{}\t</array>\n\
         \t<key>EnvironmentVariables</key>\n\t<dict>\n{environment}\t</dict>\n\
         \t<key>RunAtLoad</key>\n\t<true/>\n\
         \t<key>KeepAlive</key>\n\t<dict>\n\t\t<key>SuccessfulExit</key>\n\t\t<false/>\n\t</dict>\n\
         \t<key>StandardOutPath</key>\n\t{log}\n\
         \t<key>StandardErrorPath</key>\n\t{log}\n\
         </dict>\n\
         </plist>\n",
        arguments
            .iter()
            .map(|argument| format!("\t\t{argument}\n"))
            .collect::<String>(),
    )
}

/// The port an installed unit or agent starts the bridge on: the word after `--port` (quoted
/// as either file writes it).
pub fn port_in(installed: &str) -> Option<u16> {
    let words: Vec<&str> = installed
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        .filter(|word| !word.is_empty())
        .collect();
    let at = words.iter().position(|word| *word == "--port")?;
    // In the plist the value is in the next <string>: skip the tags' words between.
    words[at + 1..]
        .iter()
        .find(|word| !word.starts_with("/string") && **word != "string")
        .and_then(|word| word.parse().ok())
}

/// Which kind of systemd line a word goes on: `ExecStart=` expands `$NAME`, `Environment=`
/// does not; both expand `%` specifiers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Line {
    Exec,
    Environment,
}

/// A word for a systemd line: in double quotes, with `\` and `"` escaped, `%` doubled and, on
/// an `ExecStart=` line, `$` doubled, so systemd expands nothing in it.
fn systemd_quote(word: &str, line: Line) -> String {
    let mut quoted = String::with_capacity(word.len() + 2);
    quoted.push('"');
    for c in word.chars() {
        match c {
            '\\' => quoted.push_str("\\\\"),
            '"' => quoted.push_str("\\\""),
            '%' => quoted.push_str("%%"),
            '$' if line == Line::Exec => quoted.push_str("$$"),
            '\n' => quoted.push_str("\\n"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

fn xml_string(text: &str) -> String {
    format!("<string>{}</string>", xml_escape(text))
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ServiceSpec {
        ServiceSpec::serve(
            PathBuf::from("/opt/mail bridge/mailbridge"),
            4591,
            vec![(
                "MAILBRIDGE_DATA_DIR".to_owned(),
                "/home/a/100% $data".to_owned(),
            )],
        )
    }

    #[test]
    fn the_unit_runs_serve_quoted_for_systemd() {
        let unit = systemd_unit(&spec());
        assert!(
            unit.contains(
                "ExecStart=\"/opt/mail bridge/mailbridge\" \"serve\" \"--port\" \"4591\" \"--hide-pairing-address\"\n"
            ),
            "{unit}"
        );
        assert!(
            unit.contains("Environment=\"MAILBRIDGE_DATA_DIR=/home/a/100%% $data\"\n"),
            "{unit}"
        );
        assert!(unit.contains("WantedBy=default.target\n"), "{unit}");
        assert_eq!(port_in(&unit), Some(4591));
    }

    #[test]
    fn the_agent_runs_serve_escaped_for_xml() {
        let mut spec = spec();
        spec.env.push(("A".to_owned(), "<&>".to_owned()));
        let plist = launchd_plist(&spec, Path::new("/Users/a/Library/Logs/mailbridge.log"));
        for expected in [
            "<string>/opt/mail bridge/mailbridge</string>",
            "<string>--port</string>\n\t\t<string>4591</string>",
            "<key>A</key>\n\t\t<string>&lt;&amp;&gt;</string>",
            "<key>RunAtLoad</key>\n\t<true/>",
            "<string>dev.mailbridge.serve</string>",
        ] {
            assert!(plist.contains(expected), "{expected:?} in\n{plist}");
        }
        assert_eq!(port_in(&plist), Some(4591));
    }

    #[test]
    fn a_file_without_a_port_has_none() {
        assert_eq!(port_in("ExecStart=\"/bin/mailbridge\" \"serve\""), None);
        assert_eq!(port_in("\"--port\" \"many\""), None);
    }
}
