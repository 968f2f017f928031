//! A raw SMTP client over TLS, byte by byte as told: it can stop in the middle of DATA, pack
//! commands and message bytes into one write, and send BDAT, which no SMTP library here will.
//! Its panics print every reply seen so far.

use std::sync::Arc;

use base64::Engine as _;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::support::{Fixture, PASSWORD, PATIENCE, USER};

pub struct TlsClient {
    stream: BufReader<TlsStream<TcpStream>>,
    /// Every reply line read so far, for failure messages.
    pub seen: String,
}

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
        let mut plain = crate::support::Raw {
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

    async fn handshake(fixture: &Fixture, tcp: TcpStream, seen: String) -> TlsClient {
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

    pub async fn send(&mut self, bytes: &[u8]) {
        let stream = self.stream.get_mut();
        let sent = async {
            stream.write_all(bytes).await?;
            stream.flush().await
        };
        sent.await
            .unwrap_or_else(|e| panic!("sending failed: {e}; seen so far:\n{}", self.seen));
    }

    /// The next complete reply, or `None` when the server closed the connection (cleanly or
    /// not) before sending one.
    pub async fn reply(&mut self) -> Option<String> {
        let mut reply = String::new();
        loop {
            let mut line = Vec::new();
            let read = tokio::time::timeout(PATIENCE, self.stream.read_until(b'\n', &mut line))
                .await
                .unwrap_or_else(|_| {
                    panic!("no reply within {PATIENCE:?}; seen so far:\n{}", self.seen)
                });
            match read {
                Ok(0) | Err(_) if reply.is_empty() => return None,
                Ok(0) | Err(_) => panic!("connection closed mid-reply: {reply:?}"),
                Ok(_) => {}
            }
            let line = String::from_utf8_lossy(&line).into_owned();
            self.seen.push_str(&line);
            let last = line.as_bytes().get(3) != Some(&b'-');
            reply.push_str(&line);
            if last {
                return Some(reply);
            }
        }
    }

    /// The next complete reply, which must start with `prefix`.
    pub async fn expect(&mut self, prefix: &str) -> String {
        match self.reply().await {
            Some(reply) if reply.starts_with(prefix) => reply,
            other => panic!(
                "expected a reply starting {prefix:?}, got {other:?}; seen so far:\n{}",
                self.seen
            ),
        }
    }
}
