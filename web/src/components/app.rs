use yew::prelude::*;

use super::alert::Alert;
use super::check_report::CheckReport;
use super::compose::Compose;
use super::connection_status::ConnectionStatus;
use super::history::History;
use super::inbox::Inbox;
use super::profile_list::ProfileList;
use super::transcript::Transcript;
use crate::hooks::BridgeProvider;

/// The whole page: the connection on top; composing, the check and the transcript on the
/// left; profiles, the sandbox inbox and the history on the right (one column on a phone).
#[function_component]
pub fn App() -> Html {
    // For `cargo xtask bench`: the time from navigation to the first rendered screen.
    use_effect_with((), |()| crate::mark("mailbridge:first-screen"));
    html! {
        <BridgeProvider>
            <a class="skip-link" href="#compose-heading">{ "Skip to Compose" }</a>
            <header class="top">
                <h1>{ "mailbridge" }</h1>
                <nav aria-label="Panels">
                    <a href="#compose-heading">{ "Compose" }</a>
                    <a href="#profiles-heading">{ "Profiles" }</a>
                    <a href="#check-report">{ "Check" }</a>
                    <a href="#inbox-heading">{ "Sandbox inbox" }</a>
                    <a href="#history">{ "History" }</a>
                </nav>
                <ConnectionStatus />
            </header>
            <Alert />
            <main class="layout">
                <div class="column">
                    <Compose />
                    <CheckReport />
                    <Transcript />
                </div>
                <div class="column">
                    <ProfileList />
                    <Inbox />
                    <History />
                </div>
            </main>
        </BridgeProvider>
    }
}
