//! `io_selectors`: Python's `selectors` module, on the Rust selectors of
//! this workspace, as a CPython extension module (PyO3).
//!
//! A drop-in for the standard library's module: the same names
//! (`EVENT_READ`, `EVENT_WRITE`, `SelectorKey`, `BaseSelector`,
//! `SelectSelector`, `PollSelector`, `EpollSelector`, `KqueueSelector`,
//! `DefaultSelector`), the same semantics and exceptions, proven by
//! CPython's own `test_selectors` and asyncio suites (see README.md). What
//! differs is where the work happens: `select` waits in Rust with the GIL
//! released and builds its `(key, events)` list natively from keys it
//! already holds.
//!
//! Layout:
//! - `selector.rs`: the selector classes;
//! - `keys.rs`: the `SelectorKey` objects a selector holds, and their handles;
//! - `fileobj.rs`: file object to fd, as `selectors._fileobj_to_fd`;
//! - `mapping.rs`: the live read-only mapping `get_map()` returns;
//! - `timeout.rs`: `select`'s timeout argument;
//! - `foreign.rs`: a Python-level poller plugged in as `_selector_cls`;
//! - `errors.rs`: the Rust errors as the exceptions CPython raises.

mod errors;
mod fileobj;
mod foreign;
mod keys;
mod mapping;
mod selector;
mod timeout;

use io_selectors::{AnySelector, Backend};
use pyo3::prelude::*;

use selector::{EpollSelector, KqueueSelector, PollSelector, SelectSelector};

/// The module: constants, the standard library's `SelectorKey` and
/// `BaseSelector`, and one class per backend this build and kernel have.
#[pymodule(name = "io_selectors")]
fn io_selectors_py(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add(
        "__doc__",
        "Python's selectors module, implemented in Rust (io-selectors).",
    )?;
    m.add("EVENT_READ", io_selectors::EVENT_READ.bits())?;
    m.add("EVENT_WRITE", io_selectors::EVENT_WRITE.bits())?;
    // The standard library's own classes, not look-alikes: a key from here
    // is a `selectors.SelectorKey`, and code (asyncio's tests) that
    // subclasses `BaseSelector` gets CPython's abstract base.
    m.add("SelectorKey", keys::key_type(py)?)?;
    let base = py.import("selectors")?.getattr("BaseSelector")?;
    let mut public: Vec<String> = ["EVENT_READ", "EVENT_WRITE", "SelectorKey", "BaseSelector"]
        .map(String::from)
        .into();
    m.add("BaseSelector", &base)?;
    m.add_class::<selector::BaseSelectorImpl>()?;
    m.add_class::<mapping::SelectorMapping>()?;
    let mapping = mapping::mapping_abc(py)?;
    mapping.get_type().call_method1(
        "register",
        (mapping, py.get_type::<mapping::SelectorMapping>()),
    )?;

    for &backend in Backend::available() {
        let class = match backend {
            Backend::Select => py.get_type::<SelectSelector>(),
            Backend::Poll => py.get_type::<PollSelector>(),
            Backend::Epoll => py.get_type::<EpollSelector>(),
            Backend::Kqueue => py.get_type::<KqueueSelector>(),
            _ => continue,
        };
        // Virtual subclasses: `isinstance(sel, selectors.BaseSelector)`.
        // `ABCMeta.register(BaseSelector, cls)`: `BaseSelector.register` is
        // the abstract selector method.
        base.get_type().call_method1("register", (&base, &class))?;
        m.add(class.name()?, &class)?;
        public.push(class.name()?.to_string());
    }
    // CPython's choice, by its probe: kqueue, epoll, poll, select, the first
    // that works here (a seccomp sandbox may refuse epoll).
    let default = AnySelector::<()>::new()
        .map_err(|e| errors::os_error(py, e))?
        .backend();
    let default = match default {
        Backend::Select => py.get_type::<SelectSelector>(),
        Backend::Poll => py.get_type::<PollSelector>(),
        Backend::Epoll => py.get_type::<EpollSelector>(),
        Backend::Kqueue => py.get_type::<KqueueSelector>(),
        // A backend this package has no class for (IOCP, Windows' default
        // in the Rust crates): select, CPython's choice there.
        _ => py.get_type::<SelectSelector>(),
    };
    m.add("DefaultSelector", default)?;
    public.push("DefaultSelector".into());
    // The wheel's package re-exports `__all__` of this native module.
    m.add("__all__", public)?;
    Ok(())
}
