//! The event mask: which readiness a registration waits for, and which a
//! `select` reports.

use core::fmt;
use core::ops::{BitAnd, BitAndAssign, BitOr, BitOrAssign};

/// A set of I/O events: [`Events::READ`], [`Events::WRITE`], or both.
///
/// This is Python's integer `events` mask made a type: it can only ever hold
/// the two known bits, so an unknown bit is rejected where it enters
/// ([`Events::from_bits`]) rather than deep inside a backend.
///
/// ```
/// use selectors_core::Events;
///
/// let both = Events::READ | Events::WRITE;
/// assert!(both.contains(Events::READ));
/// assert_eq!(both & Events::WRITE, Events::WRITE);
/// assert_eq!(Events::from_bits(3), Some(both));
/// assert_eq!(Events::from_bits(4), None);
/// assert!(Events::EMPTY.is_empty());
/// ```
#[derive(Copy, Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Events(u8);

/// Python's `selectors.EVENT_READ`: available for read.
pub const EVENT_READ: Events = Events::READ;

/// Python's `selectors.EVENT_WRITE`: available for write.
pub const EVENT_WRITE: Events = Events::WRITE;

impl Events {
    /// No events. Registering with it is an error ([`Error::InvalidEvents`](crate::Error::InvalidEvents)).
    pub const EMPTY: Events = Events(0);
    /// Available for read (`EVENT_READ`, bit value 1 as in Python).
    pub const READ: Events = Events(1);
    /// Available for write (`EVENT_WRITE`, bit value 2 as in Python).
    pub const WRITE: Events = Events(2);
    /// Both [`Events::READ`] and [`Events::WRITE`].
    pub const ALL: Events = Events(3);

    /// Builds a mask from Python's integer encoding (1 = read, 2 = write).
    ///
    /// Returns `None` if `bits` has any other bit set.
    #[inline]
    pub const fn from_bits(bits: u32) -> Option<Events> {
        if bits & !(Events::ALL.0 as u32) == 0 {
            Some(Events(bits as u8))
        } else {
            None
        }
    }

    /// The integer encoding of this mask (1 = read, 2 = write), as in Python.
    #[inline]
    pub const fn bits(self) -> u32 {
        self.0 as u32
    }

    /// Whether no event is set.
    #[inline]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every event in `other` is also in `self`.
    #[inline]
    pub const fn contains(self, other: Events) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether `self` and `other` share at least one event.
    #[inline]
    pub const fn intersects(self, other: Events) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether [`Events::READ`] is set.
    #[inline]
    pub const fn is_readable(self) -> bool {
        self.contains(Events::READ)
    }

    /// Whether [`Events::WRITE`] is set.
    #[inline]
    pub const fn is_writable(self) -> bool {
        self.contains(Events::WRITE)
    }

    /// The events a backend reports for one fd, from what the kernel said,
    /// masked by what the fd was registered for: `other` counts as both
    /// READ and WRITE (see [`backend::readiness`](crate::backend::readiness)).
    #[inline]
    pub(crate) const fn ready(
        registered: Events,
        readable: bool,
        writable: bool,
        other: bool,
    ) -> Events {
        // Arithmetic rather than branches: this runs once per ready fd, and
        // the kernel's flags vary from one fd to the next.
        let read = (readable | other) as u8 * Events::READ.0;
        let write = (writable | other) as u8 * Events::WRITE.0;
        Events((read | write) & registered.0)
    }
}

impl BitOr for Events {
    type Output = Events;
    #[inline]
    fn bitor(self, rhs: Events) -> Events {
        Events(self.0 | rhs.0)
    }
}

impl BitOrAssign for Events {
    #[inline]
    fn bitor_assign(&mut self, rhs: Events) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for Events {
    type Output = Events;
    #[inline]
    fn bitand(self, rhs: Events) -> Events {
        Events(self.0 & rhs.0)
    }
}

impl BitAndAssign for Events {
    #[inline]
    fn bitand_assign(&mut self, rhs: Events) {
        self.0 &= rhs.0;
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Events::EMPTY => f.write_str("EMPTY"),
            Events::READ => f.write_str("READ"),
            Events::WRITE => f.write_str("WRITE"),
            _ => f.write_str("READ | WRITE"),
        }
    }
}

impl fmt::Display for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_encoding_round_trips() {
        for bits in 0..4 {
            assert_eq!(Events::from_bits(bits).unwrap().bits(), bits);
        }
        for bits in [4, 5, 8, 0x80, u32::MAX] {
            assert_eq!(Events::from_bits(bits), None);
        }
        assert_eq!(EVENT_READ.bits(), 1);
        assert_eq!(EVENT_WRITE.bits(), 2);
    }

    #[test]
    fn set_operations() {
        let mut e = Events::READ;
        e |= Events::WRITE;
        assert_eq!(e, Events::ALL);
        assert!(e.contains(Events::READ) && e.contains(Events::WRITE));
        assert!(!Events::READ.contains(Events::ALL));
        assert!(Events::READ.contains(Events::EMPTY));
        assert!(Events::ALL.intersects(Events::WRITE));
        assert!(!Events::READ.intersects(Events::WRITE));
        e &= Events::WRITE;
        assert_eq!(e, Events::WRITE);
        assert!(e.is_writable() && !e.is_readable());
    }

    #[test]
    fn ready_masks_and_widens_conditions() {
        let all = Events::ALL;
        assert_eq!(Events::ready(all, true, false, false), Events::READ);
        assert_eq!(Events::ready(all, false, true, false), Events::WRITE);
        assert_eq!(Events::ready(all, true, true, false), Events::ALL);
        assert_eq!(Events::ready(all, false, false, true), Events::ALL);
        assert_eq!(Events::ready(all, false, false, false), Events::EMPTY);
        assert_eq!(Events::ready(Events::READ, true, true, true), Events::READ);
        assert_eq!(
            Events::ready(Events::WRITE, true, false, false),
            Events::EMPTY
        );
    }

    #[test]
    fn ready_is_the_rule_for_every_input() {
        for registered in (0..4).map(Events) {
            for bits in 0..8 {
                let (readable, writable, other) = (bits & 1 != 0, bits & 2 != 0, bits & 4 != 0);
                let mut want = Events::EMPTY;
                if readable || other {
                    want |= Events::READ;
                }
                if writable || other {
                    want |= Events::WRITE;
                }
                let got = Events::ready(registered, readable, writable, other);
                assert_eq!(got, want & registered, "{bits:03b} {registered:?}");
            }
        }
    }

    #[test]
    fn debug_names_the_bits() {
        assert_eq!(format!("{:?}", Events::EMPTY), "EMPTY");
        assert_eq!(format!("{:?}", Events::ALL), "READ | WRITE");
        assert_eq!(Events::WRITE.to_string(), "WRITE");
    }
}
