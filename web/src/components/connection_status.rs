use yew::prelude::*;

use super::pairing_form::PairingForm;
use crate::hooks::use_bridge;
use crate::platform;
use crate::state::Connection;

/// Where the connection to the bridge stands, in words, with what to do when it is down.
#[function_component]
pub fn ConnectionStatus() -> Html {
    let bridge = use_bridge();
    let retry = {
        let bridge = bridge.clone();
        Callback::from(move |_: MouseEvent| bridge.reconnect())
    };
    let retry_button = |label: &'static str| {
        html! { <button type="button" onclick={retry.clone()}>{ label }</button> }
    };
    let start_a_bridge = html! {
        <>
            <p>
                { "Start one from the mailbridge source folder with " }<code>{ "cargo xtask run" }</code>
                { ", or run " }<code>{ "mailbridge serve" }</code>
                { "; this page connects by itself as soon as one answers." }
            </p>
            <p>
                { "To have it start whenever you log in, run " }<code>{ "mailbridge service install" }</code>
                { " once; " }<code>{ "mailbridge service status" }</code>{ " says whether it runs, and on which port." }
            </p>
        </>
    };
    // The extension is paired by pasting a code, so its screens say so and show the form.
    let extension = platform::current().pairs_by_paste();
    let pair_command = platform::pair_command();
    let (class, body) = match &bridge.connection {
        Connection::NoToken if extension => (
            "down",
            html! {
                <>
                    <p><strong>{ "Not paired with a bridge yet." }</strong>
                        { " Run " }<code>{ pair_command }</code>
                        { " in a terminal and paste the link or code it prints here, once: the extension remembers it." }</p>
                    <PairingForm />
                </>
            },
        ),
        Connection::Refused if extension => (
            "down",
            html! {
                <>
                    <p><strong>{ "The bridge refused this extension's pairing code." }</strong>
                        { " The code is out of date (it changes with " }<code>{ "mailbridge pair --reset" }</code>
                        { "), or there were too many wrong tries and the bridge is locked for a while." }</p>
                    <p>{ "Run " }<code>{ pair_command }</code>
                        { " and paste the new code below. Each refused try counts towards the lock, so the extension does not retry by itself." }</p>
                    <PairingForm />
                </>
            },
        ),
        Connection::NoToken => (
            "down",
            html! {
                <>
                    <p><strong>{ "Not paired with a bridge." }</strong>
                        { " This page needs the pairing address that " }<code>{ "mailbridge serve" }</code>
                        { " prints, which ends in " }<code>{ "#pair=" }</code>{ "." }</p>
                    <p>{ "Open that address, or run " }<code>{ "mailbridge pair" }</code>
                        { " to print it again. No bridge running yet? Run " }<code>{ "cargo xtask run" }</code>
                        { " in the source folder or " }<code>{ "mailbridge serve" }</code>{ "." }</p>
                </>
            },
        ),
        Connection::Connecting => (
            "busy",
            html! { <p><strong>{ "Connecting to the bridge…" }</strong></p> },
        ),
        Connection::Connected {
            bridge_version,
            secret_store,
        } => (
            "up",
            html! {
                <>
                    <p><strong>{ "Connected" }</strong>
                        { format!(" to mailbridge {bridge_version}. Secrets are kept in {secret_store}.") }</p>
                    if extension {
                        <details class="pairing-details">
                            <summary>{ "Pair again or change the bridge's address" }</summary>
                            <PairingForm />
                        </details>
                    }
                </>
            },
        ),
        Connection::Lost { retry_in_ms } => (
            "busy",
            html! {
                <>
                    <p><strong>{ "The connection to the bridge dropped." }</strong>
                        { format!(" Reconnecting in {}…", seconds(*retry_in_ms)) }</p>
                    { retry_button("Reconnect now") }
                </>
            },
        ),
        Connection::NoBridge { retry_in_ms } => (
            "down",
            html! {
                <>
                    <p><strong>{ "No bridge is answering" }</strong>
                        { format!(" at {}. The page tries again in {}.", bridge.url(), seconds(*retry_in_ms)) }</p>
                    { start_a_bridge }
                    { retry_button("Try to connect now") }
                    if platform::is_firefox() {
                        <p>{ "If a bridge does run, it may not know this Firefox install yet (each has its own origin, which the bridge turns away before answering). Run " }
                            <code>{ pair_command }</code>{ " and paste what it prints below." }</p>
                    }
                    if extension {
                        <details class="pairing-details" open=true>
                            <summary>{ "Pairing and the bridge's address" }</summary>
                            <PairingForm />
                        </details>
                    }
                </>
            },
        ),
        Connection::Refused => (
            "down",
            html! {
                <>
                    <p><strong>{ "The bridge refused this page's pairing token." }</strong>
                        { " The token is out of date (it changes with " }<code>{ "mailbridge pair --reset" }</code>
                        { "), or there were too many wrong tries and the bridge is locked for a while." }</p>
                    <p>{ "Open the address that " }<code>{ "mailbridge serve" }</code>{ " printed (or run " }
                        <code>{ "mailbridge pair" }</code>{ " to print it again). Each refused try counts towards the lock, so the page does not retry by itself." }</p>
                    { retry_button("Try pairing again") }
                </>
            },
        ),
        Connection::Incompatible { message, fix } => (
            "down",
            html! {
                <>
                    <p><strong>{ "This page and the bridge do not fit together: " }</strong>{ message }{ "." }</p>
                    if let Some(fix) = fix { <p>{ fix }</p> }
                </>
            },
        ),
    };
    html! {
        <section id="connection" class={classes!("connection", class)} role="status" aria-live="polite" aria-label="Connection to the bridge">
            { body }
        </section>
    }
}

fn seconds(ms: u32) -> String {
    let seconds = ms.div_ceil(1000);
    if seconds == 1 {
        "1 second".to_owned()
    } else {
        format!("{seconds} seconds")
    }
}
