use protocol::Direction;
use web_sys::Element;
use yew::prelude::*;

use protocol::TranscriptLine;

use crate::format::since_start;
use crate::hooks::use_bridge;

/// The SMTP conversation of the current check or send as it happens, passwords and message
/// data already hidden by the bridge. Client and server lines differ in label and colour, and
/// "Copy" puts the whole transcript on the clipboard for a support ticket.
#[function_component]
pub fn Transcript() -> Html {
    let bridge = use_bridge();
    let log = use_node_ref();
    let copied = use_state(|| None::<&'static str>);
    let count = bridge.run.as_ref().map_or(0, |run| run.transcript.len());
    use_effect_with(count, {
        let copied = copied.clone();
        move |_| copied.set(None)
    });
    // Keep the newest line in view as lines arrive.
    use_effect_with(count, {
        let log = log.clone();
        move |_| {
            if let Some(log) = log.cast::<Element>() {
                log.set_scroll_top(log.scroll_height());
            }
        }
    });
    let copy = bridge.run.as_ref().map(|run| {
        let text = as_text(&run.transcript);
        let copied = copied.clone();
        Callback::from(move |_: MouseEvent| {
            let Some(clipboard) = web_sys::window().map(|window| window.navigator().clipboard()) else {
                return;
            };
            let promise = clipboard.write_text(&text);
            let copied = copied.clone();
            wasm_bindgen_futures::spawn_local(async move {
                copied.set(Some(
                    match wasm_bindgen_futures::JsFuture::from(promise).await {
                        Ok(_) => "Copied the transcript.",
                        Err(_) => "The browser did not allow copying; select the lines and copy them instead.",
                    },
                ));
            });
        })
    });
    let body = match &bridge.run {
        None => html! {
            <p class="quiet">{ "Check a connection or send a message to watch the SMTP conversation here." }</p>
        },
        Some(run) if run.transcript.is_empty() && run.is_running() => html! {
            <p class="quiet">{ "Waiting for the first line…" }</p>
        },
        Some(run) if run.transcript.is_empty() => html! {
            <p class="quiet">{ "This operation ended before any SMTP was spoken." }</p>
        },
        Some(run) => lines(&run.transcript),
    };
    // A log, but not a live one: the outcome is announced by the compose panel, and reading
    // every SMTP line aloud would drown it.
    html! {
        <section class="panel" aria-labelledby="transcript-heading">
            <div class="panel-top">
                <h2 id="transcript-heading">{ "Transcript" }</h2>
                if let Some(copy) = copy {
                    <button type="button" id="transcript-copy" onclick={copy}>{ "Copy the transcript" }</button>
                }
            </div>
            <p class="hint">{ "Times count from the start of the operation. Passwords and message contents are hidden, so the transcript is safe to share." }</p>
            <p class="hint" aria-live="polite">{ (*copied).unwrap_or_default() }</p>
            <div id="transcript" class="transcript" ref={log} role="log" aria-live="off" aria-labelledby="transcript-heading" tabindex="0">
                { body }
            </div>
        </section>
    }
}

/// Transcript lines as the transcript panel shows them: when, who, and what was said. The
/// history and the outbox show kept transcripts the same way.
pub fn lines(lines: &[TranscriptLine]) -> Html {
    html! {
        <ol class="transcript-lines">
            { for lines.iter().map(|line| {
                let who = match line.direction {
                    Direction::Client => "client",
                    Direction::Server => "server",
                    Direction::Note => "note",
                };
                html! {
                    <li class={classes!("line", who)}>
                        <span class="at">{ since_start(line.at_ms) }</span>
                        <span class="who">{ who }</span>
                        <code class="text">{ &line.text }</code>
                    </li>
                }
            }) }
        </ol>
    }
}

/// The transcript as plain text, one line each: `+0.012 s  S: 220 ...`.
pub fn as_text(lines: &[TranscriptLine]) -> String {
    lines
        .iter()
        .map(|line| {
            let who = match line.direction {
                Direction::Client => "C:",
                Direction::Server => "S:",
                Direction::Note => "--",
            };
            format!("{}  {who} {}\n", since_start(line.at_ms), line.text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copied_text_tells_client_from_server() {
        let lines = [
            TranscriptLine {
                at_ms: 5,
                direction: Direction::Server,
                text: "220 smtp.gmail.com ESMTP".into(),
            },
            TranscriptLine {
                at_ms: 1234,
                direction: Direction::Client,
                text: "AUTH PLAIN ****".into(),
            },
        ];
        assert_eq!(
            as_text(&lines),
            "+0.005 s  S: 220 smtp.gmail.com ESMTP\n+1.234 s  C: AUTH PLAIN ****\n"
        );
    }
}
