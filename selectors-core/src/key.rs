//! `SelectorKey`: one registration.

use crate::{Events, RawFd};

/// One registration: the fd, the events it waits for, and the caller's data.
///
/// Python's `SelectorKey(fileobj, fd, events, data)` without `fileobj`: the
/// selector does not own or borrow the object registered, so the caller's
/// own object (or a handle to it) goes in `data`.
///
/// ```
/// use selectors_core::{Events, SelectorKey};
///
/// let key = SelectorKey { fd: 7, events: Events::READ, data: "client 1" };
/// assert_eq!(key.fd, 7);
/// assert_eq!(key.data, "client 1");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SelectorKey<T> {
    /// The underlying file descriptor.
    pub fd: RawFd,
    /// The events that must be waited for on this fd.
    pub events: Events,
    /// The data attached at registration: a session, a callback, a token.
    pub data: T,
}
