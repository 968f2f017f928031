use std::rc::Rc;

use protocol::{AttachmentRef, MAX_ATTACHMENT_TOTAL_BYTES, Operation};
use web_sys::{File, HtmlInputElement};
use yew::prelude::*;

use crate::format::one_decimal;
use crate::hooks::{Bridge, files, use_bridge, use_file_drop};

/// One attached file and how far its upload has come.
#[derive(Debug, Clone, PartialEq)]
pub struct Attached {
    /// This page's own number for it, stable while it uploads.
    pub key: u32,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: u64,
    pub sent_bytes: u64,
    pub state: UploadState,
    /// The bridge's number for it, once the bridge has agreed to take it.
    pub upload: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum UploadState {
    Uploading,
    Uploaded { upload: u64 },
    Failed(String),
}

impl UploadState {
    fn word(&self) -> &'static str {
        match self {
            UploadState::Uploading => "uploading",
            UploadState::Uploaded { .. } => "uploaded",
            UploadState::Failed(_) => "failed",
        }
    }
}

/// The attachments of the message being composed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attachments {
    pub files: Vec<Attached>,
    next_key: u32,
}

pub enum AttachmentAction {
    Add(Attached),
    Started { key: u32, upload: u64 },
    Progress { key: u32, sent_bytes: u64 },
    Uploaded { key: u32, upload: u64 },
    Failed { key: u32, reason: String },
    Remove(u32),
    Clear,
}

impl Attachments {
    /// The bytes of every file, as Gmail's 25 MB limit counts them.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|file| file.size_bytes).sum()
    }

    pub fn uploading(&self) -> bool {
        self.files
            .iter()
            .any(|file| file.state == UploadState::Uploading)
    }

    /// Uploaded bytes over all bytes, for the progress bar while files upload.
    pub fn progress(&self) -> (u64, u64) {
        let sent = self.files.iter().map(|file| file.sent_bytes).sum();
        (sent, self.total_bytes())
    }

    /// What the draft sends, or why it cannot be sent yet.
    pub fn refs(&self) -> Result<Vec<AttachmentRef>, String> {
        self.files
            .iter()
            .map(|file| match &file.state {
                UploadState::Uploaded { upload } => Ok(AttachmentRef {
                    upload: *upload,
                    filename: file.filename.clone(),
                    content_type: file.content_type.clone(),
                    size_bytes: file.size_bytes,
                }),
                UploadState::Uploading => Err(format!(
                    "{} is still uploading; send once it has finished.",
                    file.filename
                )),
                UploadState::Failed(_) => Err(format!(
                    "{} did not upload; remove it or attach it again.",
                    file.filename
                )),
            })
            .collect()
    }

    /// Why a file of `size_bytes` cannot be added, when the total would pass Gmail's limit.
    pub fn refuse(&self, filename: &str, size_bytes: u64) -> Option<String> {
        let total = self.total_bytes() + size_bytes;
        (total > MAX_ATTACHMENT_TOTAL_BYTES).then(|| {
            format!(
                "{filename} ({}) would bring the attachments to {}, over Gmail's 25 MB limit. Share large files as a link instead (Google Drive, for example).",
                mb(size_bytes),
                mb(total)
            )
        })
    }

    fn next_key(&self) -> u32 {
        self.next_key
    }
}

impl Reducible for Attachments {
    type Action = AttachmentAction;

    fn reduce(self: Rc<Self>, action: AttachmentAction) -> Rc<Self> {
        let mut next = Rc::unwrap_or_clone(self);
        let find = |files: &mut Vec<Attached>, key: u32| -> Option<usize> {
            files.iter().position(|file| file.key == key)
        };
        match action {
            AttachmentAction::Add(file) => {
                next.next_key = next.next_key.max(file.key + 1);
                next.files.push(file);
            }
            AttachmentAction::Started { key, upload } => {
                if let Some(index) = find(&mut next.files, key) {
                    next.files[index].upload = Some(upload);
                }
            }
            AttachmentAction::Progress { key, sent_bytes } => {
                if let Some(index) = find(&mut next.files, key) {
                    next.files[index].sent_bytes = sent_bytes;
                }
            }
            AttachmentAction::Uploaded { key, upload } => {
                if let Some(index) = find(&mut next.files, key) {
                    let file = &mut next.files[index];
                    file.sent_bytes = file.size_bytes;
                    file.state = UploadState::Uploaded { upload };
                }
            }
            AttachmentAction::Failed { key, reason } => {
                if let Some(index) = find(&mut next.files, key) {
                    next.files[index].state = UploadState::Failed(reason);
                }
            }
            AttachmentAction::Remove(key) => next.files.retain(|file| file.key != key),
            AttachmentAction::Clear => next.files.clear(),
        }
        Rc::new(next)
    }
}

/// Sends one file to the bridge (see `crate::upload`), following it in the list of attachments.
async fn upload(bridge: Bridge, file: File, key: u32, dispatch: UseReducerDispatcher<Attachments>) {
    let unreadable = format!("{} could not be read; attach it again.", file.name());
    let sent = crate::upload::send_file(
        &bridge,
        &file,
        content_type(&file),
        &unreadable,
        |upload| dispatch.dispatch(AttachmentAction::Started { key, upload }),
        |sent_bytes| dispatch.dispatch(AttachmentAction::Progress { key, sent_bytes }),
    )
    .await;
    match sent {
        Ok(upload) => dispatch.dispatch(AttachmentAction::Uploaded { key, upload }),
        Err(reason) => dispatch.dispatch(AttachmentAction::Failed { key, reason }),
    }
}

/// Sizes as Gmail's limit counts them: its "25 MB" is 25 × 1,048,576 bytes, as the bridge's.
fn mb(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    if bytes < 100 * 1024 {
        return format!("{} kB", one_decimal(bytes, 1024));
    }
    format!("{} MB", one_decimal(bytes, 1_048_576))
}

fn content_type(file: &File) -> String {
    let given = file.type_();
    if given.is_empty() {
        "application/octet-stream".to_owned()
    } else {
        given
    }
}

#[derive(Properties, PartialEq)]
pub struct AttachmentsProviderProps {
    pub children: Html,
}

/// Holds the draft's attachments above the views, so they outlive a look at another view: the
/// bridge has their bytes already, and an upload under way goes on.
#[function_component]
pub fn AttachmentsProvider(props: &AttachmentsProviderProps) -> Html {
    let attachments = use_reducer(Attachments::default);
    html! {
        <ContextProvider<UseReducerHandle<Attachments>> context={attachments}>
            { props.children.clone() }
        </ContextProvider<UseReducerHandle<Attachments>>>
    }
}

/// The draft's attachments, from inside [`AttachmentsProvider`].
#[hook]
pub fn use_attachments() -> UseReducerHandle<Attachments> {
    // Only a layout bug in this crate puts the Compose view outside the provider.
    use_context::<UseReducerHandle<Attachments>>()
        .expect("the Compose view is inside AttachmentsProvider")
}

#[derive(Properties, PartialEq)]
pub struct AttachmentPickerProps {
    pub attachments: UseReducerHandle<Attachments>,
}

/// Attachments by picker or drag-and-drop, each with its size and upload progress, and the
/// total against Gmail's 25 MB.
#[function_component]
pub fn AttachmentPicker(props: &AttachmentPickerProps) -> Html {
    let bridge = use_bridge();
    let refused = use_state(|| None::<String>);
    let attachments = props.attachments.clone();

    let add = {
        let bridge = bridge.clone();
        let attachments = attachments.clone();
        let refused = refused.clone();
        Callback::from(move |chosen: Vec<File>| {
            let mut key = attachments.next_key();
            let mut planned = (*attachments).clone();
            let mut problems = Vec::new();
            for file in chosen {
                let size_bytes = file.size() as u64;
                if let Some(problem) = planned.refuse(&file.name(), size_bytes) {
                    problems.push(problem);
                    continue;
                }
                let attached = Attached {
                    key,
                    filename: file.name(),
                    content_type: content_type(&file),
                    size_bytes,
                    sent_bytes: 0,
                    state: UploadState::Uploading,
                    upload: None,
                };
                planned.files.push(attached.clone());
                attachments.dispatch(AttachmentAction::Add(attached));
                wasm_bindgen_futures::spawn_local(upload(
                    bridge.clone(),
                    file,
                    key,
                    attachments.dispatcher(),
                ));
                key += 1;
            }
            refused.set((!problems.is_empty()).then(|| problems.join(" ")));
        })
    };
    let onchange = {
        let add = add.clone();
        Callback::from(move |event: Event| {
            let input = event.target_unchecked_into::<HtmlInputElement>();
            add.emit(files(input.files()));
            // Choosing the same file again after removing it must fire `change` again.
            input.set_value("");
        })
    };
    let drop = use_file_drop(add);
    let total = attachments.total_bytes();
    let over = total > MAX_ATTACHMENT_TOTAL_BYTES;
    html! {
        <div class="field">
            <label for="compose-attachments">{ "Attachments" }</label>
            <div class={classes!("drop-zone", drop.dragging.then_some("dragging"))}
                ondragover={drop.ondragover} ondragleave={drop.ondragleave} ondrop={drop.ondrop}>
                <input id="compose-attachments" type="file" multiple={true} {onchange}
                    aria-describedby="compose-attachments-total" />
                <p class="hint">{ "Or drop files here." }</p>
            </div>
            if !attachments.files.is_empty() {
                <ul id="compose-attachment-list" class="attachment-list">
                    { for attachments.files.iter().map(|file| row(file, &attachments, &bridge)) }
                </ul>
            }
            <p id="compose-attachments-total" class={classes!("hint", over.then_some("bad"))}>
                { format!("{} of Gmail's 25 MB limit used by attachments.", mb(total)) }
            </p>
            <p class="field-error" aria-live="polite">{ (*refused).clone().unwrap_or_default() }</p>
        </div>
    }
}

/// Tells the bridge to let go of these uploads (removed from the draft, or the draft cleared),
/// so they stop counting towards the 25 MB. An upload still running fails at its next chunk.
pub fn discard(bridge: &Bridge, files: &[Attached]) {
    for upload in files.iter().filter_map(|file| file.upload) {
        // Nothing to show either way: the file has already left the page's list.
        let answer = bridge.call(Operation::DiscardUpload { upload });
        wasm_bindgen_futures::spawn_local(async move {
            let _ = answer.await;
        });
    }
}

fn row(file: &Attached, attachments: &UseReducerHandle<Attachments>, bridge: &Bridge) -> Html {
    let remove = {
        let attachments = attachments.clone();
        let bridge = bridge.clone();
        let file = file.clone();
        Callback::from(move |_: MouseEvent| {
            discard(&bridge, std::slice::from_ref(&file));
            attachments.dispatch(AttachmentAction::Remove(file.key));
        })
    };
    let status = match &file.state {
        UploadState::Uploading => format!(
            "uploading, {} of {}",
            mb(file.sent_bytes),
            mb(file.size_bytes)
        ),
        UploadState::Uploaded { .. } => "uploaded".to_owned(),
        UploadState::Failed(reason) => format!("failed: {reason}"),
    };
    html! {
        <li key={file.key} data-state={file.state.word()}>
            <span class="name">{ &file.filename }</span>
            <span class="sub">{ format!("{} · {}", mb(file.size_bytes), file.content_type) }</span>
            <progress max={file.size_bytes.max(1).to_string()} value={file.sent_bytes.to_string()}
                aria-label={format!("Upload of {}", file.filename)} />
            <span class={classes!("sub", matches!(file.state, UploadState::Failed(_)).then_some("bad"))}>{ status }</span>
            <button type="button" onclick={remove}>{ format!("Remove {}", file.filename) }</button>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attached(key: u32, size_bytes: u64, state: UploadState) -> Attached {
        Attached {
            key,
            filename: format!("file{key}.bin"),
            content_type: "application/octet-stream".into(),
            size_bytes,
            sent_bytes: 0,
            state,
            upload: None,
        }
    }

    #[test]
    fn sizes_count_as_gmail_does() {
        assert_eq!(mb(24), "24 bytes");
        assert_eq!(mb(1536), "1.5 kB");
        assert_eq!(mb(20 * 1_048_576), "20.0 MB");
    }

    #[test]
    fn the_total_is_held_to_gmails_limit() {
        let mut attachments = Attachments::default();
        attachments
            .files
            .push(attached(0, 20_000_000, UploadState::Uploading));
        assert!(attachments.refuse("small.txt", 1_000).is_none());
        let refusal = attachments.refuse("big.iso", 7_000_000).unwrap_or_default();
        assert!(refusal.contains("over Gmail's 25 MB limit"), "{refusal}");
    }

    #[test]
    fn a_draft_waits_for_every_upload() {
        let mut attachments = Attachments::default();
        attachments
            .files
            .push(attached(0, 10, UploadState::Uploaded { upload: 7 }));
        assert_eq!(attachments.refs().map(|refs| refs[0].upload), Ok(7));
        attachments
            .files
            .push(attached(1, 10, UploadState::Uploading));
        assert!(
            attachments
                .refs()
                .is_err_and(|why| why.contains("still uploading"))
        );
    }
}
