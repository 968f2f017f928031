//! Bounce reports, as Gmail writes them (pure). Gmail accepts a message to a dead address
//! with a 250 and reports the failure later in the sender's inbox, as an RFC 3464
//! `multipart/report` from `mailer-daemon@googlemail.com`. The sandbox does the same for the
//! test recipients `bounce-*@example.com`, so a sender can see how bounces come back.

/// Whether a recipient is one the sandbox bounces.
pub fn bounces(recipient: &str) -> bool {
    let recipient = recipient.trim().to_ascii_lowercase();
    recipient.starts_with("bounce-") && recipient.ends_with("@example.com")
}

/// The report for `recipient`, about the message `original` sent by `sender`.
pub fn report(
    sender: &str,
    recipient: &str,
    original: &[u8],
    now_unix_ms: u64,
    unique: u64,
) -> Vec<u8> {
    let date = rfc2822(now_unix_ms);
    let original_id = crate::message::message_id(original)
        .map(|id| format!("<{id}>"))
        .unwrap_or_default();
    let boundary = format!("000000000000sandbox{unique:08x}");
    let header_end = original
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(original.len(), |at| at + 2);
    let headers = String::from_utf8_lossy(&original[..header_end]);
    let reply = "550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n \
                 550-5.1.1 double-checking the recipient's email address for typos or\r\n \
                 550-5.1.1 unnecessary spaces. For more information, go to\r\n \
                 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser 0sbx - gsmtp";
    format!(
        "Return-Path: <>\r\n\
         From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\n\
         To: {sender}\r\n\
         Auto-Submitted: auto-replied\r\n\
         Subject: Delivery Status Notification (Failure)\r\n\
         In-Reply-To: {original_id}\r\n\
         References: {original_id}\r\n\
         X-Failed-Recipients: {recipient}\r\n\
         Message-ID: <{unique:x}.sandbox.GMR@mx.google.com>\r\n\
         Date: {date}\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; boundary=\"{boundary}\"; report-type=delivery-status\r\n\
         \r\n\
         --{boundary}\r\n\
         Content-Type: text/plain; charset=\"UTF-8\"\r\n\
         \r\n\
         ** Address not found **\r\n\
         \r\n\
         Your message wasn't delivered to {recipient} because the address couldn't be found, \
         or is unable to receive mail.\r\n\
         \r\n\
         (The mailbridge sandbox bounces every bounce-*@example.com address.)\r\n\
         \r\n\
         --{boundary}\r\n\
         Content-Type: message/delivery-status\r\n\
         \r\n\
         Reporting-MTA: dns; googlemail.com\r\n\
         Arrival-Date: {date}\r\n\
         X-Original-Message-ID: {original_id}\r\n\
         \r\n\
         Final-Recipient: rfc822; {recipient}\r\n\
         Action: failed\r\n\
         Status: 5.1.1\r\n\
         Remote-MTA: dns; mx.example.com. (192.0.2.1, the server for the domain example.com.)\r\n\
         Diagnostic-Code: smtp; {reply}\r\n\
         Last-Attempt-Date: {date}\r\n\
         \r\n\
         --{boundary}\r\n\
         Content-Type: text/rfc822-headers\r\n\
         \r\n\
         {headers}\r\n\
         --{boundary}--\r\n"
    )
    .into_bytes()
}

/// RFC 5322's date, in UTC: `Mon, 01 Dec 2025 10:00:02 +0000`.
fn rfc2822(unix_ms: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let seconds = i64::try_from(unix_ms / 1000).unwrap_or_default();
    let date = time::OffsetDateTime::from_unix_timestamp(seconds)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let weekday = date.weekday().to_string();
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000",
        &weekday[..3.min(weekday.len())],
        date.day(),
        MONTHS[usize::from(u8::from(date.month())) - 1],
        date.year(),
        date.hour(),
        date.minute(),
        date.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounce_recipients_and_the_report() {
        assert!(bounces("bounce-1@example.com"));
        assert!(bounces("Bounce-x@EXAMPLE.com"));
        assert!(!bounces("bob@example.com"));
        assert!(!bounces("bounce-1@example.org"));
        let original = b"From: a@b\r\nMessage-ID: <1.x@y>\r\nSubject: hi\r\n\r\nbody\r\n";
        let report = report(
            "a@b",
            "bounce-1@example.com",
            original,
            1_700_000_000_000,
            7,
        );
        let text = String::from_utf8_lossy(&report);
        assert!(text.contains("report-type=delivery-status"), "{text}");
        assert!(text.contains("X-Original-Message-ID: <1.x@y>"), "{text}");
        assert!(
            text.contains("Final-Recipient: rfc822; bounce-1@example.com"),
            "{text}"
        );
        assert!(text.contains("Subject: hi"), "{text}");
        assert!(!text.contains("body"), "only the headers are returned");
        assert!(crate::message::check(&report).is_ok(), "{text}");
    }
}
