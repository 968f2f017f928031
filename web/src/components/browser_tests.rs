//! Component and state tests that need a real browser: they run in headless Chromium through
//! `wasm-bindgen-test-runner` (`cargo xtask test` sets it up). Each test renders into its own
//! element and reads the DOM the way a user's browser shows it.

use std::time::Duration;

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Element, HtmlInputElement, InputEvent, InputEventInit};
use yew::prelude::*;

use super::App;
use crate::draft::SavedDraft;
use crate::object_url::ObjectUrl;
use crate::pairing;
use crate::views::compose::chips::{Addresses, ChipInput};

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window()
        .and_then(|window| window.document())
        .expect("a browser document")
}

/// A fresh element in the page to render one test's component into.
fn root() -> Element {
    let element = document().create_element("div").expect("a div");
    document()
        .body()
        .expect("a body")
        .append_child(&element)
        .expect("the div joins the page");
    element
}

/// Lets Yew's scheduler run and the browser deliver events.
async fn settle() {
    yew::platform::time::sleep(Duration::from_millis(30)).await;
}

fn input_in(root: &Element, selector: &str) -> HtmlInputElement {
    root.query_selector(selector)
        .ok()
        .flatten()
        .and_then(|element| element.dyn_into::<HtmlInputElement>().ok())
        .unwrap_or_else(|| panic!("no input {selector} in {}", root.inner_html()))
}

/// Types `text` as the user would: the value changes, then an `input` event bubbles.
fn type_into(input: &HtmlInputElement, text: &str) {
    input.set_value(text);
    let init = InputEventInit::new();
    init.set_bubbles(true);
    let event = InputEvent::new_with_event_init_dict("input", &init).expect("an input event");
    input
        .dispatch_event(&event)
        .expect("the event is delivered");
}

fn clear_storage() {
    let window = web_sys::window().expect("a window");
    if let Ok(Some(storage)) = window.local_storage() {
        let _ = storage.clear();
    }
    if let Ok(Some(storage)) = window.session_storage() {
        let _ = storage.clear();
    }
}

#[wasm_bindgen_test]
async fn without_a_token_the_page_says_how_to_pair() {
    clear_storage();
    let root = root();
    yew::Renderer::<App>::with_root(root.clone()).render();
    settle().await;
    let text = root.text_content().unwrap_or_default();
    assert!(text.contains("Not paired with a bridge"), "{text}");
    assert!(text.contains("mailbridge serve"), "{text}");
    // The Compose view's panels are there, each under its heading, and the navigation names
    // every view.
    for heading in ["Compose", "Check connection", "Transcript"] {
        assert!(text.contains(heading), "no {heading} panel in {text}");
    }
    for view in ["Outbox", "Inbox", "History", "Profiles"] {
        assert!(text.contains(view), "no {view} in the navigation: {text}");
    }
}

/// Puts `fragment` in the address without a `hashchange`, as a page opened there would have it.
fn replace_fragment(fragment: &str) {
    let window = web_sys::window().expect("a window");
    let path = window.location().pathname().expect("a path");
    window
        .history()
        .expect("history")
        .replace_state_with_url(
            &wasm_bindgen::JsValue::NULL,
            "",
            Some(&format!("{path}{fragment}")),
        )
        .expect("the address changes");
}

/// Waits until `root` holds an element matching `selector`, for at most two seconds.
async fn wait_for(root: &Element, selector: &str) -> Element {
    for _ in 0..60 {
        if let Ok(Some(element)) = root.query_selector(selector) {
            return element;
        }
        settle().await;
    }
    panic!("no {selector} in {}", root.inner_html());
}

fn focused_id() -> Option<String> {
    document().active_element().map(|element| element.id())
}

fn current_view(root: &Element) -> Option<String> {
    root.query_selector("nav a[aria-current=\"page\"]")
        .ok()
        .flatten()
        .and_then(|link| link.get_attribute("href"))
}

#[wasm_bindgen_test]
async fn the_address_names_the_view_and_back_returns() {
    clear_storage();
    replace_fragment("");
    let root = root();
    yew::Renderer::<App>::with_root(root.clone()).render();
    wait_for(&root, "#compose-heading").await;
    assert_eq!(current_view(&root).as_deref(), Some("#/compose"));

    let window = web_sys::window().expect("a window");
    window
        .location()
        .set_hash("#/outbox")
        .expect("the hash changes");
    // The Outbox belongs to the page's second module, which this test page does not have:
    // the first module stands in for it (saying it opens the view, or why it could not) and
    // shows the element the second module renders into. Its heading and focus are checked end
    // to end in `tests/web/views.rs`.
    wait_for(&root, "#main > .view-loading, #main > .alert").await;
    let views_root = wait_for(&root, "#views-root").await;
    assert!(!views_root.has_attribute("hidden"));
    assert!(
        root.query_selector("#compose-heading")
            .ok()
            .flatten()
            .is_none()
    );
    assert_eq!(current_view(&root).as_deref(), Some("#/outbox"));
    // The tab names the view.
    assert_eq!(document().title(), "Outbox · mailbridge");

    window.history().expect("history").back().expect("back");
    wait_for(&root, "#compose-heading").await;
    assert_eq!(current_view(&root).as_deref(), Some("#/compose"));

    // An unknown view is Compose, and the skip link leads to the view's heading.
    window
        .location()
        .set_hash("#/nowhere")
        .expect("the hash changes");
    settle().await;
    settle().await;
    wait_for(&root, "#compose-heading").await;
    let skip = root
        .query_selector(".skip-link")
        .ok()
        .flatten()
        .and_then(|link| link.dyn_into::<web_sys::HtmlElement>().ok())
        .expect("a skip link");
    skip.click();
    settle().await;
    assert_eq!(focused_id().as_deref(), Some("compose-heading"));
    assert_eq!(window.location().hash().expect("a hash"), "#/nowhere");
    replace_fragment("");
}

#[wasm_bindgen_test]
fn the_pairing_token_leaves_the_address_bar_for_session_storage() {
    clear_storage();
    let window = web_sys::window().expect("a window");
    let history = window.history().expect("history");
    let path = window.location().pathname().expect("a path");
    history
        .replace_state_with_url(
            &wasm_bindgen::JsValue::NULL,
            "",
            Some(&format!("{path}#pair=tok-123")),
        )
        .expect("the address changes");
    assert_eq!(pairing::take_token().as_deref(), Some("tok-123"));
    assert_eq!(window.location().hash().expect("a hash"), "");
    assert!(
        !window
            .location()
            .href()
            .expect("an address")
            .contains("tok-123")
    );
    // A reload of this tab finds it again, with nothing in the address.
    assert_eq!(pairing::take_token().as_deref(), Some("tok-123"));
    clear_storage();
    assert_eq!(pairing::take_token(), None);
}

#[wasm_bindgen_test]
async fn a_saved_draft_is_back_after_a_reload() {
    clear_storage();
    let draft = SavedDraft {
        subject: "Quarterly numbers".into(),
        text: "See the attachment.".into(),
        to: Addresses {
            chips: vec!["ann@example.com".into()],
            typing: String::new(),
        },
        ..SavedDraft::default()
    };
    draft.save();
    assert_eq!(SavedDraft::load(), draft);

    // A new page (a reload) shows it in the form.
    let root = root();
    yew::Renderer::<App>::with_root(root.clone()).render();
    settle().await;
    assert_eq!(
        input_in(&root, "#compose-subject").value(),
        "Quarterly numbers"
    );
    let chips = root.query_selector_all(".chip").expect("chips");
    assert_eq!(chips.length(), 1);
    assert!(
        root.text_content()
            .unwrap_or_default()
            .contains("ann@example.com")
    );

    // Typing saves again.
    type_into(&input_in(&root, "#compose-subject"), "Q3 numbers");
    settle().await;
    assert_eq!(SavedDraft::load().subject, "Q3 numbers");

    // An empty draft leaves nothing behind.
    SavedDraft::default().save();
    let storage = web_sys::window()
        .and_then(|window| window.local_storage().ok().flatten())
        .expect("localStorage");
    assert_eq!(storage.get_item("mailbridge.draft.v2").ok().flatten(), None);
    clear_storage();
}

#[function_component]
fn ChipHarness() -> Html {
    let value = use_state(Addresses::default);
    let onchange = {
        let value = value.clone();
        Callback::from(move |addresses| value.set(addresses))
    };
    html! { <ChipInput id="chip-test" label="To" value={(*value).clone()} {onchange} /> }
}

#[wasm_bindgen_test]
async fn a_comma_makes_a_chip_and_a_bad_address_is_announced() {
    let root = root();
    yew::Renderer::<ChipHarness>::with_root(root.clone()).render();
    settle().await;
    let input = input_in(&root, "#chip-test");

    type_into(&input, "Ann <ann@example.com>,");
    settle().await;
    let chips = root.query_selector_all(".chip").expect("chips");
    assert_eq!(chips.length(), 1, "{}", root.inner_html());
    assert_eq!(input.value(), "");

    type_into(&input, "bob@");
    settle().await;
    let error = root
        .query_selector("#chip-test-error")
        .ok()
        .flatten()
        .expect("the error element");
    assert!(
        error
            .text_content()
            .unwrap_or_default()
            .contains("after the '@'"),
        "{}",
        root.inner_html()
    );
    assert_eq!(error.get_attribute("aria-live").as_deref(), Some("polite"));
    assert_eq!(input.get_attribute("aria-invalid").as_deref(), Some("true"));
    // A comma after a bad address leaves it in the field to fix.
    type_into(&input, "bob@,");
    settle().await;
    assert_eq!(root.query_selector_all(".chip").expect("chips").length(), 1);
}

#[wasm_bindgen_test]
async fn a_download_link_serves_exactly_its_bytes() {
    let bytes: Vec<u8> = (0..=255).collect();
    let url = ObjectUrl::new(&bytes, "application/octet-stream").expect("a blob URL");
    assert!(url.as_str().starts_with("blob:"));
    let window = web_sys::window().expect("a window");
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(url.as_str()))
        .await
        .expect("the blob URL answers")
        .unchecked_into();
    let buffer = JsFuture::from(response.array_buffer().expect("a body"))
        .await
        .expect("the body arrives");
    assert_eq!(js_sys::Uint8Array::new(&buffer).to_vec(), bytes);
}
