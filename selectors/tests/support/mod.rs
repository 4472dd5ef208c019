//! Test support shared by the integration tests of `selectors`: fd helpers
//! and the conformance suite every backend runs (see [`conformance`]).
//!
//! Each test binary that needs it says `#[macro_use] mod support;` and then
//! `conformance_suite!(name, SomeSelector);`.

// Several test binaries include this module and each uses only part of it.
#![allow(dead_code, unused_macros, unreachable_pub)]

#[macro_use]
pub mod conformance;

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::io::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;
use std::time::Duration;

use selectors::{Events, Ready, Selector};

/// The generous upper bound on anything that should happen "at once" or
/// "soon": tests never assert tighter timings than this.
pub const BOUND: Duration = Duration::from_secs(5);

/// A connected, non-blocking Unix socket pair.
pub fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().expect("socketpair");
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// A non-blocking pipe as `(read end, write end)`.
pub fn pipe() -> (File, File) {
    let (r, w) = rustix::pipe::pipe().expect("pipe");
    for fd in [&r, &w] {
        let flags = rustix::fs::fcntl_getfl(fd).unwrap();
        rustix::fs::fcntl_setfl(fd, flags | rustix::fs::OFlags::NONBLOCK).unwrap();
    }
    (File::from(r), File::from(w))
}

/// `dup2(from, onto)`: makes the number of `onto` refer to `from`'s file,
/// atomically closing what it referred to before (so no other thread of
/// the test process can grab the number in between).
pub fn dup2_onto(from: &impl std::os::unix::io::AsFd, onto: UnixStream) -> UnixStream {
    let mut owned = OwnedFd::from(onto);
    rustix::io::dup2(from, &mut owned).expect("dup2");
    UnixStream::from(owned)
}

/// Reads everything available now from a non-blocking reader; `None` on EOF.
pub fn drain(mut r: impl Read) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match r.read(&mut buf) {
            Ok(0) if out.is_empty() => return None,
            Ok(0) => return Some(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Some(out),
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// Writes all of `data` (small messages only: never blocks on a fresh pair).
pub fn send(mut w: impl Write, data: &[u8]) {
    w.write_all(data).expect("write");
}

/// A regular file, already unlinked, with a little content.
pub fn regular_file() -> File {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "selectors-conformance-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .expect("creating a temporary file");
    std::fs::remove_file(&path).unwrap();
    file.write_all(b"contents").unwrap();
    file
}

/// Raises the soft RLIMIT_NOFILE to the hard limit, once per process, and
/// returns the new soft limit.
pub fn raise_nofile_limit() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let lim = getrlimit(Resource::Nofile);
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: lim.maximum,
                maximum: lim.maximum,
            },
        )
        .expect("raising RLIMIT_NOFILE to its hard limit");
    });
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

extern "C" fn on_sigalrm(_: libc::c_int) {}

/// Installs a no-op SIGALRM handler WITHOUT `SA_RESTART`, once per process,
/// so a SIGALRM makes the blocking call of the thread it hits fail with
/// EINTR (the situation the spec's note on `select` is about).
pub fn install_sigalrm_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: a zeroed `sigaction` is a valid "no flags, empty mask"
        // value; the handler is an `extern "C"` fn that does nothing, which
        // is async-signal-safe; the pointers passed are valid for the call.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigalrm as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = 0; // no SA_RESTART: interrupted calls fail with EINTR
            libc::sigemptyset(&mut action.sa_mask);
            assert_eq!(
                libc::sigaction(libc::SIGALRM, &action, std::ptr::null_mut()),
                0,
                "sigaction(SIGALRM): {}",
                io::Error::last_os_error()
            );
        }
    });
}

/// Checks what every `select` result must satisfy whatever the backend: one
/// entry per fd, non-empty events within the key's events, and a key equal
/// to the one in the map. Returns `(data, events)` sorted by data.
pub fn checked<S, T>(sel: &S, ready: &[Ready<T>]) -> Vec<(T, Events)>
where
    S: Selector<T>,
    T: Clone + Ord + std::fmt::Debug,
{
    let mut fds: Vec<RawFd> = ready.iter().map(|(key, _)| key.fd).collect();
    fds.sort_unstable();
    let n = fds.len();
    fds.dedup();
    assert_eq!(
        fds.len(),
        n,
        "an fd was reported twice in one select: {ready:?}"
    );
    for (key, events) in ready {
        assert!(
            !events.is_empty(),
            "empty events reported for fd {}",
            key.fd
        );
        assert!(
            key.events.contains(*events),
            "fd {} reported {events:?} but registered for {:?}",
            key.fd,
            key.events
        );
        let current = sel
            .get_map()
            .get(key.fd)
            .expect("a reported fd is registered");
        assert_eq!(current.events, key.events, "stale key for fd {}", key.fd);
        assert_eq!(current.data, key.data, "stale data for fd {}", key.fd);
    }
    let mut out: Vec<(T, Events)> = ready.iter().map(|(k, e)| (k.data.clone(), *e)).collect();
    out.sort();
    out
}

/// What is ready right now (`select(Some(ZERO))`), checked and sorted.
pub fn ready_now<S: Selector<u32>>(sel: &mut S) -> Vec<(u32, Events)> {
    let ready = sel.select(Some(Duration::ZERO)).expect("select(0)");
    checked(sel, &ready)
}

/// What one `select(timeout)` reports, checked and sorted.
pub fn ready_within<S: Selector<u32>>(
    sel: &mut S,
    timeout: Option<Duration>,
) -> Vec<(u32, Events)> {
    let ready = sel.select(timeout).expect("select");
    checked(sel, &ready)
}

/// What one `select(Some(BOUND))` reports, checked and sorted; for use when
/// something is known to be ready already.
pub fn ready_soon<S: Selector<u32>>(sel: &mut S) -> Vec<(u32, Events)> {
    let ready = sel.select(Some(BOUND)).expect("select(5 s)");
    checked(sel, &ready)
}

/// The fd number of anything.
pub fn fd(f: &impl AsRawFd) -> RawFd {
    f.as_raw_fd()
}
