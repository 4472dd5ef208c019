//! Differential test against CPython's `selectors` module.
//!
//! Seeded random operation scripts (the ops of `model/mod.rs`) run through
//! one of our backends on real fds, and through the matching CPython class
//! (`SelectSelector`, `PollSelector`, `EpollSelector`) in
//! `tests/cpython_driver.py`, on the same pool rebuilt at the same fd
//! numbers in the Python process. Every call is compared: the key returned
//! (fd, events, data), the error class (`ValueError` for `InvalidEvents` and
//! `InvalidFd`, `KeyError` for `AlreadyRegistered` and `NotRegistered`,
//! `OSError` with its errno for `Os`) and the ready set of each
//! `select(0)`. Pool operations (close behind the selector's back, dup2,
//! writes, reads) are recorded as the Rust side performed them and replayed
//! by the driver. If `python3` is missing the test says so and passes.
//!
//! `DIFF_SCRIPTS` (default 1,000) scripts per backend; `DIFF_SEED` picks the
//! seed (default fixed, so runs and failures reproduce; a failure prints the
//! seed it ran with).
//!
//! The tests of this binary run in parallel and each starts `python3`; they
//! start it through `model::spawn`, which never forks while another test's
//! pool is alive (a child would keep its descriptions open until `exec`;
//! see the model's doc). The driver itself is single-threaded.
//!
//! # DIFFERENCES (intentional, so not generated)
//!
//! - `modify` with empty events: we reject it with `InvalidEvents` and change
//!   nothing. CPython's `PollSelector` and `EpollSelector` accept it (the fd
//!   stays registered for nothing); its `SelectSelector` unregisters the fd
//!   and then raises `ValueError`. Scripts never modify to empty events.
//! - Orphans on epoll: once a closed fd's file description lives on in a
//!   dup, epoll keeps reporting it under the old number. CPython reports
//!   such events to whatever registration holds that number now; we tag
//!   registrations with a generation and drop the stale events (then rebuild
//!   the interest list). Epoll scripts stop as soon as the model sees such an
//!   orphan in the interest list.
//! - fds at or above 1024: CPython's `SelectSelector` raises `ValueError`
//!   (`FD_SETSIZE`); ours works. The pool lives below 1024.
//! - What an error says: ours names the fd (`select` on a closed fd names
//!   the culprit); only the class and errno are compared.
//! - Python raises `ValueError` for events with unknown bits; `Events`
//!   cannot hold them, so there is nothing to compare.

// Needs a backend that these tests drive.
// Unix: the CPython side drives socketpairs and pipes.
#![cfg(all(unix, any(selectors_select, selectors_poll, selectors_epoll)))]

mod model;

use std::io::Write;
use std::os::unix::io::RawFd;
use std::process::{Command, Stdio};

use model::{events, Flavor, Model, Op, Outcome, World, SLOTS};
use selectors_core::Selector;
use selectors_test_support::rng::XorShift;

/// A random operation of a script.
fn random_op(rng: &mut XorShift) -> Op {
    let fd = |r: &mut XorShift| (r.below(13) < 12).then(|| r.below(SLOTS as u64) as usize);
    let slot = |r: &mut XorShift| r.below(SLOTS as u64) as usize;
    match rng.below(25) {
        0..=4 => Op::Register {
            fd: fd(rng),
            events: rng.below(4) as u8,
        },
        // Never empty: see DIFFERENCES.
        5..=7 => Op::Modify {
            fd: fd(rng),
            events: 1 + rng.below(3) as u8,
        },
        8..=9 => Op::Unregister { fd: fd(rng) },
        10..=14 => Op::Select,
        15..=16 => Op::Close { slot: slot(rng) },
        17..=18 => Op::Dup {
            src: slot(rng),
            dst: slot(rng),
        },
        24 => Op::Reopen { slot: slot(rng) },
        19..=21 => Op::Write {
            slot: slot(rng),
            len: 1 + rng.below(512) as usize,
        },
        _ => Op::Read {
            slot: slot(rng),
            len: 1 + rng.below(1024) as usize,
        },
    }
}

/// The line CPython's driver prints for the same outcome.
fn line(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Key(fd, ev, data) => format!("key {fd} {} {data}", ev.bits()),
        Outcome::InvalidEvents(_) | Outcome::InvalidFd(_) => "ValueError".into(),
        Outcome::AlreadyRegistered(_) | Outcome::NotRegistered(_) => "KeyError".into(),
        Outcome::Os(_, errno) => format!("OSError {errno}"),
        Outcome::Ready(ready) => {
            let mut s = String::from("ready");
            for (fd, ev, data) in ready {
                s += &format!(" {fd}:{}:{data}", ev.bits());
            }
            s
        }
    }
}

/// Runs `ops` on `sel` over a pool at `base`; returns the script for the
/// driver and our result lines, one per script line.
fn record<S: Selector<u32>>(
    mut sel: S,
    flavor: Flavor,
    base: RawFd,
    ops: &[Op],
) -> (Vec<String>, Vec<String>) {
    let mut w = World::new(base);
    let mut model = Model::new(flavor);
    let (mut script, mut ours) = (Vec::new(), Vec::new());
    for (i, &op) in ops.iter().enumerate() {
        let data = i as u32;
        let (cmd, outcome) = match op {
            Op::Register { fd, events: e } => {
                let fd = w.number(fd);
                model.register(&w, fd, events(e), data);
                let out = Outcome::of_key(sel.register(fd, events(e), data));
                (format!("register {fd} {e} {data}"), out)
            }
            Op::Modify { fd, events: e } => {
                let fd = w.number(fd);
                model.modify(&w, fd, events(e), data);
                let out = Outcome::of_key(sel.modify(fd, events(e), data));
                (format!("modify {fd} {e} {data}"), out)
            }
            Op::Unregister { fd } => {
                let fd = w.number(fd);
                model.unregister(&w, fd);
                let out = match sel.unregister(fd) {
                    Ok(key) => Outcome::Key(key.fd, key.events, key.data),
                    Err(e) => Outcome::of_error(e),
                };
                (format!("unregister {fd}"), out)
            }
            Op::Select => ("select".to_string(), model::select_outcome(&mut sel)),
            Op::Close { slot } => {
                if w.desc_of(slot).is_none() {
                    continue;
                }
                model.died(w.close(slot));
                script.push(format!("close {slot}"));
                ours.push("ok".to_string());
                continue;
            }
            Op::Dup { src, dst } => {
                if w.desc_of(src).is_none() || src == dst {
                    continue;
                }
                model.died(w.dup(src, dst));
                script.push(format!("dup {src} {dst}"));
                ours.push("ok".to_string());
                continue;
            }
            Op::Reopen { slot } => {
                if w.reopen(slot) {
                    script.push(format!("reopen {slot}"));
                    ours.push("ok".to_string());
                }
                continue;
            }
            Op::Write { slot, len } => {
                if w.write(slot, len) {
                    script.push(format!("write {slot} {len}"));
                    ours.push("ok".to_string());
                }
                continue;
            }
            Op::Read { slot, len } => {
                let n = w.read(slot, len);
                if n > 0 {
                    script.push(format!("read {slot} {n}"));
                    ours.push("ok".to_string());
                }
                continue;
            }
        };
        script.push(cmd);
        ours.push(line(&outcome));
        if model.has_orphans() {
            break; // See DIFFERENCES.
        }
    }
    drop(sel);
    (script, ours)
}

fn python() -> Option<&'static str> {
    let ok = model::spawn(
        Command::new("python3")
            .arg("-c")
            .arg("import selectors")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .and_then(|mut child| child.wait())
    .map_or(false, |s| s.success());
    ok.then_some("python3")
}

/// The value of environment variable `name`, or `default` if unset.
fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

fn run<S: Selector<u32>>(
    name: &str,
    new: fn() -> S,
    flavor: Flavor,
    driver_arg: &str,
    base: RawFd,
) {
    let Some(python) = python() else {
        println!("SKIPPED: differential test of {name} against CPython: python3 not found");
        return;
    };
    let scripts: usize = env_or("DIFF_SCRIPTS", 1_000);
    let seed: u64 = env_or("DIFF_SEED", 0x5e1e_c705);
    let mut rng = XorShift::new(seed);
    let mut all_scripts = Vec::new();
    let mut all_ours = Vec::new();
    for _ in 0..scripts {
        let len = 1 + rng.below(30) as usize;
        let ops: Vec<Op> = (0..len).map(|_| random_op(&mut rng)).collect();
        all_scripts.push(record(new(), flavor, base, &ops));
    }
    let mut input = String::new();
    for (script, ours) in &all_scripts {
        for l in script {
            input += l;
            input.push('\n');
        }
        input += "end\n";
        all_ours.push(ours.clone());
    }
    let driver = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cpython_driver.py");
    // Every pool of this test is closed by now; other tests' pools are
    // kept out of the child by `model::spawn`.
    let mut child = model::spawn(
        Command::new(python)
            .args([driver, driver_arg, &base.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    )
    .expect("spawn python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "driver failed: {:?}", out.status);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut theirs = text.lines();
    let (mut compared, mut calls) = (0, 0);
    for (n, ((script, _), ours)) in all_scripts.iter().zip(&all_ours).enumerate() {
        for (i, (cmd, our)) in script.iter().zip(ours).enumerate() {
            let their = theirs.next().expect("driver output ends early");
            assert_eq!(
                our,
                their,
                "{name} script {n} (seed {seed}), line {i} `{cmd}`: ours vs CPython\nscript:\n  {}",
                script.join("\n  ")
            );
            calls += 1;
        }
        assert_eq!(theirs.next(), Some("end"));
        compared += 1;
    }
    println!("{name}: {compared} scripts, {calls} calls compared with CPython");
    assert_eq!(compared, scripts);
}

macro_rules! backends {
    ($($(#[$attr:meta])* $test:ident: $new:expr, $flavor:expr, $py:expr, $base:expr;)*) => {$(
        $(#[$attr])*
        #[test]
        fn $test() {
            run(stringify!($new), || $new.expect("new selector"), $flavor, $py, $base);
        }
    )*};
}

// Below 1024: CPython's select.select() refuses higher fds.
backends! {
    #[cfg(selectors_select)]
    select_agrees_with_cpython: selectors_select::SelectSelector::<u32>::new(), Flavor::Select, "select", 900;
    #[cfg(selectors_poll)]
    poll_agrees_with_cpython: selectors_poll::PollSelector::<u32>::new(), Flavor::Poll, "poll", 920;
    #[cfg(selectors_epoll)]
    epoll_agrees_with_cpython: selectors_epoll::EpollSelector::<u32>::new(), Flavor::Epoll, "epoll", 940;
    #[cfg(selectors_epoll)]
    any_epoll_agrees_with_cpython: io_selectors::AnySelector::<u32>::with_backend(io_selectors::Backend::Epoll), Flavor::Epoll, "epoll", 960;
}
