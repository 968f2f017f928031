//! The memory budget: how many message bytes all sessions together may hold while messages
//! arrive (after DATA or in BDAT chunks). Without it, the worst case is every allowed connection holding a message of the
//! largest allowed size at once (about 9 GB at Gmail's limits).

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The budget is counted in KiB, so one message's reservation fits the `u32` that
/// [`Semaphore::try_acquire_many_owned`] takes.
const UNIT: usize = 1024;
/// The first allocation of a message buffer: most messages fit, and growing from here by
/// doubling costs few copies.
const FIRST_CAPACITY: usize = 8 * 1024;

/// Message bytes that may be held at once, shared by every session. Clones share the budget.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    units: Arc<Semaphore>,
    total_units: usize,
}

/// Why a message buffer would not take more bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Full {
    /// The message is over the size limit: a permanent refusal.
    TooBig,
    /// Other messages hold the budget: a transient refusal, worth retrying.
    OverBudget,
}

/// A message being received. Its allocation is reserved in the [`Budget`] before it is made,
/// and the reservation is returned when the buffer (or its [`Reservation`]) is dropped.
#[derive(Debug)]
pub(crate) struct MessageBuffer {
    bytes: Vec<u8>,
    limit: usize,
    units: Arc<Semaphore>,
    reserved: Option<OwnedSemaphorePermit>,
}

/// The part of the budget a received message holds until it has been stored.
pub(crate) type Reservation = Option<OwnedSemaphorePermit>;

impl Budget {
    /// A budget of `bytes`, rounded down to whole KiB.
    pub fn new(bytes: usize) -> Budget {
        let total_units = (bytes / UNIT).min(Semaphore::MAX_PERMITS);
        Budget {
            units: Arc::new(Semaphore::new(total_units)),
            total_units,
        }
    }

    /// The bytes reserved by messages being received or stored right now.
    pub fn in_use(&self) -> usize {
        (self.total_units - self.units.available_permits()) * UNIT
    }

    /// An empty buffer for a message of at most `limit` bytes.
    pub fn buffer(&self, limit: usize) -> MessageBuffer {
        MessageBuffer {
            bytes: Vec::new(),
            limit,
            units: self.units.clone(),
            reserved: None,
        }
    }
}

impl MessageBuffer {
    /// Appends `data`, or leaves the buffer as it was and says why not.
    pub fn extend(&mut self, data: &[u8]) -> Result<(), Full> {
        let needed = self.bytes.len() + data.len();
        if needed > self.limit {
            return Err(Full::TooBig);
        }
        if needed > self.bytes.capacity() {
            // Grow by doubling, as Vec would, so a large message is not copied line by line;
            // but reserve before allocating, and near the end of the budget settle for
            // exactly what is needed.
            let doubled = (self.bytes.capacity() * 2)
                .max(FIRST_CAPACITY)
                .max(needed)
                .min(self.limit);
            let capacity = if self.reserve(doubled) {
                doubled
            } else if self.reserve(needed) {
                needed
            } else {
                return Err(Full::OverBudget);
            };
            self.bytes.reserve_exact(capacity - self.bytes.len());
        }
        self.bytes.extend_from_slice(data);
        Ok(())
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The message, and the reservation to hold until it is stored.
    pub fn into_parts(self) -> (Vec<u8>, Reservation) {
        (self.bytes, self.reserved)
    }

    /// Makes sure `capacity` bytes are reserved; false if the budget cannot cover them.
    fn reserve(&mut self, capacity: usize) -> bool {
        let held = self
            .reserved
            .as_ref()
            .map_or(0, OwnedSemaphorePermit::num_permits);
        let more = capacity.div_ceil(UNIT).saturating_sub(held);
        if more == 0 {
            return true;
        }
        let Ok(more) = u32::try_from(more) else {
            return false;
        };
        match self.units.clone().try_acquire_many_owned(more) {
            Ok(permit) => {
                match &mut self.reserved {
                    Some(reserved) => reserved.merge(permit),
                    None => self.reserved = Some(permit),
                }
                true
            }
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: usize = 1024;

    #[test]
    fn buffers_share_the_budget_and_return_it_when_dropped() {
        let budget = Budget::new(64 * KIB);
        let mut first = budget.buffer(usize::MAX);
        first.extend(&[b'a'; 40 * KIB]).expect("fits");
        assert!(budget.in_use() >= 40 * KIB, "{}", budget.in_use());
        let mut second = budget.buffer(usize::MAX);
        second.extend(&[b'b'; 16 * KIB]).expect("fits");
        // The second cannot grow into what the first holds, and is left as it was.
        assert_eq!(second.extend(&[b'b'; 32 * KIB]), Err(Full::OverBudget));
        assert_eq!(second.bytes().len(), 16 * KIB);
        drop(first);
        second
            .extend(&[b'b'; 32 * KIB])
            .expect("fits once the first is gone");
        let (bytes, reservation) = second.into_parts();
        assert_eq!(bytes.len(), 48 * KIB);
        assert!(budget.in_use() >= 48 * KIB);
        drop(reservation);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn the_reservation_covers_the_allocation() {
        let budget = Budget::new(usize::MAX);
        let mut buffer = budget.buffer(5_000_000);
        for _ in 0..50_000 {
            buffer.extend(&[b'x'; 100]).expect("fits");
            assert!(budget.in_use() >= buffer.bytes.capacity());
        }
        assert_eq!(buffer.extend(b"x"), Err(Full::TooBig));
        // Growth stops at the limit rather than doubling past it.
        assert_eq!(budget.in_use(), 5_000_000_usize.div_ceil(KIB) * KIB);
    }

    #[test]
    fn an_empty_message_needs_no_budget() {
        let budget = Budget::new(0);
        let mut buffer = budget.buffer(100);
        buffer.extend(b"").expect("nothing to hold");
        assert_eq!(buffer.extend(b"x"), Err(Full::OverBudget));
    }
}
