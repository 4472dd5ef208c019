//! The selector classes: `_BaseSelectorImpl`, which holds a Rust selector
//! and does all the work, and one thin subclass per backend.
//!
//! CPython's hierarchy is `EpollSelector -> _PollLikeSelector ->
//! _BaseSelectorImpl -> BaseSelector`; here the concrete classes extend a
//! native `_BaseSelectorImpl` and are registered as virtual subclasses of
//! the standard library's `BaseSelector` ABC (see `lib.rs`).
//!
//! Borrowing: every method borrows the Rust state only while no Python code
//! can run (`fileno()`, `__ne__`, `repr()` and signal handlers run with no
//! borrow held), so a handler may use the selector. `select` keeps its
//! mutable borrow while it waits with the GIL released: another thread
//! using the same selector meanwhile gets a RuntimeError that says so.

use std::os::unix::io::RawFd;
use std::time::Duration;

use io_selectors::{AnySelector, Backend, Events, Ready, Selector};
use pyo3::exceptions::{PyKeyError, PyRuntimeError, PyValueError};
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyTuple, PyType};
use pyo3::{intern, PyTraverseError};

use crate::errors::{os_error, selector_error};
use crate::fileobj::{fileobj_to_fd, Fd};
use crate::foreign::Foreign;
use crate::keys::{field, new_key, KeyTable, Slot};
use crate::mapping::SelectorMapping;
use crate::timeout::Wait;

/// Which class a selector is: what it runs on and how it closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Select,
    Poll,
    Epoll,
    Kqueue,
}

impl Kind {
    fn backend(self) -> Backend {
        match self {
            Kind::Select => Backend::Select,
            Kind::Poll => Backend::Poll,
            Kind::Epoll => Backend::Epoll,
            Kind::Kqueue => Backend::Kqueue,
        }
    }

    /// CPython's SelectSelector and PollSelector hold no kernel object:
    /// `close()` only forgets the registrations and they go on working.
    /// EpollSelector and KqueueSelector close their kernel object, and then
    /// raise the ValueError of `select.epoll` / `select.kqueue`.
    fn usable_after_close(self) -> bool {
        matches!(self, Kind::Select | Kind::Poll)
    }

    fn closed_error(self) -> PyErr {
        let object = if self == Kind::Kqueue {
            "kqueue"
        } else {
            "epoll"
        };
        PyValueError::new_err(format!("I/O operation on closed {object} object"))
    }

    /// The class attribute `_selector_cls` of a poll-like selector.
    fn standard_class(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let class = self.standard_poller(py)?.expect("a poll-like kind");
        Ok(class.clone().unbind())
    }

    /// The `_selector_cls` CPython's poll-like selectors create their kernel
    /// object with; `None` for the others.
    fn standard_poller(self, py: Python<'_>) -> PyResult<Option<&Bound<'_, PyAny>>> {
        static POLL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        static EPOLL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        Ok(Some(match self {
            Kind::Poll => POLL.import(py, "select", "poll")?,
            Kind::Epoll => EPOLL.import(py, "select", "epoll")?,
            Kind::Select | Kind::Kqueue => return Ok(None),
        }))
    }
}

/// What the registrations are kept in.
// One per selector, held in place and never moved in bulk: boxing the
// large native variant would only add a pointer chase to every call.
#[allow(clippy::large_enum_variant)]
enum Poller {
    /// The Rust backend: the normal case.
    Native(AnySelector<Slot>),
    /// A replacement `_selector_cls` (see `foreign.rs`).
    Foreign(Foreign),
    /// After `close()` of an epoll or kqueue selector.
    Closed,
}

impl Poller {
    fn native(kind: Kind, py: Python<'_>) -> PyResult<Poller> {
        AnySelector::with_backend(kind.backend())
            .map(Poller::Native)
            .map_err(|e| os_error(py, e))
    }

    /// The slot and events of `fd`'s registration.
    #[inline]
    fn get(&self, fd: Option<RawFd>) -> Option<(Slot, Events)> {
        let fd = fd?;
        match self {
            Poller::Native(sel) => sel.get_map().get(fd).map(|key| (key.data, key.events)),
            Poller::Foreign(foreign) => foreign.get(fd),
            Poller::Closed => None,
        }
    }
}

/// The base of the selector classes: a Rust selector whose data is a
/// [`Slot`] into the table of the Python `SelectorKey`s.
#[pyclass(
    subclass,
    dict,
    weakref,
    module = "io_selectors",
    name = "_BaseSelectorImpl"
)]
pub(crate) struct BaseSelectorImpl {
    kind: Kind,
    poller: Poller,
    keys: KeyTable,
    /// `select`'s buffer, reused so that a steady-state select allocates
    /// nothing on the Rust side.
    ready: Vec<Ready<Slot>>,
    /// `get_map()`'s object, made on first use (it refers back to the
    /// selector: a cycle the garbage collector sees through `__traverse__`).
    mapping: Option<Py<SelectorMapping>>,
    /// After `close()`: `get_map()` is None and `get_key` raises
    /// RuntimeError, as in CPython (which sets `_map = None`).
    closed: bool,
}

/// The exception for a selector used while another thread waits in its
/// `select()` (or, from a finalizer, while it builds its result).
fn busy() -> PyErr {
    PyRuntimeError::new_err(
        "the selector is busy: another thread is using it (e.g. waiting in its select())",
    )
}

fn not_registered(fileobj: &Bound<'_, PyAny>) -> PyErr {
    match fileobj.repr() {
        Ok(repr) => PyKeyError::new_err(format!("{repr} is not registered")),
        Err(e) => e,
    }
}

/// CPython's check: `not events or events & ~(EVENT_READ | EVENT_WRITE)` is
/// ValueError. A non-int goes through `__index__` (TypeError if it has none).
fn parse_events(events: &Bound<'_, PyAny>) -> PyResult<Events> {
    let invalid = || match events.repr() {
        Ok(repr) => PyValueError::new_err(format!("Invalid events: {repr}")),
        Err(e) => e,
    };
    let bits: i64 = match events.extract() {
        Ok(bits) => bits,
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyOverflowError>(events.py()) => {
            return Err(invalid())
        }
        Err(e) => return Err(e),
    };
    u32::try_from(bits)
        .ok()
        .filter(|&bits| bits != 0)
        .and_then(Events::from_bits)
        .ok_or_else(invalid)
}

impl BaseSelectorImpl {
    /// A selector of `kind` for (a subclass) `cls`: on the Rust backend,
    /// unless `cls._selector_cls` was replaced.
    pub(crate) fn create(cls: &Bound<'_, PyType>, kind: Kind) -> PyResult<BaseSelectorImpl> {
        let py = cls.py();
        let poller = match kind.standard_poller(py)? {
            Some(standard) => {
                let class = cls.getattr(intern!(py, "_selector_cls"))?;
                if class.is(standard) {
                    Poller::native(kind, py)?
                } else {
                    Poller::Foreign(Foreign::new(&class, kind == Kind::Epoll)?)
                }
            }
            None => Poller::native(kind, py)?,
        };
        Ok(BaseSelectorImpl {
            kind,
            poller,
            keys: KeyTable::default(),
            ready: Vec::new(),
            mapping: None,
            closed: false,
        })
    }

    fn state<'py>(slf: &Bound<'py, Self>) -> PyResult<PyRef<'py, Self>> {
        slf.try_borrow().map_err(|_| busy())
    }

    fn state_mut<'py>(slf: &Bound<'py, Self>) -> PyResult<PyRefMut<'py, Self>> {
        slf.try_borrow_mut().map_err(|_| busy())
    }

    /// CPython's `_fileobj_lookup`: the fd of `fileobj`, or, if it has none
    /// any more (a closed socket's `fileno()` is -1), the fd it was
    /// registered with, found by identity among the keys.
    fn lookup<'py>(slf: &Bound<'py, Self>, fileobj: &Bound<'py, PyAny>) -> PyResult<Fd<'py>> {
        let py = slf.py();
        match fileobj_to_fd(fileobj) {
            Err(e) if e.is_instance_of::<PyValueError>(py) => {
                let state = Self::state(slf)?;
                for key in state.keys.iter() {
                    let key = key.bind(py);
                    if field(key, 0).is(fileobj) {
                        let fd = field(key, 1);
                        return Ok(Fd {
                            raw: fd.extract().ok(),
                            obj: fd,
                        });
                    }
                }
                Err(e)
            }
            found => found,
        }
    }

    /// The key registered for `fd`.
    fn key_of<'py>(&self, py: Python<'py>, fd: Option<RawFd>) -> Option<Bound<'py, PyTuple>> {
        let (slot, _) = self.poller.get(fd)?;
        Some(self.keys.get(slot)?.bind(py).clone())
    }

    /// Registers `fd` for `key`; `Ok(false)` if it is registered already.
    fn insert(
        &mut self,
        py: Python<'_>,
        fd: &Fd<'_>,
        events: Events,
        key: &Bound<'_, PyTuple>,
    ) -> PyResult<bool> {
        let raw = fd.raw_or_overflow()?;
        if self.poller.get(Some(raw)).is_some() {
            return Ok(false);
        }
        let slot = self.keys.insert(key.clone().unbind());
        let done = match &mut self.poller {
            Poller::Native(sel) => sel
                .register(raw, events, slot)
                .map(drop)
                .map_err(|e| selector_error(py, e)),
            Poller::Foreign(foreign) => foreign.register(py, raw, (slot, events)),
            Poller::Closed => Err(self.kind.closed_error()),
        };
        if done.is_err() {
            self.keys.remove(slot);
        }
        done.map(|()| true)
    }

    /// Unregisters `fd`, handing its key back; `None` if not registered.
    fn remove(&mut self, py: Python<'_>, fd: Option<RawFd>) -> PyResult<Option<Py<PyTuple>>> {
        let Some((slot, _)) = self.poller.get(fd) else {
            return Ok(None);
        };
        let fd = fd.expect("registered, so an fd");
        let key = self.keys.remove(slot);
        match &mut self.poller {
            // Only NotRegistered or InvalidFd, both ruled out above; the
            // kernel's complaint about a closed fd is swallowed, as CPython.
            Poller::Native(sel) => {
                sel.unregister(fd).map_err(|e| selector_error(py, e))?;
            }
            Poller::Foreign(foreign) => foreign.unregister(py, fd)?,
            Poller::Closed => {}
        }
        Ok(key)
    }

    /// Changes `fd`'s events; on an OS error the fd ends up unregistered
    /// (CPython's bpo-30014), and its key is dropped too.
    fn change(&mut self, py: Python<'_>, fd: RawFd, events: Events, slot: Slot) -> PyResult<()> {
        let done = match &mut self.poller {
            Poller::Native(sel) => sel
                .modify(fd, events, slot)
                .map(drop)
                .map_err(|e| selector_error(py, e)),
            Poller::Foreign(foreign) => foreign.modify(py, fd, (slot, events)),
            Poller::Closed => Err(self.kind.closed_error()),
        };
        if done.is_err() && self.poller.get(Some(fd)).is_none() {
            self.keys.remove(slot);
        }
        done
    }

    /// The `(key, events)` list for what the backend reported.
    fn ready_list<'py>(
        &self,
        py: Python<'py>,
        ready: impl ExactSizeIterator<Item = (Slot, Events)>,
    ) -> PyResult<Bound<'py, PyList>> {
        let pairs = ready.map(|(slot, events)| {
            // Every slot the poller holds has its key (both are emptied
            // together, by close and by the garbage collector).
            let key = self.keys.get(slot).expect("a registration's key");
            PyTuple::new(py, [key.bind(py).as_any(), &events_int(py, events)])
                .expect("a tuple of two")
        });
        PyList::new(py, pairs)
    }

    /// `_fd_to_key`'s length, for the mapping.
    pub(crate) fn map_len(slf: &Bound<'_, Self>) -> PyResult<usize> {
        Ok(Self::state(slf)?.keys.len())
    }

    /// Every registered fd, as the keys hold them, for the mapping.
    pub(crate) fn map_fds<'py>(slf: &Bound<'py, Self>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let py = slf.py();
        let state = Self::state(slf)?;
        Ok(state
            .keys
            .iter()
            .map(|key| field(key.bind(py), 1))
            .collect())
    }

    /// `mapping[fileobj]`: the key, or KeyError (ValueError from the
    /// lookup passes, as in CPython).
    pub(crate) fn map_get<'py>(
        slf: &Bound<'py, Self>,
        fileobj: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let fd = Self::lookup(slf, fileobj)?;
        let key = Self::state(slf)?.key_of(slf.py(), fd.raw);
        key.ok_or_else(|| not_registered(fileobj))
    }

    /// `fileno()` of EpollSelector and KqueueSelector: the kernel object.
    fn kernel_fd(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let state = Self::state(slf)?;
        match &state.poller {
            Poller::Native(sel) => native_fd(sel)
                .map(|fd| fd.into_pyobject(py).expect("an int").into_any().unbind())
                .ok_or_else(|| state.kind.closed_error()),
            Poller::Foreign(foreign) => {
                let poller = foreign.poller().clone_ref(py);
                drop(state);
                poller.call_method0(py, "fileno")
            }
            Poller::Closed => Err(state.kind.closed_error()),
        }
    }
}

/// `events` as a Python int (0 to 3: the interpreter's cached small ints).
#[inline]
fn events_int(py: Python<'_>, events: Events) -> Bound<'_, PyAny> {
    events.bits().into_pyobject(py).expect("an int").into_any()
}

/// The fd of the kernel object behind `sel`, where there is one.
fn native_fd(sel: &AnySelector<Slot>) -> Option<RawFd> {
    #[allow(unused_imports)]
    use std::os::unix::io::AsRawFd;
    // The variants exist where io-selectors compiles the backend: these are
    // its target lists for epoll and kqueue (io-selectors/build.rs).
    #[allow(unreachable_patterns)]
    match sel {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        AnySelector::Epoll(sel) => Some(sel.as_raw_fd()),
        #[cfg(any(
            target_vendor = "apple",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly"
        ))]
        AnySelector::Kqueue(sel) => Some(sel.as_raw_fd()),
        _ => None,
    }
}

#[pymethods]
impl BaseSelectorImpl {
    /// Register a file object for `events` (EVENT_READ | EVENT_WRITE) with
    /// optional `data`; return its SelectorKey.
    ///
    /// ValueError if events is invalid, KeyError if the fd is registered
    /// already (through any object), OSError if the kernel refuses it.
    #[pyo3(signature = (fileobj, events, data = None))]
    fn register<'py>(
        slf: &Bound<'py, Self>,
        fileobj: &Bound<'py, PyAny>,
        events: &Bound<'py, PyAny>,
        data: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let parsed = parse_events(events)?;
        let fd = Self::lookup(slf, fileobj)?;
        let none = py.None().into_bound(py);
        let key = new_key(py, fileobj, &fd.obj, events, data.unwrap_or(&none))?;
        let fresh = Self::state_mut(slf)?.insert(py, &fd, parsed, &key)?;
        if !fresh {
            return Err(PyKeyError::new_err(format!(
                "{} (FD {}) is already registered",
                fileobj.repr()?,
                fd.obj.str()?
            )));
        }
        Ok(key)
    }

    /// Unregister a file object and return its SelectorKey; KeyError if it
    /// is not registered. A registered fd closed since is no error.
    fn unregister<'py>(
        slf: &Bound<'py, Self>,
        fileobj: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let fd = Self::lookup(slf, fileobj)?;
        let key = Self::state_mut(slf)?.remove(py, fd.raw)?;
        key.map(|key| key.into_bound(py))
            .ok_or_else(|| not_registered(fileobj))
    }

    /// Change a registered file object's events or data; return the new
    /// SelectorKey (the same one if nothing changed). One system call at
    /// most, none if the events are unchanged; `register` and `unregister`
    /// are not called. If the kernel refuses the change, the file object
    /// is unregistered and the OSError raised.
    #[pyo3(signature = (fileobj, events, data = None))]
    fn modify<'py>(
        slf: &Bound<'py, Self>,
        fileobj: &Bound<'py, PyAny>,
        events: &Bound<'py, PyAny>,
        data: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let fd = Self::lookup(slf, fileobj)?;
        let (slot, registered, key) = {
            let state = Self::state(slf)?;
            let found = state.poller.get(fd.raw).and_then(|(slot, registered)| {
                Some((slot, registered, state.keys.get(slot)?.bind(py).clone()))
            });
            found.ok_or_else(|| not_registered(fileobj))?
        };
        let parsed = parse_events(events)?;
        let none = py.None().into_bound(py);
        let data = data.unwrap_or(&none);
        // Python code (`__index__`, `__ne__`) runs before anything changes.
        let new_events = parsed != registered;
        if !new_events && !data.ne(field(&key, 3))? {
            return Ok(key);
        }
        let new = new_key(py, &field(&key, 0), &field(&key, 1), events, data)?;
        let mut state = Self::state_mut(slf)?;
        let raw = fd.raw.expect("registered, so an fd");
        // The Python code above may have unregistered or replaced it.
        if state.poller.get(Some(raw)) != Some((slot, registered)) {
            drop(state);
            return Err(not_registered(fileobj));
        }
        if new_events {
            state.change(py, raw, parsed, slot)?;
        }
        state.keys.replace(slot, new.clone().unbind());
        Ok(new)
    }

    /// Wait until some registered file objects are ready, or the timeout
    /// expires; return a list of (key, events).
    ///
    /// timeout None blocks, <= 0 polls, > 0 waits at most that many
    /// seconds (at least, if nothing is ready). The GIL is released while
    /// waiting. A signal runs its handler: if it raises, the exception
    /// propagates; if not, the wait goes on for what is left (PEP 475).
    #[pyo3(signature = (timeout = None))]
    fn select<'py>(
        slf: &Bound<'py, Self>,
        timeout: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let py = slf.py();
        let kind = Self::state(slf)?.kind;
        let wait = Wait::new(timeout, matches!(kind, Kind::Select | Kind::Kqueue))?;
        loop {
            let Some(timeout) = wait.next() else {
                return Ok(PyList::empty(py));
            };
            {
                let mut guard = Self::state_mut(slf)?;
                let state = &mut *guard;
                match &mut state.poller {
                    Poller::Native(sel) => {
                        let ready = &mut state.ready;
                        // A zero timeout cannot block: keeping the GIL
                        // saves releasing and taking it back.
                        let n = if timeout == Some(Duration::ZERO) {
                            sel.select_into(timeout, ready)
                        } else {
                            py.detach(|| sel.select_into(timeout, ready))
                        }
                        .map_err(|e| selector_error(py, e))?;
                        if n > 0 {
                            let ready = state.ready.iter().map(|(key, ev)| (key.data, *ev));
                            return state.ready_list(py, ready);
                        }
                    }
                    Poller::Foreign(foreign) => {
                        let ready = foreign.poll(py, wait)?;
                        return state.ready_list(py, ready.into_iter());
                    }
                    Poller::Closed => return Err(state.kind.closed_error()),
                }
            }
            // Nothing ready: a timeout, or a signal interrupted the wait.
            // Its Python handler runs now, with no borrow held.
            py.check_signals()?;
            if !wait.retries() {
                return Ok(PyList::empty(py));
            }
        }
    }

    /// Close the selector: forget every registration (and drop the keys'
    /// references); epoll and kqueue close their kernel object.
    fn close(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let mut state = Self::state_mut(slf)?;
        state.closed = true;
        let keys = std::mem::take(&mut state.keys);
        let old = std::mem::replace(&mut state.poller, Poller::Closed);
        let kind = state.kind;
        let closing = match old {
            Poller::Native(sel) if kind.usable_after_close() => {
                state.poller = Poller::native(kind, py)?;
                Some(Poller::Native(sel))
            }
            Poller::Foreign(mut foreign) if kind.usable_after_close() => {
                foreign.clear();
                state.poller = Poller::Foreign(foreign);
                None
            }
            other => Some(other),
        };
        // Keys (and whatever their data's finalizers do) go with no borrow held.
        drop(state);
        drop(keys);
        match closing {
            Some(Poller::Native(sel)) => sel.close().map_err(|e| os_error(py, e)),
            Some(Poller::Foreign(foreign)) => {
                foreign.poller().call_method0(py, "close")?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The SelectorKey of a registered file object; KeyError if it is not
    /// registered, RuntimeError if the selector is closed.
    fn get_key<'py>(
        slf: &Bound<'py, Self>,
        fileobj: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        if Self::state(slf)?.closed {
            return Err(PyRuntimeError::new_err("Selector is closed"));
        }
        Self::map_get(slf, fileobj)
    }

    /// A live read-only mapping of file objects to keys; None once closed.
    fn get_map(slf: &Bound<'_, Self>) -> PyResult<Option<Py<SelectorMapping>>> {
        let py = slf.py();
        let mut state = Self::state_mut(slf)?;
        if state.closed {
            return Ok(None);
        }
        if state.mapping.is_none() {
            state.mapping = Some(Py::new(py, SelectorMapping::new(slf.clone().unbind()))?);
        }
        Ok(state.mapping.as_ref().map(|m| m.clone_ref(py)))
    }

    /// CPython's private `_map` (what `get_map()` returns), which CPython's
    /// own test_modify_unregister reads; see README.md.
    #[getter]
    fn _map(slf: &Bound<'_, Self>) -> PyResult<Option<Py<SelectorMapping>>> {
        Self::get_map(slf)
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Calls `self.close()`, as CPython's `BaseSelector.__exit__`.
    #[pyo3(signature = (*_args))]
    fn __exit__(slf: &Bound<'_, Self>, _args: &Bound<'_, PyTuple>) -> PyResult<()> {
        slf.call_method0(intern!(slf.py(), "close"))?;
        Ok(())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        for key in self.keys.iter() {
            visit.call(key)?;
        }
        visit.call(&self.mapping)?;
        if let Poller::Foreign(foreign) = &self.poller {
            visit.call(foreign.poller())?;
        }
        Ok(())
    }

    /// Breaks reference cycles: the selector is garbage, so it goes as
    /// `close()` would leave it (keys and poller together, see `ready_list`).
    fn __clear__(&mut self) {
        self.keys.clear();
        self.mapping = None;
        self.poller = Poller::Closed;
    }
}

/// A concrete class: `#[new]` makes the base for `cls` with `Kind::$kind`;
/// `$extra` are the class's own methods (pasted into its `#[pymethods]`).
macro_rules! selector_class {
    ($(#[doc = $doc:literal])* $name:ident, $kind:ident, { $($extra:tt)* }) => {
        $(#[doc = $doc])*
        #[pyclass(extends = BaseSelectorImpl, subclass, module = "io_selectors")]
        pub(crate) struct $name;

        #[pymethods]
        impl $name {
            #[new]
            #[classmethod]
            fn new(cls: &Bound<'_, PyType>) -> PyResult<PyClassInitializer<Self>> {
                let base = BaseSelectorImpl::create(cls, Kind::$kind)?;
                Ok(PyClassInitializer::from(base).add_subclass($name))
            }

            $($extra)*
        }
    };
}

selector_class!(
    /// Select-based selector (on the Rust select(2) backend: no FD_SETSIZE
    /// limit).
    SelectSelector, Select, {}
);

selector_class!(
    /// Poll-based selector.
    PollSelector, Poll, {
        /// `select.poll`: replace it to drive another poller object.
        #[classattr]
        fn _selector_cls(py: Python<'_>) -> PyResult<Py<PyAny>> {
            Kind::Poll.standard_class(py)
        }
    }
);

selector_class!(
    /// Epoll-based selector.
    EpollSelector, Epoll, {
        /// `select.epoll`: replace it to drive another poller object.
        #[classattr]
        fn _selector_cls(py: Python<'_>) -> PyResult<Py<PyAny>> {
            Kind::Epoll.standard_class(py)
        }

        /// The epoll file descriptor.
        fn fileno(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
            BaseSelectorImpl::kernel_fd(slf.as_super())
        }
    }
);

selector_class!(
    /// Kqueue-based selector.
    KqueueSelector, Kqueue, {
        /// The kqueue file descriptor.
        fn fileno(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
            BaseSelectorImpl::kernel_fd(slf.as_super())
        }
    }
);
