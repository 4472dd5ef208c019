//! Errors: Python's `ValueError`, `KeyError` and `OSError`, each naming the fd.

use std::error::Error as StdError;
use std::fmt;
use std::io;

use crate::RawFd;

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
/// assert_eq!(
///     err.to_string(),
///     "fd 7 is already registered (if the file registered under it was \
///      closed without `unregister`, the number was reused: unregister before \
///      closing)"
/// );
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
    /// The file descriptor is negative (on Windows, `INVALID_SOCKET` or
    /// beyond any handle value), or one no process can have on a backend
    /// that sizes its memory by fd numbers (select: at or above the hard
    /// `RLIMIT_NOFILE`) (Python: `ValueError`).
    InvalidFd {
        /// The offending number.
        fd: RawFd,
    },
    /// The fd is registered already, perhaps through another object
    /// (Python: `KeyError`).
    ///
    /// The usual cause when the program never registered this file twice:
    /// a file was closed without [`unregister`](crate::Selector::unregister)
    /// and the OS gave its number to a new file, which is then refused. The
    /// message says so.
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
    /// An OS error from `op` on `fd` (the tests' shorthand).
    #[cfg(test)]
    pub(crate) fn os(op: &'static str, fd: RawFd, source: impl Into<io::Error>) -> Error {
        Error::Os {
            fd: Some(fd),
            op,
            source: source.into(),
        }
    }

    /// An OS error from `op` that concerns the selector as a whole.
    #[cfg(test)]
    pub(crate) fn os_general(op: &'static str, source: impl Into<io::Error>) -> Error {
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
            Error::AlreadyRegistered { fd } => write!(
                f,
                "fd {fd} is already registered (if the file registered under it was \
                 closed without `unregister`, the number was reused: unregister before \
                 closing)"
            ),
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

/// Keeps the [`io::ErrorKind`] (see the table on [`Error`]).
///
/// An [`Error::Os`] with an errno becomes the kernel's own error, so that
/// [`raw_os_error`](io::Error::raw_os_error) still returns the errno (what
/// code that tells `EPERM` from `EMFILE` looks at); its message is then the
/// kernel's (`"Operation not permitted (os error 1)"`), without the fd and
/// the call: keep the [`Error`] where you need them. Every other error
/// keeps the message that names the fd, and the original [`Error`] is
/// reachable through [`io::Error::get_ref`].
///
/// ```
/// use selectors_core::Error;
/// use std::io;
///
/// let source = io::Error::from_raw_os_error(1);
/// let err = Error::Os { fd: Some(3), op: "epoll_wait", source };
/// let io: io::Error = err.into();
/// assert_eq!(io.raw_os_error(), Some(1));
/// assert_eq!(io.kind(), io::ErrorKind::PermissionDenied);
/// ```
impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        match err {
            Error::Os { source, .. } if source.raw_os_error().is_some() => source,
            err => io::Error::new(err.kind(), err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error number whose kind is `PermissionDenied`: `EPERM`, or on
    /// Windows `ERROR_ACCESS_DENIED`.
    const DENIED: i32 = if cfg!(windows) { 5 } else { 1 };

    #[test]
    fn kinds_match_python_exceptions() {
        let cases = [
            (Error::InvalidEvents { fd: 3 }, io::ErrorKind::InvalidInput),
            (
                Error::InvalidFd {
                    fd: crate::raw::INVALID,
                },
                io::ErrorKind::InvalidInput,
            ),
            (
                Error::AlreadyRegistered { fd: 3 },
                io::ErrorKind::AlreadyExists,
            ),
            (Error::NotRegistered { fd: 3 }, io::ErrorKind::NotFound),
            (
                Error::os(
                    "epoll_ctl(EPOLL_CTL_ADD)",
                    3,
                    io::Error::from_raw_os_error(DENIED),
                ),
                io::ErrorKind::PermissionDenied,
            ),
        ];
        for (err, kind) in cases {
            assert_eq!(err.kind(), kind);
            let msg = err.to_string();
            let errno = err.raw_os_error();
            let io: io::Error = err.into();
            assert_eq!(io.kind(), kind);
            assert_eq!(io.raw_os_error(), errno);
            if errno.is_none() {
                assert_eq!(io.to_string(), msg);
                assert!(io.get_ref().unwrap().downcast_ref::<Error>().is_some());
            }
        }
    }

    /// Issue 12, defect 8: the errno survived only inside the custom
    /// error, so `AnySelector` could not tell a sandbox's refusal (`EPERM`,
    /// `ENOSYS`) from any other failure.
    #[test]
    fn conversion_keeps_the_errno() {
        for errno in [1, 38, 24] {
            let err = Error::os_general("epoll_wait", io::Error::from_raw_os_error(errno));
            assert_eq!(io::Error::from(err).raw_os_error(), Some(errno));
        }
        let err = Error::os("read", 4, io::Error::new(io::ErrorKind::Other, "no errno"));
        let io = io::Error::from(err);
        assert_eq!(io.raw_os_error(), None);
        assert_eq!(io.to_string(), "read on fd 4 failed: no errno");
    }

    #[test]
    fn messages_name_fd_and_cause() {
        let err = Error::os(
            "epoll_ctl(EPOLL_CTL_ADD)",
            9,
            io::Error::from_raw_os_error(DENIED),
        );
        let msg = err.to_string();
        assert!(
            msg.starts_with("epoll_ctl(EPOLL_CTL_ADD) on fd 9 failed: "),
            "{msg}"
        );
        assert_eq!(err.fd(), Some(9));
        assert_eq!(err.raw_os_error(), Some(DENIED));
        assert!(err.source().is_some());
        assert_eq!(
            Error::InvalidFd { fd: 5 }.to_string(),
            "invalid file descriptor: 5"
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
