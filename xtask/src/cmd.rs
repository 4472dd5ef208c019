//! Running commands: echo them in copy-pasteable form, turn failures into a
//! one-line reason, and name the install command when a tool is missing.

use std::ffi::OsStr;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::steps::StepResult;

/// The workspace root (the parent of this crate).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_owned()
}

/// `cargo` of the toolchain that runs xtask (`$CARGO`), at the workspace root.
pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// `rustup`, at the workspace root (so directory overrides apply as for cargo).
pub(crate) fn rustup() -> Command {
    let mut cmd = Command::new("rustup");
    cmd.current_dir(root());
    cmd
}

/// A command line as a shell would take it, environment first.
pub(crate) fn display(cmd: &Command) -> String {
    let mut words: Vec<String> = Vec::new();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            words.push(format!("{}={}", key.to_string_lossy(), quote(value)));
        }
    }
    // `$CARGO` is a full toolchain path; `cargo` reads (and pastes) better.
    let cargo = std::env::var_os("CARGO");
    let program = cmd.get_program();
    words.push(if Some(program) == cargo.as_deref() {
        "cargo".into()
    } else {
        quote(program)
    });
    words.extend(cmd.get_args().map(quote));
    words.join(" ")
}

fn quote(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./+=:@,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.into_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Runs `cmd` with inherited output; `Err` names the command and its status.
pub(crate) fn run(cmd: &mut Command) -> StepResult {
    let line = display(cmd);
    eprintln!("$ {line}");
    match cmd.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("`{line}` failed ({status})")),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            Err(format!("`{line}`: {} not found", quote(cmd.get_program())))
        }
        Err(e) => Err(format!("`{line}`: {e}")),
    }
}

/// Runs `cmd` quietly and returns its stdout, or `Err` with its stderr.
pub(crate) fn output(cmd: &mut Command) -> Result<String, String> {
    let line = display(cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("`{line}`: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{line}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Checks that `probe` runs; otherwise says which command installs `what`.
pub(crate) fn require(what: &str, probe: &mut Command, install: &str) -> StepResult {
    match probe.stdout(Stdio::null()).stderr(Stdio::null()).status() {
        Ok(status) if status.success() => Ok(()),
        _ => Err(format!("{what} is missing; install it with: {install}")),
    }
}

/// How to get rustup, for the messages of the steps that need it.
pub(crate) const INSTALL_RUSTUP: &str =
    "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh (see https://rustup.rs)";

/// Checks that rustup is on PATH.
pub(crate) fn require_rustup() -> StepResult {
    require(
        "rustup",
        Command::new("rustup").arg("--version"),
        INSTALL_RUSTUP,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_what_a_shell_would_split() {
        let mut cmd = Command::new("cargo");
        cmd.env("RUSTDOCFLAGS", "-D warnings")
            .args(["doc", "--no-deps", "it's"]);
        assert_eq!(
            display(&cmd),
            r"RUSTDOCFLAGS='-D warnings' cargo doc --no-deps 'it'\''s'"
        );
    }

    #[test]
    fn run_reports_a_failing_status_and_a_missing_program() {
        let err = run(&mut Command::new("false")).unwrap_err();
        assert!(err.contains("`false` failed"), "{err}");
        let err = run(&mut Command::new("xtask-no-such-program")).unwrap_err();
        assert!(err.contains("xtask-no-such-program not found"), "{err}");
    }

    #[test]
    fn require_names_the_install_command() {
        let err = require(
            "frob",
            &mut Command::new("xtask-no-such-program"),
            "apt-get install frob",
        )
        .unwrap_err();
        assert_eq!(
            err,
            "frob is missing; install it with: apt-get install frob"
        );
    }
}
