use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::support::{Fixture, PASSWORD, USER, start, test_bytes};

/// A lettre transport to one of the sandbox's ports, trusting only the sandbox CA.
fn transport(
    fixture: &Fixture,
    implicit_tls: bool,
    password: &str,
) -> AsyncSmtpTransport<Tokio1Executor> {
    let ca = Certificate::from_pem(fixture.ca_cert_pem().as_bytes()).expect("the CA PEM parses");
    let tls = TlsParameters::builder("localhost".to_owned())
        .certificate_store(CertificateStore::None)
        .add_root_certificate(ca)
        .build_rustls()
        .expect("TLS parameters");
    let (port, tls) = if implicit_tls {
        (fixture.tls_addr().port(), Tls::Wrapper(tls))
    } else {
        (fixture.starttls_addr().port(), Tls::Required(tls))
    };
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .tls(tls)
        .credentials(Credentials::new(USER.to_owned(), password.to_owned()))
        .authentication(vec![Mechanism::Plain])
        .build()
}

fn email(subject: &str, attachment: Vec<u8>) -> Message {
    // lettre adds a Message-ID only when asked; without one Gmail (and the sandbox) says 550.
    Message::builder()
        .message_id(None)
        .from("Ann <ann@example.com>".parse().expect("from"))
        .to("bob@example.com".parse().expect("to"))
        .subject(subject)
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain("Sent by lettre.".to_owned()))
                .singlepart(Attachment::new("data.bin".to_owned()).body(
                    attachment,
                    ContentType::parse("application/octet-stream").expect("type"),
                )),
        )
        .expect("message builds")
}

#[tokio::test]
async fn lettre_sends_over_starttls_and_implicit_tls() {
    let fixture = start("lettre", |_| {}).await;
    let attachment = test_bytes(5000);
    for (implicit_tls, subject) in [(false, "via STARTTLS"), (true, "via implicit TLS")] {
        let response = transport(&fixture, implicit_tls, PASSWORD)
            .send(email(subject, attachment.clone()))
            .await
            .unwrap_or_else(|e| panic!("lettre {subject}: {e}"));
        let first = response.first_line().unwrap_or_default().to_owned();
        assert!(first.starts_with("2.0.0 OK  "), "{subject}: {first:?}");

        let summary = fixture.store().list().expect("list").remove(0);
        assert_eq!(summary.subject, subject);
        let message = fixture
            .store()
            .get(summary.id)
            .expect("get")
            .expect("exists");
        assert_eq!(message.auth_mechanism.as_deref(), Some("PLAIN"));
        assert!(message.tls_version.is_some(), "{subject}: TLS is recorded");
        assert_eq!(message.text.as_deref(), Some("Sent by lettre."));
        assert_eq!(message.attachments.len(), 1);
        assert_eq!(message.attachments[0].filename.as_deref(), Some("data.bin"));
        assert!(
            message.attachments[0].content == attachment,
            "{subject}: attachment bytes"
        );
    }
}

#[tokio::test]
async fn lettre_sees_a_wrong_app_password_as_permanent_with_gmails_words() {
    let fixture = start("lettre-535", |_| {}).await;
    let error = transport(&fixture, false, "wrong password")
        .send(email("never sent", Vec::new()))
        .await
        .expect_err("a wrong password must fail");
    assert!(error.is_permanent(), "{error:?}");
    assert_eq!(
        error.status().map(|code| code.to_string()).as_deref(),
        Some("535"),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("Username and Password not accepted"),
        "{error}"
    );
    assert_eq!(fixture.store().count().expect("count"), 0);
}
