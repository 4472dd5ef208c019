//! `Selector::waker` on every backend, with real threads: generic checks,
//! instantiated per selector type by `waker_suite!`, one `#[test]` each.

// Needs at least one backend.
#![cfg(all(
    any(unix, windows),
    any(
        feature = "select",
        feature = "poll",
        feature = "epoll",
        selectors_iocp
    )
))]

mod support;

use std::io::{Read, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use selectors_core::{Events, Selector};
// Unix socket pairs; on Windows TCP pairs on 127.0.0.1.
use support::{pair, AsRawFd};

/// Longer than any test may take: a select that waits this long was not
/// woken.
const LONG: Duration = Duration::from_secs(10);
/// Bound on "promptly", generous for a loaded 2-core machine.
const PROMPT: Duration = Duration::from_secs(5);
/// The timeout of a select that must *not* return early.
const IDLE: Duration = Duration::from_millis(200);

macro_rules! waker_suite {
    ($name:ident, fn $($ctor:ident)::+) => {
        mod $name {
            fn new<T>() -> io_selectors::AnySelector<T> {
                $($ctor)::+::<T>().expect("creating the selector")
            }

            waker_suite!(@suite);
        }
    };
    ($name:ident, $($sel:tt)+) => {
        mod $name {
            type Sel<T> = $($sel)+<T>;

            fn new<T>() -> Sel<T> {
                Sel::<T>::new().expect("creating the selector")
            }

            waker_suite!(@suite);
        }
    };
    (@suite) => {
        waker_suite!(@checks
            wake_before_select_ends_it_early,
            wake_from_another_thread_ends_a_blocking_select,
            wakes_coalesce_then_select_blocks_again,
            concurrent_wakes_coalesce,
            waker_fd_is_never_reported_nor_in_the_map,
            waker_is_the_same_on_every_call,
            registrations_around_the_waker_keep_working,
            ten_thousand_wakes_from_four_threads_none_lost,
            waker_outlives_its_selector,
        );
    };
    (@checks $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                crate::$check(new::<u32>);
            }
        )*
    };
}

#[cfg(selectors_select)]
waker_suite!(select, selectors_select::SelectSelector);
#[cfg(selectors_poll)]
waker_suite!(poll, selectors_poll::PollSelector);
#[cfg(selectors_epoll)]
waker_suite!(epoll, selectors_epoll::EpollSelector);
#[cfg(selectors_iocp)]
waker_suite!(iocp, selectors_iocp::IocpSelector);
// KqueueSelector on the in-process kqueue model (its EVFILT_USER knote
// triggered from other threads), on every Unix target.
#[cfg(unix)]
waker_suite!(kqueue_model, selectors_test_support::ModelKqueueSelector);

/// Selects with `timeout` and returns the result and how long it took.
fn timed<S: Selector<u32>>(
    sel: &mut S,
    timeout: Duration,
) -> (Vec<selectors_core::Ready<u32>>, Duration) {
    let start = Instant::now();
    let ready = sel.select(Some(timeout)).expect("select");
    (ready, start.elapsed())
}

/// Asserts that a select on `sel` waits out `IDLE` and returns nothing: no
/// wake is pending, and the waker does not make it spin.
fn assert_blocks<S: Selector<u32>>(sel: &mut S) {
    let (ready, took) = timed(sel, IDLE);
    assert!(ready.is_empty(), "{ready:?}");
    assert!(took >= IDLE, "returned after {took:?}, before its {IDLE:?}");
}

/// A wake before the select makes it return at once, with nothing; the
/// select after that blocks for its whole timeout.
fn wake_before_select_ends_it_early<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let waker = sel.waker().unwrap();
    assert_blocks(&mut sel);
    waker.wake().unwrap();
    let (ready, took) = timed(&mut sel, LONG);
    assert!(ready.is_empty(), "{ready:?}");
    assert!(took < PROMPT, "woken select took {took:?}");
    assert_blocks(&mut sel);
}

/// `wake` from another thread ends a `select(None)` in progress.
fn wake_from_another_thread_ends_a_blocking_select<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let waker = sel.waker().unwrap();
    let thread = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        waker.wake().unwrap();
    });
    // `None` would hang the test run if the wake were lost; the watchdog
    // thread makes that a failure instead.
    let done = Arc::new((Mutex::new(false), Condvar::new()));
    let watchdog = {
        let done = done.clone();
        thread::spawn(move || {
            let (lock, cvar) = &*done;
            let guard = lock.lock().unwrap();
            let (guard, _) = cvar.wait_timeout_while(guard, LONG, |d| !*d).unwrap();
            if !*guard {
                eprintln!("select(None) was not woken within {LONG:?}");
                std::process::abort();
            }
        })
    };
    let ready = sel.select(None).unwrap();
    *done.0.lock().unwrap() = true;
    done.1.notify_all();
    assert!(ready.is_empty(), "{ready:?}");
    thread.join().unwrap();
    watchdog.join().unwrap();
    assert_blocks(&mut sel);
}

/// Many wakes before one select: that select returns early, once; the next
/// one blocks.
fn wakes_coalesce_then_select_blocks_again<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let waker = sel.waker().unwrap();
    // More than a socket buffer holds, so the self-pipe fills up too.
    for _ in 0..2000 {
        waker.wake().unwrap();
    }
    let (ready, took) = timed(&mut sel, LONG);
    assert!(
        ready.is_empty() && took < PROMPT,
        "{ready:?} after {took:?}"
    );
    assert_blocks(&mut sel);
}

/// Four threads waking at once, with no select running: one early return.
fn concurrent_wakes_coalesce<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let waker = sel.waker().unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let waker = waker.clone();
            thread::spawn(move || {
                for _ in 0..500 {
                    waker.wake().unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let (ready, took) = timed(&mut sel, LONG);
    assert!(
        ready.is_empty() && took < PROMPT,
        "{ready:?} after {took:?}"
    );
    assert_blocks(&mut sel);
}

/// The waker's fd is the selector's business: results and `get_map` only
/// ever show the caller's registrations, also when both are ready at once.
fn waker_fd_is_never_reported_nor_in_the_map<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let waker = sel.waker().unwrap();
    let (a, mut b) = pair();
    sel.register(&a, Events::READ, 1).unwrap();
    assert_eq!(sel.get_map().len(), 1);

    b.write_all(b"x").unwrap();
    waker.wake().unwrap();
    let ready = sel.select(Some(LONG)).unwrap();
    assert_eq!(ready.len(), 1, "{ready:?}");
    assert_eq!((ready[0].0.fd, ready[0].0.data), (a.as_raw_fd(), 1));
    assert_eq!(ready[0].1, Events::READ);
    assert_eq!(sel.get_map().keys().collect::<Vec<_>>(), [a.as_raw_fd()]);

    // Only the socket is left ready, and it is reported alone.
    let ready = sel.select(Some(Duration::ZERO)).unwrap();
    assert_eq!(ready.len(), 1, "{ready:?}");
    (&a).read_exact(&mut [0]).unwrap();
    assert_blocks(&mut sel);

    sel.unregister(&a).unwrap();
    assert!(sel.get_map().is_empty());
    waker.wake().unwrap();
    let (ready, took) = timed(&mut sel, LONG);
    assert!(
        ready.is_empty() && took < PROMPT,
        "{ready:?} after {took:?}"
    );
}

/// Every `waker()` call hands out the same waker.
fn waker_is_the_same_on_every_call<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let first = sel.waker().unwrap();
    let second = sel.waker().unwrap();
    assert!(first.will_wake(&second));
    let other = new().waker().unwrap();
    assert!(!first.will_wake(&other));
    // Waking through one clone is consumed for all.
    second.wake().unwrap();
    first.wake().unwrap();
    let (ready, took) = timed(&mut sel, LONG);
    assert!(
        ready.is_empty() && took < PROMPT,
        "{ready:?} after {took:?}"
    );
    assert_blocks(&mut sel);
}

/// Registrations made before and after the waker, on fds below and above
/// its own, keep reporting correctly through unregisters (which move
/// entries in poll's array and shrink select's sets).
fn registrations_around_the_waker_keep_working<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let early: Vec<_> = (0..3).map(|_| pair()).collect();
    for (i, (a, _)) in early.iter().enumerate() {
        sel.register(a, Events::READ, i as u32).unwrap();
    }
    let waker = sel.waker().unwrap();
    let late: Vec<_> = (0..3).map(|_| pair()).collect();
    for (i, (a, _)) in late.iter().enumerate() {
        sel.register(a, Events::READ, 10 + i as u32).unwrap();
    }
    sel.unregister(&early[1].0).unwrap();
    sel.unregister(&late[2].0).unwrap();
    sel.modify(&early[0].0, Events::ALL, 5).unwrap();

    (&early[2].1).write_all(b"x").unwrap();
    (&late[0].1).write_all(b"x").unwrap();
    let mut got: Vec<_> = sel
        .select(Some(LONG))
        .unwrap()
        .into_iter()
        .map(|(key, ev)| (key.data, ev))
        .collect();
    got.sort();
    // early[0] is writable (an empty socket has room).
    assert_eq!(
        got,
        [(2, Events::READ), (5, Events::WRITE), (10, Events::READ)]
    );

    // With every registration gone the waker still works, and still does
    // not spin.
    for fd in sel.get_map().keys().collect::<Vec<_>>() {
        sel.unregister(fd).unwrap();
    }
    assert_blocks(&mut sel);
    waker.wake().unwrap();
    let (ready, took) = timed(&mut sel, LONG);
    assert!(
        ready.is_empty() && took < PROMPT,
        "{ready:?} after {took:?}"
    );
}

/// 10,000 wakes from 4 threads, each of which must end a select: a waker
/// thread waits until the selecting thread has returned from a select since
/// its wake, so a lost wake shows as a select that times out (`LONG`) and a
/// waker thread that gives up (`PROMPT`). Wakes are taken in turns so that
/// each one, not a neighbour's, is what ends the select.
fn ten_thousand_wakes_from_four_threads_none_lost<S>(new: fn() -> S)
where
    S: Selector<u32> + Send + 'static,
{
    const THREADS: usize = 4;
    const WAKES: usize = 10_000 / THREADS;

    /// How many selects have returned, and whether to stop.
    struct State {
        returned: u64,
        stop: bool,
    }
    let state = Arc::new((
        Mutex::new(State {
            returned: 0,
            stop: false,
        }),
        Condvar::new(),
    ));
    let mut sel = new();
    let waker = sel.waker().unwrap();

    let selecting = {
        let state = state.clone();
        thread::spawn(move || loop {
            let (ready, took) = timed(&mut sel, LONG);
            assert!(ready.is_empty(), "{ready:?}");
            assert!(took < PROMPT, "a wake was lost: select took {took:?}");
            let (lock, cvar) = &*state;
            let mut state = lock.lock().unwrap();
            state.returned += 1;
            cvar.notify_all();
            if state.stop {
                return state.returned;
            }
        })
    };

    let turn = Arc::new(Mutex::new(()));
    let wakers: Vec<_> = (0..THREADS)
        .map(|_| {
            let (state, turn, waker) = (state.clone(), turn.clone(), waker.clone());
            thread::spawn(move || {
                for _ in 0..WAKES {
                    let _turn = turn.lock().unwrap();
                    let (lock, cvar) = &*state;
                    let before = lock.lock().unwrap().returned;
                    waker.wake().unwrap();
                    let guard = lock.lock().unwrap();
                    let (guard, timeout) = cvar
                        .wait_timeout_while(guard, PROMPT, |s| s.returned == before)
                        .unwrap();
                    assert!(!timeout.timed_out(), "wake lost after {before} returns");
                    drop(guard);
                }
            })
        })
        .collect();
    for thread in wakers {
        thread.join().unwrap();
    }
    state.0.lock().unwrap().stop = true;
    waker.wake().unwrap();
    let returned = selecting.join().unwrap();
    // One return per wake (each waited for its own), plus the stop wake's.
    assert!(returned > (THREADS * WAKES) as u64, "{returned}");
}

/// A waker used after its selector is gone does nothing, without error.
fn waker_outlives_its_selector<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let waker = sel.waker().unwrap();
    sel.close().unwrap();
    for _ in 0..2000 {
        waker.wake().unwrap();
    }
}

/// `AnySelector` on what `new` picks, and forced onto poll and select.
mod any {
    waker_suite!(picked, io_selectors::AnySelector);
    #[cfg(feature = "select")]
    waker_suite!(select, fn crate::forced_select);
    #[cfg(feature = "poll")]
    waker_suite!(poll, fn crate::forced_poll);
}

#[cfg(selectors_select)]
fn forced_select<T>() -> std::io::Result<io_selectors::AnySelector<T>> {
    io_selectors::AnySelector::with_backend(io_selectors::Backend::Select)
}

#[cfg(selectors_poll)]
fn forced_poll<T>() -> std::io::Result<io_selectors::AnySelector<T>> {
    io_selectors::AnySelector::with_backend(io_selectors::Backend::Poll)
}
