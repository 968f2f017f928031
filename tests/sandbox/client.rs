//! A raw SMTP client over TLS, byte by byte as told: it can stop in the middle of DATA, pack
//! commands and message bytes into one write, and send BDAT, which no SMTP library here will.
//! It is `support::Raw` over TLS: its panics print every reply seen so far.

use std::sync::Arc;

use base64::Engine as _;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::BufReader;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::support::{Fixture, PASSWORD, PATIENCE, Raw, USER};

/// [`Raw`] over TLS, with the sandbox's greeting and login.
pub type TlsClient = Raw<TlsStream<TcpStream>>;

impl TlsClient {
    /// Connected to the implicit-TLS port (like 465), trusting the sandbox's CA, greeted and
    /// logged in.
    pub async fn logged_in(fixture: &Fixture) -> TlsClient {
        let addr = fixture.tls_addr();
        let tcp = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
        let mut client = TlsClient::handshake(fixture, tcp, String::new()).await;
        client.expect("220 ").await;
        client.log_in().await;
        client
    }

    /// Connected to the STARTTLS port (like 587): greeting, EHLO and STARTTLS in plain text,
    /// then the TLS handshake, EHLO again and the login.
    pub async fn logged_in_after_starttls(fixture: &Fixture) -> TlsClient {
        let addr = fixture.starttls_addr();
        let tcp = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
        let mut plain = Raw {
            stream: BufReader::new(tcp),
            seen: String::new(),
        };
        plain.expect("220 ").await;
        plain.send(b"EHLO chunking.example\r\n").await;
        let ehlo = plain.expect("250-localhost at your service").await;
        assert!(ehlo.contains("250-STARTTLS\r\n"), "{ehlo}");
        plain.send(b"STARTTLS\r\n").await;
        plain.expect("220 2.0.0 Ready to start TLS").await;
        assert!(
            plain.stream.buffer().is_empty(),
            "nothing may come between the 220 and the handshake; seen:\n{}",
            plain.seen
        );
        let mut client = TlsClient::handshake(fixture, plain.stream.into_inner(), plain.seen).await;
        client.log_in().await;
        client
    }

    /// The TLS handshake over `tcp`, trusting the sandbox's CA; `seen` is what came before.
    pub async fn handshake(fixture: &Fixture, tcp: TcpStream, seen: String) -> TlsClient {
        let mut roots = rustls::RootCertStore::empty();
        let ca = CertificateDer::from_pem_slice(fixture.ca_cert_pem().as_bytes())
            .unwrap_or_else(|e| panic!("the sandbox CA is not PEM: {e}"));
        roots
            .add(ca)
            .unwrap_or_else(|e| panic!("cannot trust the sandbox CA: {e}"));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|e| panic!("no TLS versions: {e}"))
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = ServerName::try_from("localhost").expect("a valid name");
        let tls = tokio::time::timeout(
            PATIENCE,
            TlsConnector::from(Arc::new(config)).connect(name, tcp),
        )
        .await
        .unwrap_or_else(|_| panic!("no TLS handshake within {PATIENCE:?}; seen:\n{seen}"))
        .unwrap_or_else(|e| panic!("TLS handshake failed: {e}; seen:\n{seen}"));
        TlsClient {
            stream: BufReader::new(tls),
            seen,
        }
    }

    /// EHLO (which must offer PIPELINING and CHUNKING over TLS, as Gmail's does) and AUTH PLAIN.
    async fn log_in(&mut self) {
        self.send(b"EHLO client.example\r\n").await;
        let ehlo = self.expect("250-localhost at your service").await;
        assert!(
            ehlo.contains("250-PIPELINING\r\n250-CHUNKING\r\n"),
            "EHLO over TLS offers PIPELINING and CHUNKING: {ehlo}"
        );
        let plain =
            base64::engine::general_purpose::STANDARD.encode(format!("\0{USER}\0{PASSWORD}"));
        self.send(format!("AUTH PLAIN {plain}\r\n").as_bytes())
            .await;
        self.expect("235 ").await;
    }

    /// MAIL, RCPT and DATA, up to the server's 354.
    pub async fn start_data(&mut self) {
        self.send(b"MAIL FROM:<ann@example.com>\r\n").await;
        self.expect("250 ").await;
        self.send(b"RCPT TO:<bob@example.com>\r\n").await;
        self.expect("250 ").await;
        self.send(b"DATA\r\n").await;
        self.expect("354 ").await;
    }
}
