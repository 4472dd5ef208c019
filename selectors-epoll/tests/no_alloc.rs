//! A steady-state `select_into` or `select_events` allocates nothing: counted by a global
//! allocator, on the measuring thread only (libtest's own threads allocate
//! at any time).
#![cfg(any(target_os = "linux", target_os = "android"))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use selectors_core::{Events, Selector};
use selectors_epoll::EpollSelector;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: forwards to `System`, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above, that is from `System`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as for `alloc` and `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_select_into_allocates_nothing() {
    let mut sel = EpollSelector::new().unwrap();
    let pairs: Vec<_> = (0..64).map(|_| UnixStream::pair().unwrap()).collect();
    for (i, (a, b)) in pairs.iter().enumerate() {
        sel.register(a, Events::ALL, i).unwrap();
        (&*b).write_all(b"x").unwrap();
    }
    let mut ready = Vec::new();
    // The first call sizes `ready`; after that, nothing may allocate.
    assert_eq!(
        sel.select_into(Some(Duration::ZERO), &mut ready).unwrap(),
        64
    );

    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    for _ in 0..1000 {
        let n = sel
            .select_into(Some(Duration::from_millis(1)), &mut ready)
            .unwrap();
        assert_eq!(n, 64);
        assert!(ready.iter().all(|(_, ev)| *ev == Events::ALL));
    }
    COUNTING.with(|c| c.set(false));
    assert_eq!(ALLOCATIONS.load(Ordering::Relaxed) - before, 0);
}

/// Data whose clone would allocate, and which is not even `Clone`.
struct Session {
    name: String,
    sent: Vec<u8>,
}

#[test]
fn steady_state_select_events_allocates_nothing_whatever_the_data() {
    let mut sel = EpollSelector::new().unwrap();
    let pairs: Vec<_> = (0..64).map(|_| UnixStream::pair().unwrap()).collect();
    for (i, (a, b)) in pairs.iter().enumerate() {
        let session = Session {
            name: format!("client {i}"),
            sent: Vec::with_capacity(8),
        };
        sel.register(a, Events::ALL, session).unwrap();
        (&*b).write_all(b"x").unwrap();
    }
    let mut events = Vec::new();
    // The first call sizes `events`; after that, nothing may allocate,
    // walking the events and reaching the data included.
    assert_eq!(
        sel.select_events(Some(Duration::ZERO), &mut events)
            .unwrap(),
        64
    );

    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    for round in 0..1000u32 {
        let n = sel
            .select_events(Some(Duration::from_millis(1)), &mut events)
            .unwrap();
        assert_eq!(n, 64);
        for ev in &events {
            assert_eq!(ev.events(), Events::ALL);
            let session = sel.data_mut(ev).unwrap();
            assert!(session.name.starts_with("client "));
            session.sent.clear();
            session.sent.push(round as u8);
        }
        // Switching events keeps the data: no rebuild, no clone.
        let fd = events[0].fd();
        sel.modify_events(fd, Events::READ).unwrap();
        sel.modify_events(fd, Events::ALL).unwrap();
    }
    COUNTING.with(|c| c.set(false));
    assert_eq!(ALLOCATIONS.load(Ordering::Relaxed) - before, 0);
}
