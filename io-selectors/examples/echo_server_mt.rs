//! The echo server scaled past one core: one thread per core, each with its
//! own selector and its own listening socket, all bound to the same port with
//! `SO_REUSEPORT`, so the kernel spreads incoming connections between them
//! (by a hash of the connection's addresses) and the threads share nothing.
//!
//! ```text
//! cargo run -p io-selectors --example echo_server_mt -- [--threads N] [--port 0]
//!     [--max-connections N] [--max-seconds SECS] [--backend NAME]
//! ```
//!
//! The first stdout line is `listening on 127.0.0.1:<port> with <N> threads`,
//! the second `backend: <name>` (every thread's selector is on it).
//! With `--max-connections` or `--max-seconds` the server stops after that
//! many connections were served (closed) or that long, and prints
//! `stats: <total> connections, per thread: <c0> <c1> ...` then one
//! `thread <i>: <connections> connections, <bytes> bytes` line per thread.
//!
//! `--backend NAME` (or `SELECTORS_BACKEND`), `--help` and the exit codes
//! (0, 1 on an error, 2 for bad arguments) are those of every example
//! (`cli/mod.rs`).

mod cli;

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::unix::io::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use io_selectors::{AnySelector, Backend, Events, Selector};
use rustix::net::{sockopt, AddressFamily, SocketFlags, SocketType};

/// How often a thread wakes up to look at the shared stop flag, at most.
const STOP_CHECK: Duration = Duration::from_millis(50);

/// What a key stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Listener,
    Client,
}

/// One client connection and the bytes read but not yet echoed back.
struct Conn {
    stream: TcpStream,
    backlog: Vec<u8>,
}

/// What one thread did.
#[derive(Default)]
struct Stats {
    connections: usize,
    bytes: u64,
}

/// What all threads share: when to stop, and how many connections all of
/// them have finished.
struct Shared {
    stop: AtomicBool,
    served: AtomicUsize,
    max_connections: Option<usize>,
    deadline: Option<Instant>,
}

/// `SOCK_CLOEXEC` where `socket(2)` takes it (not on Apple).
#[cfg(not(target_vendor = "apple"))]
const CLOEXEC: SocketFlags = SocketFlags::CLOEXEC;
#[cfg(target_vendor = "apple")]
const CLOEXEC: SocketFlags = SocketFlags::empty();

/// A listening socket on 127.0.0.1:`port` with `SO_REUSEPORT`, so several
/// can share the port. std's `TcpListener::bind` cannot set the option
/// before binding, hence rustix.
fn reuseport_listener(port: u16) -> io::Result<TcpListener> {
    let fd = rustix::net::socket_with(AddressFamily::INET, SocketType::STREAM, CLOEXEC, None)?;
    // Apple's socket(2) takes no flags: set close-on-exec right after.
    #[cfg(target_vendor = "apple")]
    rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC)?;
    sockopt::set_socket_reuseaddr(&fd, true)?;
    sockopt::set_socket_reuseport(&fd, true)?;
    rustix::net::bind(&fd, &SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))?;
    rustix::net::listen(&fd, 1024)?;
    let listener = TcpListener::from(fd);
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// One thread's server: a selector over its own listener and its clients.
fn serve(mut sel: AnySelector<Role>, listener: TcpListener, shared: &Shared) -> io::Result<Stats> {
    let mut conns: HashMap<RawFd, Conn> = HashMap::new();
    let mut stats = Stats::default();
    let mut ready = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    sel.register(&listener, Events::READ, Role::Listener)?;

    while !shared.stop.load(Ordering::Relaxed) {
        if shared.deadline.map_or(false, |d| Instant::now() >= d) {
            shared.stop.store(true, Ordering::Relaxed);
            break;
        }
        sel.select_into(Some(STOP_CHECK), &mut ready)?;
        for (key, events) in &ready {
            match key.data {
                Role::Listener => accept(&mut sel, &listener, &mut conns)?,
                Role::Client => {
                    let Some(conn) = conns.get_mut(&key.fd) else {
                        continue;
                    };
                    let open = if events.is_writable() {
                        flush(&mut sel, conn, &mut stats)?
                    } else {
                        echo(&mut sel, conn, &mut buf, &mut stats)?
                    };
                    if !open {
                        // Unregister, then close (by dropping the stream).
                        sel.unregister(key.fd)?;
                        conns.remove(&key.fd);
                        stats.connections += 1;
                        let served = shared.served.fetch_add(1, Ordering::Relaxed) + 1;
                        if shared.max_connections.map_or(false, |max| served >= max) {
                            shared.stop.store(true, Ordering::Relaxed);
                        }
                    }
                }
            }
        }
    }
    for fd in conns.keys() {
        sel.unregister(*fd)?;
    }
    sel.unregister(&listener)?;
    sel.close()?;
    Ok(stats)
}

fn accept<S: Selector<Role>>(
    sel: &mut S,
    listener: &TcpListener,
    conns: &mut HashMap<RawFd, Conn>,
) -> io::Result<()> {
    loop {
        match listener.accept() {
            Ok((stream, _peer)) => {
                stream.set_nonblocking(true)?;
                sel.register(&stream, Events::READ, Role::Client)?;
                let fd = stream.as_raw_fd();
                conns.insert(
                    fd,
                    Conn {
                        stream,
                        backlog: Vec::new(),
                    },
                );
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // ECONNABORTED, EMFILE...: say so and keep serving the others.
            Err(e) => {
                eprintln!("echo_server_mt: accept: {e}");
                return Ok(());
            }
        }
    }
}

/// Reads once and echoes; whatever the peer cannot take now goes to the
/// backlog, and the key waits for WRITE instead of READ until it is flushed.
/// Returns whether the connection stays open.
fn echo<S: Selector<Role>>(
    sel: &mut S,
    conn: &mut Conn,
    buf: &mut [u8],
    stats: &mut Stats,
) -> io::Result<bool> {
    let n = match conn.stream.read(buf) {
        Ok(0) => return Ok(false),
        Ok(n) => n,
        Err(e) if is_transient(&e) => return Ok(true),
        Err(_) => return Ok(false),
    };
    let sent = match conn.stream.write(&buf[..n]) {
        Ok(sent) => sent,
        Err(e) if is_transient(&e) => 0,
        Err(_) => return Ok(false),
    };
    stats.bytes += sent as u64;
    if sent < n {
        conn.backlog.extend_from_slice(&buf[sent..n]);
        sel.modify(&conn.stream, Events::WRITE, Role::Client)?;
    }
    Ok(true)
}

/// Writes the backlog; once it is empty, goes back to reading.
fn flush<S: Selector<Role>>(sel: &mut S, conn: &mut Conn, stats: &mut Stats) -> io::Result<bool> {
    match conn.stream.write(&conn.backlog) {
        Ok(n) => {
            conn.backlog.drain(..n);
            stats.bytes += n as u64;
        }
        Err(e) if is_transient(&e) => return Ok(true),
        Err(_) => return Ok(false),
    }
    if conn.backlog.is_empty() {
        sel.modify(&conn.stream, Events::READ, Role::Client)?;
    }
    Ok(true)
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

const USAGE: &str = "\
usage: echo_server_mt [--threads N] [--port N] [--max-connections N] [--max-seconds SECS]
                      [--backend NAME]
  --threads N          server threads (default: one per core)
  --port N             listen on 127.0.0.1:N (default 0: any free port)
  --max-connections N  stop after serving N connections
  --max-seconds SECS   stop after SECS seconds";

struct Args {
    threads: usize,
    port: u16,
    max_connections: Option<usize>,
    max_seconds: Option<Duration>,
    backend: Option<Backend>,
}

fn run(args: &Args) -> io::Result<()> {
    // Bind the first socket (to port 0 if asked: the kernel picks), then
    // the others to the port it got.
    let first = reuseport_listener(args.port)?;
    let port = first.local_addr()?.port();
    let mut listeners = vec![first];
    for _ in 1..args.threads {
        listeners.push(reuseport_listener(port)?);
    }
    let selectors = (0..args.threads)
        .map(|_| cli::open::<Role>(args.backend))
        .collect::<io::Result<Vec<_>>>()?;
    println!(
        "listening on 127.0.0.1:{port} with {} threads",
        args.threads
    );
    println!("backend: {}", selectors[0].backend());

    let shared = Arc::new(Shared {
        stop: AtomicBool::new(false),
        served: AtomicUsize::new(0),
        max_connections: args.max_connections,
        deadline: args.max_seconds.map(|d| Instant::now() + d),
    });
    let workers: Vec<_> = listeners
        .into_iter()
        .zip(selectors)
        .enumerate()
        .map(|(i, (listener, sel))| {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name(format!("echo-{i}"))
                .spawn(move || {
                    let result = serve(sel, listener, &shared);
                    // One thread failing stops them all, rather than leaving
                    // its share of the port's connections unserved.
                    shared.stop.store(true, Ordering::Relaxed);
                    result
                })
        })
        .collect::<io::Result<_>>()?;

    let mut per_thread = Vec::new();
    for worker in workers {
        per_thread.push(worker.join().expect("echo thread panicked")?);
    }
    let total: usize = per_thread.iter().map(|s| s.connections).sum();
    let counts: Vec<String> = per_thread
        .iter()
        .map(|s| s.connections.to_string())
        .collect();
    println!(
        "stats: {total} connections, per thread: {}",
        counts.join(" ")
    );
    for (i, s) in per_thread.iter().enumerate() {
        println!(
            "thread {i}: {} connections, {} bytes",
            s.connections, s.bytes
        );
    }
    Ok(())
}

pub(crate) fn main() {
    let mut cli = cli::Cli::new("echo_server_mt", USAGE);
    let mut args = Args {
        threads: thread::available_parallelism().map_or(1, |n| n.get()),
        port: 0,
        max_connections: None,
        max_seconds: None,
        backend: None,
    };
    while let Some(flag) = cli.next_flag() {
        match flag.as_str() {
            "--threads" => match cli.parse(&flag) {
                0 => cli.usage_error("--threads 0: must be at least 1"),
                n => args.threads = n,
            },
            "--port" => args.port = cli.parse(&flag),
            "--max-connections" => args.max_connections = Some(cli.parse(&flag)),
            "--max-seconds" => args.max_seconds = Some(cli.seconds(&flag)),
            other => cli.unknown(other),
        }
    }
    args.backend = cli.backend();
    cli.finish(run(&args));
}
