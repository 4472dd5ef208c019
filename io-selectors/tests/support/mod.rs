//! Test support shared by the integration tests of `io-selectors`: fd helpers
//! and the conformance suite every backend runs (see [`conformance`]).
//!
//! On Windows, where only sockets can be registered, [`Stream`] is a TCP
//! connection on 127.0.0.1 and the socket traits go by the Unix names the
//! checks use (`AsFd`, `AsRawFd`, `OwnedFd`), so each check reads the same
//! on both; the checks that need pipes, `dup2` or signals are Unix-only.
//!
//! Each test binary that needs it says `#[macro_use] mod support;` and then
//! `conformance_suite!(name, SomeSelector);`.

// Several test binaries include this module and each uses only part of it.
#![allow(dead_code, unused_macros, unreachable_pub)]

#[macro_use]
pub mod conformance;

use std::fs::File;
use std::io::{self, Read, Write};
#[cfg(windows)]
use std::net::{TcpListener, TcpStream};
#[cfg(unix)]
pub use std::os::unix::io::{AsFd, AsRawFd, OwnedFd};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
#[cfg(unix)]
use std::sync::Once;
use std::time::Duration;

use io_selectors::{Events, RawFd, Selector};
pub use selectors_test_support::checked;
pub use selectors_test_support::fds::raise_nofile;
#[cfg(windows)]
pub use windows_names::{AsFd, AsRawFd, OwnedFd};

/// What [`pair`] connects: a Unix socket pair.
#[cfg(unix)]
pub type Stream = UnixStream;

/// What [`pair`] connects: on Windows, which has no `socketpair`, a TCP
/// connection on 127.0.0.1.
#[cfg(windows)]
pub type Stream = TcpStream;

/// A number no fd can have: -1 (on Windows, `INVALID_SOCKET`).
#[cfg(unix)]
pub const INVALID_FD: RawFd = -1;
/// A number no fd can have: -1 (on Windows, `INVALID_SOCKET`).
#[cfg(windows)]
pub const INVALID_FD: RawFd = !0;

/// Another such number (-7 on Unix; on Windows beyond any handle value).
#[cfg(unix)]
pub const OTHER_INVALID_FD: RawFd = -7;
/// Another such number (-7 on Unix; on Windows beyond any handle value).
#[cfg(windows)]
pub const OTHER_INVALID_FD: RawFd = 1 << 40;

#[cfg(windows)]
mod windows_names {
    //! Windows' socket traits under the Unix names the checks use.

    pub use std::os::windows::io::OwnedSocket as OwnedFd;
    use std::os::windows::io::{AsRawSocket, AsSocket, BorrowedSocket, RawSocket};

    /// `AsSocket`, spelt as on Unix.
    pub trait AsFd {
        fn as_fd(&self) -> BorrowedSocket<'_>;
    }

    impl<T: AsSocket + ?Sized> AsFd for T {
        fn as_fd(&self) -> BorrowedSocket<'_> {
            self.as_socket()
        }
    }

    /// `AsRawSocket`, spelt as on Unix.
    pub trait AsRawFd {
        fn as_raw_fd(&self) -> RawSocket;
    }

    impl<T: AsRawSocket + ?Sized> AsRawFd for T {
        fn as_raw_fd(&self) -> RawSocket {
            self.as_raw_socket()
        }
    }
}

/// The generous upper bound on anything that should happen "at once" or
/// "soon": tests never assert tighter timings than this.
pub const BOUND: Duration = Duration::from_secs(5);

/// A connected, non-blocking Unix socket pair.
#[cfg(unix)]
pub fn pair() -> (Stream, Stream) {
    let (a, b) = UnixStream::pair().expect("socketpair");
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// A connected, non-blocking TCP pair on 127.0.0.1 (Windows).
#[cfg(windows)]
pub fn pair() -> (Stream, Stream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let a = TcpStream::connect(listener.local_addr().unwrap()).expect("connect");
    let (b, _) = listener.accept().expect("accept");
    for s in [&a, &b] {
        s.set_nonblocking(true).unwrap();
        s.set_nodelay(true).unwrap();
    }
    (a, b)
}

/// A socket with a non-blocking `connect` to `addr` (IPv4) in progress.
#[cfg(unix)]
pub fn connecting(addr: std::net::SocketAddr) -> std::net::TcpStream {
    use rustix::net::{connect, socket, AddressFamily, SocketType};
    // Non-blocking set apart: Apple's socket(2) takes no flags.
    let sock = socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
    let stream = std::net::TcpStream::from(sock);
    stream.set_nonblocking(true).unwrap();
    match connect(&stream, &addr) {
        Ok(()) | Err(rustix::io::Errno::INPROGRESS) => {}
        Err(e) => panic!("connect {addr}: {e}"),
    }
    stream
}

/// A socket with a non-blocking `connect` to `addr` (IPv4) in progress.
#[cfg(windows)]
pub fn connecting(addr: std::net::SocketAddr) -> TcpStream {
    use std::os::windows::io::{FromRawSocket, RawSocket};
    use windows_sys::Win32::Networking::WinSock::{
        connect, ioctlsocket, socket, WSAGetLastError, AF_INET, FIONBIO, INVALID_SOCKET,
        IPPROTO_TCP, SOCKADDR, SOCKADDR_IN, SOCK_STREAM, WSAEWOULDBLOCK,
    };
    let std::net::SocketAddr::V4(v4) = addr else {
        panic!("{addr}: IPv4 only")
    };
    // SAFETY: plain Winsock calls on a socket this function owns (std's
    // `TcpStream` from the start, so it is closed on any panic); the address
    // is a live, fully initialised SOCKADDR_IN of the size passed.
    unsafe {
        let s = socket(AF_INET.into(), SOCK_STREAM, IPPROTO_TCP);
        assert_ne!(s, INVALID_SOCKET, "socket: {}", WSAGetLastError());
        let stream = TcpStream::from_raw_socket(s as RawSocket);
        let mut on = 1u32;
        assert_eq!(ioctlsocket(s, FIONBIO, &mut on), 0);
        let mut sin: SOCKADDR_IN = std::mem::zeroed();
        sin.sin_family = AF_INET;
        sin.sin_port = v4.port().to_be();
        sin.sin_addr.S_un.S_addr = u32::from_ne_bytes(v4.ip().octets());
        let len = std::mem::size_of::<SOCKADDR_IN>() as i32;
        let r = connect(s, (&sin as *const SOCKADDR_IN).cast::<SOCKADDR>(), len);
        assert!(r == 0 || WSAGetLastError() == WSAEWOULDBLOCK);
        stream
    }
}

/// A non-blocking pipe as `(read end, write end)`.
#[cfg(unix)]
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
#[cfg(unix)]
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

#[cfg(unix)]
extern "C" fn on_sigalrm(_: libc::c_int) {}

/// Installs a no-op SIGALRM handler WITHOUT `SA_RESTART`, once per process,
/// so a SIGALRM makes the blocking call of the thread it hits fail with
/// EINTR (the situation the spec's note on `select` is about).
#[cfg(unix)]
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

/// Set, to the test's name, in a child process that [`in_child`] started.
const CHILD: &str = "SELECTORS_TEST_CHILD";

/// Whether this process is the child [`in_child`] started to run `name`.
pub fn is_child(name: &str) -> bool {
    std::env::var_os(CHILD).map_or(false, |v| v == name)
}

/// Runs the test `name` (its full path, e.g. `poll::waker_fd_is_refused`)
/// alone, single-threaded, in a child process of this test binary, and
/// checks that it passed: for what changes the whole process (seccomp,
/// `RLIMIT_NOFILE`, `fork`) or needs fd numbers no other thread takes.
/// The test calls it unless [`is_child`]`(name)`, and otherwise does the
/// work. A spawn is a `fork` and an `exec` at once: no lock of ours is held
/// in the child.
pub fn in_child(name: &str) {
    in_child_as(name, name);
}

/// [`in_child`], with [`is_child`]`(tag)` true in the child: for a test
/// that runs several scenarios, each in a child of its own.
pub fn in_child_as(name: &str, tag: &str) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, tag)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{tag} failed in its child:\n{text}");
    assert!(text.contains("1 passed"), "{tag} did not run:\n{text}");
}

/// Whether `fd` is open in this process.
#[cfg(unix)]
pub fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only looks the number up.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

/// The open fds among the first 4096 numbers.
#[cfg(unix)]
pub fn open_fds() -> Vec<RawFd> {
    (0..4096).filter(|&fd| is_open(fd)).collect()
}

/// The fd number of anything (on Windows, of any socket).
pub fn fd(f: &impl AsRawFd) -> RawFd {
    f.as_raw_fd()
}

/// The number of a file: its fd, or on Windows its handle, which no
/// Windows selector takes (it is no socket).
pub fn file_fd(f: &File) -> RawFd {
    #[cfg(unix)]
    return f.as_raw_fd();
    #[cfg(windows)]
    return std::os::windows::io::AsRawHandle::as_raw_handle(f) as RawFd;
}
