//! Downloads made in the page: bytes become a `blob:` URL that an `<a download>` points at.
//! The URL holds the bytes until it is revoked, so its owner revokes it when dropped.

use wasm_bindgen::JsValue;
use web_sys::{Blob, BlobPropertyBag, Url};

/// A `blob:` URL for some bytes, revoked when dropped.
#[derive(Debug)]
pub struct ObjectUrl(String);

impl ObjectUrl {
    /// `None` only when the browser refuses to make a Blob (it has run out of memory).
    pub fn new(bytes: &[u8], content_type: &str) -> Option<ObjectUrl> {
        let array = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
        let options = BlobPropertyBag::new();
        options.set_type(content_type);
        let blob =
            Blob::new_with_u8_array_sequence_and_options(&JsValue::from(array), &options).ok()?;
        Url::create_object_url_with_blob(&blob).ok().map(ObjectUrl)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Drop for ObjectUrl {
    fn drop(&mut self) {
        let _ = Url::revoke_object_url(&self.0);
    }
}

impl PartialEq for ObjectUrl {
    fn eq(&self, other: &ObjectUrl) -> bool {
        self.0 == other.0
    }
}
