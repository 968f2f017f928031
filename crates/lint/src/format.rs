//! Format: exactly one From, Date and Message-ID; lines of at most 998 octets; valid
//! encodings; a text/plain alternative for HTML mail.

use mail_parser::Message;
use protocol::Finding;

pub(crate) fn check_raw(_raw: &[u8], _out: &mut Vec<Finding>) {}

pub(crate) fn check(_message: &Message<'_>, _out: &mut Vec<Finding>) {}
