//! The memory of one poll request, and who frees it.

use std::ptr::NonNull;

use selectors_core::backend::Slot;
use selectors_core::RawFd;

use crate::afd;

/// One poll request, boxed: the driver writes `poll` while the request is
/// pending; `fd` and `tag`, written before it is sent, name the
/// registration its completion is about.
#[repr(C)]
pub(crate) struct Request {
    pub(crate) poll: afd::Poll,
    pub(crate) fd: RawFd,
    pub(crate) tag: u32,
}

impl Request {
    /// A new request for the registration `slot`, owned by the caller
    /// until it is sent (see `Iocp`'s invariants).
    pub(crate) fn new(slot: Slot) -> NonNull<Request> {
        let request = Box::new(Request {
            poll: afd::Poll::new(),
            fd: slot.fd,
            tag: slot.tag,
        });
        NonNull::from(Box::leak(request))
    }
}

/// Frees a request that is not pending.
///
/// # Safety
///
/// `request` came from [`Request::new`], is not pending, and is not used
/// afterwards.
pub(crate) unsafe fn free(request: NonNull<Request>) {
    // SAFETY: as the caller promised.
    drop(unsafe { Box::from_raw(request.as_ptr()) });
}
