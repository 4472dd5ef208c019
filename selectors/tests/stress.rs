//! Stress: 1,000 concurrent loopback TCP connections with random payloads
//! through an echo server, on each backend, byte-exact, bounded in time, and
//! no fd leaked (`/proc/self/fd` counted before and after).
//!
//! The echo server is a minimal one written here on the `Selector` trait
//! (accept, read, write back, modify between READ and READ | WRITE, unregister
//! on EOF), driven by the backend under test; the clients are driven by a
//! second selector of the same backend. `STRESS_CONNECTIONS` changes the
//! number of connections.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::{Duration, Instant};

use selectors_core::{Events, Selector};

const LISTENER: usize = usize::MAX;
const STOP: usize = usize::MAX - 1;
/// The whole run of one backend must finish within this (generous) bound.
const BOUND: Duration = Duration::from_secs(120);

fn connections() -> usize {
    std::env::var("STRESS_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}

/// Raises the soft open-file limit to the hard one.
fn raise_nofile() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit to fill and then read.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        lim.rlim_cur = lim.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// The echo server: runs until `STOP` becomes readable.
fn serve<S: Selector<usize>>(
    mut sel: S,
    listener: TcpListener,
    stop: UnixStream,
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    sel.register(&listener, Events::READ, LISTENER)?;
    sel.register(&stop, Events::READ, STOP)?;
    let mut conns: Vec<Option<(TcpStream, Vec<u8>)>> = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut ready = Vec::new();
    loop {
        sel.select_into(Some(Duration::from_secs(5)), &mut ready)?;
        for (key, events) in ready.drain(..) {
            match key.data {
                STOP => return Ok(()),
                LISTENER => loop {
                    match listener.accept() {
                        Ok((s, _)) => {
                            s.set_nonblocking(true)?;
                            let id = conns.len();
                            sel.register(&s, Events::READ, id)?;
                            conns.push(Some((s, Vec::new())));
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                },
                id => {
                    let Some((stream, pending)) = conns[id].as_mut() else {
                        continue;
                    };
                    let mut eof = false;
                    if events.is_readable() {
                        loop {
                            match stream.read(&mut buf) {
                                Ok(0) => {
                                    eof = true;
                                    break;
                                }
                                Ok(n) => pending.extend_from_slice(&buf[..n]),
                                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                                Err(e) => return Err(e),
                            }
                        }
                    }
                    while !pending.is_empty() {
                        match stream.write(pending) {
                            Ok(n) => {
                                pending.drain(..n);
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) => return Err(e),
                        }
                    }
                    if eof {
                        sel.unregister(&*stream)?;
                        conns[id] = None;
                    } else {
                        let want = if pending.is_empty() {
                            Events::READ
                        } else {
                            Events::READ | Events::WRITE
                        };
                        sel.modify(&*stream, want, id)?;
                    }
                }
            }
        }
    }
}

struct Client {
    stream: TcpStream,
    payload: Vec<u8>,
    sent: usize,
    echoed: Vec<u8>,
}

/// A small deterministic generator (xorshift64*).
fn rng(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// Runs the stress on one backend; returns the bytes echoed.
fn stress<S: Selector<usize> + Send + 'static>(name: &str, new: fn() -> S) -> u64 {
    let start = Instant::now();
    let before = open_fds();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = UnixStream::pair().unwrap();
    let server_sel = new();
    let server = thread::spawn(move || serve(server_sel, listener, stop_rx));

    let n = connections();
    let mut seed = 0x9e37_79b9_7f4a_7c15 ^ n as u64;
    let mut sel = new();
    let mut clients = Vec::with_capacity(n);
    for id in 0..n {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_nonblocking(true).unwrap();
        let len = 1 + (rng(&mut seed) % (32 * 1024)) as usize;
        let payload: Vec<u8> = (0..len).map(|_| rng(&mut seed) as u8).collect();
        sel.register(&stream, Events::READ | Events::WRITE, id)
            .unwrap();
        clients.push(Some(Client {
            stream,
            payload,
            sent: 0,
            echoed: Vec::new(),
        }));
    }
    let mut done = 0;
    let mut bytes = 0u64;
    let mut buf = vec![0u8; 16 * 1024];
    while done < n {
        assert!(
            start.elapsed() < BOUND,
            "{name}: {done}/{n} done after {BOUND:?}"
        );
        for (key, events) in sel.select(Some(Duration::from_secs(5))).unwrap() {
            let id = key.data;
            let c = clients[id]
                .as_mut()
                .expect("a finished client is unregistered");
            if events.is_writable() && c.sent < c.payload.len() {
                match c.stream.write(&c.payload[c.sent..]) {
                    Ok(k) => c.sent += k,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => panic!("{name}: client {id} write: {e}"),
                }
                if c.sent == c.payload.len() {
                    sel.modify(&c.stream, Events::READ, id).unwrap();
                }
            }
            if events.is_readable() {
                loop {
                    match c.stream.read(&mut buf) {
                        Ok(0) => panic!("{name}: client {id}: server closed early"),
                        Ok(k) => c.echoed.extend_from_slice(&buf[..k]),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => panic!("{name}: client {id} read: {e}"),
                    }
                }
                assert!(
                    c.echoed.len() <= c.payload.len(),
                    "{name}: client {id}: too many bytes"
                );
                if c.echoed.len() == c.payload.len() {
                    assert!(c.echoed == c.payload, "{name}: client {id}: echo differs");
                    bytes += c.payload.len() as u64;
                    sel.unregister(&c.stream).unwrap();
                    c.stream.shutdown(Shutdown::Both).unwrap();
                    clients[id] = None;
                    done += 1;
                }
            }
        }
    }
    assert!(sel.get_map().is_empty());
    drop(sel);
    // Stop the server; it drops the connections it has not seen close yet.
    (&stop_tx).write_all(b"x").unwrap();
    server.join().unwrap().unwrap();
    drop(stop_tx);
    let after = open_fds();
    assert_eq!(before, after, "{name}: fds before and after");
    println!(
        "{name}: {n} connections, {bytes} bytes echoed byte-exact in {:.1?}, fds {before} -> {after}",
        start.elapsed()
    );
    bytes
}

/// One test for all backends, one after the other, so that the fd count of
/// the process is this test's alone.
#[test]
fn thousand_connections_echo_byte_exact_without_leaks() {
    raise_nofile();
    #[cfg(feature = "select")]
    assert!(
        stress("SelectSelector", || selectors_select::SelectSelector::new()
            .unwrap())
            > 0
    );
    #[cfg(feature = "poll")]
    assert!(
        stress("PollSelector", || selectors_poll::PollSelector::new()
            .unwrap())
            > 0
    );
    #[cfg(all(feature = "epoll", any(target_os = "linux", target_os = "android")))]
    assert!(
        stress("EpollSelector", || selectors_epoll::EpollSelector::new()
            .unwrap())
            > 0
    );
}
