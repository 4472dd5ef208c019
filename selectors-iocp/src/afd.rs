//! The AFD driver's poll request: the undocumented part of this crate,
//! named once here.
//!
//! Winsock's sockets are files of the Ancillary Function Driver (AFD). Its
//! `IOCTL_AFD_POLL` request, sent with `NtDeviceIoControlFile`, is what
//! `select` and `WSAPoll` use inside; sent on a handle associated with an
//! I/O completion port, it completes through the port once one of the
//! requested events holds, which is how wepoll, mio and polling reach
//! O(ready) on Windows. Microsoft does not document it; the device path,
//! the control code, the `AFD_POLL_INFO` layout and the event bits below
//! are those of these public sources:
//!
//! - wepoll: `src/afd.c` (opening the device, the request, cancelling it)
//!   and `src/msafd.h` (the control code, the struct, the bits),
//!   <https://github.com/piscisaureus/wepoll>;
//! - mio: `src/sys/windows/afd.rs`, <https://github.com/tokio-rs/mio>;
//! - polling: `src/iocp/afd.rs`, <https://github.com/smol-rs/polling>;
//! - Wine's implementation and tests of the same request
//!   (`dlls/ntdll/unix/socket.c`, `dlls/ws2_32/tests/afd.c`).

use std::ffi::c_void;
use std::io;
use std::mem;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::ptr;

use windows_sys::Wdk::Foundation::OBJECT_ATTRIBUTES;
use windows_sys::Wdk::Storage::FileSystem::{NtCreateFile, FILE_OPEN};
use windows_sys::Wdk::System::IO::NtDeviceIoControlFile;
use windows_sys::Win32::Foundation::{
    RtlNtStatusToDosError, HANDLE, NTSTATUS, STATUS_CANCELLED, STATUS_PENDING, UNICODE_STRING,
};
use windows_sys::Win32::Storage::FileSystem::{FILE_SHARE_READ, FILE_SHARE_WRITE, SYNCHRONIZE};
use windows_sys::Win32::System::IO::{CancelIoEx, IO_STATUS_BLOCK, IO_STATUS_BLOCK_0, OVERLAPPED};

use crate::port::Port;

/// `IOCTL_AFD_POLL`: `FILE_DEVICE_NETWORK << 12 | AFD_POLL (9) << 2 |
/// METHOD_BUFFERED` (wepoll's `msafd.h`).
const IOCTL_AFD_POLL: u32 = 0x0001_2024;

// The event bits of `AFD_POLL_HANDLE_INFO.Events` (wepoll's `msafd.h`,
// mio's and polling's `afd.rs`).
/// Data to read (or a datagram).
pub(crate) const POLL_RECEIVE: u32 = 0x0001;
/// Room to send; also a non-blocking connect that completed.
pub(crate) const POLL_SEND: u32 = 0x0004;
/// The peer shut down its side (FIN).
pub(crate) const POLL_DISCONNECT: u32 = 0x0008;
/// The connection was reset or aborted.
pub(crate) const POLL_ABORT: u32 = 0x0010;
/// The socket was closed (`closesocket`) while the poll was pending.
pub(crate) const POLL_LOCAL_CLOSE: u32 = 0x0020;
/// A connection is waiting to be accepted.
pub(crate) const POLL_ACCEPT: u32 = 0x0080;
/// A non-blocking connect failed.
pub(crate) const POLL_CONNECT_FAIL: u32 = 0x0100;

/// `AFD_POLL_HANDLE_INFO`: one socket of a poll request.
#[repr(C)]
#[derive(Clone, Copy)]
struct HandleInfo {
    /// The socket's base handle (`SIO_BASE_HANDLE`).
    handle: HANDLE,
    /// In: the events asked for; out: those that hold.
    events: u32,
    /// Out: the socket's own status.
    status: NTSTATUS,
}

/// `AFD_POLL_INFO` with one socket, as wepoll, mio and polling send it.
#[repr(C)]
#[derive(Clone, Copy)]
struct PollInfo {
    /// Absolute (positive) or relative (negative) 100 ns units: `i64::MAX`
    /// is never.
    timeout: i64,
    /// In: 1; out: how many sockets have events (0 or 1).
    number_of_handles: u32,
    /// Whether this poll replaces others on the same socket: no.
    exclusive: u32,
    handles: [HandleInfo; 1],
}

/// The memory one poll request lends the driver: its `IO_STATUS_BLOCK`
/// and its `AFD_POLL_INFO` (both input and output). Between
/// [`Device::submit`] and the dequeuing of its completion the driver may
/// write both at any time, so it must stay at one address, untouched,
/// until then: the selector keeps each one boxed and frees it only after
/// its completion (cancelled or not) was dequeued.
#[repr(C)]
pub(crate) struct Poll {
    iosb: IO_STATUS_BLOCK,
    info: PollInfo,
}

/// What a poll request came back with, read once its completion was
/// dequeued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Cancelled (`STATUS_CANCELLED`): by the selector, or by Windows.
    Cancelled,
    /// The request failed (its `NTSTATUS`, as a Windows error).
    Failed(i32),
    /// The events that hold (`POLL_*` bits; 0 if none).
    Events(u32),
}

impl Poll {
    /// A request not yet sent.
    pub(crate) fn new() -> Poll {
        Poll {
            iosb: IO_STATUS_BLOCK {
                Anonymous: IO_STATUS_BLOCK_0 { Status: 0 },
                Information: 0,
            },
            info: PollInfo {
                timeout: 0,
                number_of_handles: 0,
                exclusive: 0,
                handles: [HandleInfo {
                    handle: ptr::null_mut(),
                    events: 0,
                    status: 0,
                }],
            },
        }
    }

    /// The result of a completed request.
    pub(crate) fn outcome(&self) -> Outcome {
        // SAFETY: every variant of the union is an integer or a pointer;
        // reading `Status` of a completed request is what it is for.
        let status = unsafe { self.iosb.Anonymous.Status };
        if status == STATUS_CANCELLED {
            Outcome::Cancelled
        } else if status < 0 {
            Outcome::Failed(dos_error(status))
        } else if self.info.number_of_handles == 0 {
            Outcome::Events(0)
        } else {
            Outcome::Events(self.info.handles[0].events)
        }
    }
}

/// A handle on the AFD device, associated with a completion port: the file
/// poll requests are sent on (not itself a socket). wepoll's "AFD helper
/// handle".
#[derive(Debug)]
pub(crate) struct Device(OwnedHandle);

/// `\Device\Afd\IoSelectors`, in UTF-16: the driver ignores what follows
/// `\Device\Afd\` (wepoll opens `\Device\Afd\Wepoll`, mio
/// `\Device\Afd\Mio`).
static DEVICE_NAME: [u16; 23] = ascii_wide(b"\\Device\\Afd\\IoSelectors");

/// An ASCII string as UTF-16, at compile time.
const fn ascii_wide<const N: usize>(ascii: &[u8; N]) -> [u16; N] {
    let mut wide = [0; N];
    let mut i = 0;
    while i < N {
        wide[i] = ascii[i] as u16;
        i += 1;
    }
    wide
}

impl Device {
    /// Opens the device and associates it with `port`, completions carrying
    /// `key`.
    pub(crate) fn open(port: &Port, key: usize) -> io::Result<Device> {
        let name = UNICODE_STRING {
            Length: mem::size_of_val(&DEVICE_NAME) as u16,
            MaximumLength: mem::size_of_val(&DEVICE_NAME) as u16,
            Buffer: DEVICE_NAME.as_ptr() as *mut u16,
        };
        let attributes = OBJECT_ATTRIBUTES {
            Length: mem::size_of::<OBJECT_ATTRIBUTES>() as u32,
            RootDirectory: ptr::null_mut(),
            ObjectName: &name,
            Attributes: 0,
            SecurityDescriptor: ptr::null(),
            SecurityQualityOfService: ptr::null(),
        };
        let mut handle: HANDLE = ptr::null_mut();
        let mut iosb = Poll::new().iosb;
        // SAFETY: every pointer is to a live local: `attributes` names
        // `name`, whose buffer is a static; NtCreateFile writes only
        // `handle` and `iosb`. No extended attributes: opening the device
        // without them gives a handle on the driver that is no socket
        // (wepoll's `afd_create_device_handle`).
        let status = unsafe {
            NtCreateFile(
                &mut handle,
                SYNCHRONIZE,
                &attributes,
                &mut iosb,
                ptr::null(),
                0,
                FILE_SHARE_READ | FILE_SHARE_WRITE,
                FILE_OPEN,
                0,
                ptr::null(),
                0,
            )
        };
        if status < 0 {
            return Err(io::Error::from_raw_os_error(dos_error(status)));
        }
        // SAFETY: NtCreateFile succeeded: `handle` is a new handle that
        // nothing else owns.
        let device = Device(unsafe { OwnedHandle::from_raw_handle(handle) });
        port.associate(device.handle(), key)?;
        Ok(device)
    }

    fn handle(&self) -> HANDLE {
        self.0.as_raw_handle()
    }

    /// Sends a poll for `events` of the socket whose base handle is
    /// `socket`; its completion will carry `context`. Returns whether a
    /// completion will come (the request is pending, or completed at once:
    /// both go through the port), or the error that failed it at once (no
    /// completion then).
    ///
    /// # Safety
    ///
    /// `poll` must be valid, not in a pending request, and stay at its
    /// address, neither read nor written nor freed, until the completion
    /// carrying `context` has been dequeued from the port.
    pub(crate) unsafe fn submit(
        &self,
        poll: *mut Poll,
        socket: HANDLE,
        events: u32,
        context: *const c_void,
    ) -> io::Result<()> {
        let info = PollInfo {
            timeout: i64::MAX,
            number_of_handles: 1,
            exclusive: 0,
            handles: [HandleInfo {
                handle: socket,
                events,
                status: 0,
            }],
        };
        // SAFETY: the caller hands `poll` over: no request uses it now.
        let (iosb, info) = unsafe {
            (*poll).iosb.Anonymous.Status = STATUS_PENDING;
            (*poll).info = info;
            (
                ptr::addr_of_mut!((*poll).iosb),
                ptr::addr_of_mut!((*poll).info),
            )
        };
        let size = mem::size_of::<PollInfo>() as u32;
        // SAFETY: the device is open; `iosb` and `info` (input and output
        // alike, METHOD_BUFFERED) stay valid until the completion, as the
        // caller promised. No event and no APC routine: the completion goes
        // to the port, with `context` as its `lpOverlapped`.
        let status = unsafe {
            NtDeviceIoControlFile(
                self.handle(),
                ptr::null_mut(),
                None,
                context,
                iosb,
                IOCTL_AFD_POLL,
                info.cast(),
                size,
                info.cast(),
                size,
            )
        };
        // Pending, or success at once: either way the port gets the
        // completion. An error status returned at once queues nothing.
        if status == STATUS_PENDING || status >= 0 {
            Ok(())
        } else {
            Err(io::Error::from_raw_os_error(dos_error(status)))
        }
    }

    /// Asks the driver to cancel the pending request that uses `poll`; its
    /// completion (`STATUS_CANCELLED`, or its events if it won the race)
    /// still comes through the port. A request that already completed is
    /// not found, which is fine.
    ///
    /// # Safety
    ///
    /// `poll` must be the memory of a request sent on this device (its
    /// address only identifies it: nothing is read or written).
    pub(crate) unsafe fn cancel(&self, poll: *mut Poll) {
        // `CancelIoEx` finds the request by the address of its
        // `IO_STATUS_BLOCK`, which for Win32 I/O is the `OVERLAPPED`
        // (whose first two fields are an `IO_STATUS_BLOCK`); here it is
        // `Poll.iosb`, at offset 0 (`repr(C)`).
        // SAFETY: only the field's address is taken, nothing is read.
        let iosb = unsafe { ptr::addr_of_mut!((*poll).iosb) } as *const OVERLAPPED;
        // SAFETY: the device is open; the pointer is only compared with
        // those of its pending requests. Failure means not found (already
        // completed) or a handle that cannot cancel: either way the
        // completion still comes, and the caller waits for it.
        unsafe { CancelIoEx(self.handle(), iosb) };
    }
}

/// The Windows error for an `NTSTATUS`.
fn dos_error(status: NTSTATUS) -> i32 {
    // SAFETY: a pure translation table lookup.
    unsafe { RtlNtStatusToDosError(status) as i32 }
}

#[cfg(test)]
mod layout {
    use super::*;

    // The layout wepoll's `msafd.h` gives, on 64-bit Windows.
    #[cfg(target_pointer_width = "64")]
    #[test]
    // Tests are not held to the MSRV (`offset_of!` is 1.77).
    #[allow(clippy::incompatible_msrv)]
    fn poll_info_is_the_drivers() {
        assert_eq!(mem::size_of::<HandleInfo>(), 16);
        assert_eq!(mem::size_of::<PollInfo>(), 32);
        assert_eq!(mem::offset_of!(PollInfo, handles), 16);
        assert_eq!(mem::offset_of!(Poll, iosb), 0);
    }
}
