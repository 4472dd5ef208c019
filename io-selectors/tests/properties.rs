//! Property tests: random sequences of register, modify, unregister,
//! select, close-behind-the-back, dup2-reuse, reuse of a closed number by
//! `/dev/null`, write and read over a pool of
//! socketpairs and a pipe, run on every backend and checked step by step
//! against the reference model in `model/mod.rs` (which documents what it
//! asserts and what differs per backend). A failure shrinks to a minimal
//! sequence and prints its trace.
//!
//! Each backend runs `PROPTEST_CASES` sequences (default 10,000) of 1 to 24
//! steps; `AnySelector`, which only delegates, a fifth of that. Adding a
//! backend is one line in the `backends!` list at the end (constructor,
//! model flavor, fd range of its pool, sequences).

// Needs a backend that these tests drive.
// Unix: the model runs on socketpairs and pipes.
#![cfg(all(
    unix,
    any(
        selectors_select,
        selectors_poll,
        selectors_epoll,
        target_os = "linux",
        target_os = "android"
    )
))]

mod model;

use std::os::unix::io::RawFd;

use model::{Flavor, Op, Stats, SLOTS};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use selectors_core::Selector;

/// Sequences per backend: `PROPTEST_CASES`, else 10,000.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn fd() -> impl Strategy<Value = Option<usize>> {
    prop_oneof![12 => (0..SLOTS).prop_map(Some), 1 => Just(None)]
}

fn op() -> impl Strategy<Value = Op> {
    let slot = 0..SLOTS;
    prop_oneof![
        5 => (fd(), 0u8..4).prop_map(|(fd, events)| Op::Register { fd, events }),
        3 => (fd(), 0u8..4).prop_map(|(fd, events)| Op::Modify { fd, events }),
        2 => fd().prop_map(|fd| Op::Unregister { fd }),
        5 => Just(Op::Select),
        2 => slot.clone().prop_map(|slot| Op::Close { slot }),
        2 => (slot.clone(), slot.clone()).prop_map(|(src, dst)| Op::Dup { src, dst }),
        1 => slot.clone().prop_map(|slot| Op::Reopen { slot }),
        3 => (slot.clone(), 1usize..=512).prop_map(|(slot, len)| Op::Write { slot, len }),
        2 => (slot, 1usize..=1024).prop_map(|(slot, len)| Op::Read { slot, len }),
    ]
}

/// Runs the property for one backend; the pool lives at `base`, a range no
/// other test of this binary uses.
fn run<S: Selector<u32> + std::fmt::Debug>(
    name: &str,
    new: fn() -> S,
    flavor: Flavor,
    base: RawFd,
    cases: u32,
) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let stats = std::cell::RefCell::new(Stats::default());
    let result = runner.run(&prop::collection::vec(op(), 1..24), |ops| {
        let s = model::check(new(), flavor, base, &ops).map_err(TestCaseError::fail)?;
        stats.borrow_mut().add(&s);
        Ok(())
    });
    let s = stats.into_inner();
    println!("{name}: {s:?}");
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    // The generator reaches the interesting corners.
    assert!(s.sequences >= u64::from(cases));
    if s.sequences >= 1_000 {
        assert!(
            s.closed_behind > 0 && s.ready_reported > 0 && s.errors > 0,
            "{s:?}"
        );
    }
}

macro_rules! backends {
    ($($(#[$attr:meta])* $test:ident: $new:expr, $flavor:expr, $base:expr, $cases:expr;)*) => {$(
        $(#[$attr])*
        #[test]
        fn $test() {
            run(stringify!($new), || $new.expect("new selector"), $flavor, $base, $cases);
        }
    )*};
}

backends! {
    #[cfg(selectors_select)]
    select_matches_the_model: selectors_select::SelectSelector::<u32>::new(), Flavor::Select, 3000, cases();
    #[cfg(selectors_poll)]
    poll_matches_the_model: selectors_poll::PollSelector::<u32>::new(), Flavor::Poll, 3100, cases();
    #[cfg(selectors_epoll)]
    epoll_matches_the_model: selectors_epoll::EpollSelector::<u32>::new(), Flavor::Epoll, 3200, cases();
    #[cfg(selectors_epoll)]
    any_epoll_matches_the_model: io_selectors::AnySelector::<u32>::with_backend(io_selectors::Backend::Epoll), Flavor::Epoll, 3300, cases() / 5;
    #[cfg(selectors_poll)]
    any_poll_matches_the_model: io_selectors::AnySelector::<u32>::with_backend(io_selectors::Backend::Poll), Flavor::Poll, 3400, cases() / 5;
    // The kqueue model (FreeBSD's kqueue, in process) over Linux's poll(2).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    kqueue_model_matches_the_model: selectors_test_support::ModelKqueueSelector::<u32>::new(), Flavor::Kqueue, 3500, cases();
}
