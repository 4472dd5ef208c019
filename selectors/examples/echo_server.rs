//! The echo server of Python's `selectors` documentation, ported to Rust.
//!
//! ```text
//! cargo run --example echo_server                  # serves 127.0.0.1:1234
//! nc 127.0.0.1 1234                                # in another terminal
//! cargo run --example echo_server -- --port 0      # any free port
//! ```
//!
//! As in Python, the data attached to each registration is the handler to
//! call, and the loop calls `callback(key.fileobj, mask)`; here the "file
//! object" is the key's fd, which the handlers look up in the server's
//! table of connections. Accepting registers the connection; end of file
//! unregisters and closes it.
//!
//! Where the original sends and "hope[s] it won't block", this one keeps what
//! the socket did not take and switches the registration to `EVENT_WRITE`
//! until it is flushed, then back to `EVENT_READ`. It does not read while a
//! backlog is pending, so each connection holds at most one read's worth of
//! bytes, and no byte is lost or reordered.
//!
//! Options:
//!
//! - `--port N`: listen on `127.0.0.1:N` (default 1234; 0 picks a free port).
//!   The first line on stdout is always `listening on 127.0.0.1:<port>`.
//! - `--quiet`: no line per accept, echo and close.
//! - `--max-seconds N`: exit by itself after N seconds.
//!
//! The environment variable `SELECTORS_BACKEND` (`select`, `poll`, `epoll`
//! or `kqueue`) picks the backend; without it the server uses the
//! `DefaultSelector`'s. The second line on stdout names it: `backend: epoll`.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::os::unix::io::{AsRawFd, RawFd};
use std::process;
use std::time::{Duration, Instant};

use rustix::net::{AddressFamily, SocketFlags, SocketType};
use selectors::{AnySelector, Backend, Events, Selector, EVENT_READ, EVENT_WRITE};

/// A handler, stored as the data of each key: `accept`, `read` or `write`.
type Callback = fn(&mut Server, RawFd, Events) -> io::Result<()>;

/// How much one `read` takes from a connection (Python's `recv(1000)`).
const READ_SIZE: usize = 64 * 1024;

/// Everything the handlers share: Python's module-level globals.
struct Server {
    sel: AnySelector<Callback>,
    sock: TcpListener,
    conns: HashMap<RawFd, Conn>,
    buf: Vec<u8>,
    log: Log,
}

/// One accepted connection and the bytes it has not taken yet.
struct Conn {
    sock: TcpStream,
    addr: SocketAddr,
    unsent: Vec<u8>,
}

impl fmt::Display for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fd {} ({})", self.sock.as_raw_fd(), self.addr)
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

fn accept(server: &mut Server, _sock: RawFd, _mask: Events) -> io::Result<()> {
    // Should be ready
    let (conn, addr) = match server.sock.accept() {
        Ok(pair) => pair,
        // The client gave up before we got to it, or a signal came: the
        // level-triggered selector reports the socket again if need be.
        Err(e) if is_transient(&e) || e.kind() == io::ErrorKind::ConnectionAborted => return Ok(()),
        // Out of fds (EMFILE, ENFILE...): keep serving the others.
        Err(e) => {
            eprintln!("accept on {}: {e}", server.sock.local_addr()?);
            return Ok(());
        }
    };
    server
        .log
        .say(format_args!("accepted fd {} from {addr}", conn.as_raw_fd()));
    conn.set_nonblocking(true)?;
    server.sel.register(&conn, EVENT_READ, read)?;
    let conn = Conn {
        sock: conn,
        addr,
        unsent: Vec::new(),
    };
    server.conns.insert(conn.sock.as_raw_fd(), conn);
    Ok(())
}

fn read(server: &mut Server, fd: RawFd, _mask: Events) -> io::Result<()> {
    let Some(conn) = server.conns.get_mut(&fd) else {
        return Ok(());
    };
    let result = (&conn.sock).read(&mut server.buf); // Should be ready
    match result {
        Ok(0) => close(server, fd, None),
        Ok(n) => {
            let data = &server.buf[..n];
            server.log.say(format_args!("echoing {n} bytes to {conn}"));
            match send(&conn.sock, data) {
                Ok(sent) if sent == n => Ok(()),
                // Keep the rest and wait until the socket can take it.
                Ok(sent) => {
                    conn.unsent.extend_from_slice(&data[sent..]);
                    server.sel.modify(fd, EVENT_WRITE, write)?;
                    Ok(())
                }
                Err(e) => close(server, fd, Some(e)),
            }
        }
        Err(e) if is_transient(&e) => Ok(()),
        // ECONNRESET and friends end this connection only.
        Err(e) => close(server, fd, Some(e)),
    }
}

fn write(server: &mut Server, fd: RawFd, _mask: Events) -> io::Result<()> {
    let Some(conn) = server.conns.get_mut(&fd) else {
        return Ok(());
    };
    match send(&conn.sock, &conn.unsent) {
        Ok(sent) => {
            conn.unsent.drain(..sent);
            if conn.unsent.is_empty() {
                server.sel.modify(fd, EVENT_READ, read)?;
            }
            Ok(())
        }
        Err(e) => close(server, fd, Some(e)),
    }
}

/// Unregisters and closes a connection, at end of file or after an error.
fn close(server: &mut Server, fd: RawFd, error: Option<io::Error>) -> io::Result<()> {
    let Some(conn) = server.conns.remove(&fd) else {
        return Ok(());
    };
    match error {
        None => server.log.say(format_args!("closing {conn}")),
        Some(e) => server.log.say(format_args!("closing {conn}: {e}")),
    }
    server.sel.unregister(&conn.sock)?;
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

/// `SOCK_CLOEXEC` where `socket(2)` takes it (not on Apple).
#[cfg(not(target_vendor = "apple"))]
const CLOEXEC: SocketFlags = SocketFlags::CLOEXEC;
#[cfg(target_vendor = "apple")]
const CLOEXEC: SocketFlags = SocketFlags::empty();

/// A non-blocking listening socket on 127.0.0.1:`port`.
///
/// Python's `socket(); bind(); listen(100)`, with a larger backlog so that
/// hundreds of clients connecting at once are not made to retry, and
/// `SO_REUSEADDR` so that a restart does not wait out `TIME_WAIT`.
fn listen(port: u16) -> io::Result<TcpListener> {
    let sock = rustix::net::socket_with(AddressFamily::INET, SocketType::STREAM, CLOEXEC, None)?;
    // Apple's socket(2) takes no flags: set close-on-exec right after.
    #[cfg(target_vendor = "apple")]
    rustix::io::fcntl_setfd(&sock, rustix::io::FdFlags::CLOEXEC)?;
    rustix::net::sockopt::set_socket_reuseaddr(&sock, true)?;
    let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    rustix::net::bind(&sock, &addr)
        .map_err(|e| io::Error::new(e.kind(), format!("bind {addr}: {e}")))?;
    rustix::net::listen(&sock, 1024)?;
    let listener = TcpListener::from(sock);
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// The command line.
struct Options {
    port: u16,
    quiet: bool,
    max_seconds: Option<u64>,
}

impl Options {
    fn parse() -> Result<Options, String> {
        let mut opts = Options {
            port: 1234,
            quiet: false,
            max_seconds: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                let v = args.next().ok_or(format!("{name} needs a value"))?;
                v.parse()
                    .map_err(|e| format!("{name} {v}: {e}"))
                    .map(|n: u64| n)
            };
            match arg.as_str() {
                "--port" => {
                    let port = value("--port")?;
                    opts.port =
                        u16::try_from(port).map_err(|_| format!("--port {port}: too large"))?;
                }
                "--quiet" => opts.quiet = true,
                "--max-seconds" => opts.max_seconds = Some(value("--max-seconds")?),
                "-h" | "--help" => {
                    println!("usage: echo_server [--port N] [--quiet] [--max-seconds N]");
                    println!("environment: SELECTORS_BACKEND=select|poll|epoll|kqueue");
                    process::exit(0);
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(opts)
    }
}

/// Python's `selectors.DefaultSelector()`, or the backend named by
/// `SELECTORS_BACKEND`.
///
/// An `AnySelector` rather than a `DefaultSelector`, so that the backend can
/// be chosen at run time (the tests run this server on each one). Without the
/// variable, `AnySelector::new()` tries the backends in `DefaultSelector`'s
/// order (kqueue, epoll, poll, select) and takes the first that works: the
/// `DefaultSelector`'s backend.
fn selector() -> io::Result<AnySelector<Callback>> {
    match std::env::var("SELECTORS_BACKEND") {
        Err(std::env::VarError::NotPresent) => AnySelector::new(),
        Ok(name) => {
            let backend: Backend = name.parse().unwrap_or_else(|e| {
                eprintln!("echo_server: SELECTORS_BACKEND: {e}");
                process::exit(2);
            });
            // E.g. kqueue on Linux: the message lists the backends there are.
            Ok(AnySelector::with_backend(backend).unwrap_or_else(|e| {
                eprintln!("echo_server: SELECTORS_BACKEND={name}: {e}");
                process::exit(2);
            }))
        }
        Err(e) => {
            eprintln!("echo_server: SELECTORS_BACKEND: {e}");
            process::exit(2);
        }
    }
}

fn main() -> io::Result<()> {
    let opts = Options::parse().unwrap_or_else(|e| {
        eprintln!("echo_server: {e}\nusage: echo_server [--port N] [--quiet] [--max-seconds N]");
        process::exit(2);
    });
    let deadline = opts
        .max_seconds
        .map(|s| Instant::now() + Duration::from_secs(s));

    let sock = listen(opts.port)?;
    let mut sel = selector()?;
    sel.register(&sock, EVENT_READ, accept)?;
    // Only now, so that whoever waits for this line finds the server set up.
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "listening on {}", sock.local_addr()?)?;
    writeln!(stdout, "backend: {}", sel.backend())?;
    stdout.flush()?;
    drop(stdout);
    let mut server = Server {
        sel,
        sock,
        conns: HashMap::new(),
        buf: vec![0; READ_SIZE],
        log: Log { quiet: opts.quiet },
    };

    let mut events = Vec::new();
    loop {
        let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if timeout == Some(Duration::ZERO) {
            eprintln!("echo_server: --max-seconds reached, exiting");
            return Ok(());
        }
        server.sel.select_into(timeout, &mut events)?;
        for (key, mask) in &events {
            let callback = key.data;
            callback(&mut server, key.fd, *mask)?;
        }
    }
}
