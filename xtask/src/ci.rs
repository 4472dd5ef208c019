//! `cargo xtask ci`: every check CI runs, in order, then the summary table.

use crate::cmd::{self, cargo, require};
use crate::steps::{StepResult, Steps};
use crate::{cross, features, hardening, msrv};

/// A CI step: its name in the summary and the function that runs it.
type Step = (&'static str, fn(&mut Steps) -> StepResult);

/// The CI steps, in order. Adding a step is adding a line here.
const STEPS: &[Step] = &[
    ("fmt", fmt),
    ("clippy", clippy),
    ("test", test),
    ("doc", doc),
    ("cross", |s| cross::run(s, &cross::TARGETS)),
    ("msrv", msrv::run),
    ("features", features::run),
    ("miri", hardening::miri),
    ("fuzz", |s| hardening::fuzz(s, 60)),
    // Not `audit`: it fetches the RustSec database from GitHub, so it is its
    // own task (`cargo xtask audit`) and ci stays runnable offline.
];

/// Runs every step (a failure does not stop the next one).
pub(crate) fn run(steps: &mut Steps) {
    for (name, step) in STEPS {
        steps.run(name, step);
    }
}

fn fmt(_: &mut Steps) -> StepResult {
    require(
        "rustfmt",
        cargo().args(["fmt", "--version"]),
        "rustup component add rustfmt",
    )?;
    cmd::run(cargo().args(["fmt", "--all", "--", "--check"]))
}

fn clippy(_: &mut Steps) -> StepResult {
    require_clippy()?;
    cmd::run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))
}

/// The README's test command.
fn test(_: &mut Steps) -> StepResult {
    cmd::run(cargo().args(["test", "--workspace"]))
}

fn doc(_: &mut Steps) -> StepResult {
    cmd::run(
        cargo()
            .env("RUSTDOCFLAGS", "-D warnings")
            .args(["doc", "--workspace", "--no-deps"]),
    )
}

/// Clippy is a rustup component that minimal installs lack.
pub(crate) fn require_clippy() -> StepResult {
    require(
        "clippy",
        cargo().args(["clippy", "--version"]),
        "rustup component add clippy",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_the_issue_order_and_unique() {
        let names: Vec<&str> = STEPS.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names[..7],
            ["fmt", "clippy", "test", "doc", "cross", "msrv", "features"]
        );
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            names.len(),
            "duplicate step name in {names:?}"
        );
    }
}
