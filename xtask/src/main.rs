//! `cargo xtask`: developer and CI tasks for the selectors workspace.
//!
//! A plain std-only binary (no argument parser, no dependencies) so that it
//! builds in a second on a clean clone. `cargo xtask help` lists the tasks.

mod bench;
mod ci;
mod cmd;
mod cross;
mod features;
mod hardening;
mod msrv;
mod python;
mod steps;
mod wine;

use std::process::ExitCode;

use steps::Steps;

/// The library crates: what users depend on, what MSRV and cross checks cover.
const CORE: &str = "selectors-core";
/// The backend crates, each usable alone.
const BACKENDS: [&str; 5] = [
    "selectors-select",
    "selectors-poll",
    "selectors-epoll",
    "selectors-kqueue",
    "selectors-iocp",
];
/// The umbrella crate; its features are named after the backends.
const UMBRELLA: &str = "io-selectors";
/// What the tests share (the kqueue model among it): not published, so not
/// a library crate (no MSRV check, no `cargo package`), but cross-checked.
const TEST_SUPPORT: &str = "selectors-test-support";

/// The library crates: core, the backends and the umbrella.
fn library_crates() -> impl Iterator<Item = &'static str> {
    Some(CORE).into_iter().chain(BACKENDS).chain(Some(UMBRELLA))
}

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  ci                    fmt, clippy, test, doc (+ docs.rs targets), cross, msrv, features, package,
                        bench crate, wine, miri, fuzz, python; then a summary table
  cross [--target T]..  clippy -D warnings for every supported target (or only T), installing targets
  msrv                  check the library crates with the workspace's rust-version toolchain
  features              each backend crate alone, the umbrella with each backend feature alone
  package               cargo package of the library crates together, as publishing them would
  miri                  cargo +nightly miri test -p selectors-core
  python                the Python module (io-selectors-py/): fmt, clippy, doc; a venv in
                        target/python with maturin and pytest; pip install ./io-selectors-py;
                        its pytest suite; CPython's test_selectors and asyncio suites on it
  fuzz [SECONDS]        run the registry fuzz target (fuzz/) for SECONDS (default 60)
  audit                 cargo audit: advisories against Cargo.lock (needs network)
  props [CASES]         property tests with CASES sequences per backend (default 100000),
                        differential test with CASES/10 scripts per backend, release mode
  bench [--quick]       criterion benchmarks beside the raw syscalls, mio, polling and CPython
                        (selectors-bench/, its own workspace); prints the BENCHMARKS.md table
  wine                  the Windows tests (core, select, poll, conformance, waker, echo server)
                        for x86_64-pc-windows-gnu under Wine, installing Wine and mingw
  wine-bench [afd]      the Windows backends beside raw select/WSAPoll, mio and polling, under
                        Wine; prints the tables of BENCHMARKS.md's Windows section (with afd:
                        only IocpSelector, mio and polling side by side)
  setup                 install what the tasks need: rustfmt, clippy, targets, the MSRV toolchain,
                        nightly with miri, cargo-fuzz
  help                  this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    let mut steps = Steps::default();
    match (task, rest) {
        ("ci", []) => ci::run(&mut steps),
        ("cross", rest) => match cross::parse_targets(rest) {
            Ok(targets) => steps.run("cross", |s| cross::run(s, &targets)),
            Err(e) => return usage_error(&e),
        },
        ("msrv", []) => steps.run("msrv", msrv::run),
        ("features", []) => steps.run("features", features::run),
        ("package", []) => steps.run("package", ci::package),
        ("setup", []) => steps.run("setup", setup),
        ("miri", []) => steps.run("miri", hardening::miri),
        ("python", []) => steps.run("python", python::run),
        ("fuzz", rest) => match hardening::number(rest, 60) {
            Ok(secs) => steps.run("fuzz", |s| hardening::fuzz(s, secs)),
            Err(e) => return usage_error(&e),
        },
        ("wine", []) => steps.run("wine", wine::run),
        ("wine-bench", rest) if rest.iter().all(|a| a == "afd") => {
            steps.run("wine-bench", |s| wine::bench(s, rest))
        }
        ("audit", []) => steps.run("audit", hardening::audit),
        ("props", rest) => match hardening::number(rest, 100_000) {
            Ok(cases) => steps.run("props", |s| hardening::props(s, cases)),
            Err(e) => return usage_error(&e),
        },
        ("bench", rest) if rest.iter().all(|a| a == "--quick") => {
            steps.run("bench", |_| bench::run(rest))
        }
        ("help" | "-h" | "--help", _) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => return usage_error(&format!("unknown task or arguments: {}", args.join(" "))),
    }
    eprintln!("\n{}", steps.summary());
    if steps.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprint!("error: {message}\n\n{USAGE}");
    ExitCode::from(2)
}

/// Installs everything the other tasks need, so `.ci/run` has one list to keep.
fn setup(steps: &mut Steps) -> steps::StepResult {
    cmd::require_rustup()?;
    steps.run("components", |_| {
        cmd::run(cmd::rustup().args(["component", "add", "rustfmt", "clippy"]))
    });
    steps.run("targets", |_| cross::install_targets(&cross::TARGETS));
    steps.run("msrv toolchain", |_| msrv::install_toolchain().map(drop));
    steps.run("nightly with miri", |_| {
        cmd::run(cmd::rustup().args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
            "--component",
            "miri,rust-src",
        ]))
    });
    // cargo-audit is not installed here: `audit` is not a ci step (its
    // advisory database lives on github.com, unreachable from CI), and
    // building it would cost CI minutes for nothing.
    steps.run("cargo-fuzz", |_| {
        if cmd::run(cmd::cargo().args(["fuzz", "--version"])).is_ok() {
            return Ok(());
        }
        cmd::run(cmd::cargo().args(["install", "--locked", "cargo-fuzz"]))
    });
    Ok(())
}
