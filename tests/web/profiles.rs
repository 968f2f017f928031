//! Profiles in the page's Profiles view: made from a preset, given a secret the page never shows again,
//! checked against the sandbox, exported and imported into another bridge.

use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::{Value, json};

use super::harness::{Web, click, run};

/// An app password as Google shows it, spaces and all.
const APP_PASSWORD: &str = "abcd efgh ijkl mnop";

/// The profile test 2 and the export test make.
const WORK_GMAIL: Profile = Profile {
    preset: "gmail587",
    name: "Work Gmail",
    address: "someone@gmail.com",
};
/// The row the list shows for it (its id is made from the name).
const WORK_GMAIL_ROW: &str = r#"tr[data-profile-id="work-gmail"]"#;

#[test]
fn a_profile_from_a_preset_keeps_its_secret_out_of_the_page() {
    run("profile-secret", |web| async move {
        let bridge = web.start_bridge("a");
        web.pair(&bridge).await;
        web.open_view("profiles").await;

        open_new_profile(&web, WORK_GMAIL.preset).await;
        web.replace_text("#profile-name", WORK_GMAIL.name).await;
        web.replace_text("#profile-username", WORK_GMAIL.address)
            .await;
        // Half an address is refused where it was typed, and the message goes once it is whole
        // (Tab leaves the field, for a form that checks a field when it is left).
        web.replace_text("#profile-from", &("someone@".to_owned() + &Key::Tab))
            .await;
        web.nonempty_text("#profile-from-error").await;
        web.type_into("#profile-from", &("gmail.com".to_owned() + &Key::Tab))
            .await;
        web.eventually("the From message to go", async || {
            match web.find_all("#profile-from-error").await.first() {
                None => Ok(()),
                Some(error) => match error.text().await {
                    Ok(shown) if shown.trim().is_empty() => Ok(()),
                    Ok(shown) => Err(shown),
                    Err(e) => Err(e.to_string()),
                },
            }
        })
        .await;
        assert_eq!(web.value("#profile-from").await, WORK_GMAIL.address);
        web.click("#profile-save").await;
        store_secret(&web, WORK_GMAIL_ROW, APP_PASSWORD).await;

        // Stored, and nowhere in what the page shows or holds: neither as typed nor as the
        // bridge keeps it (without the spaces).
        let unspaced = APP_PASSWORD.replace(' ', "");
        let text = web.page_text().await;
        let html = web.page_html().await;
        for secret in [APP_PASSWORD, unspaced.as_str()] {
            assert!(!text.contains(secret), "the page shows the secret:\n{text}");
            assert!(!html.contains(secret), "the page holds the secret:\n{html}");
        }
    });
}

#[test]
fn a_wrong_password_gets_the_535_diagnosis_with_its_fix() {
    run("check-535", |web| async move {
        let bridge = web.start_bridge("a");
        web.pair(&bridge).await;
        web.open_view("profiles").await;

        // The sandbox account, with a password it does not accept.
        let wrong = Profile {
            preset: "sandbox",
            name: "Wrong pw",
            address: profile::SANDBOX_USER,
        };
        add_profile(&web, &wrong).await;
        let row = web.find_with_text("tr[data-profile-id]", wrong.name).await;
        let id = row
            .attr("data-profile-id")
            .await
            .unwrap_or_else(|e| panic!("the row has no id: {e}"))
            .unwrap_or_default();
        let row_css = format!(r#"tr[data-profile-id="{id}"]"#);
        store_secret(&web, &row_css, "wrong-password-123").await;

        let check = web.find(&format!("{row_css} button.profile-check")).await;
        click(&check, "the row's check button").await;

        let card = web.find_with_text(".diagnosis-card", "535").await;
        let fixes = card
            .find_all(Locator::Css(".diagnosis-fix li"))
            .await
            .unwrap_or_else(|e| panic!("no fix list: {e}"));
        assert!(!fixes.is_empty(), "the diagnosis says what to do");
        for fix in fixes {
            let shown = fix.text().await.unwrap_or_default();
            assert!(!shown.trim().is_empty(), "an empty fix step");
        }

        // Every step the check took is listed with how it went; sign-in is the one that failed.
        let steps = web
            .js(
                "return Array.from(document.querySelectorAll('#check-report #check-steps li'), \
                 (li) => [li.getAttribute('data-step'), li.getAttribute('data-status')]);",
                vec![],
            )
            .await;
        let steps: Vec<(String, String)> = serde_json::from_value(steps.clone())
            .unwrap_or_else(|e| panic!("steps without data-step or data-status ({e}): {steps}"));
        assert!(
            steps.contains(&("auth".to_owned(), "failed".to_owned())),
            "{steps:?}"
        );
        assert!(
            steps
                .iter()
                .all(|(step, status)| !step.is_empty() && !status.is_empty()),
            "{steps:?}"
        );
        web.nonempty_text("#check-report #check-verdict").await;

        let text = web.page_text().await;
        assert!(!text.contains("wrong-password-123"), "{text}");
    });
}

#[test]
fn an_export_holds_no_secret_and_imports_into_a_fresh_bridge() {
    run("export-import", |web| async move {
        let a = web.start_bridge("a");
        web.pair(&a).await;
        web.open_view("profiles").await;
        add_profile(&web, &WORK_GMAIL).await;
        store_secret(&web, WORK_GMAIL_ROW, APP_PASSWORD).await;
        let (file_name, exported_a) = export(&web).await;
        let unspaced = APP_PASSWORD.replace(' ', "");
        for secret in [
            APP_PASSWORD,
            unspaced.as_str(),
            sandbox::DEFAULT_APP_PASSWORD,
            a.serve.token(),
        ] {
            assert!(
                !exported_a.contains(secret),
                "the export holds a secret:\n{exported_a}"
            );
        }
        let team_a = parse(&exported_a);

        // A second machine: a fresh bridge, opened in the same browser. Its own sandbox
        // profile is kept; the file's is skipped.
        let b = web.start_bridge("b");
        web.pair(&b).await;
        web.open_view("profiles").await;
        web.select("#profiles-import-conflict", "skip").await;
        let path = web.file(&file_name, exported_a.as_bytes());
        web.choose_file("input#profiles-import-file", &path).await;
        // It says what it did, and the profile is there, without its secret: secrets stay on
        // the machine they were typed on.
        web.nonempty_text("#profiles-import-result").await;
        let secret = web.text(&format!("{WORK_GMAIL_ROW} .secret")).await;
        assert!(
            !secret.trim().starts_with("stored"),
            "the imported profile has no secret on the new machine: {secret:?}"
        );

        let (_, exported_b) = export(&web).await;
        let team_b = parse(&exported_b);
        assert_eq!(
            comparable(&team_b),
            comparable(&team_a),
            "B's export is A's, but for each sandbox's own port and CA\n--- A\n{exported_a}\n--- B\n{exported_b}"
        );

        // A file with a password in it is refused whole, naming where.
        let mut broken = team_a.clone();
        let index = profiles(&broken)
            .iter()
            .position(|profile| profile["name"] == WORK_GMAIL.name)
            .unwrap_or_else(|| panic!("no {} in A's export:\n{exported_a}", WORK_GMAIL.name));
        broken["profiles"][index]["password"] = json!("hunter2hunter2");
        let rows_before = web.find_all("tr[data-profile-id]").await.len();
        let path = web.file("with-a-password.json", broken.to_string().as_bytes());
        web.choose_file("input#profiles-import-file", &path).await;
        web.find_with_text(
            "#profiles-import-errors li",
            &format!("$.profiles[{index}].password"),
        )
        .await;
        assert_eq!(
            web.find_all("tr[data-profile-id]").await.len(),
            rows_before,
            "a refused import changes nothing"
        );
    });
}

/// What a person fills in for a profile.
struct Profile {
    /// The value of the preset's option in `#profile-new-preset`.
    preset: &'static str,
    name: &'static str,
    /// Both the sign-in name and the From address.
    address: &'static str,
}

/// Starts the form for a new profile from `preset`.
async fn open_new_profile(web: &Web, preset: &str) {
    web.select("#profile-new-preset", preset).await;
    web.click("#profile-new").await;
    web.find("#profile-name").await;
}

/// Fills in and saves a new profile; its secret is stored separately.
async fn add_profile(web: &Web, profile: &Profile) {
    open_new_profile(web, profile.preset).await;
    web.replace_text("#profile-name", profile.name).await;
    web.replace_text("#profile-username", profile.address).await;
    web.replace_text("#profile-from", profile.address).await;
    web.click("#profile-save").await;
    web.find_with_text("tr[data-profile-id]", profile.name)
        .await;
}

/// Types `secret` into the saved profile's secret field, stores it, and waits until the
/// profile's row (`row_css`) says it is stored.
async fn store_secret(web: &Web, row_css: &str, secret: &str) {
    web.replace_text("#profile-secret", secret).await;
    web.click("#profile-secret-save").await;
    // The bridge's answer, not the list: a sandbox profile reads "stored" before any secret is
    // set (it falls back to the sandbox's own password), so the list alone proves nothing.
    web.wait_text("#profile-secret-status", "Stored the").await;
    web.wait_text(&format!("{row_css} .secret"), "stored").await;
}

/// Exports every profile; the download's file name and its text.
async fn export(web: &Web) -> (String, String) {
    web.click("#profiles-export").await;
    let link = web.find("a#profiles-export-link").await;
    let href = web
        .eventually(
            "the export link to have a blob: address",
            async || match link.attr("href").await {
                Ok(Some(href)) if href.starts_with("blob:") => Ok(href),
                other => Err(format!("{other:?}")),
            },
        )
        .await;
    let download = link
        .attr("download")
        .await
        .unwrap_or_else(|e| panic!("no download attribute: {e}"))
        .unwrap_or_default();
    assert!(download.ends_with(".json"), "{download:?}");
    assert!(
        !download.contains('/') && !download.contains('\\'),
        "{download:?}"
    );
    (download, web.fetch_text(&href).await)
}

fn parse(export: &str) -> Value {
    serde_json::from_str(export).unwrap_or_else(|e| panic!("the export is not JSON: {e}\n{export}"))
}

fn profiles(team: &Value) -> &[Value] {
    team["profiles"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("no profiles list: {team}"))
}

/// A team file without what differs between two machines that both ran `mailbridge serve`:
/// each bridge starts its own sandbox, on its own port and with its own CA, and points its
/// sandbox profile at it. Everything else, including the imported profile, must be equal.
fn comparable(team: &Value) -> Value {
    let mut team = team.clone();
    if let Some(list) = team["profiles"].as_array_mut() {
        for profile in list.iter_mut().filter(|p| p["preset"] == "sandbox") {
            if let Some(fields) = profile.as_object_mut() {
                fields.remove("port");
                fields.remove("extra_ca_pem");
            }
        }
    }
    team
}
