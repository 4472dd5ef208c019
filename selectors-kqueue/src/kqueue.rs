//! The real kqueue: [`Kevent`] on `rustix::event::kqueue`.

use std::ffi::c_void;
use std::io;
use std::mem::MaybeUninit;
use std::os::unix::io::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use rustix::event::kqueue::{self, Event, EventFilter, EventFlags};
use rustix::io::{fcntl_getfd, fcntl_setfd, Errno, FdFlags};

use crate::kevent::{Filter, Flags, Kev, Kevent, Remote};

/// A kqueue descriptor and the event list it fills, kept between calls.
pub struct Kernel {
    /// Shared with the [`KqueueRemote`]s (the waker), which keep the queue
    /// open, so a late wake never reaches a reused fd number.
    fd: Arc<OwnedFd>,
    changes: Vec<Event>,
    events: Vec<Event>,
}

/// [`Remote`] on a real kqueue: the same fd, shared.
#[derive(Debug)]
pub struct KqueueRemote(Arc<OwnedFd>);

// SAFETY: `Event` is `!Send`/`!Sync` only because its `udata` field is a
// pointer. We only ever store an integer tag there and never dereference it.
unsafe impl Send for Kernel {}
// SAFETY: as above; `&Kernel` only gives access to the fd.
unsafe impl Sync for Kernel {}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel").field("fd", &self.fd).finish()
    }
}

impl AsFd for Kernel {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Kevent for Kernel {
    type Remote = KqueueRemote;

    fn remote(&self) -> KqueueRemote {
        KqueueRemote(self.fd.clone())
    }

    fn open() -> io::Result<Self> {
        let fd = kqueue::kqueue()?;
        // kqueue(2) has no CLOEXEC flag (only FreeBSD 13's kqueuex does), so
        // set it at once, as mio and polling do. A kqueue is never inherited
        // by a fork(2) child on the BSDs and macOS anyway; this keeps it
        // out of exec'd programs too.
        fcntl_setfd(&fd, fcntl_getfd(&fd)? | FdFlags::CLOEXEC)?;
        Ok(Kernel {
            fd: Arc::new(fd),
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
        for change in changes {
            self.changes.push(to_raw(change)?);
        }
        self.events.clear();
        self.events.reserve(max);
        let list: &mut [MaybeUninit<Event>] = &mut self.events.spare_capacity_mut()[..max];
        // SAFETY: rustix asks that the fds named in `changes` stay open as
        // long as the kqueue. That is an I/O-safety rule, not a memory one:
        // closing an fd makes the kernel drop its knotes (kqueue(2)), and the
        // only thing we get back from them is our integer `udata`.
        let (got, _) = unsafe { kqueue::kevent(&*self.fd, &self.changes, list, timeout)? };
        got.iter().filter_map(from_raw).for_each(&mut each);
        Ok(got.len())
    }
}

impl Remote for KqueueRemote {
    fn submit(&self, changes: &[Kev]) -> io::Result<()> {
        let changes = changes.iter().map(to_raw).collect::<io::Result<Vec<_>>>()?;
        let mut none: [MaybeUninit<Event>; 0] = [];
        loop {
            // SAFETY: as in `Kernel::kevent`; these changes name user
            // knotes, no fds.
            return match unsafe { kqueue::kevent(&*self.0, &changes, &mut none, None) } {
                Ok(_) => Ok(()),
                Err(Errno::INTR) => continue,
                Err(e) => Err(e.into()),
            };
        }
    }
}

/// Our flags and rustix's, bit for bit.
const FLAGS: [(Flags, EventFlags); 6] = [
    (Flags::ADD, EventFlags::ADD),
    (Flags::DELETE, EventFlags::DELETE),
    (Flags::RECEIPT, EventFlags::RECEIPT),
    (Flags::EOF, EventFlags::EOF),
    (Flags::ERROR, EventFlags::ERROR),
    (Flags::CLEAR, EventFlags::CLEAR),
];

/// `EINVAL` for a filter this target lacks, as a kernel without it says:
/// rustix 1.1 offers `EVFILT_USER` on Apple, FreeBSD and DragonFly only
/// (NetBSD has it since 10, OpenBSD not at all), and the selector's waker
/// falls back to a pipe on that error.
fn to_raw(kev: &Kev) -> io::Result<Event> {
    let filter = match kev.filter {
        Filter::Read => EventFilter::Read(kev.ident),
        Filter::Write => EventFilter::Write(kev.ident),
        #[cfg(evfilt_user)]
        Filter::User => EventFilter::User {
            ident: kev.ident as _,
            flags: kqueue::UserFlags::from_bits_retain(kev.fflags & crate::kevent::NOTE_TRIGGER),
            user_flags: kqueue::UserDefinedFlags::new(0),
        },
        #[cfg(not(evfilt_user))]
        Filter::User => return Err(Errno::INVAL.into()),
    };
    let flags = FLAGS
        .iter()
        .filter(|(ours, _)| kev.flags.contains(*ours))
        .fold(EventFlags::empty(), |acc, (_, raw)| acc | *raw);
    // `udata` is an integer tag, never a real pointer.
    Ok(Event::new(filter, flags, kev.udata as *mut c_void))
}

fn from_raw(ev: &Event) -> Option<Kev> {
    let (filter, ident, fflags) = match ev.filter() {
        EventFilter::Read(fd) => (Filter::Read, fd, 0),
        EventFilter::Write(fd) => (Filter::Write, fd, 0),
        #[cfg(evfilt_user)]
        EventFilter::User { ident, flags, .. } => (
            Filter::User,
            // Our idents are small numbers: one that does not fit is not ours.
            i32::try_from(ident).ok()?,
            flags.bits() & crate::kevent::NOTE_TRIGGER,
        ),
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
        fflags,
        data: ev.data(),
        udata: ev.udata() as usize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether rustix can express `EVFILT_USER` on this target.
    const HAS_USER: bool = cfg!(evfilt_user);

    #[test]
    fn conversion_round_trips() {
        let kev = Kev {
            ident: 7,
            filter: Filter::Write,
            flags: Flags::ADD | Flags::RECEIPT,
            fflags: 0,
            data: 0,
            udata: 42,
        };
        assert_eq!(from_raw(&to_raw(&kev).unwrap()), Some(kev));
        let trigger = Kev::trigger(0, 0);
        let raw = to_raw(&trigger);
        assert_eq!(raw.is_ok(), HAS_USER, "{:?}", raw.as_ref().err());
        match raw {
            Ok(raw) => assert_eq!(from_raw(&raw), Some(trigger)),
            Err(e) => assert_eq!(e.raw_os_error(), Some(Errno::INVAL.raw_os_error())),
        }
    }

    #[test]
    fn kqueue_is_cloexec() {
        let kq = Kernel::open().unwrap();
        assert!(fcntl_getfd(&kq).unwrap().contains(FdFlags::CLOEXEC));
    }
}
