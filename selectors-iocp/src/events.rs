//! What Python's events ask of the driver, and what its answers mean.

use std::io;

use selectors_core::backend;
use selectors_core::Events;

use crate::afd;

/// The poll events for a registration: those of `events`, and always the
/// errors and the local close (wepoll's `sock__epoll_events_to_afd_events`
/// asks the same).
#[inline]
pub(crate) fn interest(events: Events) -> u32 {
    let mut bits = afd::POLL_ABORT | afd::POLL_CONNECT_FAIL | afd::POLL_LOCAL_CLOSE;
    if events.is_readable() {
        bits |= afd::POLL_RECEIVE | afd::POLL_ACCEPT | afd::POLL_DISCONNECT;
    }
    if events.is_writable() {
        bits |= afd::POLL_SEND;
    }
    bits
}

/// The readiness the driver's events mean: the peer's shutdown, a reset
/// and a failed connect are both READ and WRITE (CPython).
#[inline]
pub(crate) fn readiness(bits: u32) -> Events {
    backend::readiness(
        bits & (afd::POLL_RECEIVE | afd::POLL_ACCEPT) != 0,
        bits & afd::POLL_SEND != 0,
        bits & (afd::POLL_DISCONNECT | afd::POLL_ABORT | afd::POLL_CONNECT_FAIL) != 0,
    )
}

/// Whether a poll failed because its socket is closed.
pub(crate) fn closed(e: &io::Error) -> bool {
    // ERROR_INVALID_HANDLE, or WSAENOTSOCK.
    matches!(e.raw_os_error(), Some(6) | Some(10038))
}
