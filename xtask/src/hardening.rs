//! The hardening tasks: Miri on the core, the registry fuzzer, the dependency
//! audit, and the property and differential runs at a chosen size.

use crate::cmd::{self, cargo, require, root};
use crate::steps::{StepResult, Steps};

/// `cargo +nightly miri test -p selectors-core`: the core is pure data
/// structures, so Miri checks all of it (tests and doctests).
pub(crate) fn miri(_: &mut Steps) -> StepResult {
    require(
        "miri",
        cmd::rustup().args(["run", "nightly", "cargo", "miri", "--version"]),
        "rustup toolchain install nightly --component miri rust-src",
    )?;
    cmd::run(
        cmd::rustup()
            .args(["run", "nightly", "cargo", "miri", "test", "-p"])
            .arg(crate::CORE),
    )
}

/// Runs the `registry` fuzz target (fuzz/, its own workspace) for `seconds`.
pub(crate) fn fuzz(_: &mut Steps, seconds: u64) -> StepResult {
    require(
        "cargo-fuzz",
        cargo().args(["fuzz", "--version"]),
        "cargo install cargo-fuzz (and rustup toolchain install nightly)",
    )?;
    cmd::run(
        cmd::rustup()
            .current_dir(root().join("fuzz"))
            .args(["run", "nightly", "cargo", "fuzz", "run", "registry", "--"])
            .arg(format!("-max_total_time={seconds}")),
    )
}

/// `cargo audit`: known advisories against Cargo.lock (fetches the RustSec
/// database from GitHub, so it needs the network).
pub(crate) fn audit(_: &mut Steps) -> StepResult {
    require(
        "cargo-audit",
        cargo().args(["audit", "--version"]),
        "cargo install cargo-audit --locked",
    )?;
    cmd::run(cargo().args(["audit", "--deny", "warnings"]))
}

/// The property tests with `cases` sequences per backend and the
/// differential test with `cases / 10` scripts per backend, in release mode.
pub(crate) fn props(_: &mut Steps, cases: u64) -> StepResult {
    cmd::run(
        cargo()
            .env("PROPTEST_CASES", cases.to_string())
            .env("DIFF_SCRIPTS", (cases / 10).max(1).to_string())
            .args([
                "test",
                "--release",
                "-p",
                crate::UMBRELLA,
                "--test",
                "properties",
                "--test",
                "differential",
                "--",
                "--nocapture",
            ]),
    )
}

/// Parses the optional number argument of a task.
pub(crate) fn number(rest: &[String], default: u64) -> Result<u64, String> {
    match rest {
        [] => Ok(default),
        [n] => n.parse().map_err(|_| format!("not a number: {n}")),
        _ => Err(format!("one number expected, got: {}", rest.join(" "))),
    }
}
