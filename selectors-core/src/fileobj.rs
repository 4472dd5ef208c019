//! What can be registered: Python's "file object".

use crate::raw::{raw_of, AsRaw, Borrowed};
use crate::RawFd;

/// Anything that names a file descriptor: Python's "file object" (an integer
/// fd or an object with a `fileno()` method).
///
/// Implemented for a raw fd ([`RawFd`]), for `BorrowedFd`, and for a
/// reference to anything that is `AsRawFd`: `&TcpStream`, `&UnixStream`,
/// `&File`, `&OwnedFd`, `&ChildStdout`, and so on. On Windows, where only
/// sockets can be registered, the same for a raw socket, `BorrowedSocket`
/// and `&T: AsRawSocket` (`&TcpStream`, `&UdpSocket`, `&OwnedSocket`).
/// The selector only records the number; it never takes ownership of the
/// object, so the caller keeps it alive and must unregister before closing
/// it (as the spec says).
///
/// ```
/// use selectors_core::FileObject;
/// use std::os::unix::io::AsRawFd;
/// use std::os::unix::net::UnixStream;
///
/// let (a, _b) = UnixStream::pair().unwrap();
/// assert_eq!((&a).fileno(), a.as_raw_fd());
/// assert_eq!(a.as_raw_fd().fileno(), a.as_raw_fd());
/// ```
pub trait FileObject {
    /// The underlying file descriptor.
    fn fileno(&self) -> RawFd;
}

impl FileObject for RawFd {
    #[inline]
    fn fileno(&self) -> RawFd {
        *self
    }
}

impl FileObject for Borrowed<'_> {
    #[inline]
    fn fileno(&self) -> RawFd {
        raw_of(self)
    }
}

impl<T: AsRaw + ?Sized> FileObject for &T {
    #[inline]
    fn fileno(&self) -> RawFd {
        raw_of(*self)
    }
}

impl<T: AsRaw + ?Sized> FileObject for &mut T {
    #[inline]
    fn fileno(&self) -> RawFd {
        raw_of(*self)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::io::{AsFd, AsRawFd};
    use std::os::unix::net::UnixStream;

    #[test]
    fn every_form_names_the_same_fd() {
        let (mut a, _b) = UnixStream::pair().unwrap();
        let fd = a.as_raw_fd();
        assert_eq!(fd.fileno(), fd);
        assert_eq!((&a).fileno(), fd);
        assert_eq!(a.as_fd().fileno(), fd);
        fn fd_of<F: FileObject>(f: F) -> RawFd {
            f.fileno()
        }
        assert_eq!(fd_of(&mut a), fd);
        let owned = std::os::unix::io::OwnedFd::from(a);
        assert_eq!((&owned).fileno(), fd);
    }
}

#[cfg(all(test, windows))]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::os::windows::io::{AsRawSocket, AsSocket, OwnedSocket};

    #[test]
    fn every_form_names_the_same_socket() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut a = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let s = a.as_raw_socket();
        assert_eq!(s.fileno(), s);
        assert_eq!((&a).fileno(), s);
        assert_eq!(a.as_socket().fileno(), s);
        fn socket_of<F: FileObject>(f: F) -> RawFd {
            f.fileno()
        }
        assert_eq!(socket_of(&mut a), s);
        let owned = OwnedSocket::from(a);
        assert_eq!((&owned).fileno(), s);
        assert_eq!((&listener).fileno(), listener.as_raw_socket());
    }
}
