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
    );
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
    );
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

/// Sets the validity of `params` to whole days, as rcgen dates are; `time` (rcgen's date type)
/// stays out of the dependency list because the type is never named.
fn set_validity(params: &mut CertificateParams, from_unix: u64, to_unix: u64) {
    let day = |unix: u64| civil_from_days((unix / DAY_SECS) as i64);
    let (year, month, day_of_month) = day(from_unix);
    params.not_before = rcgen::date_time_ymd(year, month, day_of_month);
    let (year, month, day_of_month) = day(to_unix);
    params.not_after = rcgen::date_time_ymd(year, month, day_of_month);
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

/// A proleptic Gregorian date to days since 1970-01-01 (the inverse of [`civil_from_days`]).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The `notAfter` of a DER certificate, as a Unix time. A few lines of DER walking instead of
/// a certificate-parsing dependency.
fn not_after_unix(der: &[u8]) -> Option<u64> {
    let (_, certificate, _) = tlv(der)?;
    let (_, tbs, _) = tlv(certificate)?;
    let mut rest = tbs;
    // The optional explicit version tag comes first.
    if rest.first() == Some(&0xa0) {
        rest = tlv(rest)?.2;
    }
    let after_serial = tlv(rest)?.2;
    let after_algorithm = tlv(after_serial)?.2;
    let after_issuer = tlv(after_algorithm)?.2;
    let (_, validity, _) = tlv(after_issuer)?;
    let (_, _, after_not_before) = tlv(validity)?;
    let (tag, not_after, _) = tlv(after_not_before)?;
    let text = std::str::from_utf8(not_after).ok()?;
    let text = text.strip_suffix('Z')?;
    let (year, rest) = match tag {
        // UTCTime: two-digit year, 1950..=2049 (RFC 5280).
        0x17 => {
            let yy: i64 = text.get(..2)?.parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, text.get(2..)?)
        }
        0x18 => (text.get(..4)?.parse().ok()?, text.get(4..)?),
        _ => return None,
    };
    let field = |range: std::ops::Range<usize>| rest.get(range)?.parse::<i64>().ok();
    let days = days_from_civil(year, field(0..2)?, field(2..4)?);
    let seconds = days * 86_400 + field(4..6)? * 3600 + field(6..8)? * 60 + field(8..10)?;
    u64::try_from(seconds).ok()
}

/// One DER tag-length-value: the tag, the content, and what follows.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    let (length, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let bytes = input.get(2..2 + count)?;
        let length = bytes
            .iter()
            .fold(0usize, |acc, byte| (acc << 8) | usize::from(*byte));
        (length, 2 + count)
    };
    let content = input.get(header..header.checked_add(length)?)?;
    Some((tag, content, &input[header + length..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_conversions_agree() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        for days in [-1000, 0, 59, 10_957, 19_723, 40_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y.into(), m.into(), d.into()), days);
        }
    }

    #[test]
    fn reads_not_after_from_generated_certificates() {
        let key = KeyPair::generate().expect("key");
        let now = 1_700_000_000;
        let mut params = ca_params();
        set_validity(&mut params, now, now + 400 * DAY_SECS);
        let cert = params.self_signed(&key).expect("cert");
        let not_after = not_after_unix(cert.der()).expect("parsed");
        // rcgen dates are whole days.
        assert_eq!(not_after / DAY_SECS, (now + 400 * DAY_SECS) / DAY_SECS);
        // Far dates use GeneralizedTime.
        set_validity(&mut params, now, 4_102_444_800 + 10 * DAY_SECS);
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
