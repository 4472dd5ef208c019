//! `cargo xtask ci`: every check CI runs, in order, then the summary table.

use crate::cmd::{self, cargo, require};
use crate::steps::{StepResult, Steps};
use crate::{bench, cross, features, hardening, library_crates, msrv, python, wine};

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
    ("package", package),
    ("wine", wine::run),
    ("bench crate", bench::check),
    ("miri", hardening::miri),
    ("fuzz", |s| hardening::fuzz(s, 60)),
    // The Python extension is its own workspace: the steps above skip it.
    ("python", python::run),
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

/// The docs of the workspace, then those of each library crate for every
/// target its `[package.metadata.docs.rs]` names, as docs.rs will build them
/// (rustdoc needs no linker, so every target works here).
fn doc(steps: &mut Steps) -> StepResult {
    let doc = || {
        let mut cmd = cargo();
        cmd.env("RUSTDOCFLAGS", "-D warnings")
            .args(["doc", "--no-deps"]);
        cmd
    };
    steps.run("workspace", |_| cmd::run(doc().arg("--workspace")));
    let mut by_target: Vec<(String, Vec<&str>)> = Vec::new();
    for name in library_crates() {
        let manifest = cmd::root().join(name).join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest)
            .map_err(|e| format!("{}: {e}", manifest.display()))?;
        for target in docs_rs_targets(&text) {
            match by_target.iter_mut().find(|(t, _)| *t == target) {
                Some((_, crates)) => crates.push(name),
                None => by_target.push((target, vec![name])),
            }
        }
    }
    for (target, crates) in &by_target {
        steps.run(&format!("docs.rs {target}"), |_| {
            cross::install_targets(&[target.as_str()])?;
            let mut cmd = doc();
            cmd.args(["--target", target]);
            for name in crates {
                cmd.args(["-p", name]);
            }
            cmd::run(&mut cmd)
        });
    }
    Ok(())
}

/// The `targets = [...]` of a manifest's `[package.metadata.docs.rs]` (one
/// line, as the library crates write it).
fn docs_rs_targets(manifest: &str) -> Vec<String> {
    let table = match manifest.split("[package.metadata.docs.rs]").nth(1) {
        Some(rest) => rest.split("\n[").next().unwrap_or(""),
        None => return Vec::new(),
    };
    table
        .lines()
        .filter_map(|line| line.trim().strip_prefix("targets = ["))
        .flat_map(|list| list.trim_end_matches(']').split(','))
        .map(|t| t.trim().trim_matches('"').to_owned())
        .filter(|t| !t.is_empty())
        .collect()
}

/// `cargo package` of the library crates, together, as `cargo publish
/// --workspace` would: each `.crate` is built from its packaged sources
/// alone, with its siblings resolved from the other packages, not from paths.
pub(crate) fn package(_: &mut Steps) -> StepResult {
    let target = forget_packaged_sources()?;
    let mut cmd = cargo();
    cmd.arg("package").arg("--target-dir").arg(target);
    for name in library_crates() {
        cmd.args(["-p", name]);
    }
    cmd::run(&mut cmd)
}

/// Removes what earlier `cargo package` runs left of our crates.
///
/// To build each `.crate` against its siblings, cargo serves them from a
/// local registry (`target/package/tmp-registry`), unpacks them into
/// `$CARGO_HOME/registry/src/-<hash>/<name>-<version>/` (a directory named
/// after that registry's path) and builds them. A registry crate is taken
/// as immutable, unpacked and compiled once per name and version, so a
/// second run in the same checkout would verify against the sources (and
/// the build) of the first. So the step packages into a target directory
/// of its own, emptied first, and removes the unpacked copies; local
/// registries are the directories whose name starts with `-` (their URL
/// has no host); crates.io's is not touched. Returns that target directory.
fn forget_packaged_sources() -> Result<std::path::PathBuf, String> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| cmd::root().join("target"))
        .join("xtask-package");
    if target.exists() {
        std::fs::remove_dir_all(&target).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")));
    let Some(src) = home.map(|h| h.join("registry").join("src")) else {
        return Ok(target);
    };
    let Ok(registries) = std::fs::read_dir(&src) else {
        return Ok(target); // nothing unpacked yet
    };
    for registry in registries.flatten() {
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        for unpacked in std::fs::read_dir(registry.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = unpacked.file_name().to_string_lossy().into_owned();
            let ours = library_crates().any(|krate| {
                name.strip_prefix(krate)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .map_or(false, |version| {
                        version.starts_with(|c: char| c.is_ascii_digit())
                    })
            });
            if ours {
                std::fs::remove_dir_all(unpacked.path())
                    .map_err(|e| format!("{}: {e}", unpacked.path().display()))?;
            }
        }
    }
    Ok(target)
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
    fn docs_rs_targets_are_read_from_their_table_only() {
        let manifest = "[package]\nname = \"x\"\n\n\
            [package.metadata.docs.rs]\ndefault-target = \"a\"\n\
            targets = [\"a\", \"b-c\"]\n\n[other]\ntargets = [\"z\"]\n";
        assert_eq!(docs_rs_targets(manifest), ["a", "b-c"]);
        assert!(docs_rs_targets("[package]\nname = \"x\"\n").is_empty());
    }

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
