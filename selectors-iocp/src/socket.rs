//! The Winsock calls: which handle a poll request names. Their errors are
//! the thread's last error (`WSAGetLastError` is `GetLastError`), read
//! with `io::Error::last_os_error`.

use std::io;
use std::mem;
use std::ptr;

use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::Networking::WinSock::{
    getsockopt, WSAIoctl, SIO_BASE_HANDLE, SOCKET, SOCKET_ERROR, SOL_SOCKET, SO_TYPE,
};

/// Whether `socket` names an open socket: `getsockopt(SO_TYPE)`, which fails
/// with `WSAENOTSOCK` for a pipe, a file, any other handle, or a socket
/// closed since. `SIO_BASE_HANDLE` alone is no such check: Wine answers it
/// for a pipe, and the refusal would come only from the first AFD poll,
/// as `ERROR_INVALID_HANDLE` (the conformance suite's non-socket check).
pub(crate) fn check(socket: SOCKET) -> io::Result<()> {
    let mut kind: i32 = 0;
    let mut len = mem::size_of::<i32>() as i32;
    // SAFETY: the option is an `int`: getsockopt writes at most `len` bytes
    // into `kind`, a live local, and updates `len`. Any handle value is
    // acceptable: one that is not a socket only makes the call fail.
    let result = unsafe {
        getsockopt(
            socket,
            SOL_SOCKET,
            SO_TYPE,
            (&mut kind as *mut i32).cast(),
            &mut len,
        )
    };
    if result == SOCKET_ERROR {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The base provider's handle of `socket` (`SIO_BASE_HANDLE`): the AFD
/// file a poll request must name. A layered service provider may wrap
/// the socket the application holds; the poll must see through it, as
/// wepoll's `ws_get_base_socket` does (which, for providers that refuse
/// `SIO_BASE_HANDLE`, also tries the `SIO_BSP_HANDLE_*` codes; we do not).
pub(crate) fn base_handle(socket: SOCKET) -> io::Result<HANDLE> {
    let mut base: SOCKET = 0;
    let mut bytes = 0;
    // SAFETY: no input; the output is `base`, a live local of the size
    // given; `bytes` receives the length written. No OVERLAPPED: the call
    // completes at once.
    let result = unsafe {
        WSAIoctl(
            socket,
            SIO_BASE_HANDLE,
            ptr::null(),
            0,
            (&mut base as *mut SOCKET).cast(),
            mem::size_of::<SOCKET>() as u32,
            &mut bytes,
            ptr::null_mut(),
            None,
        )
    };
    if result == SOCKET_ERROR {
        return Err(io::Error::last_os_error());
    }
    Ok(base as HANDLE)
}
