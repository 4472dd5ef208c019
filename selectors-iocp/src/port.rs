//! The I/O completion port, and the waker that posts to it.

use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use selectors_core::backend::Wake;
use windows_sys::Win32::Foundation::{GetLastError, HANDLE, INVALID_HANDLE_VALUE, WAIT_TIMEOUT};
use windows_sys::Win32::System::IO::{
    CreateIoCompletionPort, GetQueuedCompletionStatusEx, PostQueuedCompletionStatus,
    OVERLAPPED_ENTRY,
};

/// `GetQueuedCompletionStatusEx`'s "forever".
pub(crate) const INFINITE: u32 = u32::MAX;

/// An I/O completion port: the queue the AFD devices complete their poll
/// requests to, and the waker posts to.
#[derive(Debug)]
pub(crate) struct Port(OwnedHandle);

impl Port {
    /// A new port, for one thread at a time (the selector's).
    pub(crate) fn new() -> io::Result<Port> {
        // SAFETY: with INVALID_HANDLE_VALUE and no existing port,
        // CreateIoCompletionPort only creates a port.
        let handle = unsafe { CreateIoCompletionPort(INVALID_HANDLE_VALUE, ptr::null_mut(), 0, 1) };
        if handle.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a new handle that nothing else owns.
        Ok(Port(unsafe { OwnedHandle::from_raw_handle(handle) }))
    }

    fn handle(&self) -> HANDLE {
        self.0.as_raw_handle()
    }

    /// Makes the completions of I/O on `file` come here, carrying `key`.
    pub(crate) fn associate(&self, file: HANDLE, key: usize) -> io::Result<()> {
        // SAFETY: both handles are open (the caller's `file`, our port);
        // the call only links them.
        let port = unsafe { CreateIoCompletionPort(file, self.handle(), key, 0) };
        if port.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Dequeues up to `entries.len()` completions, waiting up to `millis`
    /// ([`INFINITE`]: forever) for the first; returns how many (0 when the
    /// time ran out).
    pub(crate) fn dequeue(
        &self,
        entries: &mut [OVERLAPPED_ENTRY],
        millis: u32,
    ) -> io::Result<usize> {
        let mut n = 0;
        // SAFETY: `entries` is a live, writable array of `len` entries
        // (at most u32::MAX: the caller's buffer is small); the call writes
        // at most that many and the count into `n`. Not alertable.
        let ok = unsafe {
            GetQueuedCompletionStatusEx(
                self.handle(),
                entries.as_mut_ptr(),
                entries.len() as u32,
                &mut n,
                millis,
                0,
            )
        };
        if ok != 0 {
            return Ok(n as usize);
        }
        // SAFETY: reads the calling thread's last-error slot.
        match unsafe { GetLastError() } {
            WAIT_TIMEOUT => Ok(0),
            code => Err(io::Error::from_raw_os_error(code as i32)),
        }
    }

    /// Queues a completion carrying `key` and no `OVERLAPPED`.
    fn post(&self, key: usize) -> io::Result<()> {
        // SAFETY: the port is open; a null `lpOverlapped` is allowed and
        // is what the receiver gets back.
        let ok = unsafe { PostQueuedCompletionStatus(self.handle(), 0, key, ptr::null()) };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// The selector's [`Wake`]: a completion posted to its port with
/// the selector's wake key. At most one is queued at a
/// time (`posted`), so wakes coalesce; the engine's `drain` after a wake
/// allows the next one. It holds the port, so a waker that outlives its
/// selector posts to a port still open (nobody reads it: harmless).
#[derive(Debug)]
pub(crate) struct PortWake {
    port: Arc<Port>,
    key: usize,
    posted: AtomicBool,
}

impl PortWake {
    pub(crate) fn new(port: Arc<Port>, key: usize) -> PortWake {
        PortWake {
            port,
            key,
            posted: AtomicBool::new(false),
        }
    }
}

impl Wake for PortWake {
    fn wake(&self) -> io::Result<()> {
        if self.posted.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.port.post(self.key).map_err(|e| {
            self.posted.store(false, Ordering::Release);
            e
        })
    }

    /// The posted completion was dequeued: the next wake posts again.
    fn drain(&self) -> io::Result<()> {
        self.posted.store(false, Ordering::Release);
        Ok(())
    }
}
