use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the sandbox could not start, or the store could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(
        "cannot use the sandbox data directory {path}: {source}; check it exists and is writable, or pick another with --data-dir"
    )]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot listen on {addr}: {source}; is another sandbox running? Pick another port, or 0 for a free one"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot create the sandbox's TLS certificates: {0}")]
    Certificate(#[from] rcgen::Error),
    /// The introspection URL or its TLS setup is unusable; the text says why.
    #[error("cannot check OAuth tokens: {0}")]
    Introspection(String),
    #[error("cannot set up TLS: {0}")]
    Tls(#[from] rustls::Error),
    #[error(
        "capture store {path}: {source}; if the file is damaged, delete it to start with an empty inbox"
    )]
    Store {
        path: PathBuf,
        source: rusqlite::Error,
    },
}
