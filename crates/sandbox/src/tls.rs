//! The sandbox's own certificate authority and server certificate, kept in the data
//! directory so a CA the user trusted once stays valid across restarts.
//!
//! The CA may only sign for `localhost` and loopback addresses (X.509 name constraints): a user
//! who trusts it system-wide risks nothing beyond this machine even if its key leaks.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints,
};
use rustls::ServerConfig;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer as _, X509Certificate};

use crate::Error;

pub(crate) const CA_CERT_FILE: &str = "ca.pem";
const CA_KEY_FILE: &str = "ca-key.pem";
const SERVER_CERT_FILE: &str = "server.pem";
const SERVER_KEY_FILE: &str = "server-key.pem";

const DAY_SECS: u64 = 24 * 60 * 60;
const CA_LIFETIME_DAYS: u64 = 3650;
const SERVER_LIFETIME_DAYS: u64 = 365;
/// A certificate this close to expiry is replaced at start, so a long-running sandbox does not
/// expire mid-session.
const RENEW_MARGIN_DAYS: u64 = 7;
/// The names the server certificate is valid for, and all the CA may sign.
const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The TLS setup of a running sandbox.
pub(crate) struct TlsMaterial {
    pub ca_pem: String,
    pub ca_path: PathBuf,
    pub server_config: Arc<ServerConfig>,
}

/// Loads the CA and server certificate from `dir`, creating or renewing what is missing,
/// unreadable or about to expire.
pub(crate) fn load_or_create(dir: &Path) -> Result<TlsMaterial, Error> {
    let now = unix_now();
    let (ca_key, ca_pem) = match load_ca(dir, now) {
        Some(ca) => ca,
        None => create_ca(dir, now)?,
    };
    let ca_der = pem_cert(&ca_pem)
        .ok_or_else(|| Error::Certificate(rcgen::Error::CouldNotParseCertificate))?;
    let (server_der, server_key) = match load_server(dir, &ca_der, now) {
        Some(server) => server,
        None => create_server(dir, &ca_key, now)?,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(vec![server_der], server_key)?;
    Ok(TlsMaterial {
        ca_pem,
        ca_path: dir.join(CA_CERT_FILE),
        server_config: Arc::new(config),
    })
}

fn load_ca(dir: &Path, now: u64) -> Option<(KeyPair, String)> {
    let pem = std::fs::read_to_string(dir.join(CA_CERT_FILE)).ok()?;
    let key = KeyPair::from_pem(&std::fs::read_to_string(dir.join(CA_KEY_FILE)).ok()?).ok()?;
    let der = pem_cert(&pem)?;
    let not_after = not_after_unix(&der)?;
    (not_after > now + RENEW_MARGIN_DAYS * DAY_SECS).then_some((key, pem))
}

fn create_ca(dir: &Path, now: u64) -> Result<(KeyPair, String), Error> {
    let key = KeyPair::generate()?;
    let mut params = ca_params();
    set_validity(
        &mut params,
        now - DAY_SECS,
        now + CA_LIFETIME_DAYS * DAY_SECS,
    )?;
    let cert = params.self_signed(&key)?;
    let pem = cert.pem();
    write_file(&dir.join(CA_KEY_FILE), key.serialize_pem().as_bytes(), true)?;
    write_file(&dir.join(CA_CERT_FILE), pem.as_bytes(), false)?;
    // A new CA makes the old server certificate worthless.
    let _ = std::fs::remove_file(dir.join(SERVER_CERT_FILE));
    Ok((key, pem))
}

/// The CA's identity. It is rebuilt from here to sign a new server certificate (rcgen cannot
/// read it back from the PEM without the x509-parser feature), so it must not vary.
fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "mailbridge sandbox local CA");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "mailbridge sandbox");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::DnsName("localhost".to_owned()),
            GeneralSubtree::IpAddress(CidrSubnet::V4([127, 0, 0, 0], [255, 0, 0, 0])),
            GeneralSubtree::IpAddress(CidrSubnet::V6(
                std::net::Ipv6Addr::LOCALHOST.octets(),
                [0xff; 16],
            )),
        ],
        excluded_subtrees: Vec::new(),
    });
    params
}

fn load_server(
    dir: &Path,
    ca_der: &CertificateDer<'static>,
    now: u64,
) -> Option<(CertificateDer<'static>, PrivateKeyDer<'static>)> {
    let cert = pem_cert(&std::fs::read_to_string(dir.join(SERVER_CERT_FILE)).ok()?)?;
    let key = KeyPair::from_pem(&std::fs::read_to_string(dir.join(SERVER_KEY_FILE)).ok()?).ok()?;
    // Verifying as a client would, a little into the future, catches expiry, a certificate
    // from an older CA and one for the wrong names in one go.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca_der.clone()).ok()?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .ok()?;
    let at = UnixTime::since_unix_epoch(Duration::from_secs(now + RENEW_MARGIN_DAYS * DAY_SECS));
    for name in SERVER_NAMES {
        let name = ServerName::try_from(name).ok()?;
        verifier
            .verify_server_cert(&cert, &[], &name, &[], at)
            .ok()?;
    }
    Some((cert, pkcs8(&key)))
}

fn create_server(
    dir: &Path,
    ca_key: &KeyPair,
    now: u64,
) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), Error> {
    let issuer = Issuer::new(ca_params(), ca_key);
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(SERVER_NAMES.map(str::to_owned).to_vec())?;
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "mailbridge sandbox");
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    set_validity(
        &mut params,
        now - DAY_SECS,
        now + SERVER_LIFETIME_DAYS * DAY_SECS,
    )?;
    let cert = params.signed_by(&key, &issuer)?;
    write_file(
        &dir.join(SERVER_KEY_FILE),
        key.serialize_pem().as_bytes(),
        true,
    )?;
    write_file(&dir.join(SERVER_CERT_FILE), cert.pem().as_bytes(), false)?;
    Ok((cert.der().clone(), pkcs8(&key)))
}

fn pkcs8(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()))
}

fn pem_cert(pem: &str) -> Option<CertificateDer<'static>> {
    CertificateDer::from_pem_slice(pem.as_bytes()).ok()
}

fn write_file(path: &Path, contents: &[u8], secret: bool) -> Result<(), Error> {
    let io_error = |source| Error::DataDir {
        path: path.to_owned(),
        source,
    };
    std::fs::write(path, contents).map_err(io_error)?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io_error)?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    Ok(())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Sets the validity of `params`, given as Unix times.
fn set_validity(params: &mut CertificateParams, from_unix: u64, to_unix: u64) -> Result<(), Error> {
    let date = |unix: u64| {
        i64::try_from(unix)
            .ok()
            .and_then(|unix| OffsetDateTime::from_unix_timestamp(unix).ok())
            .ok_or(Error::Certificate(rcgen::Error::Time))
    };
    params.not_before = date(from_unix)?;
    params.not_after = date(to_unix)?;
    Ok(())
}

/// The `notAfter` of a DER certificate, as a Unix time.
fn not_after_unix(der: &[u8]) -> Option<u64> {
    let (_, certificate) = X509Certificate::from_der(der).ok()?;
    u64::try_from(certificate.validity().not_after.timestamp()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_not_after_from_generated_certificates() {
        let key = KeyPair::generate().expect("key");
        let now = 1_700_000_000;
        let mut params = ca_params();
        set_validity(&mut params, now, now + 400 * DAY_SECS).expect("validity");
        let cert = params.self_signed(&key).expect("cert");
        assert_eq!(not_after_unix(cert.der()), Some(now + 400 * DAY_SECS));
        // Dates from 2050 on are GeneralizedTime rather than UTCTime.
        set_validity(&mut params, now, 4_102_444_800 + 10 * DAY_SECS).expect("validity");
        let cert = params.self_signed(&key).expect("cert");
        assert_eq!(
            not_after_unix(cert.der()),
            Some(4_102_444_800 + 10 * DAY_SECS)
        );
        assert_eq!(not_after_unix(b"\x30\x03junk"), None);
    }

    #[test]
    fn reuses_the_ca_and_renews_an_expired_server_certificate() {
        let dir = std::env::temp_dir().join(format!(
            "sandbox-tls-{}-{}",
            std::process::id(),
            crate::store::now_ms()
        ));
        std::fs::create_dir_all(&dir).expect("dir");
        let first = load_or_create(&dir).expect("first");
        let server_pem = std::fs::read(dir.join(SERVER_CERT_FILE)).expect("server cert");
        let second = load_or_create(&dir).expect("second");
        assert_eq!(first.ca_pem, second.ca_pem);
        assert_eq!(
            std::fs::read(dir.join(SERVER_CERT_FILE)).expect("read"),
            server_pem
        );
        // An expired server certificate, signed by the same CA, is replaced; the CA stays.
        let ca_key =
            KeyPair::from_pem(&std::fs::read_to_string(dir.join(CA_KEY_FILE)).expect("ca key"))
                .expect("parse ca key");
        create_server(&dir, &ca_key, unix_now() - 400 * DAY_SECS).expect("old server cert");
        let third = load_or_create(&dir).expect("third");
        assert_eq!(third.ca_pem, first.ca_pem);
        let renewed = std::fs::read(dir.join(SERVER_CERT_FILE)).expect("read");
        let der = pem_cert(&String::from_utf8_lossy(&renewed)).expect("pem");
        assert!(not_after_unix(&der).expect("not after") > unix_now() + 300 * DAY_SECS);
        let _ = std::fs::remove_dir_all(dir);
    }
}
