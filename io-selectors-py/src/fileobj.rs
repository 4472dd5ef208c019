//! A file object (an int, or anything with `fileno()`) to its fd: what
//! `selectors._fileobj_to_fd` does, with its exceptions and messages.

use std::os::unix::io::RawFd;

use pyo3::exceptions::{PyAttributeError, PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyInt;

/// The fd a file object names.
pub(crate) struct Fd<'py> {
    /// The fd as Python has it: the int registered, or `int(fileno())`.
    /// This is what `SelectorKey.fd` holds.
    pub(crate) obj: Bound<'py, PyAny>,
    /// The fd as the kernel has it; `None` for a non-negative int too large
    /// for a C int, which no kernel fd can be (never registered, so lookups
    /// say "not registered" and `register` says OverflowError, as CPython).
    pub(crate) raw: Option<RawFd>,
}

impl Fd<'_> {
    /// The kernel fd, or the OverflowError CPython's `select` module raises
    /// for an int that does not fit a C int.
    pub(crate) fn raw_or_overflow(&self) -> PyResult<RawFd> {
        self.raw
            .ok_or_else(|| PyOverflowError::new_err("Python int too large to convert to C int"))
    }
}

/// `selectors._fileobj_to_fd`: the fd of an int or of `fileobj.fileno()`.
///
/// # Errors
///
/// ValueError "Invalid file object: ..." if `fileno()` is missing or does not
/// give an int (AttributeError, TypeError or ValueError, as CPython catches
/// them); ValueError "Invalid file descriptor: ..." if the fd is negative;
/// whatever else `fileno()` raises (a closed file's OSError), unchanged.
pub(crate) fn fileobj_to_fd<'py>(fileobj: &Bound<'py, PyAny>) -> PyResult<Fd<'py>> {
    let py = fileobj.py();
    let obj = if fileobj.is_instance_of::<PyInt>() {
        fileobj.clone()
    } else {
        let fd = fileobj
            .call_method0(pyo3::intern!(py, "fileno"))
            .and_then(|fd| py.get_type::<PyInt>().call1((fd,)));
        match fd {
            Ok(fd) => fd,
            Err(e)
                if e.is_instance_of::<PyAttributeError>(py)
                    || e.is_instance_of::<PyTypeError>(py)
                    || e.is_instance_of::<PyValueError>(py) =>
            {
                return Err(PyValueError::new_err(format!(
                    "Invalid file object: {}",
                    fileobj.repr()?
                )));
            }
            Err(e) => return Err(e),
        }
    };
    let raw = match obj.extract::<i64>() {
        Ok(fd) if fd < 0 => return Err(invalid_fd(&obj)),
        Ok(fd) => RawFd::try_from(fd).ok(),
        // Beyond 64 bits: too large, or too negative.
        Err(_) if obj.lt(0)? => return Err(invalid_fd(&obj)),
        Err(_) => None,
    };
    Ok(Fd { obj, raw })
}

fn invalid_fd(fd: &Bound<'_, PyAny>) -> PyErr {
    match fd.str() {
        Ok(text) => PyValueError::new_err(format!("Invalid file descriptor: {text}")),
        Err(e) => e,
    }
}
