//! The import of the page's second module (`src/bin/views.rs`), which holds every view but
//! Compose.
//!
//! The first time the address names such a view, [`Loader`] imports `/views/views.js`
//! (wasm-bindgen's glue, which fetches `views_bg.wasm` beside it and starts it). The module
//! then renders into the element with the id [`ROOT_ID`], which `components::App` keeps in the
//! page from the start and hides while Compose shows; it follows the address itself from then
//! on. Until it has rendered, the loader says so in the view's place, and if the import fails
//! it says why and what to do.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use yew::prelude::*;

/// The element the second module renders into.
pub const ROOT_ID: &str = "views-root";
/// Its attribute that tells the second module whether the user came to its view from another
/// one (so the view's heading takes the focus) or opened the page on it.
pub const NAVIGATED_ATTRIBUTE: &str = "data-navigated";
/// The second module's glue, as `cargo xtask web` writes it into `dist/`.
const MODULE: &str = "/views/views.js";

#[wasm_bindgen(
    inline_js = "export function importViews(url) { return import(url).then((module) => module.default()); }"
)]
extern "C" {
    #[wasm_bindgen(js_name = importViews)]
    fn import_views(url: &str) -> js_sys::Promise;
}

/// Where the import stands; it happens once per page.
#[derive(Debug, Clone, PartialEq)]
enum Load {
    NotStarted,
    Loading,
    Loaded,
    Failed(String),
}

thread_local! {
    static LOAD: RefCell<Load> = const { RefCell::new(Load::NotStarted) };
}

/// Imports the second module if that has not happened yet, and stands in for its view until it
/// has.
#[function_component]
pub fn Loader() -> Html {
    // The import's progress lives in `LOAD`, which outlives this component; it re-renders when
    // the import ends.
    let update = use_force_update();
    use_effect_with((), move |()| {
        let start = LOAD.with_borrow_mut(|current| {
            let start = *current == Load::NotStarted;
            if start {
                *current = Load::Loading;
            }
            start
        });
        // Not started and loading look the same, so only the end re-renders.
        if start {
            wasm_bindgen_futures::spawn_local(async move {
                let outcome = match JsFuture::from(import_views(MODULE)).await {
                    Ok(_) => Load::Loaded,
                    Err(error) => Load::Failed(
                        error
                            .as_string()
                            .or_else(|| {
                                error
                                    .dyn_ref::<js_sys::Error>()
                                    .map(|error| error.message().into())
                            })
                            .unwrap_or_else(|| "the browser gave no reason".to_owned()),
                    ),
                };
                LOAD.with_borrow_mut(|current| *current = outcome);
                update.force_update();
            });
        }
    });
    let load = LOAD.with_borrow(Load::clone);
    match &load {
        Load::NotStarted | Load::Loading => html! {
            <p class="view-loading" role="status">{ "Opening the view…" }</p>
        },
        Load::Loaded => Html::default(),
        Load::Failed(reason) => html! {
            <div class="alert" role="alert">
                <p>{ format!("This view could not be loaded ({reason}).") }</p>
                <p>{ "Reload the page. If that does not help, the bridge was built without it: run cargo xtask web, then restart mailbridge." }</p>
            </div>
        },
    }
}
