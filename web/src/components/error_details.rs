use protocol::OperationError;
use yew::prelude::*;

use crate::state::sentence;

#[derive(Properties, PartialEq)]
pub struct ErrorDetailsProps {
    pub error: OperationError,
}

/// An error without a diagnosis: what went wrong, the fix, and every problem by field.
#[function_component]
pub fn ErrorDetails(props: &ErrorDetailsProps) -> Html {
    let error = &props.error;
    html! {
        <div class="error-details">
            <p><strong>{ sentence(&error.message) }</strong></p>
            if !error.problems.is_empty() {
                <ul>
                    { for error.problems.iter().map(|problem| html! {
                        <li><code>{ &problem.path }</code>{ ": " }{ sentence(&problem.message) }{ " " }{ sentence(&problem.fix) }</li>
                    }) }
                </ul>
            }
            if let Some(fix) = &error.fix {
                <p>{ fix }</p>
            }
        </div>
    }
}
