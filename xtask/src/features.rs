//! `cargo xtask features`: the feature combinations users can pick.
//!
//! `cargo test --workspace` unifies features across members, which hides a
//! crate that only builds because a sibling enabled something for it. Here each
//! backend crate is tested alone, and the umbrella with no backend and with
//! each backend feature alone.

use crate::cmd::{self, cargo};
use crate::steps::{StepResult, Steps};
use crate::{BACKENDS, UMBRELLA};

/// Targets built and run for the umbrella combinations: everything but the
/// benches (the bench step measures those) and the doc tests (the test step
/// runs them with the default features, which every doc example assumes).
/// The examples are built first, by `cargo build`: `cargo test --examples`
/// would build them as test harnesses and leave
/// `target/debug/examples/<name>` alone, and the integration tests run that
/// binary, which must be the one of the feature set under test.
const UMBRELLA_TARGETS: [&str; 3] = ["--lib", "--bins", "--tests"];

/// One sub-step per backend crate, then one per umbrella feature set.
pub(crate) fn run(steps: &mut Steps) -> StepResult {
    for backend in BACKENDS {
        steps.run(backend, |_| cmd::run(cargo().args(["test", "-p", backend])));
    }
    for feature in umbrella_feature_sets() {
        let name = format!(
            "{UMBRELLA} --features {}",
            if feature.is_empty() {
                "(none)"
            } else {
                feature
            }
        );
        steps.run(&name, |_| {
            let umbrella = |task: &str| {
                let mut cargo = cargo();
                cargo.args([task, "-p", UMBRELLA, "--no-default-features"]);
                if !feature.is_empty() {
                    cargo.args(["--features", feature]);
                }
                cargo
            };
            cmd::run(umbrella("build").arg("--examples"))?;
            cmd::run(umbrella("test").args(UMBRELLA_TARGETS))
        });
    }
    // Leave the default build of the examples in target/debug/examples, which
    // a later `cargo test --test <name>` runs without rebuilding it.
    steps.run(&format!("{UMBRELLA} examples (default features)"), |_| {
        cmd::run(cargo().args(["build", "-p", UMBRELLA, "--examples"]))
    });
    Ok(())
}

/// No backend, then each backend feature alone (features are named after the
/// backend, without the `selectors-` prefix).
fn umbrella_feature_sets() -> impl Iterator<Item = &'static str> {
    Some("")
        .into_iter()
        .chain(BACKENDS.iter().map(|b| b.trim_start_matches("selectors-")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_sets_are_none_then_each_backend_and_exist_in_the_manifest() {
        let sets: Vec<&str> = umbrella_feature_sets().collect();
        assert_eq!(sets, ["", "select", "poll", "epoll", "kqueue", "iocp"]);
        let manifest =
            std::fs::read_to_string(cmd::root().join(UMBRELLA).join("Cargo.toml")).unwrap();
        for feature in &sets[1..] {
            let line = format!("{feature} = [\"dep:selectors-{feature}\"]");
            assert!(
                manifest.contains(&line),
                "io-selectors/Cargo.toml lacks `{line}`"
            );
        }
    }
}
