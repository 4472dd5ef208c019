//! The Rust selectors' errors as the exceptions CPython's `selectors` raises.
//!
//! Most are built where they happen, since CPython's messages name the file
//! object (`repr(fileobj)`), which only the caller has. What is left is the
//! kernel's refusal: `OSError(errno, strerror)` exactly as CPython's `select`
//! module raises it (so `e.errno`, `str(e)` and the subclass, e.g.
//! PermissionError for EPERM, are the same), plus, where the interpreter
//! has them (3.11+), a note naming the system call and the fd.

use std::io;

use io_selectors::Error;
use pyo3::exceptions::{PyKeyError, PyOSError, PyValueError};
use pyo3::prelude::*;

/// `OSError(errno, os.strerror(errno))` (its errno subclass); other
/// `io::Error`s, which carry no errno, as `OSError(message)`.
pub(crate) fn os_error(py: Python<'_>, err: io::Error) -> PyErr {
    match err.raw_os_error() {
        Some(code) => {
            let strerror = py
                .import("os")
                .and_then(|os| os.call_method1("strerror", (code,)))
                .map(|s| s.to_string())
                .unwrap_or_else(|_| err.to_string());
            PyOSError::new_err((code, strerror))
        }
        None => PyOSError::new_err(err.to_string()),
    }
}

/// A selector error as the exception CPython raises for it.
pub(crate) fn selector_error(py: Python<'_>, err: Error) -> PyErr {
    let message = err.to_string();
    match err {
        Error::InvalidEvents { .. } | Error::InvalidFd { .. } => PyValueError::new_err(message),
        Error::AlreadyRegistered { .. } | Error::NotRegistered { .. } => {
            PyKeyError::new_err(message)
        }
        Error::Os { source, .. } => {
            let exc = os_error(py, source);
            add_note(py, &exc, &message);
            exc
        }
        _ => PyOSError::new_err(message),
    }
}

/// `exc.add_note(note)` where the interpreter has notes (3.11+).
fn add_note(py: Python<'_>, exc: &PyErr, note: &str) {
    let value = exc.value(py);
    if value.hasattr("add_note").unwrap_or(false) {
        let _ = value.call_method1("add_note", (note,));
    }
}
