use protocol::Direction;
use web_sys::Element;
use yew::prelude::*;

use crate::format::since_start;
use crate::hooks::use_bridge;

/// The SMTP conversation of the last send as it happens, passwords and message data already
/// hidden by the bridge. Client and server lines differ in label and colour.
#[function_component]
pub fn Transcript() -> Html {
    let bridge = use_bridge();
    let log = use_node_ref();
    let lines = bridge.send.as_ref().map_or(0, |run| run.transcript.len());
    // Keep the newest line in view as lines arrive.
    use_effect_with(lines, {
        let log = log.clone();
        move |_| {
            if let Some(log) = log.cast::<Element>() {
                log.set_scroll_top(log.scroll_height());
            }
        }
    });
    let body = match &bridge.send {
        None => html! {
            <p class="quiet">{ "Send a message or a test to watch the SMTP conversation here." }</p>
        },
        Some(run) if run.transcript.is_empty() && run.is_running() => html! {
            <p class="quiet">{ "Waiting for the first line…" }</p>
        },
        Some(run) if run.transcript.is_empty() => html! {
            <p class="quiet">{ "This send ended before any SMTP was spoken." }</p>
        },
        Some(run) => html! {
            <ol class="transcript-lines">
                { for run.transcript.iter().map(|line| {
                    let (class, who) = match line.direction {
                        Direction::Client => ("client", "client"),
                        Direction::Server => ("server", "server"),
                        Direction::Note => ("note", "note"),
                    };
                    html! {
                        <li class={classes!("line", class)}>
                            <span class="at">{ since_start(line.at_ms) }</span>
                            <span class="who">{ who }</span>
                            <code class="text">{ &line.text }</code>
                        </li>
                    }
                }) }
            </ol>
        },
    };
    // A log, but not a live one: the outcome is announced by the compose panel, and reading
    // every SMTP line aloud would drown it.
    html! {
        <section class="panel" aria-labelledby="transcript-heading">
            <h2 id="transcript-heading">{ "Transcript" }</h2>
            <p class="hint">{ "Times count from the start of the send. Passwords and message contents are hidden." }</p>
            <div class="transcript" ref={log} role="log" aria-live="off" aria-labelledby="transcript-heading" tabindex="0">
                { body }
            </div>
        </section>
    }
}
