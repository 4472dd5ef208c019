//! `cargo xtask cross`: clippy with warnings denied for every supported target.
//!
//! `cargo clippy` only type-checks, so no cross linker or sysroot is needed:
//! the rustup `rust-std` component of each target is enough. This catches a
//! `cfg` that breaks one platform (a backend that must compile to nothing, a
//! DefaultSelector that must pick the right backend) without a CI matrix.

use crate::cmd::{self, cargo};
use crate::steps::{StepResult, Steps};

/// The supported targets: Linux (glibc, musl, arm64), Android, macOS, FreeBSD,
/// NetBSD, Windows (x86_64, arm64; sockets only).
pub(crate) const TARGETS: [&str; 10] = [
    "x86_64-unknown-linux-gnu",
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-gnu",
    "aarch64-linux-android",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-unknown-freebsd",
    "x86_64-unknown-netbsd",
    "x86_64-pc-windows-msvc",
    "aarch64-pc-windows-msvc",
];

/// `--target T` (repeatable) picks targets; none means all of [`TARGETS`].
pub(crate) fn parse_targets(args: &[String]) -> Result<Vec<&str>, String> {
    let mut targets = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let target = match (arg.as_str(), arg.strip_prefix("--target=")) {
            (_, Some(target)) => target,
            ("--target", None) => args.next().ok_or("--target needs a value")?,
            _ => return Err(format!("cross: unexpected argument {arg}")),
        };
        targets.push(target);
    }
    if targets.is_empty() {
        targets.extend(TARGETS);
    }
    Ok(targets)
}

/// Installs the rustup targets that are missing (one `rustup target add`).
pub(crate) fn install_targets(targets: &[&str]) -> StepResult {
    cmd::require_rustup()?;
    let installed = cmd::output(cmd::rustup().args(["target", "list", "--installed"]))?;
    let missing: Vec<&str> = targets
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    cmd::run(cmd::rustup().args(["target", "add"]).args(&missing))
}

/// The host triple of the toolchain running xtask.
fn host() -> Result<String, String> {
    let version = cmd::output(std::process::Command::new("rustc").arg("-vV"))?;
    version
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .ok_or_else(|| "rustc -vV printed no host".into())
}

/// Clippy on core, every backend, the umbrella and the test support, one
/// sub-step per target.
pub(crate) fn run(steps: &mut Steps, targets: &[&str]) -> StepResult {
    crate::ci::require_clippy()?;
    install_targets(targets)?;
    let host = host()?;
    for target in targets {
        steps.run(target, |_| {
            let mut clippy = cargo();
            clippy.arg("clippy");
            // The host target without `--target` is the same check, and shares
            // target/debug with the workspace clippy step instead of rebuilding.
            if *target != host {
                clippy.args(["--target", target]);
            }
            for krate in crate::library_crates().chain(Some(crate::TEST_SUPPORT)) {
                clippy.args(["-p", krate]);
            }
            cmd::run(clippy.args(["--all-targets", "--", "-D", "warnings"]))
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn no_target_means_all_and_target_flags_select() {
        assert_eq!(parse_targets(&[]).unwrap(), TARGETS);
        let picked = args(&[
            "--target",
            "x86_64-apple-darwin",
            "--target=x86_64-unknown-netbsd",
        ]);
        assert_eq!(
            parse_targets(&picked).unwrap(),
            ["x86_64-apple-darwin", "x86_64-unknown-netbsd"]
        );
        assert!(parse_targets(&args(&["--target"])).is_err());
        assert!(parse_targets(&args(&["--frob"])).is_err());
    }
}
