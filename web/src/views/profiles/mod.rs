//! The Profiles view (`#/profiles`): the sending profiles, their editor, the team file's import
//! and export, and beside them the check a profile's "Check connection" starts.
//!
//! # Layout
//! - `list`: [`list::ProfileList`], the table with each profile's actions.
//! - `editor`: the form for one profile, and its secret.
//! - `io`: the team file, in and out.
//! - `oauth`: an OAuth2 profile's client, "Connect Google account" and token health.

mod editor;
mod io;
mod list;
mod oauth;

use yew::prelude::*;

use crate::components::{CheckReport, Transcript};

#[function_component]
pub fn ProfilesView() -> Html {
    html! {
        <div class="layout">
            <div class="column">
                <list::ProfileList />
            </div>
            <div class="column">
                <CheckReport />
                <Transcript />
            </div>
        </div>
    }
}
