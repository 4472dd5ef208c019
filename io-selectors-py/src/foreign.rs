//! A Python-level poller plugged in as `_selector_cls`.
//!
//! CPython's `PollSelector` and `EpollSelector` create their kernel object
//! with `self._selector_cls()` (`select.poll`, `select.epoll`), and call its
//! `register(fd, mask)`, `modify(fd, mask)`, `unregister(fd)` and `poll(...)`.
//! A subclass (or `unittest.mock.patch`, as CPython's own test_selectors
//! does) may replace that class. When it is the standard one, the selector
//! runs on the Rust backend; when it is anything else, the selector drives
//! that object instead, through the same calls CPython makes, so the
//! replacement sees what it would see under CPython. This is the slow path:
//! Python calls, and a registration table of its own.

use std::collections::HashMap;
use std::os::unix::io::RawFd;

use io_selectors::Events;
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;

use crate::keys::Slot;
use crate::timeout::Wait;

/// `select.POLLIN` and `select.EPOLLIN`.
const IN: u32 = 0x001;
/// `select.POLLOUT` and `select.EPOLLOUT`.
const OUT: u32 = 0x004;

/// A poller object of the `select.poll` / `select.epoll` protocol.
pub(crate) struct Foreign {
    poller: Py<PyAny>,
    /// `select.epoll`'s `poll(timeout_seconds, maxevents)`, rather than
    /// `select.poll`'s `poll(timeout_milliseconds)`.
    epoll: bool,
    regs: HashMap<RawFd, (Slot, Events)>,
}

impl Foreign {
    /// `_selector_cls()`.
    pub(crate) fn new(class: &Bound<'_, PyAny>, epoll: bool) -> PyResult<Foreign> {
        Ok(Foreign {
            poller: class.call0()?.unbind(),
            epoll,
            regs: HashMap::new(),
        })
    }

    /// The poller object, for the garbage collector and `fileno()`.
    pub(crate) fn poller(&self) -> &Py<PyAny> {
        &self.poller
    }

    pub(crate) fn get(&self, fd: RawFd) -> Option<(Slot, Events)> {
        self.regs.get(&fd).copied()
    }

    /// `poller.register(fd, mask)`; on any exception nothing is registered.
    pub(crate) fn register(
        &mut self,
        py: Python<'_>,
        fd: RawFd,
        reg: (Slot, Events),
    ) -> PyResult<()> {
        self.set(py, "register", fd, reg)
    }

    /// `poller.modify(fd, mask)`; on any exception the fd is unregistered
    /// (CPython's bpo-30014), which the caller sees as `get(fd) == None`.
    pub(crate) fn modify(
        &mut self,
        py: Python<'_>,
        fd: RawFd,
        reg: (Slot, Events),
    ) -> PyResult<()> {
        self.set(py, "modify", fd, reg).inspect_err(|_| {
            self.regs.remove(&fd);
        })
    }

    /// `poller.<method>(fd, mask)`, then records the registration.
    fn set(
        &mut self,
        py: Python<'_>,
        method: &str,
        fd: RawFd,
        reg: (Slot, Events),
    ) -> PyResult<()> {
        self.poller.call_method1(py, method, (fd, mask(reg.1)))?;
        self.regs.insert(fd, reg);
        Ok(())
    }

    /// Forgets `fd` and calls `poller.unregister(fd)`, ignoring OSError (the
    /// fd may have been closed since); other exceptions propagate, with
    /// the fd forgotten all the same, as in CPython.
    pub(crate) fn unregister(&mut self, py: Python<'_>, fd: RawFd) -> PyResult<()> {
        self.regs.remove(&fd);
        match self.poller.call_method1(py, "unregister", (fd,)) {
            Err(e) if !e.is_instance_of::<PyOSError>(py) => Err(e),
            _ => Ok(()),
        }
    }

    /// `poller.poll(...)` once (the poller retries after signals itself),
    /// as `(slot, events)` pairs masked by each registration's events.
    pub(crate) fn poll(&self, py: Python<'_>, wait: Wait) -> PyResult<Vec<(Slot, Events)>> {
        let timeout = wait.next().unwrap_or(Some(Default::default()));
        let polled = if self.epoll {
            let secs = timeout.map_or(-1.0, |t| round_up_ms(t) as f64 * 1e-3);
            self.poller
                .call_method1(py, "poll", (secs, self.regs.len().max(1)))?
        } else {
            let ms = timeout.map(round_up_ms);
            self.poller.call_method1(py, "poll", (ms,))?
        };
        let mut ready = Vec::new();
        for item in polled.bind(py).try_iter()? {
            let (fd, event): (RawFd, u32) = item?.extract()?;
            let mut events = Events::EMPTY;
            if event & !IN != 0 {
                events |= Events::WRITE;
            }
            if event & !OUT != 0 {
                events |= Events::READ;
            }
            if let Some(&(slot, registered)) = self.regs.get(&fd) {
                ready.push((slot, events & registered));
            }
        }
        Ok(ready)
    }

    pub(crate) fn clear(&mut self) {
        self.regs.clear();
    }
}

/// CPython's `math.ceil(timeout * 1e3)`: wait at least the timeout.
fn round_up_ms(timeout: std::time::Duration) -> u64 {
    let ms = timeout.as_millis();
    let ms = if timeout.as_nanos() % 1_000_000 != 0 {
        ms + 1
    } else {
        ms
    };
    u64::try_from(ms).unwrap_or(u64::MAX)
}

/// EVENT_READ / EVENT_WRITE as POLLIN / POLLOUT (equal to EPOLLIN /
/// EPOLLOUT on every platform that has epoll).
fn mask(events: Events) -> u32 {
    let mut mask = 0;
    if events.contains(Events::READ) {
        mask |= IN;
    }
    if events.contains(Events::WRITE) {
        mask |= OUT;
    }
    mask
}
