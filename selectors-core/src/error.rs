//! Errors: Python's `ValueError`, `KeyError` and `OSError`, each naming the fd.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::os::unix::io::RawFd;

/// The result type of every selector operation.
pub type Result<T> = std::result::Result<T, Error>;

/// Why a selector operation failed.
///
/// | variant | Python | [`io::ErrorKind`] |
/// |---|---|---|
/// | [`InvalidEvents`](Error::InvalidEvents) | `ValueError` | `InvalidInput` |
/// | [`InvalidFd`](Error::InvalidFd) | `ValueError` | `InvalidInput` |
/// | [`AlreadyRegistered`](Error::AlreadyRegistered) | `KeyError` | `AlreadyExists` |
/// | [`NotRegistered`](Error::NotRegistered) | `KeyError` | `NotFound` |
/// | [`Os`](Error::Os) | `OSError` | that of the OS error |
///
/// Every message names the fd and the cause:
///
/// ```
/// use selectors_core::Error;
/// use std::io;
///
/// let err = Error::AlreadyRegistered { fd: 7 };
/// assert_eq!(err.to_string(), "fd 7 is already registered");
/// let io: io::Error = err.into();
/// assert_eq!(io.kind(), io::ErrorKind::AlreadyExists);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The event mask is empty (Python: `ValueError`).
    InvalidEvents {
        /// The fd the mask was given for.
        fd: RawFd,
    },
    /// The file descriptor is negative (Python: `ValueError`).
    InvalidFd {
        /// The offending number.
        fd: RawFd,
    },
    /// The fd is registered already, perhaps through another object
    /// (Python: `KeyError`).
    AlreadyRegistered {
        /// The fd.
        fd: RawFd,
    },
    /// The fd is not registered (Python: `KeyError`).
    NotRegistered {
        /// The fd.
        fd: RawFd,
    },
    /// The operating system refused (Python: `OSError`).
    Os {
        /// The fd the call was about, if it was about one.
        fd: Option<RawFd>,
        /// The system call, e.g. `"epoll_ctl(EPOLL_CTL_ADD)"`.
        op: &'static str,
        /// The error the kernel returned.
        source: io::Error,
    },
}

impl Error {
    /// An OS error from `op` on `fd`.
    pub fn os(op: &'static str, fd: RawFd, source: impl Into<io::Error>) -> Error {
        Error::Os {
            fd: Some(fd),
            op,
            source: source.into(),
        }
    }

    /// An OS error from `op` that concerns the selector as a whole.
    pub fn os_general(op: &'static str, source: impl Into<io::Error>) -> Error {
        Error::Os {
            fd: None,
            op,
            source: source.into(),
        }
    }

    /// The fd this error is about, if any.
    pub fn fd(&self) -> Option<RawFd> {
        match *self {
            Error::InvalidEvents { fd }
            | Error::InvalidFd { fd }
            | Error::AlreadyRegistered { fd }
            | Error::NotRegistered { fd } => Some(fd),
            Error::Os { fd, .. } => fd,
        }
    }

    /// The [`io::ErrorKind`] this error converts to.
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            Error::InvalidEvents { .. } | Error::InvalidFd { .. } => io::ErrorKind::InvalidInput,
            Error::AlreadyRegistered { .. } => io::ErrorKind::AlreadyExists,
            Error::NotRegistered { .. } => io::ErrorKind::NotFound,
            Error::Os { source, .. } => source.kind(),
        }
    }

    /// The OS error number, for [`Error::Os`].
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Os { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidEvents { fd } => {
                write!(
                    f,
                    "invalid events for fd {fd}: the mask must contain READ or WRITE"
                )
            }
            Error::InvalidFd { fd } => write!(f, "invalid file descriptor: {fd}"),
            Error::AlreadyRegistered { fd } => write!(f, "fd {fd} is already registered"),
            Error::NotRegistered { fd } => write!(f, "fd {fd} is not registered"),
            Error::Os {
                fd: Some(fd),
                op,
                source,
            } => write!(f, "{op} on fd {fd} failed: {source}"),
            Error::Os {
                fd: None,
                op,
                source,
            } => write!(f, "{op} failed: {source}"),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::Os { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Keeps the [`io::ErrorKind`] (see the table on [`Error`]) and the message
/// that names the fd; the original [`Error`] is reachable through
/// [`io::Error::get_ref`].
impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        io::Error::new(err.kind(), err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_match_python_exceptions() {
        let cases = [
            (Error::InvalidEvents { fd: 3 }, io::ErrorKind::InvalidInput),
            (Error::InvalidFd { fd: -1 }, io::ErrorKind::InvalidInput),
            (
                Error::AlreadyRegistered { fd: 3 },
                io::ErrorKind::AlreadyExists,
            ),
            (Error::NotRegistered { fd: 3 }, io::ErrorKind::NotFound),
            (
                Error::os(
                    "epoll_ctl(EPOLL_CTL_ADD)",
                    3,
                    io::Error::from_raw_os_error(1),
                ),
                io::ErrorKind::PermissionDenied,
            ),
        ];
        for (err, kind) in cases {
            assert_eq!(err.kind(), kind);
            let msg = err.to_string();
            let io: io::Error = err.into();
            assert_eq!(io.kind(), kind);
            assert_eq!(io.to_string(), msg);
            assert!(io.get_ref().unwrap().downcast_ref::<Error>().is_some());
        }
    }

    #[test]
    fn messages_name_fd_and_cause() {
        let err = Error::os(
            "epoll_ctl(EPOLL_CTL_ADD)",
            9,
            io::Error::from_raw_os_error(1),
        );
        let msg = err.to_string();
        assert!(
            msg.starts_with("epoll_ctl(EPOLL_CTL_ADD) on fd 9 failed: "),
            "{msg}"
        );
        assert_eq!(err.fd(), Some(9));
        assert_eq!(err.raw_os_error(), Some(1));
        assert!(err.source().is_some());
        assert_eq!(
            Error::InvalidFd { fd: -5 }.to_string(),
            "invalid file descriptor: -5"
        );
        assert!(Error::InvalidEvents { fd: 4 }.to_string().contains("fd 4"));
        assert_eq!(
            Error::NotRegistered { fd: 4 }.to_string(),
            "fd 4 is not registered"
        );
        let general = Error::os_general("epoll_wait", io::Error::from_raw_os_error(9));
        assert_eq!(general.fd(), None);
        assert!(general.to_string().starts_with("epoll_wait failed: "));
    }
}
