//! TLS for the client: rustls with the ring provider, TLS 1.2 and 1.3 only, the system's roots
//! (webpki-roots when none load) plus a profile's extra CA. There is deliberately no switch that
//! turns verification off: a user behind an intercepting proxy needs to see that, not skip it.

use std::io;
use std::sync::{Arc, OnceLock};

use diagnosis::{CertProblem, Failure};
use protocol::{CertificateInfo, TlsInfo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, ClientConnection, ProtocolVersion, RootCertStore};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::Error;

/// The client configuration for a target: cached when it trusts only the system's roots.
pub(crate) fn client_config(extra_ca_pem: Option<&str>) -> Result<Arc<ClientConfig>, Error> {
    static SYSTEM_ONLY: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    let Some(pem) = extra_ca_pem.filter(|pem| !pem.trim().is_empty()) else {
        if let Some(config) = SYSTEM_ONLY.get() {
            return Ok(config.clone());
        }
        let config = build(system_roots().as_ref().clone())?;
        return Ok(SYSTEM_ONLY.get_or_init(|| config).clone());
    };
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
    build(roots)
}

fn build(roots: RootCertStore) -> Result<Arc<ClientConfig>, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|error| {
            Error::Failure(Failure::TlsHandshake {
                detail: error.to_string(),
            })
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
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
    })
}

/// The name to verify the certificate against: a DNS name or an IP address (brackets removed).
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    let host = unbracket(host);
    ServerName::try_from(host.to_owned()).map_err(|error| {
        Error::Failure(Failure::TlsHandshake {
            detail: format!("{host:?} cannot be checked against a certificate: {error}"),
        })
    })
}

pub(crate) fn unbracket(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// Maps a failed handshake: certificate problems by kind, anything else as a handshake failure.
pub(crate) fn handshake_failure(error: &io::Error) -> Failure {
    let tls = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match tls {
        Some(rustls::Error::InvalidCertificate(cert)) => Failure::TlsCertificate {
            problem: cert_problem(cert),
            detail: error.to_string(),
        },
        _ => Failure::TlsHandshake {
            detail: error.to_string(),
        },
    }
}

fn cert_problem(error: &CertificateError) -> CertProblem {
    match error {
        CertificateError::UnknownIssuer => CertProblem::UnknownIssuer,
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => CertProblem::Expired,
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
        .map(|der| certificate_info(der))
        .collect();
    TlsInfo {
        version,
        cipher,
        chain,
    }
}

fn certificate_info(der: &CertificateDer<'_>) -> CertificateInfo {
    match X509Certificate::from_der(der.as_ref()) {
        Ok((_, cert)) => CertificateInfo {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_after: rfc3339(cert.validity().not_after.timestamp()),
        },
        Err(error) => CertificateInfo {
            subject: format!("(unreadable certificate: {error})"),
            issuer: String::new(),
            not_after: String::new(),
        },
    }
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
        let cases = [
            (CertificateError::UnknownIssuer, CertProblem::UnknownIssuer),
            (CertificateError::Expired, CertProblem::Expired),
            (CertificateError::NotValidForName, CertProblem::NameMismatch),
            (CertificateError::BadSignature, CertProblem::Other),
        ];
        for (error, problem) in cases {
            let io = io::Error::new(
                io::ErrorKind::InvalidData,
                rustls::Error::InvalidCertificate(error),
            );
            match handshake_failure(&io) {
                Failure::TlsCertificate { problem: got, .. } => assert_eq!(got, problem),
                other => panic!("{other:?}"),
            }
        }
        let other = io::Error::new(io::ErrorKind::UnexpectedEof, "tls handshake eof");
        assert!(matches!(
            handshake_failure(&other),
            Failure::TlsHandshake { .. }
        ));
    }

    #[test]
    fn a_bad_extra_ca_is_reported_not_ignored() {
        let error = client_config(Some("not a certificate")).err();
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
