//! The command-line convention every example shares (`examples/cli/mod.rs`):
//! `--help`, `--backend NAME` or `SELECTORS_BACKEND`, and the exit codes
//! 0 (success), 1 (error while running, printed with `Display`) and 2 (bad
//! arguments or backend). Each example is run as a process.

// Unix only: two examples are Unix-only.
#![cfg(unix)]

mod example_support;

use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::Duration;

use example_support::{example_binary, run_bounded};

/// Every example.
const EXAMPLES: [&str; 5] = [
    "echo_server",
    "echo_server_mt",
    "communicate",
    "event_loop",
    "timeout_overshoot",
];

/// Runs example `name` with `args` and `env`, and returns its output with
/// stdout and stderr as text.
fn run(name: &str, args: &[&str], env: &[(&str, &str)]) -> (Output, String, String) {
    let mut cmd = Command::new(example_binary(name));
    cmd.args(args).env_remove("SELECTORS_BACKEND");
    cmd.envs(env.iter().copied());
    let (output, _) = run_bounded(cmd, Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

#[test]
fn help_lists_the_shared_options_and_exits_0() {
    for name in EXAMPLES {
        for flag in ["--help", "-h"] {
            let (out, stdout, stderr) = run(name, &[flag], &[]);
            assert_eq!(out.status.code(), Some(0), "{name} {flag}: {stderr}");
            assert!(stdout.starts_with(&format!("usage: {name} ")), "{stdout}");
            for needle in ["--backend NAME", "SELECTORS_BACKEND", "epoll", "kqueue"] {
                assert!(stdout.contains(needle), "{name}: no {needle:?} in {stdout}");
            }
            assert!(
                stdout.contains("exit codes: 0 success, 1 error while running, 2 bad arguments"),
                "{name}: {stdout}"
            );
            assert!(stderr.is_empty(), "{name}: {stderr}");
        }
    }
}

/// Arguments, environment, and the reason an example must give.
type BadCase = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
    &'static str,
);

/// Bad arguments: exit code 2, the example's name and the problem first on
/// stderr, then the usage; nothing on stdout.
#[test]
fn bad_arguments_exit_2_with_the_reason_and_the_usage() {
    let cases: [BadCase; 5] = [
        (
            &["--no-such-flag"],
            &[],
            "unknown argument \"--no-such-flag\"",
        ),
        (&["--backend"], &[], "--backend needs a value"),
        (
            &["--backend", "devpoll"],
            &[],
            "--backend: unknown selector backend \"devpoll\": expected select, poll, epoll, kqueue or iocp",
        ),
        (
            &[],
            &[("SELECTORS_BACKEND", "devpoll")],
            "SELECTORS_BACKEND: unknown selector backend \"devpoll\"",
        ),
        (
            &["--backend", UNAVAILABLE],
            &[],
            "selector backend is not available here (available: ",
        ),
    ];
    for name in EXAMPLES {
        for (args, env, reason) in cases {
            let (out, stdout, stderr) = run(name, args, env);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{name} {args:?} {env:?}: {stderr}"
            );
            let first = stderr.lines().next().unwrap_or("");
            assert!(
                first.starts_with(&format!("{name}: ")) && first.contains(reason),
                "{name} {args:?} {env:?}: {stderr}"
            );
            assert!(stderr.contains(&format!("usage: {name} ")), "{stderr}");
            assert!(stdout.is_empty(), "{name} {args:?}: {stdout}");
        }
    }
}

/// A backend this build lacks: kqueue where epoll is, epoll elsewhere.
#[cfg(any(target_os = "linux", target_os = "android"))]
const UNAVAILABLE: &str = "kqueue";
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const UNAVAILABLE: &str = "epoll";

/// A failure while running: exit code 1 and the error's `Display` (not
/// `Debug`'s `Custom { kind: ... }`) after the example's name.
#[test]
fn errors_while_running_exit_1_with_the_message() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let cases: [(&str, &[&str], &str); 4] = [
        ("echo_server", &["--port", &port], "Address already in use"),
        (
            "echo_server_mt",
            &["--port", &port],
            "Address already in use",
        ),
        ("event_loop", &["--port", &port], "Address already in use"),
        (
            "communicate",
            &["--input", "/nonexistent/io-selectors-input"],
            "No such file or directory",
        ),
    ];
    for (name, args, reason) in cases {
        let (out, _, stderr) = run(name, args, &[]);
        assert_eq!(out.status.code(), Some(1), "{name} {args:?}: {stderr}");
        assert!(
            stderr.starts_with(&format!("{name}: ")) && stderr.contains(reason),
            "{name} {args:?}: {stderr}"
        );
        assert!(!stderr.contains("Custom {"), "Debug output: {stderr}");
    }
}

/// The flag wins over the environment variable, and `default` is a name.
#[test]
fn the_flag_overrides_selectors_backend() {
    let (out, stdout, stderr) = run(
        "echo_server",
        &["--port", "0", "--max-seconds", "0", "--backend", "poll"],
        &[("SELECTORS_BACKEND", "devpoll")],
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("\nbackend: poll\n"), "{stdout}");

    let (out, stdout, stderr) = run(
        "timeout_overshoot",
        &["--runs", "3"],
        &[("SELECTORS_BACKEND", "default")],
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let default = io_selectors::Backend::available()[0].name();
    assert!(
        !stdout.is_empty() && stdout.lines().all(|l| l.starts_with(default)),
        "{stdout}"
    );
}
