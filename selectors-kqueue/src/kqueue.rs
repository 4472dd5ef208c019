//! The real kqueue: [`Kevent`] on `rustix::event::kqueue`.

use std::ffi::c_void;
use std::io;
use std::mem::MaybeUninit;
use std::os::unix::io::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use rustix::event::kqueue::{self, Event, EventFilter, EventFlags};
use rustix::io::{fcntl_getfd, fcntl_setfd, FdFlags};

use crate::kevent::{Filter, Flags, Kev, Kevent};

/// A kqueue descriptor and the event list it fills, kept between calls.
pub struct Kqueue {
    fd: OwnedFd,
    changes: Vec<Event>,
    events: Vec<Event>,
}

// SAFETY: `Event` is `!Send`/`!Sync` only because its `udata` field is a
// pointer. We only ever store an integer tag there and never dereference it.
unsafe impl Send for Kqueue {}
// SAFETY: as above; `&Kqueue` only gives access to the fd.
unsafe impl Sync for Kqueue {}

impl std::fmt::Debug for Kqueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kqueue").field("fd", &self.fd).finish()
    }
}

impl AsFd for Kqueue {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Kevent for Kqueue {
    fn open() -> io::Result<Self> {
        let fd = kqueue::kqueue()?;
        // kqueue(2) has no CLOEXEC flag (only FreeBSD 13's kqueuex does), so
        // set it at once, as mio and polling do. A kqueue is never inherited
        // by a fork(2) child on the BSDs and macOS anyway; this keeps it
        // out of exec'd programs too.
        fcntl_setfd(&fd, fcntl_getfd(&fd)? | FdFlags::CLOEXEC)?;
        Ok(Kqueue {
            fd,
            changes: Vec::new(),
            events: Vec::new(),
        })
    }

    fn kevent<F: FnMut(Kev)>(
        &mut self,
        changes: &[Kev],
        max: usize,
        timeout: Option<Duration>,
        mut each: F,
    ) -> io::Result<usize> {
        self.changes.clear();
        self.changes.extend(changes.iter().map(to_raw));
        self.events.clear();
        self.events.reserve(max);
        let list: &mut [MaybeUninit<Event>] = &mut self.events.spare_capacity_mut()[..max];
        // SAFETY: rustix asks that the fds named in `changes` stay open as
        // long as the kqueue. That is an I/O-safety rule, not a memory one:
        // closing an fd makes the kernel drop its knotes (kqueue(2)), and the
        // only thing we get back from them is our integer `udata`.
        let (got, _) = unsafe { kqueue::kevent(&self.fd, &self.changes, list, timeout)? };
        got.iter().filter_map(from_raw).for_each(&mut each);
        Ok(got.len())
    }
}

/// Our flags and rustix's, bit for bit.
const FLAGS: [(Flags, EventFlags); 5] = [
    (Flags::ADD, EventFlags::ADD),
    (Flags::DELETE, EventFlags::DELETE),
    (Flags::RECEIPT, EventFlags::RECEIPT),
    (Flags::EOF, EventFlags::EOF),
    (Flags::ERROR, EventFlags::ERROR),
];

fn to_raw(kev: &Kev) -> Event {
    let filter = match kev.filter {
        Filter::Read => EventFilter::Read(kev.ident),
        Filter::Write => EventFilter::Write(kev.ident),
    };
    let flags = FLAGS
        .iter()
        .filter(|(ours, _)| kev.flags.contains(*ours))
        .fold(EventFlags::empty(), |acc, (_, raw)| acc | *raw);
    // `udata` is an integer tag, never a real pointer.
    Event::new(filter, flags, kev.udata as *mut c_void)
}

fn from_raw(ev: &Event) -> Option<Kev> {
    let (filter, ident) = match ev.filter() {
        EventFilter::Read(fd) => (Filter::Read, fd),
        EventFilter::Write(fd) => (Filter::Write, fd),
        // We register nothing else.
        _ => return None,
    };
    let raw = ev.flags();
    let flags = FLAGS
        .iter()
        .filter(|(_, r)| raw.contains(*r))
        .fold(Flags::NONE, |acc, (ours, _)| acc | *ours);
    Some(Kev {
        ident,
        filter,
        flags,
        data: ev.data(),
        udata: ev.udata() as usize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_round_trips() {
        let kev = Kev {
            ident: 7,
            filter: Filter::Write,
            flags: Flags::ADD | Flags::RECEIPT,
            data: 0,
            udata: 42,
        };
        assert_eq!(from_raw(&to_raw(&kev)), Some(kev));
    }

    #[test]
    fn kqueue_is_cloexec() {
        let kq = Kqueue::open().unwrap();
        assert!(fcntl_getfd(&kq).unwrap().contains(FdFlags::CLOEXEC));
    }
}
