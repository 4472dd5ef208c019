//! The echo server of Python's `selectors` documentation, ported to Rust.
//!
//! ```text
//! cargo run --example echo_server                  # serves 127.0.0.1:1234
//! nc 127.0.0.1 1234                                # in another terminal
//! cargo run --example echo_server -- --port 0      # any free port
//! ```
//!
//! As in Python, the data attached to each registration is the handler to
//! call, and the loop calls `callback(key.fileobj, mask)`. The data holds
//! the "file object" too: a connection's key owns its socket and the bytes
//! it has not taken yet, so nothing keeps a side map, and `unregister`
//! hands both back. The loop uses `select_events`, which works with data
//! that is not `Clone` (a socket is not) and skips the event of a
//! connection an earlier handler of the same round closed, even when a new
//! connection got its fd number since. Accepting registers the connection;
//! end of file unregisters and closes it.
//!
//! Where the original sends and "hope[s] it won't block", this one keeps what
//! the socket did not take and switches the registration to `EVENT_WRITE`
//! until it is flushed, then back to `EVENT_READ`. It does not read while a
//! backlog is pending, so each connection holds at most one read's worth of
//! bytes, and no byte is lost or reordered.
//!
//! Out of file descriptors (`EMFILE`, `ENFILE`), `accept` fails while the
//! listener stays readable, so a level-triggered loop would spin on it. The
//! server says so once on stderr, stops watching the listener, and watches
//! it again [`ACCEPT_PAUSE`] later, by when a connection may have closed;
//! the pending clients wait in the kernel's backlog meanwhile.
//!
//! SIGINT (Ctrl-C) and SIGTERM shut it down cleanly: the signal handler
//! writes the signal's number to a pipe that the selector watches (the
//! self-pipe trick), and the loop then closes every connection, prints the
//! summary line and exits with 0. So does `--max-seconds`. On Windows,
//! where selectors take sockets only (no pipe to watch), Ctrl-C ends the
//! process as usual and `--max-seconds` is the clean way out.
//!
//! Options (and the conventions every example shares, in `cli/mod.rs`):
//!
//! - `--port N`: listen on `127.0.0.1:N` (default 1234; 0 picks a free port).
//!   The first line on stdout is always `listening on 127.0.0.1:<port>`.
//! - `--quiet`: no line per accept, echo and close.
//! - `--max-seconds S`: shut down by itself after S seconds.
//! - `--backend NAME` (or the environment variable `SELECTORS_BACKEND`):
//!   `default`, `select`, `poll`, `epoll` or `kqueue`. The second line on
//!   stdout names the backend: `backend: epoll`.
//!
//! The last line on stdout is the summary: `shutdown (SIGINT): closed 2
//! connections; accepted 5, echoed 1234 bytes, out of fds 0 times`.
//! Exit codes: 0 (also after SIGINT and SIGTERM), 1 on an error, 2 for bad
//! arguments.

mod cli;

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
#[cfg(unix)]
use std::os::unix::io::IntoRawFd;
#[cfg(unix)]
use std::os::unix::net::UnixStream;
#[cfg(unix)]
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use io_selectors::{AnySelector, Event, FileObject, RawFd, Selector, EVENT_READ, EVENT_WRITE};
#[cfg(unix)]
use rustix::net::{AddressFamily, SocketFlags, SocketType};

use cli::Cli;

/// A handler, stored in the data of each key: `accept`, `signalled`,
/// `read` or `write`. It gets the event (the fd, the mask) and reaches the
/// key's data through it.
type Callback = fn(&mut Server, &Event) -> io::Result<()>;

/// The data of each key: Python's `key.data` (the handler) and, for a
/// connection, `key.fileobj` (its socket, with its backlog). The listener
/// and the self-pipe stay in [`Server`], as in Python's module globals.
struct Key {
    callback: Callback,
    conn: Option<Conn>,
}

impl Key {
    /// The key of the listener or the self-pipe.
    fn of(callback: Callback) -> Key {
        Key {
            callback,
            conn: None,
        }
    }
}

/// How much one `read` takes from a connection (Python's `recv(1000)`).
const READ_SIZE: usize = 64 * 1024;

/// How long the listener goes unwatched after `accept` ran out of fds.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Everything the handlers share: Python's module-level globals.
struct Server {
    sel: AnySelector<Key>,
    sock: TcpListener,
    buf: Vec<u8>,
    log: Log,
    /// Until when the listener is not watched (out of fds), if it is not.
    paused_until: Option<Instant>,
    /// The pipe the signal handler writes to, and the signal once read.
    #[cfg(unix)]
    signals: UnixStream,
    stop: Option<&'static str>,
    stats: Stats,
}

/// What the summary line reports.
#[derive(Default)]
struct Stats {
    accepted: u64,
    echoed: u64,
    out_of_fds: u64,
}

/// One accepted connection and the bytes it has not taken yet.
struct Conn {
    sock: TcpStream,
    addr: SocketAddr,
    unsent: Vec<u8>,
}

impl fmt::Display for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fd {} ({})", (&self.sock).fileno(), self.addr)
    }
}

/// Where the line per accept, echo and close goes.
struct Log {
    quiet: bool,
}

impl Log {
    /// Prints one line unless `--quiet`. A closed stdout is no reason to
    /// stop serving.
    fn say(&self, line: fmt::Arguments<'_>) {
        if !self.quiet {
            let _ = writeln!(io::stdout().lock(), "{line}");
        }
    }
}

fn accept(server: &mut Server, _ev: &Event) -> io::Result<()> {
    // Should be ready
    let (conn, addr) = match server.sock.accept() {
        Ok(pair) => pair,
        // The client gave up before we got to it (Wine says so with
        // WSAENOTCONN), or a signal came: the level-triggered selector
        // reports the socket again if need be.
        Err(e)
            if is_transient(&e)
                || matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted | io::ErrorKind::NotConnected
                ) =>
        {
            return Ok(())
        }
        // Out of fds: the listener stays readable, so stop watching it for
        // a moment rather than fail the same accept in a loop.
        Err(e) if out_of_fds(&e) => {
            if server.stats.out_of_fds == 0 {
                eprintln!(
                    "echo_server: accept on {}: {e}; not accepting for {ACCEPT_PAUSE:?} \
                     at a time until connections close (said once)",
                    server.sock.local_addr()?
                );
            }
            server.stats.out_of_fds += 1;
            server.sel.unregister(&server.sock)?;
            server.paused_until = Some(Instant::now() + ACCEPT_PAUSE);
            return Ok(());
        }
        // Anything else (ENOBUFS, ...): keep serving the others.
        Err(e) => {
            eprintln!("echo_server: accept on {}: {e}", server.sock.local_addr()?);
            return Ok(());
        }
    };
    server.stats.accepted += 1;
    server
        .log
        .say(format_args!("accepted fd {} from {addr}", (&conn).fileno()));
    conn.set_nonblocking(true)?;
    let fd = (&conn).fileno();
    let conn = Conn {
        sock: conn,
        addr,
        unsent: Vec::new(),
    };
    server.sel.register(
        fd,
        EVENT_READ,
        Key {
            callback: read,
            conn: Some(conn),
        },
    )?;
    Ok(())
}

fn read(server: &mut Server, ev: &Event) -> io::Result<()> {
    let Some(key) = server.sel.data_mut(ev) else {
        return Ok(());
    };
    let Some(conn) = &mut key.conn else {
        return Ok(());
    };
    let result = (&conn.sock).read(&mut server.buf); // Should be ready
    match result {
        Ok(0) => close(server, ev.fd(), None),
        Ok(n) => {
            let data = &server.buf[..n];
            server.log.say(format_args!("echoing {n} bytes to {conn}"));
            server.stats.echoed += n as u64;
            match send(&conn.sock, data) {
                Ok(sent) if sent == n => Ok(()),
                // Keep the rest and wait until the socket can take it: the
                // same key, another handler, other events.
                Ok(sent) => {
                    conn.unsent.extend_from_slice(&data[sent..]);
                    key.callback = write;
                    server.sel.modify_events(ev.fd(), EVENT_WRITE)?;
                    Ok(())
                }
                Err(e) => close(server, ev.fd(), Some(e)),
            }
        }
        Err(e) if is_transient(&e) => Ok(()),
        // ECONNRESET and friends end this connection only.
        Err(e) => close(server, ev.fd(), Some(e)),
    }
}

fn write(server: &mut Server, ev: &Event) -> io::Result<()> {
    let Some(key) = server.sel.data_mut(ev) else {
        return Ok(());
    };
    let Some(conn) = &mut key.conn else {
        return Ok(());
    };
    match send(&conn.sock, &conn.unsent) {
        Ok(sent) => {
            conn.unsent.drain(..sent);
            if conn.unsent.is_empty() {
                key.callback = read;
                server.sel.modify_events(ev.fd(), EVENT_READ)?;
            }
            Ok(())
        }
        Err(e) => close(server, ev.fd(), Some(e)),
    }
}

/// Unregisters and closes a connection, at end of file or after an error:
/// `unregister` hands its socket back, and dropping it closes it.
fn close(server: &mut Server, fd: RawFd, error: Option<io::Error>) -> io::Result<()> {
    let Some(conn) = server.sel.unregister(fd)?.data.conn else {
        return Ok(());
    };
    match error {
        None => server.log.say(format_args!("closing {conn}")),
        Some(e) => server.log.say(format_args!("closing {conn}: {e}")),
    }
    drop(conn);
    Ok(())
}

/// Writes as much of `data` as the socket takes without blocking, and
/// returns how much that was.
fn send(sock: &TcpStream, data: &[u8]) -> io::Result<usize> {
    let mut sent = 0;
    while sent < data.len() {
        match (&*sock).write(&data[sent..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    Ok(sent)
}

/// Errors after which the same call succeeds later: nothing to do now.
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

/// Whether `accept` failed for want of fds (`EMFILE`, `ENFILE`; on
/// Windows `WSAEMFILE`).
fn out_of_fds(e: &io::Error) -> bool {
    #[cfg(unix)]
    return matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE));
    #[cfg(windows)]
    return e.raw_os_error() == Some(10024);
}

/// `SOCK_CLOEXEC` where `socket(2)` takes it (not on Apple).
#[cfg(all(unix, not(target_vendor = "apple")))]
const CLOEXEC: SocketFlags = SocketFlags::CLOEXEC;
#[cfg(target_vendor = "apple")]
const CLOEXEC: SocketFlags = SocketFlags::empty();

/// How many connections the kernel queues for `accept`: Python's example
/// says `listen(100)`; more, so that hundreds of clients connecting at once
/// are neither made to retry nor reset.
const BACKLOG: i32 = 1024;

/// A non-blocking listening socket on 127.0.0.1:`port`, with
/// `SO_REUSEADDR` so that a restart does not wait out `TIME_WAIT`.
#[cfg(unix)]
fn listen(port: u16) -> io::Result<TcpListener> {
    let sock = rustix::net::socket_with(AddressFamily::INET, SocketType::STREAM, CLOEXEC, None)?;
    // Apple's socket(2) takes no flags: set close-on-exec right after.
    #[cfg(target_vendor = "apple")]
    rustix::io::fcntl_setfd(&sock, rustix::io::FdFlags::CLOEXEC)?;
    rustix::net::sockopt::set_socket_reuseaddr(&sock, true)?;
    let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    rustix::net::bind(&sock, &addr)
        .map_err(|e| io::Error::new(e.kind(), format!("bind {addr}: {e}")))?;
    rustix::net::listen(&sock, BACKLOG)?;
    let listener = TcpListener::from(sock);
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// A non-blocking listening socket on 127.0.0.1:`port`, with the same
/// backlog as on Unix: std's `TcpListener::bind` listens with 128 on
/// Windows, and a second `listen` does not change it there. Under Wine,
/// where the host kernel keeps the queue, 1,000 clients connecting at once
/// then overflow it, and Linux resets connections the client already
/// thought established (SYN cookies). Not inherited by children, like
/// std's; no `SO_REUSEADDR`, which on Windows would let another socket take
/// over the port.
#[cfg(windows)]
fn listen(port: u16) -> io::Result<TcpListener> {
    use std::os::windows::io::{FromRawSocket, OwnedSocket};
    use windows_sys::Win32::Networking::WinSock::{
        bind, listen, WSAGetLastError, WSASocketW, WSAStartup, AF_INET, INVALID_SOCKET, IN_ADDR,
        IN_ADDR_0, IPPROTO_TCP, SOCKADDR, SOCKADDR_IN, SOCK_STREAM, WSADATA,
        WSA_FLAG_NO_HANDLE_INHERIT, WSA_FLAG_OVERLAPPED,
    };
    // SAFETY: WSAGetLastError only reads this thread's last error.
    let wsa_error = || io::Error::from_raw_os_error(unsafe { WSAGetLastError() });
    // SAFETY: WSAStartup only writes into the local WSADATA; it counts its
    // callers, so this one beside std's is harmless.
    let started = unsafe { WSAStartup(0x202, &mut std::mem::zeroed::<WSADATA>()) };
    if started != 0 {
        return Err(io::Error::from_raw_os_error(started));
    }
    // SAFETY: plain arguments, no protocol info; the result is checked.
    let raw = unsafe {
        WSASocketW(
            AF_INET.into(),
            SOCK_STREAM,
            IPPROTO_TCP,
            std::ptr::null(),
            0,
            WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT,
        )
    };
    if raw == INVALID_SOCKET {
        return Err(wsa_error());
    }
    // SAFETY: `raw` is a new socket that nothing else owns.
    let sock = unsafe { OwnedSocket::from_raw_socket(raw as _) };
    let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    let name = SOCKADDR_IN {
        sin_family: AF_INET,
        sin_port: port.to_be(),
        sin_addr: IN_ADDR {
            S_un: IN_ADDR_0 {
                S_addr: u32::from_ne_bytes(Ipv4Addr::LOCALHOST.octets()),
            },
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of_val(&name) as i32;
    // SAFETY: `name` is a valid SOCKADDR_IN of `len` bytes for the call.
    if unsafe { bind(raw, (&name as *const SOCKADDR_IN).cast::<SOCKADDR>(), len) } != 0 {
        let e = wsa_error();
        return Err(io::Error::new(e.kind(), format!("bind {addr}: {e}")));
    }
    // SAFETY: `raw` is the live socket `sock` owns.
    if unsafe { listen(raw, BACKLOG) } != 0 {
        return Err(wsa_error());
    }
    let listener = TcpListener::from(sock);
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// The signal handler's end of the self-pipe (-1: none yet).
#[cfg(unix)]
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

/// Writes the signal's number to the self-pipe: `write(2)` is
/// async-signal-safe, and a full pipe (signals faster than the loop reads
/// them) loses nothing that matters.
#[cfg(unix)]
extern "C" fn on_signal(signal: libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
    let byte = signal as u8;
    // SAFETY: `fd` is the pipe's write end, kept open for the whole
    // process; `byte` is a valid one-byte buffer.
    unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
}

/// Routes SIGINT and SIGTERM to a "pipe" (a socket pair: close-on-exec
/// and non-blocking on every Unix, Apple's too, which lacks `pipe2`) and
/// returns its read end.
#[cfg(unix)]
fn signal_pipe() -> io::Result<UnixStream> {
    let (read, write) = UnixStream::pair()?;
    read.set_nonblocking(true)?;
    write.set_nonblocking(true)?;
    // The write end lives as long as the process: the handler may run at
    // any time.
    SIGNAL_PIPE.store(write.into_raw_fd(), Ordering::Relaxed);
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is valid (empty mask, no flags); the
        // handler only loads an atomic and calls write(2), both
        // async-signal-safe. No SA_RESTART: a wait in progress returns with
        // EINTR, which `select` turns into an empty result.
        let rc = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(read)
}

/// The handler of the self-pipe: which signal came.
#[cfg(unix)]
fn signalled(server: &mut Server, _ev: &Event) -> io::Result<()> {
    let mut byte = [0u8; 1];
    match (&server.signals).read(&mut byte) {
        Ok(1) => {
            server.stop = Some(match i32::from(byte[0]) {
                libc::SIGINT => "SIGINT",
                _ => "SIGTERM",
            })
        }
        Ok(_) => {}
        Err(e) if is_transient(&e) => {}
        Err(e) => return Err(e),
    }
    Ok(())
}

/// Closes every connection and prints the summary line.
fn shutdown(mut server: Server, reason: &str) -> io::Result<()> {
    let open: Vec<RawFd> = server
        .sel
        .get_map()
        .iter()
        .filter(|key| key.data.conn.is_some())
        .map(|key| key.fd)
        .collect();
    for &fd in &open {
        drop(server.sel.unregister(fd)?); // closes the socket
    }
    let stats = &server.stats;
    let mut stdout = io::stdout().lock();
    writeln!(
        stdout,
        "shutdown ({reason}): closed {} connections; accepted {}, echoed {} bytes, \
         out of fds {} times",
        open.len(),
        stats.accepted,
        stats.echoed,
        stats.out_of_fds
    )?;
    stdout.flush()?;
    server.sel.close()
}

const USAGE: &str = "\
usage: echo_server [--port N] [--quiet] [--max-seconds S] [--backend NAME]
  --port N         listen on 127.0.0.1:N (default 1234; 0: any free port)
  --quiet          no line per accept, echo and close
  --max-seconds S  shut down after S seconds (fractions too)";

/// The command line.
struct Options {
    port: u16,
    quiet: bool,
    max_seconds: Option<Duration>,
}

fn main() {
    let mut cli = Cli::new("echo_server", USAGE);
    let mut opts = Options {
        port: 1234,
        quiet: false,
        max_seconds: None,
    };
    while let Some(flag) = cli.next_flag() {
        match flag.as_str() {
            "--port" => opts.port = cli.parse(&flag),
            "--quiet" => opts.quiet = true,
            "--max-seconds" => opts.max_seconds = Some(cli.seconds(&flag)),
            other => cli.unknown(other),
        }
    }
    // An AnySelector rather than a DefaultSelector, so that the backend can
    // be chosen at run time (the tests run this server on each one); by
    // default `AnySelector::new()` tries the backends in DefaultSelector's
    // order (kqueue, epoll, poll, select) and takes the first that works.
    let backend = cli.backend();
    cli.finish(serve(&opts, backend));
}

fn serve(opts: &Options, backend: Option<io_selectors::Backend>) -> io::Result<()> {
    let deadline = opts.max_seconds.map(|d| Instant::now() + d);

    let sock = listen(opts.port)?;
    let mut sel: AnySelector<Key> = cli::open(backend)?;
    sel.register(&sock, EVENT_READ, Key::of(accept))?;
    #[cfg(unix)]
    let signals = signal_pipe()?;
    #[cfg(unix)]
    sel.register(&signals, EVENT_READ, Key::of(signalled))?;
    // Only now, so that whoever waits for this line finds the server set up.
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "listening on {}", sock.local_addr()?)?;
    writeln!(stdout, "backend: {}", sel.backend())?;
    stdout.flush()?;
    drop(stdout);
    let mut server = Server {
        sel,
        sock,
        buf: vec![0; READ_SIZE],
        log: Log { quiet: opts.quiet },
        paused_until: None,
        #[cfg(unix)]
        signals,
        stop: None,
        stats: Stats::default(),
    };

    let mut events = Vec::new();
    loop {
        if let Some(reason) = server.stop {
            return shutdown(server, reason);
        }
        let now = Instant::now();
        if server.paused_until.map_or(false, |until| until <= now) {
            server.paused_until = None;
            server
                .sel
                .register(&server.sock, EVENT_READ, Key::of(accept))?;
        }
        if deadline.map_or(false, |d| d <= now) {
            return shutdown(server, "--max-seconds");
        }
        let wake = match (deadline, server.paused_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let timeout = wake.map(|w| w.saturating_duration_since(now));
        server.sel.select_events(timeout, &mut events)?;
        for ev in &events {
            // A connection an earlier handler closed: skip its event.
            let Some(key) = server.sel.data(ev) else {
                continue;
            };
            let callback = key.callback;
            callback(&mut server, ev)?;
        }
    }
}
