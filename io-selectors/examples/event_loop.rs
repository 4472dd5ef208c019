//! A small asyncio-style event loop on the `Selector` trait, serving the echo
//! protocol next to a periodic timer.
//!
//! ```text
//! cargo run -p io-selectors --example event_loop -- [--port 0] [--tick-ms 1000]
//!     [--max-seconds SECS] [--backend NAME]
//! ```
//!
//! The loop has asyncio's shape: [`EventLoop::call_soon`],
//! [`EventLoop::call_later`] on a binary heap of timers, and
//! `add_reader`/`add_writer`/`remove_reader`/`remove_writer`, which keep ONE
//! selector key per fd whose events are the union of its reader and writer,
//! and whose data names the two callbacks stored in the loop. Each turn waits
//! in `select` only as long as the nearest timer allows: not at all if
//! callbacks are ready, forever if nothing is scheduled.
//!
//! The first stdout line is `listening on 127.0.0.1:<port>`, the second
//! `backend: <name>`; then one `tick <n> at <ms> ms` line per `--tick-ms`,
//! measured from the loop start.
//!
//! `--backend NAME` (or `SELECTORS_BACKEND`), `--help` and the exit codes
//! (0, 1 on an error, 2 for bad arguments) are those of every example
//! (`cli/mod.rs`).

mod cli;

use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::rc::Rc;
use std::time::{Duration, Instant};

use io_selectors::{AnySelector, Events, FileObject, RawFd, Selector};

/// A one-shot callback: what `call_soon` and `call_later` run.
type Once<S> = Box<dyn FnOnce(&mut EventLoop<S>)>;
/// A reader or writer callback, run every time its fd is ready.
type Handler<S> = Box<dyn FnMut(&mut EventLoop<S>)>;

/// The data of each fd's one key: which stored handlers wait on it. Python's
/// asyncio keeps `(reader, writer)` in `key.data` the same way.
#[derive(Clone, Copy, Debug, Default)]
struct Handlers {
    reader: Option<usize>,
    writer: Option<usize>,
}

impl Handlers {
    fn events(self) -> Events {
        let mut ev = Events::EMPTY;
        if self.reader.is_some() {
            ev |= Events::READ;
        }
        if self.writer.is_some() {
            ev |= Events::WRITE;
        }
        ev
    }
}

/// Where a stored handler is: idle, being run (taken out of its slot so it
/// can borrow the loop), or removed while running.
enum Slot<S> {
    Vacant,
    Idle(Handler<S>),
    Running,
    Removed,
}

/// A timer: when it is due, and its sequence number, so timers due at the
/// same instant run in the order they were scheduled (as in asyncio).
struct Timer<S> {
    when: Instant,
    seq: u64,
    callback: Once<S>,
}

impl<S> PartialEq for Timer<S> {
    fn eq(&self, other: &Self) -> bool {
        (self.when, self.seq) == (other.when, other.seq)
    }
}
impl<S> Eq for Timer<S> {}
impl<S> PartialOrd for Timer<S> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<S> Ord for Timer<S> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.when, self.seq).cmp(&(other.when, other.seq))
    }
}

/// The loop, over any selector.
struct EventLoop<S> {
    selector: S,
    ready: VecDeque<Once<S>>,
    timers: BinaryHeap<Reverse<Timer<S>>>,
    next_seq: u64,
    handlers: Vec<Slot<S>>,
    free: Vec<usize>,
    stopping: bool,
}

impl<S: Selector<Handlers> + 'static> EventLoop<S> {
    fn new(selector: S) -> Self {
        EventLoop {
            selector,
            ready: VecDeque::new(),
            timers: BinaryHeap::new(),
            next_seq: 0,
            handlers: Vec::new(),
            free: Vec::new(),
            stopping: false,
        }
    }

    /// Runs `callback` on the next turn of the loop.
    fn call_soon(&mut self, callback: impl FnOnce(&mut Self) + 'static) {
        self.ready.push_back(Box::new(callback));
    }

    /// Runs `callback` once `delay` has passed.
    fn call_later(&mut self, delay: Duration, callback: impl FnOnce(&mut Self) + 'static) {
        self.call_at(Instant::now() + delay, callback);
    }

    /// Runs `callback` at `when` (not before).
    fn call_at(&mut self, when: Instant, callback: impl FnOnce(&mut Self) + 'static) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.timers.push(Reverse(Timer {
            when,
            seq,
            callback: Box::new(callback),
        }));
    }

    /// Makes `run` return after the current turn.
    fn stop(&mut self) {
        self.stopping = true;
    }

    /// Calls `callback` whenever `fd` is readable, replacing any reader.
    fn add_reader(
        &mut self,
        fd: RawFd,
        callback: impl FnMut(&mut Self) + 'static,
    ) -> io::Result<()> {
        let id = self.store(Box::new(callback));
        self.update(fd, |h| h.reader.replace(id))
    }

    /// Calls `callback` whenever `fd` is writable, replacing any writer.
    fn add_writer(
        &mut self,
        fd: RawFd,
        callback: impl FnMut(&mut Self) + 'static,
    ) -> io::Result<()> {
        let id = self.store(Box::new(callback));
        self.update(fd, |h| h.writer.replace(id))
    }

    /// Stops watching `fd` for reading; whether a reader was there.
    fn remove_reader(&mut self, fd: RawFd) -> io::Result<bool> {
        let mut had = false;
        self.update(fd, |h| {
            had = h.reader.is_some();
            h.reader.take()
        })?;
        Ok(had)
    }

    /// Stops watching `fd` for writing; whether a writer was there.
    fn remove_writer(&mut self, fd: RawFd) -> io::Result<bool> {
        let mut had = false;
        self.update(fd, |h| {
            had = h.writer.is_some();
            h.writer.take()
        })?;
        Ok(had)
    }

    /// Edits the handlers of `fd` and maps the result onto the selector: the
    /// first handler registers the fd, a change modifies its one key, the
    /// last removal unregisters it. `edit` returns a handler it displaced.
    fn update(
        &mut self,
        fd: RawFd,
        edit: impl FnOnce(&mut Handlers) -> Option<usize>,
    ) -> io::Result<()> {
        let old = self.selector.get_key(fd).ok().map(|key| key.data);
        let mut handlers = old.unwrap_or_default();
        if let Some(displaced) = edit(&mut handlers) {
            self.discard(displaced);
        }
        let events = handlers.events();
        let result = match (old.is_some(), events.is_empty()) {
            (false, true) => Ok(()),
            (false, false) => self.selector.register(fd, events, handlers).map(drop),
            (true, true) => self.selector.unregister(fd).map(drop),
            (true, false) => self.selector.modify(fd, events, handlers).map(drop),
        };
        if result.is_err() {
            // The fd is not registered now (a failed modify unregisters, as
            // in Python): its handlers can never run, so drop them.
            for id in [handlers.reader, handlers.writer].into_iter().flatten() {
                self.discard(id);
            }
        }
        Ok(result?)
    }

    fn store(&mut self, handler: Handler<S>) -> usize {
        match self.free.pop() {
            Some(id) => {
                self.handlers[id] = Slot::Idle(handler);
                id
            }
            None => {
                self.handlers.push(Slot::Idle(handler));
                self.handlers.len() - 1
            }
        }
    }

    /// Drops a stored handler; one that is running right now is dropped when
    /// it returns.
    fn discard(&mut self, id: usize) {
        match std::mem::replace(&mut self.handlers[id], Slot::Vacant) {
            Slot::Running => self.handlers[id] = Slot::Removed,
            _ => self.free.push(id),
        }
    }

    /// Runs the handler `id`, giving it the loop; puts it back afterwards
    /// unless it was removed meanwhile.
    fn run_handler(&mut self, id: usize) {
        let Slot::Idle(mut handler) = std::mem::replace(&mut self.handlers[id], Slot::Running)
        else {
            unreachable!("handler {id} is registered but not idle");
        };
        handler(self);
        match self.handlers[id] {
            Slot::Running => self.handlers[id] = Slot::Idle(handler),
            _ => {
                self.handlers[id] = Slot::Vacant;
                self.free.push(id);
            }
        }
    }

    /// Runs until [`stop`](Self::stop), or until nothing is left to wait for.
    fn run(&mut self) -> io::Result<()> {
        let mut events = Vec::new();
        while !self.stopping {
            // How long may select sleep? Not at all if callbacks are ready;
            // until the nearest timer; forever if there is none.
            let timeout = if !self.ready.is_empty() {
                Some(Duration::ZERO)
            } else if let Some(Reverse(timer)) = self.timers.peek() {
                Some(timer.when.saturating_duration_since(Instant::now()))
            } else if self.selector.get_map().is_empty() {
                return Ok(()); // nothing could ever happen again
            } else {
                None
            };
            self.selector.select_into(timeout, &mut events)?;

            for (key, ready) in &events {
                // Look the key up again: an earlier handler of this batch
                // may have removed or replaced this one.
                let Ok(current) = self.selector.get_key(key.fd) else {
                    continue;
                };
                let handlers = current.data;
                if ready.is_readable() {
                    if let Some(id) = handlers.reader {
                        self.run_handler(id);
                    }
                }
                if ready.is_writable() {
                    // Re-check: the reader may have removed the writer.
                    let writer = self
                        .selector
                        .get_key(key.fd)
                        .ok()
                        .and_then(|k| k.data.writer);
                    if let (Some(id), Some(was)) = (writer, handlers.writer) {
                        if id == was {
                            self.run_handler(id);
                        }
                    }
                }
            }

            // Due timers join the ready queue in (when, seq) order...
            let now = Instant::now();
            while self.timers.peek().map_or(false, |Reverse(t)| t.when <= now) {
                let Reverse(timer) = self.timers.pop().expect("peeked");
                self.ready.push_back(timer.callback);
            }
            // ...and only what is ready now runs: callbacks scheduled by
            // these wait for the next turn, so I/O is never starved.
            for _ in 0..self.ready.len() {
                let callback = self.ready.pop_front().expect("counted");
                callback(self);
            }
        }
        Ok(())
    }
}

// ---- The demo: an echo server and a ticking timer on one loop. ----

/// One client connection and the bytes read but not yet echoed.
struct Conn {
    stream: TcpStream,
    backlog: Vec<u8>,
}

fn accept<S: Selector<Handlers> + 'static>(lp: &mut EventLoop<S>, listener: &TcpListener) {
    loop {
        match listener.accept() {
            Ok((stream, _peer)) => {
                if let Err(e) = stream.set_nonblocking(true) {
                    eprintln!("event_loop: set_nonblocking: {e}");
                    continue;
                }
                let fd = (&stream).fileno();
                let conn = Rc::new(RefCell::new(Conn {
                    stream,
                    backlog: Vec::new(),
                }));
                if let Err(e) = lp.add_reader(fd, on_readable(conn)) {
                    eprintln!("event_loop: add_reader({fd}): {e}");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                // EMFILE, ECONNABORTED...: report it, keep serving the others.
                eprintln!("event_loop: accept: {e}");
                return;
            }
        }
    }
}

/// Echoes what arrives; if the peer cannot take it all, keeps the rest and
/// swaps the reader for a writer until it is flushed (no byte is lost, and a
/// slow reader cannot make the server buffer without bound).
fn on_readable<S: Selector<Handlers> + 'static>(
    conn: Rc<RefCell<Conn>>,
) -> impl FnMut(&mut EventLoop<S>) {
    move |lp| {
        let mut c = conn.borrow_mut();
        let fd = (&c.stream).fileno();
        let mut buf = [0u8; 16 * 1024];
        let n = match c.stream.read(&mut buf) {
            Ok(0) => return close(lp, fd),
            Ok(n) => n,
            Err(e) if is_transient(&e) => return,
            Err(_) => return close(lp, fd),
        };
        let sent = match c.stream.write(&buf[..n]) {
            Ok(sent) => sent,
            Err(e) if is_transient(&e) => 0,
            Err(_) => return close(lp, fd),
        };
        if sent < n {
            c.backlog.extend_from_slice(&buf[sent..n]);
            drop(c);
            let done = lp
                .add_writer(fd, on_writable(conn.clone()))
                .and_then(|_| lp.remove_reader(fd));
            if done.is_err() {
                close(lp, fd);
            }
        }
    }
}

fn on_writable<S: Selector<Handlers> + 'static>(
    conn: Rc<RefCell<Conn>>,
) -> impl FnMut(&mut EventLoop<S>) {
    move |lp| {
        let mut c = conn.borrow_mut();
        let fd = (&c.stream).fileno();
        let Conn { stream, backlog } = &mut *c;
        match stream.write(backlog) {
            Ok(n) => {
                backlog.drain(..n);
            }
            Err(e) if is_transient(&e) => return,
            Err(_) => return close(lp, fd),
        }
        if backlog.is_empty() {
            drop(c);
            let done = lp
                .add_reader(fd, on_readable(conn.clone()))
                .and_then(|_| lp.remove_writer(fd));
            if done.is_err() {
                close(lp, fd);
            }
        }
    }
}

/// Forgets both handlers of `fd`: that unregisters it, and the socket
/// closes when the last handler holding it is dropped.
fn close<S: Selector<Handlers> + 'static>(lp: &mut EventLoop<S>, fd: RawFd) {
    let _ = lp.remove_reader(fd);
    let _ = lp.remove_writer(fd);
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

/// Prints `tick n` at `start + n * period`: scheduled from the start, not
/// from the previous tick, so lateness never accumulates.
fn tick<S: Selector<Handlers> + 'static>(
    lp: &mut EventLoop<S>,
    start: Instant,
    period: Duration,
    n: u32,
) {
    println!("tick {n} at {} ms", start.elapsed().as_millis());
    lp.call_at(start + period * (n + 1), move |lp| {
        tick(lp, start, period, n + 1)
    });
}

const USAGE: &str = "\
usage: event_loop [--port N] [--tick-ms MS] [--max-seconds SECS] [--backend NAME]
  --port N            listen on 127.0.0.1:N (default 0: any free port)
  --tick-ms MS        the timer's period (default 1000)
  --max-seconds SECS  stop after SECS seconds";

struct Args {
    port: u16,
    tick: Duration,
    max: Option<Duration>,
}

fn serve(selector: AnySelector<Handlers>, args: &Args) -> io::Result<()> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, args.port))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let backend = selector.backend();

    let mut lp = EventLoop::new(selector);
    // Announced from the loop's first turn, ahead of any timer.
    lp.call_soon(move |_| println!("listening on {addr}\nbackend: {backend}"));
    let fd = (&listener).fileno();
    lp.add_reader(fd, move |lp| accept(lp, &listener))?;
    let start = Instant::now();
    let period = args.tick;
    lp.call_at(start + period, move |lp| tick(lp, start, period, 1));
    if let Some(max) = args.max {
        lp.call_later(max, |lp| {
            println!("stopping");
            lp.stop();
        });
    }
    lp.run()
}

fn main() {
    let mut cli = cli::Cli::new("event_loop", USAGE);
    let mut args = Args {
        port: 0,
        tick: Duration::from_secs(1),
        max: None,
    };
    while let Some(flag) = cli.next_flag() {
        match flag.as_str() {
            "--port" => args.port = cli.parse(&flag),
            "--tick-ms" => match cli.parse(&flag) {
                0 => cli.usage_error("--tick-ms 0: must be at least 1"),
                ms => args.tick = Duration::from_millis(ms),
            },
            "--max-seconds" => args.max = Some(cli.seconds(&flag)),
            other => cli.unknown(other),
        }
    }
    let result = cli.selector().and_then(|sel| serve(sel, &args));
    cli.finish(result);
}
