//! The platform's raw handle, named once: what [`SelectorKey::fd`] holds and
//! what [`FileObject::fileno`] returns.
//!
//! [`SelectorKey::fd`]: crate::SelectorKey::fd
//! [`FileObject::fileno`]: crate::FileObject::fileno

#[cfg(unix)]
use std::os::unix::io::RawFd as Platform;
#[cfg(unix)]
pub(crate) use std::os::unix::io::{AsRawFd as AsRaw, BorrowedFd as Borrowed, OwnedFd as Owned};
#[cfg(windows)]
use std::os::windows::io::RawSocket as Platform;
#[cfg(windows)]
pub(crate) use std::os::windows::io::{
    AsRawSocket as AsRaw, BorrowedSocket as Borrowed, OwnedSocket as Owned,
};

/// A raw file descriptor on Unix (`std::os::unix::io::RawFd`, an `i32`);
/// a raw socket on Windows (`std::os::windows::io::RawSocket`, a `u64`:
/// Winsock's `SOCKET`), where, as the spec says, only sockets can be
/// registered.
///
/// One name for both, so that `SelectorKey.fd`, `FileObject`, [`Error`] and
/// the map read the same on every platform; on Unix it is exactly std's
/// `RawFd`.
///
/// [`Error`]: crate::Error
pub type RawFd = Platform;

/// The number of anything that has one: `as_raw_fd`, or on Windows
/// `as_raw_socket`.
#[cfg(unix)]
#[inline]
pub(crate) fn raw_of<T: AsRaw + ?Sized>(t: &T) -> RawFd {
    t.as_raw_fd()
}

/// The number of anything that has one: `as_raw_fd`, or on Windows
/// `as_raw_socket`.
#[cfg(windows)]
#[inline]
pub(crate) fn raw_of<T: AsRaw + ?Sized>(t: &T) -> RawFd {
    t.as_raw_socket()
}

/// The slot of `fd` in tables indexed by fd, or `None` for a number that can
/// name nothing: a negative fd on Unix.
#[cfg(unix)]
#[inline]
pub(crate) fn index(fd: RawFd) -> Option<usize> {
    usize::try_from(fd).ok()
}

/// The slot of `fd` in tables indexed by socket, or `None` for a number that
/// can name nothing: `INVALID_SOCKET`, or any value at or beyond 2^26 (a
/// process has at most 2^24 handles, and handle values are multiples of 4
/// below 2^26), so that every valid one also fits a 32-bit `usize`.
#[cfg(windows)]
#[inline]
pub(crate) fn index(fd: RawFd) -> Option<usize> {
    (fd < 1 << 26).then_some(fd as usize)
}

/// A number that names nothing, for tests: -1 on Unix, `INVALID_SOCKET` on
/// Windows.
#[cfg(test)]
pub(crate) const INVALID: RawFd = {
    #[cfg(unix)]
    {
        -1
    }
    #[cfg(windows)]
    {
        !0
    }
};

/// The highest number that can name something, for tests.
#[cfg(test)]
pub(crate) const HIGHEST: RawFd = {
    #[cfg(unix)]
    {
        RawFd::MAX
    }
    #[cfg(windows)]
    {
        (1 << 26) - 1
    }
};
