//! The buffer `epoll_wait` fills, kept between calls.

use rustix::buffer::spare_capacity;
use rustix::event::epoll::{self, Event};
use rustix::event::Timespec;
use std::os::unix::io::AsFd;

/// Room for the events of one `epoll_wait`, reused by every `select`.
///
/// Its capacity only grows, and is kept at least the number of registered
/// fds, so one call can report every fd and a steady-state `select` never
/// allocates.
pub(crate) struct WaitBuffer(Vec<Event>);

// SAFETY: `Event` is `!Send + !Sync` only because its data union may hold a
// pointer. This buffer holds only events the kernel copied out of the
// selector's interest list, whose data are plain `u64`s (`new_u64`), never a
// pointer; there is nothing thread-bound in it.
unsafe impl Send for WaitBuffer {}
// SAFETY: as above; shared references only read `capacity`.
unsafe impl Sync for WaitBuffer {}

impl WaitBuffer {
    /// An empty buffer with room for one event (`epoll_wait` refuses zero).
    pub(crate) fn new() -> Self {
        WaitBuffer(Vec::with_capacity(1))
    }

    /// How many events one wait can return.
    pub(crate) fn capacity(&self) -> usize {
        self.0.capacity()
    }

    /// Grows the buffer, if needed, so one wait can return `registered`
    /// events. Growth is amortized (doubling), as for any `Vec`.
    pub(crate) fn reserve_for(&mut self, registered: usize) {
        if registered > self.0.capacity() {
            self.0.clear();
            self.0.reserve(registered);
        }
    }

    /// Waits on `epoll` and returns what the kernel wrote.
    pub(crate) fn wait(
        &mut self,
        epoll: impl AsFd,
        timeout: Option<&Timespec>,
    ) -> rustix::io::Result<&[Event]> {
        self.0.clear();
        epoll::wait(epoll, spare_capacity(&mut self.0), timeout)?;
        Ok(&self.0)
    }
}
