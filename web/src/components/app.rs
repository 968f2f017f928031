use yew::prelude::*;

use super::alert::Alert;
use super::compose::Compose;
use super::connection_status::ConnectionStatus;
use super::inbox::Inbox;
use super::profile_list::ProfileList;
use super::transcript::Transcript;
use crate::hooks::BridgeProvider;

/// The whole page: the connection on top, composing and its transcript on the left, profiles
/// and the sandbox inbox on the right (one column on a phone).
#[function_component]
pub fn App() -> Html {
    html! {
        <BridgeProvider>
            <header class="top">
                <h1>{ "mailbridge" }</h1>
                <ConnectionStatus />
            </header>
            <Alert />
            <main class="layout">
                <div class="column">
                    <Compose />
                    <Transcript />
                </div>
                <div class="column">
                    <ProfileList />
                    <Inbox />
                </div>
            </main>
        </BridgeProvider>
    }
}
