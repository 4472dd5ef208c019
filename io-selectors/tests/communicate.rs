//! The `communicate` example: a large stdin, stdout and stderr through one
//! selector, on every backend, and the timeout that kills a stuck child.

// Unix only: pipes and child processes.
#![cfg(unix)]

mod example_support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use example_support::{example_binary, run_bounded};
use selectors_test_support::rng::pattern;

/// A scratch file unique to this test process and `name`.
fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "selectors-communicate-{}-{name}",
        std::process::id()
    ))
}

/// The line of `stdout` that starts with `prefix`.
fn line<'a>(stdout: &'a str, prefix: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line in {stdout:?}"))
}

/// 8 MiB through `cat` (128 times a pipe buffer: a deadlock if stdin were
/// written before stdout is read) comes back byte-exact, and stderr is read
/// alongside.
fn round_trip(selector: &str) {
    let input = pattern(selector.len() as u64, 8 << 20);
    let (in_path, out_path) = (
        scratch(&format!("{selector}.in")),
        scratch(&format!("{selector}.out")),
    );
    std::fs::write(&in_path, &input).unwrap();

    let mut cmd = Command::new(example_binary("communicate"));
    cmd.args(["--backend", selector, "--timeout", "60", "--input"])
        .arg(&in_path)
        .arg("--out")
        .arg(&out_path);
    let (output, took) = run_bounded(cmd, Duration::from_secs(90));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{}: {stdout}\n{stderr}",
        output.status
    );

    let echoed = std::fs::read(&out_path).unwrap();
    let _ = std::fs::remove_file(&in_path);
    let _ = std::fs::remove_file(&out_path);
    assert_eq!(echoed.len(), input.len(), "{selector}: length");
    assert!(
        echoed == input,
        "{selector}: cat's output differs from its input"
    );

    let backend = match selector {
        "default" => io_selectors::Backend::available()[0].name(),
        named => named,
    };
    assert_eq!(line(&stdout, "backend:"), format!("backend: {backend}"));
    let n = input.len();
    assert!(line(&stdout, "stdin:").starts_with(&format!("stdin: {n} of {n} bytes written")));
    assert!(line(&stdout, "stdout:").starts_with(&format!("stdout: {n} bytes read")));
    // The example's own checksums agree too.
    let sum = |l: &str| l.rsplit(' ').next().unwrap().to_owned();
    assert_eq!(sum(line(&stdout, "stdin:")), sum(line(&stdout, "stdout:")));
    assert_eq!(line(&stdout, "stderr:"), "stderr: 5 bytes read");
    assert!(
        stderr.contains("done\n"),
        "child's stderr missing: {stderr:?}"
    );
    eprintln!("{selector}: 8 MiB round trip in {took:?}");
}

#[test]
fn eight_mib_through_cat_with_default_selector() {
    round_trip("default");
}

#[test]
fn eight_mib_through_cat_with_poll_selector() {
    round_trip("poll");
}

#[test]
fn eight_mib_through_cat_with_select_selector() {
    round_trip("select");
}

#[test]
#[cfg(selectors_epoll)]
fn eight_mib_through_cat_with_epoll_selector() {
    round_trip("epoll");
}

/// A child that never reads its stdin nor exits is killed at the deadline,
/// and the example says so and fails.
#[test]
fn timeout_kills_a_stuck_child() {
    let mut cmd = Command::new(example_binary("communicate"));
    cmd.args(["--timeout", "1", "--bytes", "1000000", "--", "sleep", "30"]);
    let (output, took) = run_bounded(cmd, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(124), "stderr: {stderr}");
    assert!(took >= Duration::from_secs(1), "gave up early: {took:?}");
    assert!(took < Duration::from_secs(15), "kill took {took:?}");
    assert!(
        stderr.contains("timed out after 1s: killed child"),
        "no timeout message: {stderr:?}"
    );
    // The child is gone (killed and reaped), not left running.
    let pid: i32 = stderr
        .split("killed child ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {stderr:?}"));
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .map_or(true, |c| !c.starts_with("sleep")),
        "sleep child {pid} still running"
    );
}

/// A child that exits without reading all its input (EPIPE on our side)
/// neither hangs nor fails the exchange.
#[test]
fn child_closing_stdin_early_is_not_an_error() {
    let mut cmd = Command::new(example_binary("communicate"));
    cmd.args([
        "--backend",
        "poll",
        "--bytes",
        "4000000",
        "--",
        "head",
        "-c",
        "10",
    ]);
    let (output, _) = run_bounded(cmd, Duration::from_secs(30));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}: {stdout}", output.status);
    assert!(line(&stdout, "stdout:").starts_with("stdout: 10 bytes read"));
    let written: usize = line(&stdout, "stdin:")[7..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        written < 4_000_000,
        "head cannot have read it all: {stdout}"
    );
}
