//! Sender rules: a From that is not the account, Reply-To, the Message-ID's domain, and for
//! campaigns `List-Unsubscribe`, `List-Unsubscribe-Post`, a visible link and `List-Id`.

use mail_parser::Message;
use protocol::Finding;

use crate::Context;

pub(crate) fn check(_message: &Message<'_>, _ctx: &Context, _out: &mut Vec<Finding>) {}
