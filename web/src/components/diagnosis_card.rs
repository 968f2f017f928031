use diagnosis::{CertificateInfo, Diagnosis, Retry};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct DiagnosisCardProps {
    pub diagnosis: Diagnosis,
    /// Repeats what failed; no button when absent.
    #[prop_or_default]
    pub on_retry: Option<Callback<()>>,
    #[prop_or_default]
    pub retry_disabled: bool,
    /// The title's id, unique on the page when several cards show at once.
    #[prop_or(AttrValue::Static("diagnosis-title"))]
    pub title_id: AttrValue,
    /// The certificates the server presented in a failed handshake, leaf first.
    #[prop_or_default]
    pub chain: Vec<CertificateInfo>,
}

/// A certificate chain as the server presented it: subject, issuer, validity, names and
/// SHA-256 fingerprint of each, leaf first.
pub fn certificate_chain(chain: &[CertificateInfo]) -> Html {
    html! {
        <ol class="cert-chain">
            { for chain.iter().map(|certificate| html! {
                <li>
                    <dl class="facts">
                        <dt>{ "Subject" }</dt>
                        <dd>{ &certificate.subject }</dd>
                        <dt>{ "Issuer" }</dt>
                        <dd>{ &certificate.issuer }</dd>
                        <dt>{ "Valid" }</dt>
                        <dd>{ format!("{} to {}", certificate.not_before, certificate.not_after) }</dd>
                        if !certificate.names.is_empty() {
                            <dt>{ "Names" }</dt>
                            <dd>{ certificate.names.join(", ") }</dd>
                        }
                        <dt>{ "SHA-256" }</dt>
                        <dd><code class="fingerprint">{ &certificate.sha256 }</code></dd>
                    </dl>
                </li>
            }) }
        </ol>
    }
}

/// A failure explained: what happened, the likely cause, the steps to fix it, Google's help
/// page, and whether trying again can help.
#[function_component]
pub fn DiagnosisCard(props: &DiagnosisCardProps) -> Html {
    let diagnosis = &props.diagnosis;
    let retry_words = match diagnosis.retry {
        Retry::Transient => "Trying again later can work: the cause is temporary.",
        Retry::Permanent => "Trying again will fail the same way until something changes.",
        Retry::AfterQuotaWindow => {
            "Trying again works once the sending quota's 24-hour window has moved on."
        }
    };
    html! {
        <article class="result failed diagnosis diagnosis-card" aria-labelledby={props.title_id.clone()}>
            <h3 id={props.title_id.clone()}>{ &diagnosis.title }</h3>
            <dl>
                <dt>{ "What happened" }</dt>
                <dd>{ &diagnosis.what_happened }</dd>
                <dt>{ "Likely cause" }</dt>
                <dd>{ &diagnosis.likely_cause }</dd>
            </dl>
            if !diagnosis.fix.is_empty() {
                <h4>{ "How to fix it" }</h4>
                <ol class="fix-steps diagnosis-fix">
                    { for diagnosis.fix.iter().map(|step| html! { <li>{ step }</li> }) }
                </ol>
            }
            // Only web links: the text comes over the socket and must not become a script URL.
            if let Some(link) = diagnosis.help_link.as_ref().filter(|link| link.starts_with("https://")) {
                <p><a href={link.clone()} target="_blank" rel="noopener noreferrer">{ "Read Google's help page about this" }</a></p>
            }
            if !props.chain.is_empty() {
                <h4>{ "The certificates the server presented, server first" }</h4>
                { certificate_chain(&props.chain) }
            }
            if let Some(reply) = &diagnosis.reply {
                <h4>{ "The server's reply" }</h4>
                <pre class="reply">{ reply }</pre>
            }
            <p>{ retry_words }</p>
            if let Some(on_retry) = &props.on_retry {
                <button type="button" disabled={props.retry_disabled}
                    onclick={on_retry.reform(|_: MouseEvent| ())}>{ "Try sending again" }</button>
            }
        </article>
    }
}
