//! Files dropped on an element: the handlers a drop zone needs, and whether something is being
//! dragged over it (for its highlight).

use web_sys::{DragEvent, File, FileList};
use yew::prelude::*;

/// What a drop zone spreads onto its element: `{ondragover} {ondragleave} {ondrop}`.
pub struct FileDrop {
    /// Files are being dragged over the zone right now.
    pub dragging: bool,
    pub ondragover: Callback<DragEvent>,
    pub ondragleave: Callback<DragEvent>,
    pub ondrop: Callback<DragEvent>,
}

/// Handlers that pass the files dropped on an element to `on_files`. The browser's own
/// handling (opening the file in the tab) is prevented.
#[hook]
pub fn use_file_drop(on_files: Callback<Vec<File>>) -> FileDrop {
    let dragging = use_state(|| false);
    let ondragover = {
        let dragging = dragging.clone();
        Callback::from(move |event: DragEvent| {
            event.prevent_default();
            dragging.set(true);
        })
    };
    let ondragleave = {
        let dragging = dragging.clone();
        Callback::from(move |_: DragEvent| dragging.set(false))
    };
    let ondrop = {
        let dragging = dragging.clone();
        Callback::from(move |event: DragEvent| {
            event.prevent_default();
            dragging.set(false);
            on_files.emit(files(event.data_transfer().and_then(|data| data.files())));
        })
    };
    FileDrop {
        dragging: *dragging,
        ondragover,
        ondragleave,
        ondrop,
    }
}

/// The files of a picker or a drop, in order.
pub fn files(list: Option<FileList>) -> Vec<File> {
    let Some(list) = list else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|index| list.get(index))
        .collect()
}
