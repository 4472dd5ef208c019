//! The bench crate: `cargo xtask bench`, and its checks in `cargo xtask ci`.
//!
//! `selectors-bench/` is its own workspace (as `fuzz/` is), so that the
//! README's `cargo test --workspace` does not build criterion, mio and
//! polling; cargo reaches it with `--manifest-path`, and it has its own
//! `Cargo.lock` and `target/`.

use std::process::Command;

use crate::cmd::{self, cargo};
use crate::steps::{StepResult, Steps};

/// The bench crate's manifest, relative to the workspace root.
const MANIFEST: &str = "selectors-bench/Cargo.toml";

/// `cargo <task> --manifest-path selectors-bench/Cargo.toml`.
fn bench_cargo(task: &str) -> Command {
    let mut cmd = cargo();
    cmd.args([task, "--manifest-path", MANIFEST]);
    cmd
}

/// `cargo xtask bench [--quick]`: the report binary, which runs criterion,
/// the allocation test and the CPython script and prints the table.
pub(crate) fn run(args: &[String]) -> StepResult {
    cmd::run(
        bench_cargo("run")
            .args(["--release", "-q", "--bin", "report", "--"])
            .args(args),
    )
}

/// The CI step: what `fmt`, `clippy` and `test` do for the main workspace,
/// for the bench crate (its tests in debug mode; the benchmarks themselves
/// are built by clippy's `--all-targets`, not run).
pub(crate) fn check(steps: &mut Steps) -> StepResult {
    steps.run("fmt", |_| {
        cmd::run(bench_cargo("fmt").args(["--", "--check"]))
    });
    steps.run("clippy", |_| {
        cmd::run(bench_cargo("clippy").args(["--all-targets", "--", "-D", "warnings"]))
    });
    steps.run("test", |_| cmd::run(&mut bench_cargo("test")));
    Ok(())
}
