//! Attachments on their way from the page: announced, then received in chunks, within Gmail's
//! 25 MB for all of a draft's attachments together.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use protocol::{
    AttachmentRef, Draft, ErrorKind, MAX_ATTACHMENT_TOTAL_BYTES, Operation, OperationError,
    Outcome, Progress,
};
use tokio::sync::mpsc;

use super::{Bridge, misrouted};
use crate::lock;

impl Bridge {
    pub(super) fn uploading(
        &self,
        operation: Operation,
        progress: Option<mpsc::UnboundedSender<Progress>>,
    ) -> Result<Outcome, OperationError> {
        match operation {
            Operation::BeginUpload {
                filename,
                content_type,
                size_bytes,
            } => {
                let upload = lock(&self.uploads).begin(filename, content_type, size_bytes)?;
                Ok(Outcome::UploadStarted { upload })
            }
            Operation::UploadChunk {
                upload,
                offset,
                data_base64,
            } => {
                let bytes = STANDARD.decode(data_base64.as_bytes()).map_err(|error| {
                    OperationError::new(
                        ErrorKind::BadRequest,
                        format!("upload_chunk.data_base64 is not base64: {error}"),
                    )
                })?;
                let (received, total) = lock(&self.uploads).append(upload, offset, &bytes)?;
                if let Some(progress) = &progress {
                    let _ = progress.send(Progress::Upload {
                        received_bytes: received,
                        total_bytes: total,
                    });
                }
                Ok(Outcome::ChunkAccepted {
                    upload,
                    received_bytes: received,
                })
            }
            Operation::DiscardUpload { upload } => {
                lock(&self.uploads).remove(upload);
                Ok(Outcome::UploadDiscarded { upload })
            }
            other => Err(misrouted(&other)),
        }
    }

    /// The draft's uploaded attachments, removed from the upload area: a sent upload is done.
    pub(super) fn take_attachments(
        &self,
        draft: &Draft,
    ) -> Result<Vec<(AttachmentRef, Vec<u8>)>, OperationError> {
        let mut uploads = lock(&self.uploads);
        let attachments = uploads.collect(&draft.attachments)?;
        for attachment in &draft.attachments {
            uploads.remove(attachment.upload);
        }
        Ok(attachments)
    }

    /// Lets go of a draft's uploads once it has been sent as often as it will be.
    pub(super) fn release_attachments(&self, draft: &Draft) {
        let mut uploads = lock(&self.uploads);
        for attachment in &draft.attachments {
            uploads.remove(attachment.upload);
        }
    }

    pub(super) fn peek_attachments(
        &self,
        draft: &Draft,
    ) -> Result<Vec<(AttachmentRef, Vec<u8>)>, OperationError> {
        lock(&self.uploads).collect(&draft.attachments)
    }
}

/// Attachments being uploaded, with Gmail's 25 MB cap on their total.
#[derive(Default)]
pub(super) struct Uploads {
    next: u64,
    files: HashMap<u64, Upload>,
}

struct Upload {
    declared: u64,
    data: Vec<u8>,
}

impl Uploads {
    fn total_declared(&self) -> u64 {
        self.files.values().map(|upload| upload.declared).sum()
    }

    pub(super) fn begin(
        &mut self,
        filename: String,
        content_type: String,
        size: u64,
    ) -> Result<u64, OperationError> {
        if filename.trim().is_empty() || content_type.trim().is_empty() {
            return Err(OperationError::new(
                ErrorKind::Invalid,
                "begin_upload needs a filename and a content_type",
            ));
        }
        if self.total_declared().saturating_add(size) > MAX_ATTACHMENT_TOTAL_BYTES {
            return Err(too_large(self.total_declared().saturating_add(size)));
        }
        self.next += 1;
        self.files.insert(
            self.next,
            Upload {
                declared: size,
                data: Vec::new(),
            },
        );
        Ok(self.next)
    }

    pub(super) fn append(
        &mut self,
        upload: u64,
        offset: u64,
        bytes: &[u8],
    ) -> Result<(u64, u64), OperationError> {
        let file = self
            .files
            .get_mut(&upload)
            .ok_or_else(|| unknown_upload(upload))?;
        let received = file.data.len() as u64;
        if offset != received {
            return Err(OperationError::new(
                ErrorKind::BadRequest,
                format!(
                    "upload {upload}: chunk at offset {offset}, but {received} bytes have arrived"
                ),
            )
            .with_fix("Send the chunks in order, each at the offset where the last one ended."));
        }
        if received + bytes.len() as u64 > file.declared {
            return Err(OperationError::new(
                ErrorKind::TooLarge,
                format!(
                    "upload {upload} is larger than the {} bytes announced",
                    file.declared
                ),
            ));
        }
        file.data.extend_from_slice(bytes);
        Ok((file.data.len() as u64, file.declared))
    }

    pub(super) fn collect(
        &self,
        refs: &[AttachmentRef],
    ) -> Result<Vec<(AttachmentRef, Vec<u8>)>, OperationError> {
        refs.iter()
            .map(|attachment| {
                let file = self
                    .files
                    .get(&attachment.upload)
                    .ok_or_else(|| unknown_upload(attachment.upload))?;
                if (file.data.len() as u64) < file.declared {
                    return Err(OperationError::new(
                        ErrorKind::Invalid,
                        format!(
                            "{:?} has not finished uploading ({} of {} bytes)",
                            attachment.filename,
                            file.data.len(),
                            file.declared
                        ),
                    )
                    .with_fix("Wait for the upload to finish, then send."));
                }
                Ok((attachment.clone(), file.data.clone()))
            })
            .collect()
    }

    /// The bytes of a finished upload, left in place.
    pub(super) fn bytes(&self, upload: u64) -> Result<Vec<u8>, OperationError> {
        let file = self
            .files
            .get(&upload)
            .ok_or_else(|| unknown_upload(upload))?;
        if (file.data.len() as u64) < file.declared {
            return Err(OperationError::new(
                ErrorKind::Invalid,
                format!(
                    "upload {upload} has not finished ({} of {} bytes)",
                    file.data.len(),
                    file.declared
                ),
            )
            .with_fix("Wait for the upload to finish, then try again."));
        }
        Ok(file.data.clone())
    }

    pub(super) fn remove(&mut self, upload: u64) {
        self.files.remove(&upload);
    }
}

fn unknown_upload(upload: u64) -> OperationError {
    OperationError::new(ErrorKind::NotFound, format!("there is no upload {upload}"))
        .with_fix("Attach the file again.")
}

fn too_large(total: u64) -> OperationError {
    OperationError::new(
        ErrorKind::TooLarge,
        format!(
            "the attachments would total {:.1} MB, over Gmail's 25 MB limit",
            total as f64 / 1_048_576.0
        ),
    )
    .with_fix("Remove an attachment, or share large files as a link (Google Drive, for example).")
}
