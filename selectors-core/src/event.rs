//! `Event`: one ready fd, as [`Selector::select_events`] reports it.
//!
//! [`Selector::select_events`]: crate::Selector::select_events

use crate::{Events, RawFd};

/// One ready fd from [`Selector::select_events`]: the fd, the events ready
/// on it, and which registration of that fd it is about. It is small and
/// `Copy` (16 bytes on Unix, 24 on Windows), and holds no data: the
/// selector hands the data out for it ([`data`], [`data_mut`], [`key`]) as
/// long as that registration lasts, and `None` once it was unregistered,
/// even if the fd's number now names a newer registration. (Registrations
/// are told apart by a 32-bit tag, so an event kept across 2³²
/// registrations of the same selector could match again: use events from
/// the last select only.) A [`modify`](crate::Selector::modify) keeps the
/// registration: its events stay live.
///
/// [`Selector::select_events`]: crate::Selector::select_events
/// [`data`]: crate::Selector::data
/// [`data_mut`]: crate::Selector::data_mut
/// [`key`]: crate::Selector::key
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Event {
    pub(crate) fd: RawFd,
    pub(crate) tag: u32,
    /// Where the registration's key was at the select: a hint that makes
    /// the lookup one comparison until an unregister moves the key.
    pub(crate) position: u32,
    pub(crate) events: Events,
}

impl Event {
    /// The fd that was ready.
    #[inline]
    pub const fn fd(&self) -> RawFd {
        self.fd
    }

    /// The events ready on it (never empty, within the registration's).
    #[inline]
    pub const fn events(&self) -> Events {
        self.events
    }

    /// Whether it was ready for reading.
    #[inline]
    pub const fn is_readable(&self) -> bool {
        self.events.is_readable()
    }

    /// Whether it was ready for writing.
    #[inline]
    pub const fn is_writable(&self) -> bool {
        self.events.is_writable()
    }
}
