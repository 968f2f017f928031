//! A file sent to the bridge as an upload (`BeginUpload`, then `UploadChunk`s), read a chunk at
//! a time so that a 20 MB file never sits in the page whole and the page answers clicks between
//! chunks. Attachments and campaign lists both go this way.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use protocol::{Operation, Outcome};
use wasm_bindgen_futures::JsFuture;
use web_sys::File;

use crate::hooks::Bridge;
use crate::state::sentence;

/// Bytes per chunk: the protocol's size, whose base64 fits a message with room to spare.
const CHUNK_BYTES: u64 = protocol::MAX_CHUNK_BYTES as u64;

/// Uploads `file` as `content_type`. `started` hears the upload's id as soon as the bridge
/// names it, `progress` the bytes sent after each chunk. Returns the id, or why it failed as a
/// sentence; `unreadable` is the sentence for a file the browser cannot read.
pub async fn send_file(
    bridge: &Bridge,
    file: &File,
    content_type: String,
    unreadable: &str,
    started: impl Fn(u64),
    progress: impl Fn(u64),
) -> Result<u64, String> {
    let unexpected = || sentence("the bridge gave an unexpected answer");
    let size_bytes = file.size() as u64;
    let begin = Operation::BeginUpload {
        filename: file.name(),
        content_type,
        size_bytes,
    };
    let upload = match bridge.call(begin).await {
        Ok(Outcome::UploadStarted { upload }) => upload,
        Ok(_) => return Err(unexpected()),
        Err(error) => return Err(sentence(&error.message)),
    };
    started(upload);
    let mut offset = 0;
    while offset < size_bytes {
        let end = (offset + CHUNK_BYTES).min(size_bytes);
        let bytes = read(file, offset, end, unreadable).await?;
        let chunk = Operation::UploadChunk {
            upload,
            offset,
            data_base64: STANDARD.encode(&bytes),
        };
        match bridge.call(chunk).await {
            Ok(Outcome::ChunkAccepted { received_bytes, .. }) if received_bytes > offset => {
                offset = received_bytes;
            }
            Ok(_) => return Err(unexpected()),
            Err(error) => return Err(sentence(&error.message)),
        }
        progress(offset);
    }
    Ok(upload)
}

/// Bytes `start..end` of the file, or `unreadable`.
pub async fn read(file: &File, start: u64, end: u64, unreadable: &str) -> Result<Vec<u8>, String> {
    let failed = |_| unreadable.to_owned();
    let blob = file
        .slice_with_f64_and_f64(start as f64, end as f64)
        .map_err(failed)?;
    let buffer = JsFuture::from(blob.array_buffer()).await.map_err(failed)?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}
