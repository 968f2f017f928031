use protocol::{Operation, Outcome, VerifyReport};
use yew::prelude::*;

use crate::hooks::use_bridge;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub message_id: String,
}

/// The delivery verdicts kept for a sent message, each with its IMAP transcript; read when
/// the entry's transcript is opened.
#[function_component]
pub fn Verdicts(props: &Props) -> Html {
    let bridge = use_bridge();
    let reports = use_state(|| None::<Vec<VerifyReport>>);
    {
        let reports = reports.clone();
        use_effect_with(props.message_id.clone(), move |message_id| {
            let answer = bridge.call(Operation::ReadVerdicts {
                message_id: message_id.clone(),
            });
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(Outcome::Verdicts { reports: found }) = answer.await {
                    reports.set(Some(found));
                }
            });
        });
    }
    let Some(found) = &*reports else {
        return html! {};
    };
    if found.is_empty() {
        return html! {};
    }
    html! {
        <div class="history-verdicts">
            <h4>{ "Delivery verdicts" }</h4>
            <ul>
                { for found.iter().map(|report| {
                    let line = match (&report.verdict, &report.error) {
                        (Some(v), _) => {
                            let tab = v.tab.map(|tab| format!(" ({})", tab.name())).unwrap_or_default();
                            format!("{}: {}{tab}. {}", v.mailbox, v.placement.words(), v.summary)
                        }
                        (None, Some(error)) => format!("No verdict: {}", error.title),
                        (None, None) => "No verdict".to_owned(),
                    };
                    html! {
                        <li class="history-verdict">
                            { line }
                            <details>
                                <summary>{ "IMAP transcript (passwords hidden)" }</summary>
                                <pre>{ for report.transcript.iter().map(|l| format!("{:>6} ms {}\n", l.at_ms, l.text)) }</pre>
                            </details>
                        </li>
                    }
                }) }
            </ul>
        </div>
    }
}
