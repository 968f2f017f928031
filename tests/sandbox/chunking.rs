//! BDAT (RFC 3030 CHUNKING), which Gmail offers and no SMTP library here sends, so these tests
//! write it by hand over TLS. Each refused chunk's bytes hold `QUIT` lines: were they read as
//! commands, the session would end there and the test with it.

use crate::sandbox::client::TlsClient;
use crate::support::{Fixture, Raw, message, start, test_bytes};

const ENVELOPE: &[u8] = b"MAIL FROM:<ann@example.com>\r\nRCPT TO:<bob@example.com>\r\n";
const KIB: usize = 1024;

/// `BDAT <len> [LAST]` and the bytes, as one piece to write.
fn chunk(bytes: &[u8], last: bool) -> Vec<u8> {
    let last = if last { " LAST" } else { "" };
    let mut out = format!("BDAT {}{last}\r\n", bytes.len()).into_bytes();
    out.extend_from_slice(bytes);
    out
}

/// Several pieces joined, to go out in one write.
fn joined(pieces: &[&[u8]]) -> Vec<u8> {
    pieces.concat()
}

/// A message Gmail accepts, with what DATA would have to escape or would choke on: lone dots,
/// a line that is only a dot, bare CR and LF, NUL and every other byte value.
fn awkward_message(subject: &str) -> Vec<u8> {
    let mut bytes = message(subject).into_bytes();
    bytes
        .extend_from_slice(b".\r\n..two dots stay two\r\n.\r\nbare LF\nbare CR\rNUL\0\r\nQUIT\r\n");
    bytes.extend(test_bytes(4 * KIB));
    bytes
}

/// `QUIT` lines, `len` bytes of them: harmless as message data, fatal if read as commands.
fn quit_lines(len: usize) -> Vec<u8> {
    b"QUIT\r\n".iter().copied().cycle().take(len).collect()
}

/// A message Gmail accepts, padded with body lines to at least `len` bytes.
fn padded_message(subject: &str, len: usize) -> Vec<u8> {
    let mut text = message(subject);
    while text.len() < len {
        text.push_str(&"padding ".repeat(9));
        text.push_str("\r\n");
    }
    text.into_bytes()
}

/// Every captured message's bytes, oldest first.
fn captured(fixture: &Fixture) -> Vec<Vec<u8>> {
    let store = fixture.store();
    let mut raws: Vec<Vec<u8>> = store
        .list()
        .expect("list")
        .iter()
        .map(|summary| {
            store
                .raw(summary.id)
                .expect("read")
                .expect("a listed message is stored")
        })
        .collect();
    raws.reverse();
    raws
}

/// The captured messages are exactly `expected`, byte for byte, oldest first.
#[track_caller]
fn assert_captured(fixture: &Fixture, expected: &[&[u8]]) {
    let got = captured(fixture);
    let lengths = |raws: &[&[u8]]| raws.iter().map(|raw| raw.len()).collect::<Vec<_>>();
    let got: Vec<&[u8]> = got.iter().map(Vec::as_slice).collect();
    assert!(
        got == expected,
        "captured messages of {:?} bytes, expected {:?} bytes, byte for byte",
        lengths(&got),
        lengths(expected)
    );
}

#[tokio::test]
async fn a_pipelined_envelope_and_bdat_last_in_one_write_over_starttls_get_three_replies() {
    let fixture = start("bdat-pipelined", |_| {}).await;
    let mut client = TlsClient::logged_in_after_starttls(&fixture).await;
    let body = awkward_message("pipelined with BDAT");
    client.send(&joined(&[ENVELOPE, &chunk(&body, true)])).await;
    client.expect("250 2.1.0 OK ").await;
    client.expect("250 2.1.5 OK ").await;
    client.expect("250 2.0.0 OK  ").await;
    // Nothing else was answered in between: the next reply is the one to QUIT.
    client.send(b"QUIT\r\n").await;
    client.expect("221 2.0.0 closing connection ").await;
    assert_captured(&fixture, &[&body]);
    let summary = &fixture.store().list().expect("list")[0];
    let stored = fixture
        .store()
        .get(summary.id)
        .expect("read")
        .expect("kept");
    assert_eq!(stored.summary.subject, "pipelined with BDAT");
    assert!(stored.tls_version.is_some(), "sent after STARTTLS");
    assert_eq!(fixture.buffered_bytes(), 0, "the budget is returned");
}

#[tokio::test]
async fn a_message_in_several_chunks_is_kept_whole_and_data_cannot_join_in() {
    let fixture = start("bdat-chunks", |_| {}).await;
    let mut client = TlsClient::logged_in(&fixture).await;
    let body = awkward_message("in chunks");
    // Cut mid-header and mid-body, so nothing lines up with a line end.
    let (first, rest) = body.split_at(37);
    let (second, third) = rest.split_at(rest.len() / 2);
    client
        .send(&joined(&[ENVELOPE, &chunk(first, false)]))
        .await;
    client.expect("250 2.1.0 OK ").await;
    client.expect("250 2.1.5 OK ").await;
    client.expect("250 2.0.0 37 octets received ").await;
    client.send(b"DATA\r\n").await;
    client.expect("503 5.5.1 Bad sequence of commands. ").await;
    // Two chunks in one write, each answered.
    client
        .send(&joined(&[&chunk(second, false), &chunk(third, false)]))
        .await;
    client
        .expect(&format!("250 2.0.0 {} octets received ", second.len()))
        .await;
    client
        .expect(&format!("250 2.0.0 {} octets received ", third.len()))
        .await;
    assert!(
        fixture.buffered_bytes() >= body.len(),
        "the chunks are held"
    );
    // An empty last chunk ends the message.
    client.send(b"BDAT 0 LAST\r\n").await;
    client.expect("250 2.0.0 OK  ").await;
    assert_eq!(fixture.buffered_bytes(), 0, "the budget is returned");

    // The transaction is over; the next one may use DATA.
    let plain = message("then with DATA");
    client.start_data().await;
    client.send(plain.as_bytes()).await;
    client.send(b".\r\n").await;
    client.expect("250 2.0.0 OK  ").await;
    assert_captured(&fixture, &[&body, plain.as_bytes()]);
    let ids = fixture.store().message_ids().expect("message ids");
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_ne!(ids[0], ids[1], "{ids:?}");
    assert!(
        plain.contains(&format!("Message-ID: <{}>", ids[0])),
        "the newest first, without brackets: {ids:?}"
    );
}

#[tokio::test]
async fn bdat_out_of_order_or_malformed_is_refused_and_its_chunk_skipped() {
    let fixture = start("bdat-order", |_| {}).await;
    let mut plain = Raw::connect(fixture.starttls_addr()).await;
    plain.expect("220 ").await;
    plain.send(b"BDAT 6 LAST\r\nQUIT\r\nNOOP\r\n").await;
    plain.expect("503 5.5.1 EHLO/HELO first. ").await;
    plain.expect("250 2.0.0 OK ").await;

    let mut client = TlsClient::logged_in(&fixture).await;
    client.send(b"BDAT 6 LAST\r\nQUIT\r\n").await;
    client.expect("503 5.5.1 MAIL first. ").await;
    client
        .send(b"MAIL FROM:<ann@example.com>\r\nBDAT 6\r\nQUIT\r\n")
        .await;
    client.expect("250 2.1.0 OK ").await;
    client.expect("503 5.5.1 RCPT first. ").await;
    for bad in ["BDAT ten LAST", "BDAT", "BDAT -1", "BDAT 10 FIRST"] {
        client.send(format!("{bad}\r\n").as_bytes()).await;
        client
            .expect("501 5.5.4 Syntax: BDAT <size> [LAST]. ")
            .await;
    }
    // The transaction survived the refusals. An empty last chunk ends the message, which
    // without a Message-ID gets Gmail's 550.
    client
        .send(b"RCPT TO:<bob@example.com>\r\nBDAT 0 LAST\r\n")
        .await;
    client.expect("250 2.1.5 OK ").await;
    client
        .expect("550-5.7.1 [127.0.0.1] Messages missing a valid Message-ID header")
        .await;
    // And that ended the transaction.
    client.send(b"BDAT 6 LAST\r\nQUIT\r\nNOOP\r\n").await;
    client.expect("503 5.5.1 MAIL first. ").await;
    client.expect("250 2.0.0 OK ").await;
    assert_eq!(fixture.store().count().expect("count"), 0);
    assert_eq!(fixture.buffered_bytes(), 0);
}

#[tokio::test]
async fn bdat_over_the_size_limit_is_refused_and_the_session_goes_on() {
    let fixture = start("bdat-too-big", |config| config.max_message_size = 2000).await;
    let mut client = TlsClient::logged_in(&fixture).await;
    // Announced over the limit: refused without keeping a byte.
    client
        .send(&joined(&[ENVELOPE, &chunk(&quit_lines(3000), true)]))
        .await;
    client.expect("250 2.1.0 OK ").await;
    client.expect("250 2.1.5 OK ").await;
    client
        .expect("552-5.3.4 Your message exceeded Google's message size limits.")
        .await;
    // Over the limit only with the second chunk.
    let half = quit_lines(1500);
    client
        .send(&joined(&[
            ENVELOPE,
            &chunk(&half, false),
            &chunk(&half, true),
        ]))
        .await;
    client.expect("250 2.1.0 OK ").await;
    client.expect("250 2.1.5 OK ").await;
    client.expect("250 2.0.0 1500 octets received ").await;
    client
        .expect("552-5.3.4 Your message exceeded Google's message size limits.")
        .await;
    assert_eq!(fixture.buffered_bytes(), 0, "nothing of them is held");
    assert_eq!(fixture.store().count().expect("count"), 0);

    // A refused chunk ends its transaction, and the session is still in step.
    let fits = message("fits").into_bytes();
    client.send(&joined(&[ENVELOPE, &chunk(&fits, true)])).await;
    client.expect("250 2.1.0 OK ").await;
    client.expect("250 2.1.5 OK ").await;
    client.expect("250 2.0.0 OK  ").await;
    assert_captured(&fixture, &[&fits]);
}

#[tokio::test]
async fn the_daily_limit_applies_to_bdat_transactions() {
    let fixture = start("bdat-daily", |config| config.faults.daily_limit = Some(1)).await;
    let mut client = TlsClient::logged_in(&fixture).await;
    let first = message("within the limit").into_bytes();
    client
        .send(&joined(&[ENVELOPE, &chunk(&first, true)]))
        .await;
    client.expect("250 2.1.0 OK ").await;
    client.expect("250 2.1.5 OK ").await;
    client.expect("250 2.0.0 OK  ").await;

    let mut second = message("over the limit").into_bytes();
    second.extend_from_slice(b"QUIT\r\n");
    client
        .send(&joined(&[ENVELOPE, &chunk(&second, true)]))
        .await;
    client
        .expect("550-5.4.5 Daily user sending limit exceeded.")
        .await;
    client.expect("503 5.5.1 MAIL first. ").await;
    client.expect("503 5.5.1 MAIL first. ").await;
    client.send(b"NOOP\r\n").await;
    client.expect("250 2.0.0 OK ").await;
    assert_captured(&fixture, &[&first]);
}

#[tokio::test]
async fn a_connection_cut_halfway_through_a_chunk() {
    let fixture = start("bdat-cut", |config| config.faults.drop_in_data = 1).await;
    let mut client = TlsClient::logged_in(&fixture).await;
    client.send(ENVELOPE).await;
    client.expect("250 2.1.0 OK ").await;
    client.expect("250 2.1.5 OK ").await;
    client.send(&chunk(&awkward_message("cut"), true)).await;
    assert_eq!(client.reply().await, None, "cut with no reply");

    let mut again = TlsClient::logged_in(&fixture).await;
    let whole = awkward_message("whole");
    again.send(&joined(&[ENVELOPE, &chunk(&whole, true)])).await;
    again.expect("250 2.1.0 OK ").await;
    again.expect("250 2.1.5 OK ").await;
    again.expect("250 2.0.0 OK  ").await;
    assert_captured(&fixture, &[&whole]);
    assert_eq!(
        fixture.buffered_bytes(),
        0,
        "the cut message's budget is returned"
    );
}

#[tokio::test]
async fn chunks_share_the_memory_budget_and_a_refused_message_can_be_retried() {
    let fixture = start("bdat-budget", |config| config.max_buffered_bytes = 64 * KIB).await;
    let first_message = padded_message("first, held in a chunk", 48 * KIB);
    let second_message = padded_message("second, sent meanwhile", 48 * KIB);
    let (held, rest) = first_message.split_at(40 * KIB);

    let mut first = TlsClient::logged_in(&fixture).await;
    first.send(&joined(&[ENVELOPE, &chunk(held, false)])).await;
    first.expect("250 2.1.0 OK ").await;
    first.expect("250 2.1.5 OK ").await;
    first.expect("250 2.0.0 40960 octets received ").await;
    assert!(fixture.buffered_bytes() >= held.len());

    // 48 KiB do not fit beside the first client's 40: transient, and not kept.
    let mut second = TlsClient::logged_in(&fixture).await;
    second
        .send(&joined(&[ENVELOPE, &chunk(&second_message, true)]))
        .await;
    second.expect("250 2.1.0 OK ").await;
    second.expect("250 2.1.5 OK ").await;
    second
        .expect("451 4.3.0 Temporary System Problem.  Try again later. ")
        .await;

    first.send(&chunk(rest, true)).await;
    first.expect("250 2.0.0 OK  ").await;
    assert_eq!(fixture.buffered_bytes(), 0, "the budget is returned");

    second
        .send(&joined(&[ENVELOPE, &chunk(&second_message, true)]))
        .await;
    second.expect("250 2.1.0 OK ").await;
    second.expect("250 2.1.5 OK ").await;
    second.expect("250 2.0.0 OK  ").await;
    assert_captured(&fixture, &[&first_message, &second_message]);
}
