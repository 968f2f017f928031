//! TLS for the client: rustls with the ring provider, TLS 1.2 and 1.3 only, the system's roots
//! (webpki-roots when none load) plus a profile's extra CA. There is deliberately no switch that
//! turns verification off: a user behind an intercepting proxy needs to see that, not skip it.
//!
//! Each handshake gets its own configuration whose verifier, [`Recording`], wraps rustls's
//! WebPKI verifier: it writes down the chain the server presented and then hands every decision
//! to the WebPKI verifier, so a rejected chain can still be shown to the user. A configuration
//! per handshake also means no TLS session resumption, so a chain is presented every time.

use std::io;
use std::sync::{Arc, Mutex, OnceLock};

use diagnosis::{CertProblem, Failure, HandshakeProblem};
use protocol::{CertificateInfo, TlsInfo};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    AlertDescription, CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct,
    DistinguishedName, PeerIncompatible, ProtocolVersion, RootCertStore, SignatureScheme,
};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::Error;

/// A client configuration for one handshake, and what its verifier saw.
pub(crate) struct Connector {
    pub config: Arc<ClientConfig>,
    pub seen: Arc<Seen>,
}

/// What the server presented, written by [`Recording`] before it decides anything.
#[derive(Debug, Default)]
pub(crate) struct Seen(Mutex<Option<Presented>>);

#[derive(Debug, Clone)]
struct Presented {
    chain: Vec<CertificateDer<'static>>,
    at: UnixTime,
}

impl Seen {
    /// The presented chain, leaf first; empty when the server sent none.
    pub(crate) fn chain(&self) -> Vec<CertificateInfo> {
        crate::lock(&self.0)
            .as_ref()
            .map(|presented| presented.chain.iter().map(certificate_info).collect())
            .unwrap_or_default()
    }

    /// This machine's clock when the chain was checked.
    fn checked_at(&self) -> Option<String> {
        crate::lock(&self.0)
            .as_ref()
            .and_then(|presented| i64::try_from(presented.at.as_secs()).ok())
            .map(rfc3339)
    }
}

/// The server certificate verifier: rustls's WebPKI verifier, which makes every decision, with
/// the presented chain recorded on the way in. It has no other behaviour, and nothing in
/// mailbridge builds a verifier that accepts what WebPKI refuses.
#[derive(Debug)]
struct Recording {
    webpki: Arc<WebPkiServerVerifier>,
    seen: Arc<Seen>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|cert| cert.clone().into_owned())
            .collect();
        *crate::lock(&self.seen.0) = Some(Presented { chain, at: now });
        self.webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.webpki.requires_raw_public_keys()
    }

    fn root_hint_subjects(&self) -> Option<&[DistinguishedName]> {
        self.webpki.root_hint_subjects()
    }
}

/// A configuration for one handshake with a target: the WebPKI verifier over the system's
/// roots is built once, one with a profile's extra CA each time.
pub(crate) fn connector(extra_ca_pem: Option<&str>) -> Result<Connector, Error> {
    let verifier = Arc::new(recording(extra_ca_pem)?);
    let seen = verifier.seen.clone();
    let config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|error| setup_failure(&error.to_string()))?
        // "dangerous" is rustls's name for any custom verifier; this one is WebPKI's own.
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Connector {
        config: Arc::new(config),
        seen,
    })
}

fn recording(extra_ca_pem: Option<&str>) -> Result<Recording, Error> {
    static SYSTEM_ONLY: OnceLock<Arc<WebPkiServerVerifier>> = OnceLock::new();
    let webpki = match extra_ca_pem.filter(|pem| !pem.trim().is_empty()) {
        None => match SYSTEM_ONLY.get() {
            Some(webpki) => webpki.clone(),
            None => {
                let webpki = webpki(system_roots().as_ref().clone())?;
                SYSTEM_ONLY.get_or_init(|| webpki).clone()
            }
        },
        Some(pem) => {
            let mut roots = system_roots().as_ref().clone();
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|error| bad_extra_ca(&error.to_string()))?;
                roots
                    .add(cert)
                    .map_err(|error| bad_extra_ca(&error.to_string()))?;
                added += 1;
            }
            if added == 0 {
                return Err(bad_extra_ca("it holds no CERTIFICATE block"));
            }
            webpki(roots)?
        }
    };
    Ok(Recording {
        webpki,
        seen: Arc::new(Seen::default()),
    })
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn webpki(roots: RootCertStore) -> Result<Arc<WebPkiServerVerifier>, Error> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|error| setup_failure(&error.to_string()))
}

fn setup_failure(detail: &str) -> Error {
    Error::Failure(Failure::TlsHandshake {
        detail: detail.to_owned(),
        problem: HandshakeProblem::Unknown,
    })
}

/// The system's trusted roots, loaded once; Mozilla's list (webpki-roots) when none load, as in
/// a bare container.
fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut roots = RootCertStore::empty();
            let native = rustls_native_certs::load_native_certs();
            let (added, _ignored) = roots.add_parsable_certificates(native.certs);
            if added == 0 {
                tracing::debug!("no system CA certificates loaded; using webpki-roots");
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            Arc::new(roots)
        })
        .clone()
}

fn bad_extra_ca(detail: &str) -> Error {
    Error::Failure(Failure::TlsCertificate {
        problem: CertProblem::Other,
        detail: format!("the profile's extra CA certificate cannot be used: {detail}"),
        host: String::new(),
        chain: Vec::new(),
        checked_at: None,
    })
}

/// The name to verify the certificate against: a DNS name or an IP address (brackets removed).
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    let host = unbracket(host);
    ServerName::try_from(host.to_owned()).map_err(|error| {
        setup_failure(&format!(
            "{host:?} cannot be checked against a certificate: {error}"
        ))
    })
}

pub(crate) fn unbracket(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// Maps a failed handshake with `host`: certificate problems by kind, with the chain `seen`
/// presented and the clock it was checked by; anything else by what broke.
pub(crate) fn handshake_failure(error: &io::Error, host: &str, seen: &Seen) -> Failure {
    let tls = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    let detail = error.to_string();
    if let Some(rustls::Error::InvalidCertificate(cert)) = tls {
        let chain = seen.chain();
        return Failure::TlsCertificate {
            problem: cert_problem(cert, chain.first()),
            detail,
            host: host.to_owned(),
            chain,
            checked_at: seen.checked_at(),
        };
    }
    let problem = match tls {
        Some(rustls::Error::AlertReceived(AlertDescription::ProtocolVersion))
        | Some(rustls::Error::PeerIncompatible(
            PeerIncompatible::ServerDoesNotSupportTls12Or13
            | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
            | PeerIncompatible::Tls12NotOffered
            | PeerIncompatible::Tls12NotOfferedOrEnabled,
        )) => HandshakeProblem::OldVersion,
        Some(rustls::Error::AlertReceived(
            AlertDescription::HandshakeFailure | AlertDescription::InsufficientSecurity,
        ))
        | Some(rustls::Error::PeerIncompatible(
            PeerIncompatible::NoCipherSuitesInCommon
            | PeerIncompatible::NoKxGroupsInCommon
            | PeerIncompatible::NoSignatureSchemesInCommon,
        )) => HandshakeProblem::NoSharedCipher,
        Some(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)) => {
            HandshakeProblem::NotTls
        }
        Some(_) => HandshakeProblem::Unknown,
        None => match error.kind() {
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => HandshakeProblem::Cut,
            _ => HandshakeProblem::Unknown,
        },
    };
    Failure::TlsHandshake { detail, problem }
}

fn cert_problem(error: &CertificateError, leaf: Option<&CertificateInfo>) -> CertProblem {
    let self_signed = leaf.is_some_and(CertificateInfo::is_self_issued);
    match error {
        CertificateError::UnknownIssuer if self_signed => CertProblem::SelfSigned,
        CertificateError::UnknownIssuer => CertProblem::UnknownIssuer,
        // webpki refuses a self-signed certificate marked as a CA (as `openssl req -x509`
        // makes) as a CA used as an end entity.
        CertificateError::Other(other) if self_signed && other.to_string().contains("CaUsedAs") => {
            CertProblem::SelfSigned
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => CertProblem::Expired,
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            CertProblem::NotYetValid
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            CertProblem::NameMismatch
        }
        _ => CertProblem::Other,
    }
}

/// Version, cipher suite and the peer's chain, leaf first.
pub(crate) fn info(connection: &ClientConnection) -> TlsInfo {
    let version = match connection.protocol_version() {
        Some(ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
        Some(ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
        Some(other) => format!("{other:?}"),
        None => "unknown".to_owned(),
    };
    let cipher = connection
        .negotiated_cipher_suite()
        .map(|suite| format!("{:?}", suite.suite()))
        .unwrap_or_else(|| "unknown".to_owned());
    let chain = connection
        .peer_certificates()
        .unwrap_or_default()
        .iter()
        .map(certificate_info)
        .collect();
    TlsInfo {
        version,
        cipher,
        chain,
    }
}

fn certificate_info(der: &CertificateDer<'_>) -> CertificateInfo {
    let sha256 = fingerprint(der.as_ref());
    match X509Certificate::from_der(der.as_ref()) {
        Ok((_, cert)) => {
            let names = match cert.subject_alternative_name() {
                Ok(Some(san)) => san
                    .value
                    .general_names
                    .iter()
                    .filter_map(|name| match name {
                        GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                        GeneralName::IPAddress(ip) => ip_text(ip),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            CertificateInfo {
                subject: cert.subject().to_string(),
                issuer: cert.issuer().to_string(),
                not_before: rfc3339(cert.validity().not_before.timestamp()),
                not_after: rfc3339(cert.validity().not_after.timestamp()),
                sha256,
                names,
            }
        }
        Err(error) => CertificateInfo {
            subject: format!("(unreadable certificate: {error})"),
            issuer: String::new(),
            not_before: String::new(),
            not_after: String::new(),
            sha256,
            names: Vec::new(),
        },
    }
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Some(std::net::Ipv4Addr::from(v4).to_string());
    }
    <[u8; 16]>::try_from(bytes)
        .ok()
        .map(|v6| std::net::Ipv6Addr::from(v6).to_string())
}

/// SHA-256 of the DER bytes as `AB:CD:...`, with the hash of the ring provider rustls already
/// carries.
fn fingerprint(der: &[u8]) -> String {
    let suite = rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256;
    let Some(tls13) = suite.tls13() else {
        return String::new();
    };
    tls13
        .common
        .hash_provider
        .hash(der)
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Seconds since the Unix epoch as RFC 3339 UTC (`2027-01-01T00:00:00Z`), by Howard Hinnant's
/// days-to-civil algorithm, which saves a date crate for one format.
pub(crate) fn rfc3339(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_format_as_rfc3339() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_798_761_600, "2027-01-01T00:00:00Z"),
            (1_700_000_000, "2023-11-14T22:13:20Z"),
            (-1, "1969-12-31T23:59:59Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(rfc3339(seconds), expected, "{seconds}");
        }
    }

    #[test]
    fn certificate_errors_map_to_problems() {
        let seen = Seen::default();
        let cases = [
            (CertificateError::UnknownIssuer, CertProblem::UnknownIssuer),
            (CertificateError::Expired, CertProblem::Expired),
            (CertificateError::NotValidYet, CertProblem::NotYetValid),
            (CertificateError::NotValidForName, CertProblem::NameMismatch),
            (CertificateError::BadSignature, CertProblem::Other),
        ];
        for (error, problem) in cases {
            let io = io::Error::new(
                io::ErrorKind::InvalidData,
                rustls::Error::InvalidCertificate(error),
            );
            match handshake_failure(&io, "smtp.gmail.com", &seen) {
                Failure::TlsCertificate {
                    problem: got, host, ..
                } => assert_eq!((got, host.as_str()), (problem, "smtp.gmail.com")),
                other => panic!("{other:?}"),
            }
        }
        let handshakes = [
            (
                io::Error::new(io::ErrorKind::UnexpectedEof, "tls handshake eof"),
                HandshakeProblem::Cut,
            ),
            (
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    rustls::Error::AlertReceived(AlertDescription::ProtocolVersion),
                ),
                HandshakeProblem::OldVersion,
            ),
            (
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    rustls::Error::PeerIncompatible(PeerIncompatible::NoCipherSuitesInCommon),
                ),
                HandshakeProblem::NoSharedCipher,
            ),
        ];
        for (io, expected) in handshakes {
            match handshake_failure(&io, "smtp.gmail.com", &seen) {
                Failure::TlsHandshake { problem, .. } => assert_eq!(problem, expected, "{io}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn the_chain_is_recorded_and_webpki_still_refuses_it() {
        let key = rcgen::KeyPair::generate().expect("key");
        let params =
            rcgen::CertificateParams::new(vec!["relay.example.com".to_owned()]).expect("params");
        let cert = params.self_signed(&key).expect("certificate");
        let verifier = recording(None).expect("a verifier");
        let name = ServerName::try_from("relay.example.com").expect("name");
        let result = verifier.verify_server_cert(cert.der(), &[], &name, &[], UnixTime::now());
        assert!(
            matches!(
                result,
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::UnknownIssuer
                ))
            ),
            "WebPKI decides: {result:?}"
        );
        let chain = verifier.seen.chain();
        assert_eq!(chain.len(), 1, "{chain:?}");
        assert_eq!(chain[0].names, ["relay.example.com"]);
        assert_eq!(chain[0].sha256.len(), 32 * 3 - 1, "{}", chain[0].sha256);
        assert!(chain[0].is_self_issued(), "{:?}", chain[0]);
        assert!(verifier.seen.checked_at().is_some());
    }

    #[test]
    fn fingerprints_are_sha256_in_openssl_form() {
        assert_eq!(
            fingerprint(b"abc"),
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
    }

    #[test]
    fn a_bad_extra_ca_is_reported_not_ignored() {
        let error = connector(Some("not a certificate")).err();
        assert!(
            matches!(
                error,
                Some(Error::Failure(Failure::TlsCertificate {
                    problem: CertProblem::Other,
                    ..
                }))
            ),
            "{error:?}"
        );
    }
}
