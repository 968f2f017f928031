//! Size: the encoded size against the server's advertised SIZE and Gmail's 25 MB.

use protocol::Finding;

use crate::Context;

pub(crate) fn check(_raw: &[u8], _ctx: &Context, _out: &mut Vec<Finding>) {}
