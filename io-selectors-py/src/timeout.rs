//! `select(timeout)`'s argument, and the deadline that PEP 475 retries keep.

use std::time::{Duration, Instant};

use pyo3::exceptions::{PyOverflowError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyInt};

/// How long one `select` call may wait, across the retries after signals.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Wait {
    /// `None`: until an fd is ready.
    Forever,
    /// `<= 0`: poll once, never wait.
    Poll,
    /// `> 0`: until `deadline` at the latest (`None` if it is beyond what
    /// `Instant` can hold: then every retry waits the full `timeout`).
    Until {
        timeout: Duration,
        deadline: Option<Instant>,
    },
}

impl Wait {
    /// The wait for `timeout`, CPython's way: `None` blocks, anything `<= 0`
    /// polls, a positive number of seconds (int, float, or anything with
    /// `__float__`) waits at least that long (the backend rounds up, never
    /// down to a busy poll).
    ///
    /// `select_like`: the check of CPython's SelectSelector and
    /// KqueueSelector (`max(timeout, 0)`, then `select.select`'s conversion)
    /// rather than that of its poll-like selectors (`timeout <= 0`, then
    /// `math.ceil(timeout * 1e3)`), whose exceptions differ in message.
    ///
    /// # Errors
    ///
    /// TypeError for what does not compare with 0 or is not a number;
    /// ValueError for NaN and OverflowError for an infinity or a timeout
    /// too large for a `Duration`.
    pub(crate) fn new(timeout: Option<&Bound<'_, PyAny>>, select_like: bool) -> PyResult<Wait> {
        let Some(timeout) = timeout.filter(|t| !t.is_none()) else {
            return Ok(Wait::Forever);
        };
        if !timeout.is_exact_instance_of::<PyFloat>() && !timeout.is_exact_instance_of::<PyInt>() {
            // CPython's comparison first: it raises the TypeError.
            let zero = 0i32.into_pyobject(timeout.py())?;
            if select_like {
                zero.gt(timeout)?;
            } else {
                timeout.le(&zero)?;
            }
        }
        let secs: f64 = timeout.extract()?;
        if secs.is_nan() {
            return Err(PyValueError::new_err(if select_like {
                "Invalid value NaN (not a number)"
            } else {
                "cannot convert float NaN to integer"
            }));
        }
        if secs <= 0.0 {
            return Ok(Wait::Poll);
        }
        if secs.is_infinite() {
            return Err(PyOverflowError::new_err(if select_like {
                // `select.select`'s words, which 3.11 changed.
                if timeout.py().version_info() < (3, 11) {
                    "timestamp too large to convert to C _PyTime_t"
                } else {
                    "timestamp out of range for platform time_t"
                }
            } else {
                "cannot convert float infinity to integer"
            }));
        }
        let timeout = Duration::try_from_secs_f64(secs)
            .map_err(|_| PyOverflowError::new_err("timeout is too large"))?;
        Ok(Wait::Until {
            timeout,
            deadline: Instant::now().checked_add(timeout),
        })
    }

    /// The timeout for the next wait, or `None` once the deadline passed
    /// (after a signal, the retry waits only what is left: PEP 475).
    pub(crate) fn next(&self) -> Option<Option<Duration>> {
        match *self {
            Wait::Forever => Some(None),
            Wait::Poll => Some(Some(Duration::ZERO)),
            Wait::Until {
                timeout,
                deadline: None,
            } => Some(Some(timeout)),
            Wait::Until {
                deadline: Some(deadline),
                ..
            } => {
                let left = deadline.checked_duration_since(Instant::now())?;
                (!left.is_zero()).then_some(Some(left))
            }
        }
    }

    /// Whether an empty result may be a signal's doing, to be retried: only
    /// a wait that can still wait.
    pub(crate) fn retries(&self) -> bool {
        !matches!(self, Wait::Poll)
    }
}
