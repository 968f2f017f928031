//! Starting and stopping: the SMTP and IMAP listeners, the connection limit, graceful shutdown.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_rustls::TlsAcceptor;

use crate::budget::Budget;
use crate::config::{Config, FaultHandle};
use crate::introspect::Introspector;
use crate::session::{self, Port, Shared, Shutdown};
use crate::store::Store;
use crate::{Error, imap, tls};

/// The capture database's file name inside the data directory.
pub const STORE_FILE: &str = "messages.sqlite3";

/// A running sandbox. Dropping it stops the listeners and sessions too, but without waiting;
/// [`Sandbox::shutdown`] waits until every session has ended.
#[derive(Debug)]
pub struct Sandbox {
    starttls_addr: SocketAddr,
    tls_addr: SocketAddr,
    imap_addr: SocketAddr,
    ca_cert_pem: String,
    ca_cert_path: PathBuf,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    /// Every task holds a sender; when all are gone, everything has ended.
    running: mpsc::Sender<()>,
    ended: mpsc::Receiver<()>,
}

impl Sandbox {
    /// Creates or reuses the CA, server certificate and capture store in `config.data_dir`,
    /// then listens on 127.0.0.1 on both SMTP ports and the IMAP port.
    pub async fn start(config: Config) -> Result<Sandbox, Error> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| Error::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
        let introspector = match &config.introspection {
            Some(introspection) => Some(Arc::new(
                Introspector::new(introspection).map_err(Error::Introspection)?,
            )),
            None => None,
        };
        let tls = tls::load_or_create(&config.data_dir)?;
        let store = Store::open(config.data_dir.join(STORE_FILE), config.capture_capacity)?;
        let starttls_listener = bind(config.starttls_port).await?;
        let tls_listener = bind(config.tls_port).await?;
        let starttls_addr = local_addr(&starttls_listener, config.starttls_port)?;
        let tls_addr = local_addr(&tls_listener, config.tls_port)?;
        let imap_listener = bind(config.imap_port).await?;
        let imap_addr = local_addr(&imap_listener, config.imap_port)?;
        let limit = Arc::new(Semaphore::new(config.max_connections.max(1)));
        if config.max_buffered_bytes < config.max_message_size {
            tracing::warn!(
                max_buffered_bytes = config.max_buffered_bytes,
                max_message_size = config.max_message_size,
                "messages larger than the memory budget will always get 451"
            );
        }
        let shared = Arc::new(Shared {
            faults: FaultHandle::new(config.faults.clone()),
            budget: Budget::new(config.max_buffered_bytes),
            config,
            store,
            acceptor: TlsAcceptor::from(tls.server_config),
            introspector,
        });
        let (stop, stop_rx) = watch::channel(false);
        let (running, ended) = mpsc::channel(1);
        for (listener, port) in [
            (starttls_listener, Port::StartTls),
            (tls_listener, Port::ImplicitTls),
        ] {
            tokio::spawn(accept_loop(
                listener,
                port,
                shared.clone(),
                limit.clone(),
                Shutdown(stop_rx.clone()),
                running.clone(),
            ));
        }
        tokio::spawn(imap::accept_loop(
            imap_listener,
            shared.clone(),
            Shutdown(stop_rx.clone()),
            running.clone(),
        ));
        tracing::info!(%starttls_addr, %tls_addr, %imap_addr, "sandbox listening");
        Ok(Sandbox {
            starttls_addr,
            tls_addr,
            imap_addr,
            ca_cert_pem: tls.ca_pem,
            ca_cert_path: tls.ca_path,
            shared,
            stop,
            running,
            ended,
        })
    }

    /// The STARTTLS port, like smtp.gmail.com:587.
    pub fn starttls_addr(&self) -> SocketAddr {
        self.starttls_addr
    }

    /// The implicit-TLS port, like smtp.gmail.com:465.
    pub fn tls_addr(&self) -> SocketAddr {
        self.tls_addr
    }

    /// The read-only IMAP port (implicit TLS), like imap.gmail.com:993.
    pub fn imap_addr(&self) -> SocketAddr {
        self.imap_addr
    }

    /// The CA certificate a client must trust, as PEM.
    pub fn ca_cert_pem(&self) -> &str {
        &self.ca_cert_pem
    }

    /// Where the CA certificate is, for clients that take a file (`--cafile`, `SSL_CERT_FILE`).
    pub fn ca_cert_path(&self) -> &Path {
        &self.ca_cert_path
    }

    /// Switches faults while the sandbox runs.
    pub fn faults(&self) -> &FaultHandle {
        &self.shared.faults
    }

    /// The captured messages.
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// Message bytes held right now by sessions receiving DATA or storing a message, out of
    /// [`Config::max_buffered_bytes`]; rounded up to whole KiB per message.
    pub fn buffered_bytes(&self) -> usize {
        self.shared.budget.in_use()
    }

    /// What the sandbox was started with (the faults in it are the initial ones; see
    /// [`Sandbox::faults`] for the current).
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// What a person needs to point a client at the sandbox: ports, account, CA.
    pub fn banner(&self) -> String {
        let config = &self.shared.config;
        let token = config
            .oauth_token
            .as_deref()
            .unwrap_or("(none: XOAUTH2 always fails)");
        let mut text = format!(
            "mailbridge sandbox: a local stand-in for smtp.gmail.com; mail never leaves this machine\n\
             \x20 STARTTLS  {}   (like smtp.gmail.com:587)\n\
             \x20 TLS       {}   (like smtp.gmail.com:465)\n\
             \x20 IMAP      {}   (like imap.gmail.com:993, read-only: the captured messages)\n\
             \x20 user      {}\n\
             \x20 password  {}   (app password, for AUTH PLAIN and LOGIN)\n\
             \x20 token     {}   (bearer token, for AUTH XOAUTH2)\n",
            self.starttls_addr,
            self.tls_addr,
            self.imap_addr,
            config.user,
            config.app_password,
            token,
        );
        if let Some(introspector) = &self.shared.introspector {
            text.push_str(&format!(
                "  issuer    {}   (other tokens, for XOAUTH2 and OAUTHBEARER, checked as client {})\n",
                introspector.describe(),
                introspector.client_id(),
            ));
        }
        if let Some(account) = &config.account_password {
            text.push_str(&format!(
                "  account   {account}   (the \"normal password\": gets 534 5.7.9, as Gmail does)\n"
            ));
        }
        text.push_str(&format!(
            "  CA        {}   (trust this certificate to verify the sandbox)\n\
             \x20 inbox     {}\n",
            self.ca_cert_path.display(),
            self.shared.store.path().display(),
        ));
        text
    }

    /// Stops accepting, tells every session to close (`421 4.3.0`) and waits until they have.
    pub async fn shutdown(self) {
        let Sandbox {
            stop,
            running,
            mut ended,
            ..
        } = self;
        stop.send_replace(true);
        drop(running);
        // Every task holds a sender; `None` means the last one finished.
        let _ = ended.recv().await;
    }
}

async fn bind(port: u16) -> Result<TcpListener, Error> {
    // Loopback only: the sandbox accepts a published password, so nothing off this machine
    // may reach it.
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })
}

fn local_addr(listener: &TcpListener, port: u16) -> Result<SocketAddr, Error> {
    listener.local_addr().map_err(|source| Error::Bind {
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        source,
    })
}

async fn accept_loop(
    listener: TcpListener,
    port: Port,
    shared: Arc<Shared>,
    limit: Arc<Semaphore>,
    mut shutdown: Shutdown,
    running: mpsc::Sender<()>,
) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.wait() => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Usually out of file descriptors; retrying at once would spin.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let running = running.clone();
        match limit.clone().try_acquire_owned() {
            Ok(permit) => {
                let shutdown = shutdown.clone();
                tokio::spawn(async move {
                    session::serve(stream, port, shared, shutdown).await;
                    drop(permit);
                    drop(running);
                });
            }
            Err(_) => {
                tokio::spawn(async move {
                    session::refuse(stream, port, shared).await;
                    drop(running);
                });
            }
        }
    }
}
