//! `IocpSelector`: the engine on an I/O completion port and one AFD poll
//! request per socket, re-sent after each completion so that readiness is
//! level-triggered.

use std::ffi::c_void;
use std::fmt;
use std::io;
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::{Duration, Instant};

use selectors_core::backend::{
    self, Adapter, Collect, Engine, Refused, Sink, Slot, Timeout, Wait, Waited,
};
use selectors_core::{Events, RawFd, SelectorMap, Waker};
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::Networking::WinSock::SOCKET;
use windows_sys::Win32::System::IO::OVERLAPPED_ENTRY;

use crate::afd::{self, Outcome};
use crate::events::{closed, interest, readiness};
use crate::group::Groups;
use crate::port::{Port, PortWake, INFINITE};
use crate::request::{self, Request};
use crate::socket;

/// A selector on an I/O completion port and the AFD driver's poll
/// requests (the technique of wepoll, mio and polling), level-triggered as
/// Python's selectors are: Windows' `DefaultSelector`.
///
/// `select` and `WSAPoll` cost O(registered sockets) per call; this costs
/// O(ready sockets). Each registered socket has one poll request
/// outstanding in the driver, which completes through the port when one of
/// its events holds; `select` dequeues the completions and sends the polls
/// of the sockets it reports again, so a socket that stays readable is
/// reported by every `select` until drained.
///
/// - Only sockets can be registered, as the spec says: a pipe, a file or
///   any other handle is refused at
///   [`register`](selectors_core::Selector::register) with
///   [`Error::Os`](selectors_core::Error::Os) naming it (`WSAENOTSOCK`).
/// - READ and WRITE are merged into one entry per socket and masked by the
///   registration. A reset, an abort, a failed non-blocking connect and
///   the peer's shutdown count as both READ and WRITE (CPython), then
///   masked.
/// - `unregister` and `modify` cancel the socket's outstanding poll; its
///   cancelled completion is consumed, never reported, and no completion
///   ever reaches a later registration of the same socket value.
/// - A socket closed behind the selector's back is dropped silently (the
///   driver completes its poll with "local close"): it is never reported,
///   and `unregister` of it still succeeds.
/// - Its [`waker`](selectors_core::Selector::waker) posts a completion to
///   the port (no socket, no fd): wakes coalesce, and are never reported.
/// - A completion says what held when the poll completed. One that came
///   between two `select`s is reported by the second even if the socket
///   was drained meanwhile, once (a spurious readiness: use non-blocking
///   sockets, as with any selector); one that reports less than the
///   registration asks for is checked with a new poll first.
///
/// `register` costs two Winsock calls (is it a socket, its base handle)
/// and one poll request; `modify` a cancel and a new request; `unregister`
/// a cancel. The AFD device handles are shared by 32 sockets each, as
/// wepoll and mio do.
///
/// Where the AFD device cannot be opened (a sandbox, an emulator without
/// it), [`new`](Engine::new) fails; `AnySelector::new` then falls back to
/// `SelectSelector`.
pub type IocpSelector<T = ()> = Engine<Iocp, T>;

/// The key of poll completions (one key for every device).
const POLL_KEY: usize = 0;
/// The key of the waker's completions.
const WAKE_KEY: usize = 1;
/// Completions dequeued per `GetQueuedCompletionStatusEx` (more are
/// dequeued at once while it fills the buffer).
const BATCH: usize = 256;

/// Where a registration's request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Sent; its completion has not been dequeued.
    Pending,
    /// Completed and reported: sent again by the next `select` (its
    /// `(fd, tag)` is in `Iocp::queue`).
    Queued,
    /// The socket was closed: nothing is sent any more.
    Closed,
}

/// One registration, at its position among the map's keys.
struct Reg {
    /// Its request: owned by this `Reg` unless pending, when the driver
    /// holds it too (see [`Iocp`]'s invariants).
    request: NonNull<Request>,
    state: State,
    /// The socket's base handle, which the poll names.
    base: HANDLE,
    events: Events,
    /// Index of its device in `Iocp::groups`.
    group: usize,
    /// Its poll was sent again to check a partial completion (see
    /// `Iocp::complete`); its next completion is reported as it is.
    rechecked: bool,
}

/// The kernel adapter of [`IocpSelector`]: the port, the AFD devices and
/// one request per registration.
//
// Memory invariants: every request is a `Box<Request>` turned into a raw
// pointer. A request whose poll is pending belongs to the driver until its
// completion is dequeued: it is then either the `request` of a live `Reg`
// in state `Pending`, or an orphan (its registration was removed or
// modified, and the poll cancelled), counted in `orphans` and freed when
// its completion is dequeued. Any other request belongs to its `Reg` and
// is freed with it.
pub struct Iocp {
    port: Arc<Port>,
    groups: Groups,
    /// Parallel to the map's keys (`swap_remove`, as the map).
    regs: Vec<Reg>,
    /// The registrations to send again, by fd and tag: one removed since is
    /// found no more, nor one whose number was registered again.
    queue: Vec<(RawFd, u32)>,
    /// Cancelled requests whose completions are still to come.
    orphans: usize,
    /// Polls sent again by this wait's completions, to check them.
    rechecks: usize,
    entries: Vec<OVERLAPPED_ENTRY>,
}

// SAFETY: the requests are reached only through `&mut Iocp` (the driver
// aside, which does not care which thread waits), and handles are not
// bound to threads; a poll Windows cancels because its thread exited comes
// back `Cancelled` and is sent again.
unsafe impl Send for Iocp {}

impl fmt::Debug for Iocp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iocp")
            .field("port", &self.port)
            .field("devices", &self.groups.len())
            .field("orphans", &self.orphans)
            .finish()
    }
}

impl Iocp {
    /// Sends the poll of the registration at `position`.
    fn submit(&mut self, position: usize) -> io::Result<()> {
        let reg = &mut self.regs[position];
        let request = reg.request.as_ptr();
        // SAFETY: the request is the `Reg`'s and not pending (invariants),
        // so nothing else uses it; it stays boxed, at its address, until
        // its completion is dequeued: the `Reg` keeps it while `Pending`,
        // and removing or modifying it makes it an orphan, freed only then.
        unsafe {
            let poll = std::ptr::addr_of_mut!((*request).poll);
            let context = request as *const c_void;
            self.groups
                .device(reg.group)
                .submit(poll, reg.base, interest(reg.events), context)?;
        }
        reg.state = State::Pending;
        Ok(())
    }

    /// Cancels the pending request of `reg`, which becomes an orphan.
    fn orphan(&mut self, request: NonNull<Request>, group: usize) {
        // SAFETY: the request was sent on this group's device.
        unsafe {
            let poll = std::ptr::addr_of_mut!((*request.as_ptr()).poll);
            self.groups.device(group).cancel(poll);
        }
        self.orphans += 1;
    }

    /// Sends again the polls of the registrations the last `select`
    /// reported. One that the driver refuses is reported as READ and WRITE
    /// (an error the socket's next call will show) and tried again by the
    /// next `select`; one whose socket was closed is dropped.
    fn resubmit<T, C: Collect<T>>(&mut self, sink: &mut Sink<'_, T, C>) {
        let map = sink.registrations();
        let mut i = 0;
        while i < self.queue.len() {
            let (fd, tag) = self.queue[i];
            let position = match backend::slot_tagged(map, fd, tag).map(|s| s.position) {
                Some(p) if self.regs[p].state == State::Queued => p,
                // Unregistered since, or sent by a modify.
                _ => {
                    self.queue.swap_remove(i);
                    continue;
                }
            };
            match self.submit(position) {
                Ok(()) => {
                    self.queue.swap_remove(i);
                }
                Err(e) if closed(&e) => {
                    self.regs[position].state = State::Closed;
                    self.queue.swap_remove(i);
                }
                Err(_) => {
                    sink.at(position, backend::readiness(true, true, true));
                    i += 1;
                }
            }
        }
    }

    /// Handles one dequeued completion.
    fn complete<T, C: Collect<T>>(&mut self, entry: &OVERLAPPED_ENTRY, sink: &mut Sink<'_, T, C>) {
        if entry.lpCompletionKey == WAKE_KEY {
            sink.woken();
            return;
        }
        let request = match NonNull::new(entry.lpOverlapped.cast::<Request>()) {
            Some(request) => request,
            None => return,
        };
        // SAFETY: the completion of `request` was dequeued: the driver is
        // done with it, and it is still allocated (a live `Reg`'s, or an
        // orphan, freed only here).
        let (fd, tag, outcome) = unsafe {
            let r = request.as_ref();
            (r.fd, r.tag, r.poll.outcome())
        };
        let live = backend::slot_tagged(sink.registrations(), fd, tag)
            .map(|slot| slot.position)
            .filter(|&p| self.regs[p].request == request);
        let position = match live {
            Some(p) if self.regs[p].state == State::Pending => p,
            // A live request that was not pending: no such completion is
            // ever queued (an error at once queues none); never free it.
            Some(_) => return,
            None => {
                // An orphan: cancelled by unregister or modify; consumed.
                self.orphans -= 1;
                // SAFETY: its completion is dequeued and nothing else holds
                // it (invariants): freed once, here.
                unsafe { request::free(request) };
                return;
            }
        };
        let readiness = match outcome {
            Outcome::Events(bits) if bits & afd::POLL_LOCAL_CLOSE != 0 => {
                self.regs[position].state = State::Closed;
                return;
            }
            Outcome::Events(bits) => readiness(bits),
            Outcome::Failed(code) if closed(&io::Error::from_raw_os_error(code)) => {
                self.regs[position].state = State::Closed;
                return;
            }
            Outcome::Failed(_) => backend::readiness(true, true, true),
            // Not by us (a live request): Windows cancels a thread's I/O
            // when it exits. Nothing to report: ask again now, so that this
            // wait keeps watching it.
            Outcome::Cancelled if self.submit(position).is_ok() => return,
            Outcome::Cancelled => Events::EMPTY,
        };
        // A completion tells what held when the poll completed, which may
        // be long before this select: a socket registered for READ and
        // WRITE whose poll completed writable may be readable by now. A
        // partial one is checked with a new poll, which completes at once
        // (before this wait looks again) with what holds now, or stays
        // pending if nothing does any more; that one is reported as it is.
        let reg = &mut self.regs[position];
        let wanted = reg.events;
        if !readiness.is_empty() && readiness & wanted != wanted && !reg.rechecked {
            reg.rechecked = true;
            if self.submit(position).is_ok() {
                self.rechecks += 1;
                return;
            }
        }
        let reg = &mut self.regs[position];
        reg.rechecked = false;
        if !readiness.is_empty() {
            sink.at(position, readiness);
        }
        reg.state = State::Queued;
        self.queue.push((fd, tag));
    }
}

/// `register` finds the socket's base handle and sends its poll; `modify`
/// cancels it and sends a new one; `unregister` cancels it. `select` sends
/// again the polls it reported last time, then dequeues completions.
impl Adapter for Iocp {
    const NAME: &'static str = "IocpSelector";

    /// Creates the port; the first AFD device too, so that a system
    /// without one (or that refuses it) fails here, where `AnySelector`
    /// can fall back.
    fn open() -> io::Result<Self> {
        let mut iocp = Iocp {
            port: Arc::new(Port::new()?),
            groups: Groups::default(),
            regs: Vec::new(),
            queue: Vec::new(),
            orphans: 0,
            rechecks: 0,
            entries: Vec::new(),
        };
        let group = iocp.groups.take(&iocp.port, POLL_KEY)?;
        iocp.groups.release(group);
        iocp.entries.resize_with(BATCH, OVERLAPPED_ENTRY::default);
        Ok(iocp)
    }

    fn add(&mut self, slot: Slot, events: Events) -> Result<(), Refused> {
        debug_assert_eq!(slot.position, self.regs.len());
        let fd = slot.fd as SOCKET;
        socket::check(fd).map_err(|e| Refused::new("register (Windows polls sockets only)", e))?;
        let base =
            socket::base_handle(fd).map_err(|e| Refused::new("WSAIoctl(SIO_BASE_HANDLE)", e))?;
        let group = self
            .groups
            .take(&self.port, POLL_KEY)
            .map_err(|e| Refused::new("NtCreateFile(\\Device\\Afd)", e))?;
        backend::reserve_lean(&mut self.regs, slot.position + 1);
        self.regs.push(Reg {
            request: Request::new(slot),
            state: State::Queued,
            base,
            events,
            group,
            rechecked: false,
        });
        if let Err(e) = self.submit(slot.position) {
            let reg = self.regs.pop().expect("just pushed");
            self.groups.release(group);
            // SAFETY: it was never sent.
            unsafe { request::free(reg.request) };
            return Err(Refused::new("NtDeviceIoControlFile(IOCTL_AFD_POLL)", e));
        }
        Ok(())
    }

    /// A pending poll is cancelled (an orphan until its completion) and a
    /// new one sent for `new`; one reported by the last `select` is sent
    /// now, with `new`.
    fn modify(&mut self, slot: Slot, _: Events, new: Events) -> Result<(), Refused> {
        let reg = &mut self.regs[slot.position];
        reg.events = new;
        reg.rechecked = false;
        if reg.state == State::Pending {
            let (old, group) = (reg.request, reg.group);
            reg.request = Request::new(slot);
            reg.state = State::Queued;
            self.orphan(old, group);
        }
        // A closed socket fails here (the engine then unregisters it).
        self.submit(slot.position)
            .map_err(|e| Refused::new("NtDeviceIoControlFile(IOCTL_AFD_POLL)", e))
    }

    /// Never fails: a pending poll is cancelled, and its completion
    /// consumed by a later `select` (or the drop).
    fn delete(&mut self, slot: Slot, _: Events) -> Result<(), Refused> {
        let reg = self.regs.swap_remove(slot.position);
        self.groups.release(reg.group);
        match reg.state {
            State::Pending => self.orphan(reg.request, reg.group),
            // SAFETY: not pending: the `Reg`'s own, and dropped with it.
            _ => unsafe { request::free(reg.request) },
        }
        Ok(())
    }

    /// Sends again what the last `select` reported, then dequeues
    /// completions until one is reported, the waker's comes, or the time
    /// is up: completions that report nothing (cancelled polls, closed
    /// sockets) do not end a wait early.
    #[inline]
    fn wait<T, C: Collect<T>>(&mut self, timeout: Timeout, sink: &mut Sink<'_, T, C>) -> Wait {
        if !self.queue.is_empty() {
            self.resubmit(sink);
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut millis = match timeout {
            _ if sink.found() => 0,
            None => INFINITE,
            Some(t) => millis_round_up(t),
        };
        loop {
            let n = self
                .port
                .dequeue(&mut self.entries, millis)
                .map_err(|e| Refused::new("GetQueuedCompletionStatusEx", e))?;
            self.rechecks = 0;
            for i in 0..n {
                let entry = self.entries[i];
                self.complete(&entry, sink);
            }
            // A full batch: more may be queued; rechecks: their answers.
            if n == self.entries.len() || self.rechecks > 0 {
                millis = 0;
                continue;
            }
            if sink.found() {
                return Ok(Waited::Something);
            }
            millis = match deadline {
                None => INFINITE,
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => millis_round_up(left),
                    _ => return Ok(Waited::Nothing),
                },
            };
        }
    }

    fn install_waker<T>(&mut self, _: &SelectorMap<T>) -> io::Result<(Waker, Option<RawFd>)> {
        let wake = PortWake::new(Arc::clone(&self.port), WAKE_KEY);
        Ok((backend::waker(Arc::new(wake)), None))
    }

    fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.regs.capacity() * size_of::<Reg>()
            + (self.regs.len() + self.orphans) * size_of::<Request>()
            + self.queue.capacity() * size_of::<(RawFd, u32)>()
            + self.entries.capacity() * size_of::<OVERLAPPED_ENTRY>()
            + self.groups.heap_bytes()
    }

    fn fmt_fields<T>(&self, _: &SelectorMap<T>, d: &mut fmt::DebugStruct<'_, '_>) {
        d.field("devices", &self.groups.len());
    }
}

/// Whole milliseconds, rounded up (never 0 for a positive time: no busy
/// loop), at most `i32::MAX` (about 24.8 days): `wait` then waits again
/// for what is left.
fn millis_round_up(t: Duration) -> u32 {
    // Never negative for a time.
    backend::millis_round_up(Some(t)) as u32
}

/// Cancels every pending poll and waits for the completions, so that no
/// request is freed while the driver may still write it. A completion that
/// never comes (none should: a cancelled poll completes at once) leaks its
/// request rather than risk that.
impl Drop for Iocp {
    fn drop(&mut self) {
        let mut waiting = self.orphans;
        for i in 0..self.regs.len() {
            let (request, state, group) = {
                let reg = &self.regs[i];
                (reg.request, reg.state, reg.group)
            };
            if state == State::Pending {
                self.orphan(request, group);
                waiting += 1;
            } else {
                // SAFETY: not pending: the `Reg`'s own.
                unsafe { request::free(request) };
            }
        }
        self.regs.clear();
        // Every request still to complete is now an orphan.
        while waiting > 0 {
            let n = match self.port.dequeue(&mut self.entries, 1_000) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            for entry in &self.entries[..n] {
                let request = NonNull::new(entry.lpOverlapped.cast());
                if let (POLL_KEY, Some(request)) = (entry.lpCompletionKey, request) {
                    // SAFETY: a dequeued completion of an orphan, the only
                    // requests left: freed once, here.
                    unsafe { request::free(request) };
                    waiting -= 1;
                }
            }
        }
    }
}

#[cfg(test)]
impl Iocp {
    /// Cancelled requests whose completions have not been dequeued.
    pub(crate) fn orphans(&self) -> usize {
        self.orphans
    }

    /// Whether the registration at `position` was dropped as closed.
    pub(crate) fn is_closed(&self, position: usize) -> bool {
        self.regs[position].state == State::Closed
    }

    /// How many AFD device handles are open.
    pub(crate) fn devices(&self) -> usize {
        self.groups.len()
    }
}
