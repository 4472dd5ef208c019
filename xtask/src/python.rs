//! `cargo xtask python`: the Python extension (io-selectors-py/), built and
//! proven in a virtual environment.
//!
//! The crate is its own workspace (PyO3, MSRV 1.85, a Python at build time),
//! so the root fmt/clippy/doc steps do not see it: this task checks it the
//! same way, then creates `target/python/venv` with the interpreter
//! (`$PYTHON`, else `python3`), installs maturin and pytest from PyPI,
//! installs the module with `pip install ./io-selectors-py` (what a user
//! runs), and runs the project's pytest suite and CPython's own suites
//! (`tests/cpython_suites.py`: test_selectors and five asyncio suites, with
//! the module as `selectors`, beside the standard library's).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{self, cargo, root};
use crate::steps::{StepResult, Steps};

/// The crate's folder, from the workspace root.
const CRATE: &str = "io-selectors-py";

/// What the venv gets from PyPI: the build backend (also used by pip's
/// isolated build) and the test runner.
const REQUIREMENTS: [&str; 2] = ["maturin>=1.9.4,<2", "pytest>=7"];

/// The interpreter the venv is made from.
fn base_python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

fn venv_python(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

/// The sub-steps, in order; each runs even if an earlier one failed, except
/// that nothing runs in a venv that could not be made.
pub(crate) fn run(steps: &mut Steps) -> StepResult {
    let dir = root().join(CRATE);
    let manifest = dir.join("Cargo.toml");
    let venv = root().join("target").join("python").join("venv");
    let python = venv_python(&venv);
    steps.run("fmt", |_| {
        cmd::run(
            cargo()
                .args(["fmt", "--manifest-path"])
                .arg(&manifest)
                .args(["--", "--check"]),
        )
    });
    steps.run("venv", |_| make_venv(&venv));
    if !python.exists() {
        return Err(format!("no virtual environment at {}", venv.display()));
    }
    // PyO3's build script asks this interpreter for its configuration.
    steps.run("clippy", |_| {
        crate::ci::require_clippy()?;
        cmd::run(
            cargo()
                .env("PYO3_PYTHON", &python)
                .args(["clippy", "--manifest-path"])
                .arg(&manifest)
                .args(["--all-targets", "--", "-D", "warnings"]),
        )
    });
    steps.run("doc", |_| {
        cmd::run(
            cargo()
                .env("PYO3_PYTHON", &python)
                .env("RUSTDOCFLAGS", "-D warnings")
                .args([
                    "doc",
                    "--no-deps",
                    "--document-private-items",
                    "--manifest-path",
                ])
                .arg(&manifest),
        )
    });
    steps.run("pip install ./io-selectors-py", |_| {
        cmd::run(
            Command::new(&python)
                .current_dir(root())
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--force-reinstall",
                    "--no-deps",
                ])
                .arg(format!("./{CRATE}")),
        )
    });
    steps.run("pytest", |_| {
        cmd::run(Command::new(&python).current_dir(dir.join("tests")).args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
        ]))
    });
    steps.run("cpython suites", |_| {
        cmd::run(
            Command::new(&python)
                .current_dir(dir.join("tests"))
                .arg("cpython_suites.py"),
        )
    });
    Ok(())
}

/// Creates the venv (once) and installs [`REQUIREMENTS`] into it.
fn make_venv(venv: &Path) -> StepResult {
    let base = base_python();
    cmd::require(
        "CPython's test package (test.test_selectors)",
        Command::new(&base).args(["-c", "import test.test_selectors, test.test_asyncio"]),
        &format!(
            "a CPython build with its test suite ({base} as built by pyenv or python.org has it; \
             on Debian: apt-get install libpython3.X-testsuite for python3.X)"
        ),
    )?;
    if !venv_python(venv).exists() {
        cmd::run(Command::new(&base).args(["-m", "venv"]).arg(venv))?;
    }
    cmd::run(
        Command::new(venv_python(venv))
            .args(["-m", "pip", "install", "--quiet", "--upgrade"])
            .args(REQUIREMENTS),
    )
}
