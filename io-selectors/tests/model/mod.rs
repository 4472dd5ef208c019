//! A pool of real fds and a reference model of what a selector over them must
//! answer, shared by the property tests (`properties.rs`) and the
//! differential test against CPython (`differential.rs`).
//!
//! # The pool
//!
//! Six slots at fixed, high fd numbers (`base + 0 ..= base + 5`, far above
//! what the kernel hands other tests of the same binary, which get the lowest
//! free number), so closing one behind the selector's back and reusing its
//! number with `dup2` cannot race with anybody else:
//!
//! | slot | object |
//! |---|---|
//! | 0, 1 | the two ends of a Unix stream socketpair |
//! | 2, 3 | another socketpair |
//! | 4 | the read end of a pipe |
//! | 5 | the write end of that pipe |
//!
//! A closed slot's number may be reused ([`Op::Reopen`]) by `/dev/null`, a
//! file that is always readable and writable and that epoll cannot watch
//! (`EPERM` from `epoll_ctl`, also on `unregister` of a registration whose
//! number it took: swallowed, as in CPython).
//!
//! Everything is non-blocking, so a model bug shows up as a failed assertion,
//! never as a hang.
//!
//! No process may be forked while a pool lives: the child gets a copy of the
//! whole fd table and keeps every description open until its `exec` closes
//! the close-on-exec fds, so a socket whose peer the pool just closed shows
//! no hang-up, a pipe no error, and epoll keeps a dead description's entry,
//! none of which the model can predict. Test binaries that start processes
//! while other tests run pools (the differential test runs `python3`) do it
//! through [`spawn`], which waits until no pool is alive; each [`World`]
//! holds a share of the same lock.
//!
//! # What the model knows of the kernel (Linux)
//!
//! It tracks *file descriptions* (the six objects above), which slot numbers
//! refer to which description (`dup2` makes two numbers share one), the bytes
//! buffered toward each description, and whether each is still alive (some
//! number still refers to it). From that, the readiness flags of a
//! description (`unix_poll`, `pipe_poll`):
//!
//! - socket end: `IN` if bytes are buffered or the peer is gone; `OUT` always
//!   (writes are kept far below the send buffer, and a socket whose peer is
//!   gone is writable "so that it does not get stuck"); `HUP` if the peer is
//!   gone.
//! - pipe read end: `IN` if bytes are buffered; `HUP` if the write end is gone.
//! - pipe write end: `OUT` always (writes stay far below the pipe's capacity);
//!   `ERR` if the read end is gone.
//!
//! A select(2) read set holds `IN | HUP | ERR`, its write set `OUT | ERR`;
//! poll and epoll report the flags themselves, any condition besides `IN` and
//! `OUT` counting as both READ and WRITE (as CPython): so a pipe read end whose
//! writer is gone, registered for WRITE, is reported by poll and epoll, not
//! by select. Each backend then masks with the registered events.
//!
//! # What differs per backend (the [`Flavor`])
//!
//! A registered number closed behind the selector's back:
//! - select: `select` fails with `EBADF` naming one such fd (any of them);
//! - poll: reported `POLLNVAL`, i.e. ready for everything it was registered
//!   for;
//! - epoll: the kernel watches the *description*, so the model keeps epoll's
//!   interest list itself (number, description, events, generation): an
//!   entry goes away with its description; while a registration is live, a
//!   description it watched keeps being reported under its number even after
//!   the number was closed or reused (epoll's nature, also CPython's);
//!   entries of an earlier registration (orphans) are dropped and make the
//!   selector rebuild its interest list from the map. `register` of a closed
//!   number fails with `EBADF` (or `EEXIST` if an orphan watches the same
//!   description under that number), a changing `modify` of a closed or
//!   reused number fails with `EBADF` / `ENOENT` and unregisters it.
//!
//! - kqueue (`ModelKqueueSelector`, the in-process model of FreeBSD's
//!   kqueue that `KqueueSelector` runs on here): the model keeps the
//!   knotes itself, one per (number, filter), each with the *file* its
//!   number named when it was added and the registration that added it.
//!   The file is what `fstat` tells apart, (device, inode): each socket is
//!   a file of its own, but both ends of the pipe are one file. A knote
//!   whose number no longer names its file (closed, or reused by another
//!   file) is dropped before each wait and before each change naming that
//!   number; one whose number names its file again (the same socket
//!   `dup2`ed back, or the pipe's other end `dup2`ed over it) is not
//!   noticed and keeps firing, from whatever the number names now. That is
//!   the kqueue model's documented limit (FreeBSD drops the knotes at
//!   `close(2)`), encoded here rather than excluded. A read knote fires on
//!   `IN | HUP | ERR` (and `RDHUP`), a write knote on `OUT | HUP | ERR`,
//!   each reported as its own event (`EV_EOF` counts as it, as CPython's
//!   `KqueueSelector`). `register` of a closed number fails with `EBADF`
//!   and registers nothing; `unregister` of a closed or reused number
//!   succeeds; a changing `modify` adds and deletes the filters that
//!   differ, and if one fails (`EBADF`: closed; `ENOENT`: deleting a
//!   dropped knote) it fails with the first error and unregisters the
//!   number, in the kqueue as in the map.
//!
//! One epoll behaviour is not predictable: a wait returns at most as many
//! events as the selector's buffer holds (read from its `Debug` output), in
//! kernel order. When more entries than that are ready and one is an orphan,
//! the model cannot know which were returned nor whether the orphan was
//! seen, so it stops checking that sequence (counted as `undecided`).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::io::RawFd;
use std::process::{Child, Command};
use std::sync::{PoisonError, RwLock, RwLockReadGuard};

use selectors_core::{Error, Events, Selector};

/// How many slots the pool has.
pub(crate) const SLOTS: usize = 6;

/// What differs between backends; see the module doc.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `select(2)`.
    Select,
    /// `poll(2)`.
    Poll,
    /// `epoll(7)`.
    Epoll,
    /// `kqueue(2)`, on the in-process model of FreeBSD's kqueue.
    Kqueue,
}

/// One step of a sequence. Slots are `0..SLOTS`; `fd: None` stands for the
/// negative fd -1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// `register(fd, events, data = index of the op)`.
    Register { fd: Option<usize>, events: u8 },
    /// `modify(fd, events, data = index of the op)`.
    Modify { fd: Option<usize>, events: u8 },
    /// `unregister(fd)`.
    Unregister { fd: Option<usize> },
    /// `select(Some(ZERO))`.
    Select,
    /// `close(slot)` behind the selector's back (no-op if closed already).
    Close { slot: usize },
    /// `dup2(src, dst)`: `dst`'s number now names `src`'s description
    /// (no-op if `src` is closed or the same slot).
    Dup { src: usize, dst: usize },
    /// Opens `/dev/null` under `slot`'s number, if it is closed (fd reuse by
    /// another kind of file); otherwise a no-op.
    Reopen { slot: usize },
    /// Writes `len` bytes through `slot`, if that can succeed without
    /// blocking or `EPIPE`; otherwise a no-op.
    Write { slot: usize, len: usize },
    /// Reads up to `len` bytes through `slot`, if bytes are buffered there;
    /// otherwise a no-op.
    Read { slot: usize, len: usize },
}

/// The description kinds of the pool, by description (= original slot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Socket { peer: usize },
    PipeRead { writer: usize },
    PipeWrite { reader: usize },
}

const KINDS: [Kind; SLOTS] = [
    Kind::Socket { peer: 1 },
    Kind::Socket { peer: 0 },
    Kind::Socket { peer: 3 },
    Kind::Socket { peer: 2 },
    Kind::PipeRead { writer: 5 },
    Kind::PipeWrite { reader: 4 },
];

/// The description of every `/dev/null` a [`Op::Reopen`] opened: they all
/// behave alike, and none can be in epoll's interest list.
pub(crate) const NULL: usize = SLOTS;

/// Writes pending toward one description before the model refuses more, so
/// sockets and pipes always have room (see the module doc).
const MAX_CHUNKS: usize = 8;

/// Readiness flags of a description, as `poll` would report them.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Flags {
    pub(crate) input: bool,
    pub(crate) output: bool,
    pub(crate) hup: bool,
    pub(crate) err: bool,
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// The real fds of the pool and what the model knows about them.
pub(crate) struct World {
    base: RawFd,
    /// Which description each slot's number names, `None` once closed.
    desc: [Option<usize>; SLOTS],
    /// Bytes buffered toward each description (readable through it).
    buffered: [usize; SLOTS],
    /// Writes pending toward each description.
    chunks: [usize; SLOTS],
    /// Keeps [`spawn`] from forking while this pool lives (see the module doc).
    _no_fork: RwLockReadGuard<'static, ()>,
}

/// Pools hold it shared, [`spawn`] exclusively.
static FORK: RwLock<()> = RwLock::new(());

/// Starts `cmd` once no [`World`] is alive in this process, so the child
/// never holds a pool's descriptions (see the module doc). Pools created
/// after it returns are not in the child's fd table. A thread must not call
/// it while it owns a `World` itself (that would deadlock).
pub(crate) fn spawn(cmd: &mut Command) -> std::io::Result<Child> {
    let _exclusive = FORK.write().unwrap_or_else(PoisonError::into_inner);
    cmd.spawn()
}

/// Socket flags that make new fds close-on-exec and non-blocking at once,
/// where the platform has them (not Apple: see `set_cloexec_nonblock`).
#[cfg(not(target_vendor = "apple"))]
const SOCK_FLAGS: libc::c_int = libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK;
#[cfg(target_vendor = "apple")]
const SOCK_FLAGS: libc::c_int = 0;

/// Apple has no `SOCK_CLOEXEC`, `pipe2` or `dup3`: set the flags right after
/// creation. Not atomic against a concurrent `fork`, which is good enough
/// for a test pool; elsewhere the flags were set at creation and this
/// changes nothing.
fn set_cloexec_nonblock(fd: RawFd) {
    // SAFETY: fcntl flag updates on an fd the caller owns.
    unsafe {
        assert_ne!(libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC), -1);
        let fl = libc::fcntl(fd, libc::F_GETFL);
        assert_ne!(libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK), -1);
    }
}

/// `pipe2(O_CLOEXEC | O_NONBLOCK)`, or `pipe` and `fcntl` on Apple.
fn pipe_cloexec_nonblock(p: &mut [RawFd; 2]) -> libc::c_int {
    // SAFETY: `p` has room for the two fds pipe2/pipe writes.
    #[cfg(not(target_vendor = "apple"))]
    let rc = unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) };
    // SAFETY: as above.
    #[cfg(target_vendor = "apple")]
    let rc = unsafe { libc::pipe(p.as_mut_ptr()) };
    if rc == 0 {
        p.iter().for_each(|&fd| set_cloexec_nonblock(fd));
    }
    rc
}

/// `dup3(src, dst, O_CLOEXEC)`, or `dup2` and `fcntl` where libc has no
/// `dup3` (Apple, Android).
///
/// # Safety
///
/// `dst` must be a number the caller owns (it is closed first).
unsafe fn dup_cloexec(src: RawFd, dst: RawFd) -> libc::c_int {
    #[cfg(not(any(target_vendor = "apple", target_os = "android")))]
    // SAFETY: per the caller.
    return unsafe { libc::dup3(src, dst, libc::O_CLOEXEC) };
    #[cfg(any(target_vendor = "apple", target_os = "android"))]
    // SAFETY: per the caller.
    unsafe {
        let rc = libc::dup2(src, dst);
        if rc != -1 {
            libc::fcntl(dst, libc::F_SETFD, libc::FD_CLOEXEC);
        }
        rc
    }
}

impl World {
    /// Creates the pool at `base..base + SLOTS`, which must be free; waits
    /// while a [`spawn`] is forking. One pool per thread at a time.
    pub(crate) fn new(base: RawFd) -> World {
        let no_fork = FORK.read().unwrap_or_else(PoisonError::into_inner);
        let mut fds = [-1; SLOTS];
        for pair in [0, 2] {
            let mut sv = [-1; 2];
            // SAFETY: `sv` has room for the two fds socketpair writes.
            let rc = unsafe {
                libc::socketpair(
                    libc::AF_UNIX,
                    libc::SOCK_STREAM | SOCK_FLAGS,
                    0,
                    sv.as_mut_ptr(),
                )
            };
            assert_eq!(rc, 0, "socketpair: errno {}", errno());
            sv.iter().for_each(|&fd| set_cloexec_nonblock(fd));
            fds[pair] = sv[0];
            fds[pair + 1] = sv[1];
        }
        let mut p = [-1; 2];
        let rc = pipe_cloexec_nonblock(&mut p);
        assert_eq!(rc, 0, "pipe2: errno {}", errno());
        fds[4] = p[0];
        fds[5] = p[1];
        for (slot, &fd) in fds.iter().enumerate() {
            let target = base + slot as RawFd;
            assert!(!is_open(target), "fd {target} of the pool is in use");
            // SAFETY: plain fd-table operations on fds this function owns.
            unsafe {
                assert_eq!(dup_cloexec(fd, target), target);
                libc::close(fd);
            }
        }
        World {
            base,
            desc: [Some(0), Some(1), Some(2), Some(3), Some(4), Some(5)],
            buffered: [0; SLOTS],
            chunks: [0; SLOTS],
            _no_fork: no_fork,
        }
    }

    /// The fd number of `slot`.
    pub(crate) fn fd(&self, slot: usize) -> RawFd {
        self.base + slot as RawFd
    }

    /// The number an op names: a slot's, or -1.
    pub(crate) fn number(&self, fd: Option<usize>) -> RawFd {
        fd.map_or(-1, |slot| self.fd(slot))
    }

    /// The slot of a pool number.
    pub(crate) fn slot_of(&self, fd: RawFd) -> Option<usize> {
        let slot = fd.checked_sub(self.base)?;
        usize::try_from(slot).ok().filter(|&s| s < SLOTS)
    }

    /// The description `slot`'s number names, if open.
    pub(crate) fn desc_of(&self, slot: usize) -> Option<usize> {
        self.desc[slot]
    }

    fn alive(&self, desc: usize) -> bool {
        self.desc.contains(&Some(desc))
    }

    /// What `poll` would say of description `d`.
    pub(crate) fn flags(&self, d: usize) -> Flags {
        if d == NULL {
            return Flags {
                input: true,
                output: true,
                hup: false,
                err: false,
            };
        }
        match KINDS[d] {
            Kind::Socket { peer } => {
                let gone = !self.alive(peer);
                Flags {
                    input: self.buffered[d] > 0 || gone,
                    output: true,
                    hup: gone,
                    err: false,
                }
            }
            Kind::PipeRead { writer } => Flags {
                input: self.buffered[d] > 0,
                output: false,
                hup: !self.alive(writer),
                err: false,
            },
            Kind::PipeWrite { reader } => Flags {
                input: false,
                output: true,
                hup: false,
                err: !self.alive(reader),
            },
        }
    }

    /// Closes `slot`; returns the description that died with it, if any.
    pub(crate) fn close(&mut self, slot: usize) -> Option<usize> {
        let d = self.desc[slot].take()?;
        // SAFETY: the pool owns this number.
        assert_eq!(unsafe { libc::close(self.fd(slot)) }, 0);
        (d != NULL && !self.alive(d)).then_some(d)
    }

    /// `dup2(src, dst)`; returns the description that died (dst's old one).
    pub(crate) fn dup(&mut self, src: usize, dst: usize) -> Option<usize> {
        let d = self.desc[src]?;
        if src == dst {
            return None;
        }
        let old = self.desc[dst];
        // SAFETY: the pool owns both numbers; dup3 closes dst's old file.
        let rc = unsafe { dup_cloexec(self.fd(src), self.fd(dst)) };
        assert_eq!(rc, self.fd(dst), "dup3: errno {}", errno());
        self.desc[dst] = Some(d);
        old.filter(|&o| o != NULL && !self.alive(o))
    }

    /// Opens `/dev/null` under `slot`'s number if it is closed; returns
    /// whether it did.
    pub(crate) fn reopen(&mut self, slot: usize) -> bool {
        if self.desc[slot].is_some() {
            return false;
        }
        let path = b"/dev/null\0";
        // SAFETY: `path` is NUL-terminated; the pool owns `slot`'s number,
        // which is closed, and the temporary fd is closed right after.
        unsafe {
            let fd = libc::open(path.as_ptr().cast(), libc::O_RDWR | libc::O_CLOEXEC);
            assert!(fd >= 0, "open /dev/null: errno {}", errno());
            assert_eq!(dup_cloexec(fd, self.fd(slot)), self.fd(slot));
            libc::close(fd);
        }
        self.desc[slot] = Some(NULL);
        true
    }

    /// Writes `len` bytes through `slot` if that cannot block or fail;
    /// returns whether it wrote.
    pub(crate) fn write(&mut self, slot: usize, len: usize) -> bool {
        let Some(d) = self.desc[slot].filter(|&d| d != NULL) else {
            return false;
        };
        let target = match KINDS[d] {
            Kind::Socket { peer } => peer,
            Kind::PipeWrite { reader } => reader,
            Kind::PipeRead { .. } => return false,
        };
        if !self.alive(target) || self.chunks[target] >= MAX_CHUNKS {
            return false;
        }
        let buf = vec![slot as u8; len];
        // SAFETY: `buf` holds `len` bytes.
        let n = unsafe { libc::write(self.fd(slot), buf.as_ptr().cast(), len) };
        assert_eq!(
            n,
            len as isize,
            "write to fd {}: errno {}",
            self.fd(slot),
            errno()
        );
        self.buffered[target] += len;
        self.chunks[target] += 1;
        true
    }

    /// Reads up to `len` bytes through `slot` if any are buffered; returns
    /// how many it read.
    pub(crate) fn read(&mut self, slot: usize, len: usize) -> usize {
        let Some(d) = self.desc[slot].filter(|&d| d != NULL) else {
            return 0;
        };
        if self.buffered[d] == 0 {
            return 0;
        }
        let want = len.min(self.buffered[d]);
        let mut buf = vec![0u8; want];
        // SAFETY: `buf` has room for `want` bytes.
        let n = unsafe { libc::read(self.fd(slot), buf.as_mut_ptr().cast(), want) };
        assert!(
            n > 0 && n as usize <= want,
            "read {n} of {want} buffered bytes from fd {}: errno {}",
            self.fd(slot),
            errno()
        );
        self.buffered[d] -= n as usize;
        if self.buffered[d] == 0 {
            self.chunks[d] = 0;
        }
        n as usize
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for slot in 0..SLOTS {
            if self.desc[slot].take().is_some() {
                // SAFETY: the pool owns this number.
                unsafe { libc::close(self.fd(slot)) };
            }
        }
    }
}

/// Whether `fd` is open in this process.
pub(crate) fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only looks the number up.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

/// What one call returned, in comparable form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// `Ok(key)`: fd, events, data.
    Key(RawFd, Events, u32),
    /// `InvalidEvents { fd }`.
    InvalidEvents(RawFd),
    /// `InvalidFd { fd }`.
    InvalidFd(RawFd),
    /// `AlreadyRegistered { fd }`.
    AlreadyRegistered(RawFd),
    /// `NotRegistered { fd }`.
    NotRegistered(RawFd),
    /// `Os { fd, source }`: fd and errno.
    Os(Option<RawFd>, i32),
    /// `Ok(ready)` of a select, sorted by fd.
    Ready(Vec<(RawFd, Events, u32)>),
}

impl Outcome {
    /// The outcome of a call returning a key.
    pub(crate) fn of_key(
        result: selectors_core::Result<&selectors_core::SelectorKey<u32>>,
    ) -> Outcome {
        match result {
            Ok(key) => Outcome::Key(key.fd, key.events, key.data),
            Err(e) => Outcome::of_error(e),
        }
    }

    /// The outcome of an error.
    pub(crate) fn of_error(err: Error) -> Outcome {
        match err {
            Error::InvalidEvents { fd } => Outcome::InvalidEvents(fd),
            Error::InvalidFd { fd } => Outcome::InvalidFd(fd),
            Error::AlreadyRegistered { fd } => Outcome::AlreadyRegistered(fd),
            Error::NotRegistered { fd } => Outcome::NotRegistered(fd),
            other => Outcome::Os(other.fd(), other.raw_os_error().unwrap_or(-1)),
        }
    }
}

/// One registration in the model.
#[derive(Clone, Copy, Debug)]
struct Reg {
    events: Events,
    data: u32,
    generation: u64,
}

/// One entry of epoll's interest list.
#[derive(Clone, Copy, Debug)]
struct Watch {
    fd: RawFd,
    desc: usize,
    events: Events,
    generation: u64,
}

/// One knote of the kqueue (`EVFILT_READ` or `EVFILT_WRITE`).
#[derive(Clone, Copy, Debug)]
struct Knote {
    fd: RawFd,
    /// `Events::READ` or `Events::WRITE`.
    filter: Events,
    /// The file (see [`file_of`]) the number named when it was added.
    file: usize,
    /// The registration that added it (the tag in its `udata`).
    generation: u64,
}

/// The file description `d` belongs to, as `fstat` tells files apart:
/// both ends of the pipe are one file (one inode), each socket its own.
fn file_of(d: usize) -> usize {
    match KINDS[d] {
        Kind::PipeWrite { reader } => reader,
        _ => d,
    }
}

/// The file `fd`'s number names now, if open.
fn file_now(w: &World, fd: RawFd) -> Option<usize> {
    w.slot_of(fd).and_then(|s| w.desc_of(s)).map(file_of)
}

/// Figures of one or many runs.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Stats {
    pub(crate) sequences: u64,
    pub(crate) ops: u64,
    pub(crate) selects: u64,
    pub(crate) ready_reported: u64,
    pub(crate) errors: u64,
    pub(crate) closed_behind: u64,
    pub(crate) orphans: u64,
    pub(crate) undecided: u64,
}

impl Stats {
    /// Adds `other` to `self`.
    pub(crate) fn add(&mut self, other: &Stats) {
        self.sequences += other.sequences;
        self.ops += other.ops;
        self.selects += other.selects;
        self.ready_reported += other.ready_reported;
        self.errors += other.errors;
        self.closed_behind += other.closed_behind;
        self.orphans += other.orphans;
        self.undecided += other.undecided;
    }
}

/// The reference model of one selector over a [`World`].
pub(crate) struct Model {
    flavor: Flavor,
    map: BTreeMap<RawFd, Reg>,
    next_generation: u64,
    /// epoll's interest list (epoll only).
    watches: Vec<Watch>,
    /// The kqueue's knotes (kqueue only).
    knotes: Vec<Knote>,
}

/// What the model expects of a select.
enum Expected {
    /// Exactly this result.
    Exact(Outcome),
    /// `Os(Some(fd), EBADF)` with fd any of these.
    Ebadf(Vec<RawFd>),
    /// Unpredictable from here on (see the module doc).
    Undecided,
}

impl Model {
    /// An empty selector of `flavor`.
    pub(crate) fn new(flavor: Flavor) -> Model {
        Model {
            flavor,
            map: BTreeMap::new(),
            next_generation: 1,
            watches: Vec::new(),
            knotes: Vec::new(),
        }
    }

    /// kqueue: drops the knotes (of `fd` only, if given) whose number no
    /// longer names the file they were added for.
    fn forget_closed(&mut self, w: &World, fd: Option<RawFd>) {
        self.knotes
            .retain(|k| fd.map_or(false, |fd| k.fd != fd) || file_now(w, k.fd) == Some(k.file));
    }

    /// kqueue: `EV_ADD` of (`fd`, `filter`) on `file`; an existing knote
    /// keeps its file and takes the new tag.
    fn add_knote(&mut self, fd: RawFd, filter: Events, file: usize, generation: u64) {
        match self
            .knotes
            .iter_mut()
            .find(|k| k.fd == fd && k.filter == filter)
        {
            Some(k) => k.generation = generation,
            None => self.knotes.push(Knote {
                fd,
                filter,
                file,
                generation,
            }),
        }
    }

    /// kqueue: `EV_DELETE` of (`fd`, `filter`): whether it was there.
    fn delete_knote(&mut self, fd: RawFd, filter: Events) -> bool {
        let before = self.knotes.len();
        self.knotes.retain(|k| !(k.fd == fd && k.filter == filter));
        self.knotes.len() != before
    }

    pub(crate) fn register(&mut self, w: &World, fd: RawFd, events: Events, data: u32) -> Outcome {
        if events.is_empty() {
            return Outcome::InvalidEvents(fd);
        }
        if fd < 0 {
            return Outcome::InvalidFd(fd);
        }
        if self.map.contains_key(&fd) {
            return Outcome::AlreadyRegistered(fd);
        }
        let generation = self.next_generation;
        if self.flavor == Flavor::Epoll {
            let Some(desc) = w.slot_of(fd).and_then(|s| w.desc_of(s)) else {
                return Outcome::Os(Some(fd), libc::EBADF);
            };
            if desc == NULL {
                return Outcome::Os(Some(fd), libc::EPERM);
            }
            if self.watches.iter().any(|x| x.fd == fd && x.desc == desc) {
                return Outcome::Os(Some(fd), libc::EEXIST);
            }
            self.watches.push(Watch {
                fd,
                desc,
                events,
                generation,
            });
        }
        if self.flavor == Flavor::Kqueue {
            self.forget_closed(w, Some(fd));
            let Some(file) = file_now(w, fd) else {
                return Outcome::Os(Some(fd), libc::EBADF);
            };
            for filter in [Events::READ, Events::WRITE] {
                if events.contains(filter) {
                    self.add_knote(fd, filter, file, generation);
                }
            }
        }
        self.next_generation += 1;
        self.map.insert(
            fd,
            Reg {
                events,
                data,
                generation,
            },
        );
        Outcome::Key(fd, events, data)
    }

    /// Index of the epoll entry `fd`'s number reaches now, if any.
    fn watch_now(&self, w: &World, fd: RawFd) -> std::result::Result<usize, i32> {
        let desc = w
            .slot_of(fd)
            .and_then(|s| w.desc_of(s))
            .ok_or(libc::EBADF)?;
        if desc == NULL {
            return Err(libc::EPERM);
        }
        self.watches
            .iter()
            .position(|x| x.fd == fd && x.desc == desc)
            .ok_or(libc::ENOENT)
    }

    pub(crate) fn unregister(&mut self, w: &World, fd: RawFd) -> Outcome {
        if fd < 0 {
            return Outcome::InvalidFd(fd);
        }
        let Some(reg) = self.map.remove(&fd) else {
            return Outcome::NotRegistered(fd);
        };
        if self.flavor == Flavor::Epoll {
            if let Ok(i) = self.watch_now(w, fd) {
                self.watches.remove(i);
            }
        }
        if self.flavor == Flavor::Kqueue {
            // ENOENT (dropped knote) and EBADF (closed) are swallowed.
            self.forget_closed(w, Some(fd));
            for filter in [Events::READ, Events::WRITE] {
                if reg.events.contains(filter) {
                    self.delete_knote(fd, filter);
                }
            }
        }
        Outcome::Key(fd, reg.events, reg.data)
    }

    pub(crate) fn modify(&mut self, w: &World, fd: RawFd, events: Events, data: u32) -> Outcome {
        if fd < 0 {
            return Outcome::InvalidFd(fd);
        }
        let Some(reg) = self.map.get_mut(&fd) else {
            return Outcome::NotRegistered(fd);
        };
        if events.is_empty() {
            return Outcome::InvalidEvents(fd);
        }
        if self.flavor == Flavor::Epoll && reg.events != events {
            match self.watch_now(w, fd) {
                Ok(i) => self.watches[i].events = events,
                Err(errno) => {
                    self.map.remove(&fd);
                    return Outcome::Os(Some(fd), errno);
                }
            }
        }
        let (old, generation) = (self.map[&fd].events, self.map[&fd].generation);
        if self.flavor == Flavor::Kqueue && old != events {
            self.forget_closed(w, Some(fd));
            let file = file_now(w, fd);
            let mut failed = None;
            for filter in [Events::READ, Events::WRITE] {
                let (was, will) = (old.contains(filter), events.contains(filter));
                if was == will {
                    continue;
                }
                let result = match file {
                    None => Err(libc::EBADF),
                    Some(file) if will => {
                        self.add_knote(fd, filter, file, generation);
                        Ok(())
                    }
                    Some(_) if self.delete_knote(fd, filter) => Ok(()),
                    Some(_) => Err(libc::ENOENT),
                };
                if let Err(errno) = result {
                    failed.get_or_insert(errno);
                }
            }
            if let Some(errno) = failed {
                // As Python: unregistered, in the kqueue as in the map.
                self.knotes.retain(|k| k.fd != fd);
                self.map.remove(&fd);
                return Outcome::Os(Some(fd), errno);
            }
        }
        let reg = self.map.get_mut(&fd).expect("present");
        reg.events = events;
        reg.data = data;
        Outcome::Key(fd, events, data)
    }

    /// A description died: epoll drops every entry watching it.
    pub(crate) fn died(&mut self, desc: Option<usize>) {
        if let Some(d) = desc {
            self.watches.retain(|x| x.desc != d);
        }
    }

    fn select(&mut self, w: &World, stats: &mut Stats, capacity: Option<usize>) -> Expected {
        let mut ready = Vec::new();
        match self.flavor {
            Flavor::Select | Flavor::Poll => {
                let closed: Vec<RawFd> = self
                    .map
                    .keys()
                    .copied()
                    .filter(|&fd| w.slot_of(fd).and_then(|s| w.desc_of(s)).is_none())
                    .collect();
                if self.flavor == Flavor::Select && !closed.is_empty() {
                    return Expected::Ebadf(closed);
                }
                for (&fd, reg) in &self.map {
                    let ev = match w.slot_of(fd).and_then(|s| w.desc_of(s)) {
                        // poll: POLLNVAL.
                        None => readiness(reg.events, false, false, true),
                        Some(d) => {
                            let f = w.flags(d);
                            if self.flavor == Flavor::Select {
                                readiness(
                                    reg.events,
                                    f.input || f.hup || f.err,
                                    f.output || f.err,
                                    false,
                                )
                            } else {
                                readiness(reg.events, f.input, f.output, f.hup || f.err)
                            }
                        }
                    };
                    if !ev.is_empty() {
                        ready.push((fd, ev, reg.data));
                    }
                }
            }
            Flavor::Epoll => {
                let mut fired = 0;
                let mut orphans = false;
                for x in &self.watches {
                    let f = w.flags(x.desc);
                    let wanted = (x.events.is_readable() && f.input)
                        || (x.events.is_writable() && f.output)
                        || f.hup
                        || f.err;
                    if !wanted {
                        continue;
                    }
                    fired += 1;
                    match self.map.get(&x.fd) {
                        Some(reg) if reg.generation == x.generation => {
                            let ev = readiness(reg.events, f.input, f.output, f.hup || f.err);
                            ready.push((x.fd, ev, reg.data));
                        }
                        _ => orphans = true,
                    }
                }
                if orphans {
                    stats.orphans += 1;
                    // Which events one wait returned is up to the kernel
                    // when they outnumber the buffer.
                    if fired > capacity.unwrap_or(self.map.len()).max(1) {
                        return Expected::Undecided;
                    }
                    // The selector rebuilds its interest list from the map...
                    self.watches = self
                        .map
                        .iter()
                        .filter_map(|(&fd, reg)| {
                            // /dev/null: refused (EPERM), skipped.
                            let desc = w
                                .slot_of(fd)
                                .and_then(|s| w.desc_of(s))
                                .filter(|&d| d != NULL)?;
                            Some(Watch {
                                fd,
                                desc,
                                events: reg.events,
                                generation: reg.generation,
                            })
                        })
                        .collect();
                    // ...and, if the orphans were all it got, looks again.
                    if ready.is_empty() {
                        return self.select(w, stats, capacity);
                    }
                }
                ready.sort();
            }
            Flavor::Kqueue => {
                self.forget_closed(w, None);
                let mut merged: BTreeMap<RawFd, Events> = BTreeMap::new();
                for k in &self.knotes {
                    let Some(d) = w.slot_of(k.fd).and_then(|s| w.desc_of(s)) else {
                        continue;
                    };
                    let f = w.flags(d);
                    let fires = if k.filter == Events::READ {
                        f.input || f.hup || f.err
                    } else {
                        f.output || f.hup || f.err
                    };
                    match self.map.get(&k.fd) {
                        Some(reg) if fires && reg.generation == k.generation => {
                            *merged.entry(k.fd).or_insert(Events::EMPTY) |= k.filter & reg.events;
                        }
                        _ => {}
                    }
                }
                for (fd, ev) in merged {
                    if !ev.is_empty() {
                        ready.push((fd, ev, self.map[&fd].data));
                    }
                }
            }
        }
        Expected::Exact(Outcome::Ready(ready))
    }

    /// Whether epoll's interest list holds an entry of an earlier
    /// registration (an orphan: CPython would report it, we drop it).
    pub(crate) fn has_orphans(&self) -> bool {
        self.watches.iter().any(|x| {
            self.map
                .get(&x.fd)
                .map_or(true, |reg| reg.generation != x.generation)
        })
    }

    /// The registrations, sorted by fd: fd, events, data.
    fn keys(&self) -> Vec<(RawFd, Events, u32)> {
        self.map
            .iter()
            .map(|(&fd, r)| (fd, r.events, r.data))
            .collect()
    }
}

/// The outcome of a select, sorted by fd.
pub(crate) fn select_outcome<S: Selector<u32>>(sel: &mut S) -> Outcome {
    match sel.select(Some(std::time::Duration::ZERO)) {
        Ok(ready) => {
            let mut v: Vec<_> = ready
                .into_iter()
                .map(|(key, ev)| (key.fd, ev, key.data))
                .collect();
            v.sort();
            Outcome::Ready(v)
        }
        Err(e) => Outcome::of_error(e),
    }
}

/// How many events one epoll wait can return, read from the selector's
/// `Debug` output (`wait_capacity: N`), if it shows it.
fn wait_capacity<S: std::fmt::Debug>(sel: &S) -> Option<usize> {
    let debug = format!("{sel:?}");
    let rest = &debug[debug.find("wait_capacity: ")? + "wait_capacity: ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The map of a selector, sorted by fd.
pub(crate) fn map_of<S: Selector<u32>>(sel: &S) -> Vec<(RawFd, Events, u32)> {
    let mut v: Vec<_> = sel
        .get_map()
        .iter()
        .map(|k| (k.fd, k.events, k.data))
        .collect();
    v.sort();
    v
}

pub(crate) fn events(bits: u8) -> Events {
    Events::from_bits(u32::from(bits)).expect("0..=3")
}

/// Runs `ops` on `sel` over a fresh pool at `base`, checking every result
/// and the map after every step against the model. Returns the figures, or
/// the first divergence (with the step and the whole trace so far).
pub(crate) fn check<S: Selector<u32> + std::fmt::Debug>(
    mut sel: S,
    flavor: Flavor,
    base: RawFd,
    ops: &[Op],
) -> std::result::Result<Stats, String> {
    let mut w = World::new(base);
    let mut model = Model::new(flavor);
    let mut stats = Stats {
        sequences: 1,
        ..Stats::default()
    };
    let mut trace = Vec::new();
    for (i, &op) in ops.iter().enumerate() {
        stats.ops += 1;
        if !matches!(
            op,
            Op::Register { .. } | Op::Modify { .. } | Op::Unregister { .. } | Op::Select
        ) {
            trace.push(format!("{i}: {op:?}"));
        }
        let data = i as u32;
        let (actual, expected) = match op {
            Op::Register { fd, events: e } => {
                let fd = w.number(fd);
                let actual = Outcome::of_key(sel.register(fd, events(e), data));
                (
                    actual,
                    Expected::Exact(model.register(&w, fd, events(e), data)),
                )
            }
            Op::Modify { fd, events: e } => {
                let fd = w.number(fd);
                let actual = Outcome::of_key(sel.modify(fd, events(e), data));
                (
                    actual,
                    Expected::Exact(model.modify(&w, fd, events(e), data)),
                )
            }
            Op::Unregister { fd } => {
                let fd = w.number(fd);
                let actual = match sel.unregister(fd) {
                    Ok(key) => Outcome::Key(key.fd, key.events, key.data),
                    Err(e) => Outcome::of_error(e),
                };
                (actual, Expected::Exact(model.unregister(&w, fd)))
            }
            Op::Select => {
                stats.selects += 1;
                let actual = select_outcome(&mut sel);
                let expected = model.select(&w, &mut stats, wait_capacity(&sel));
                (actual, expected)
            }
            Op::Close { slot } => {
                let registered = model.map.contains_key(&w.fd(slot));
                let died = w.close(slot);
                stats.closed_behind += u64::from(registered && died.is_some());
                model.died(died);
                continue;
            }
            Op::Dup { src, dst } => {
                let died = w.dup(src, dst);
                model.died(died);
                continue;
            }
            // The kqueue model tells files apart with `fstat` and has no
            // notion of a character device: not there.
            Op::Reopen { slot } => {
                if flavor != Flavor::Kqueue {
                    w.reopen(slot);
                }
                continue;
            }
            Op::Write { slot, len } => {
                w.write(slot, len);
                continue;
            }
            Op::Read { slot, len } => {
                w.read(slot, len);
                continue;
            }
        };
        trace.push(format!("{i}: {op:?} -> {actual:?}"));
        let ok = match &expected {
            Expected::Exact(e) => *e == actual,
            Expected::Ebadf(culprits) => matches!(
                actual,
                Outcome::Os(Some(fd), libc::EBADF) if culprits.contains(&fd)
            ),
            Expected::Undecided => {
                stats.undecided += 1;
                return Ok(stats);
            }
        };
        if !ok {
            let expected = match expected {
                Expected::Exact(e) => format!("{e:?}"),
                Expected::Ebadf(c) => format!("Os(EBADF) naming one of {c:?}"),
                Expected::Undecided => unreachable!(),
            };
            return Err(format!(
                "{flavor:?}: step {i} {op:?}: got {actual:?}, model expects {expected}\n\
                 trace:\n  {}",
                trace.join("\n  ")
            ));
        }
        match actual {
            Outcome::Ready(ref v) => stats.ready_reported += v.len() as u64,
            Outcome::Key(..) => {}
            _ => stats.errors += 1,
        }
        let (got, want) = (map_of(&sel), model.keys());
        if got != want {
            return Err(format!(
                "{flavor:?}: after step {i} {op:?}: map {got:?}, model {want:?}\n\
                 trace:\n  {}",
                trace.join("\n  ")
            ));
        }
    }
    // Drop the selector before the pool: its fds close after it.
    drop(sel);
    drop(w);
    Ok(stats)
}

/// What CPython reports for one fd: readable, writable, and any other
/// condition (error, hang-up, invalid fd) as both, masked by the
/// registration. Spelled out here rather than taken from the library, so
/// the model stays an independent oracle.
fn readiness(registered: Events, readable: bool, writable: bool, other: bool) -> Events {
    let mut ev = Events::EMPTY;
    if readable || other {
        ev |= Events::READ;
    }
    if writable || other {
        ev |= Events::WRITE;
    }
    ev & registered
}
