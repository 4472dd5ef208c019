//! The command-line convention every example follows (each includes this
//! module with `mod cli;`):
//!
//! - `--backend NAME` picks the selector backend: `default` (the
//!   `DefaultSelector`'s, found as `AnySelector::new` finds it), `select`,
//!   `poll`, `epoll` (Linux, Android) or `kqueue` (Apple, BSDs). Without the
//!   flag, the environment variable `SELECTORS_BACKEND` does; without
//!   either, `default`. The example names the backend it runs on in a
//!   `backend: <name>` line on stdout.
//! - `-h` / `--help` prints the usage on stdout and exits with 0.
//! - Exit codes: 0 on success; 1 when the example fails while running (the
//!   error, printed with `Display`, goes to stderr after the example's
//!   name); 2 for a usage error: an unknown flag, a bad value, or a backend
//!   that is unknown or not available here. An example may add its own
//!   (`communicate`: 124 on timeout, else its child's code).
#![allow(dead_code)] // each example uses a different part

use std::fmt::Display;
use std::io;
use std::process;
use std::str::FromStr;
use std::time::Duration;

use io_selectors::{AnySelector, Backend};

/// Exit code: the example failed while running.
pub(crate) const FAILURE: i32 = 1;
/// Exit code: bad command line (or backend).
pub(crate) const USAGE_ERROR: i32 = 2;

/// The lines of `--help` that every example shares.
pub(crate) const COMMON_HELP: &str = "\
  --backend NAME   default, select, poll, epoll, kqueue or iocp (default: default,
                   or the environment variable SELECTORS_BACKEND)
  -h, --help       this text
exit codes: 0 success, 1 error while running, 2 bad arguments or backend";

/// An example's command line, read flag by flag.
pub(crate) struct Cli {
    name: &'static str,
    usage: &'static str,
    args: std::vec::IntoIter<String>,
    backend: Option<String>,
}

impl Cli {
    /// The process's arguments, for the example `name` whose usage line
    /// (and own options) `usage` gives.
    pub(crate) fn new(name: &'static str, usage: &'static str) -> Cli {
        Cli {
            name,
            usage,
            args: std::env::args().skip(1).collect::<Vec<_>>().into_iter(),
            backend: None,
        }
    }

    /// The next flag the example must handle itself; `--backend` and
    /// `--help` are handled here.
    pub(crate) fn next_flag(&mut self) -> Option<String> {
        loop {
            let flag = self.args.next()?;
            match flag.as_str() {
                "-h" | "--help" => {
                    println!("{}\n{COMMON_HELP}", self.usage);
                    process::exit(0);
                }
                "--backend" => self.backend = Some(self.value(&flag)),
                _ => return Some(flag),
            }
        }
    }

    /// The value after `flag`.
    pub(crate) fn value(&mut self, flag: &str) -> String {
        match self.args.next() {
            Some(value) => value,
            None => self.usage_error(format_args!("{flag} needs a value")),
        }
    }

    /// The value after `flag`, parsed.
    pub(crate) fn parse<T: FromStr>(&mut self, flag: &str) -> T
    where
        T::Err: Display,
    {
        let value = self.value(flag);
        value
            .parse()
            .unwrap_or_else(|e| self.usage_error(format_args!("{flag} {value:?}: {e}")))
    }

    /// The value after `flag` as a duration in (fractional) seconds.
    pub(crate) fn seconds(&mut self, flag: &str) -> Duration {
        let secs: f64 = self.parse(flag);
        if !(secs.is_finite() && secs >= 0.0) {
            self.usage_error(format_args!("{flag} {secs}: not a duration"));
        }
        Duration::from_secs_f64(secs)
    }

    /// The arguments left (after `--`, say).
    pub(crate) fn rest(&mut self) -> Vec<String> {
        self.args.by_ref().collect()
    }

    /// Rejects `flag` as unknown.
    pub(crate) fn unknown(&self, flag: &str) -> ! {
        self.usage_error(format_args!("unknown argument {flag:?}"))
    }

    /// Prints `message` and the usage on stderr, and exits with
    /// [`USAGE_ERROR`].
    pub(crate) fn usage_error(&self, message: impl Display) -> ! {
        eprintln!("{}: {message}\n{}", self.name, self.usage);
        eprintln!("(`{} --help` for more)", self.name);
        process::exit(USAGE_ERROR);
    }

    /// The backend asked for: `None` for `default`. Exits with
    /// [`USAGE_ERROR`] if the name is unknown or the backend not available.
    pub(crate) fn backend(&self) -> Option<Backend> {
        let (name, source) = match (&self.backend, std::env::var("SELECTORS_BACKEND")) {
            (Some(name), _) => (name.clone(), "--backend"),
            (None, Ok(name)) => (name, "SELECTORS_BACKEND"),
            (None, Err(std::env::VarError::NotPresent)) => return None,
            (None, Err(e)) => self.usage_error(format_args!("SELECTORS_BACKEND: {e}")),
        };
        if name.trim().eq_ignore_ascii_case("default") {
            return None;
        }
        let backend: Backend = name
            .parse()
            .unwrap_or_else(|e| self.usage_error(format_args!("{source}: {e}")));
        if !backend.is_available() {
            // Say which there are, as `with_backend`'s error does.
            if let Err(e) = AnySelector::<()>::with_backend(backend) {
                self.usage_error(format_args!("{source} {name}: {e}"));
            }
        }
        Some(backend)
    }

    /// Whether a backend was asked for, by flag or environment (even
    /// `default`).
    pub(crate) fn backend_asked(&self) -> bool {
        self.backend.is_some() || std::env::var_os("SELECTORS_BACKEND").is_some()
    }

    /// A selector on the backend asked for (see [`Cli::backend`]).
    pub(crate) fn selector<T>(&self) -> io::Result<AnySelector<T>> {
        open(self.backend())
    }

    /// Ends the example: exit code 0 for `Ok`, else the error (with
    /// `Display`) and [`FAILURE`].
    pub(crate) fn finish(&self, result: io::Result<()>) -> ! {
        match result {
            Ok(()) => process::exit(0),
            Err(e) => {
                eprintln!("{}: {e}", self.name);
                process::exit(FAILURE);
            }
        }
    }
}

/// A selector on `backend`, or on the default one for `None`.
pub(crate) fn open<T>(backend: Option<Backend>) -> io::Result<AnySelector<T>> {
    match backend {
        Some(backend) => AnySelector::with_backend(backend),
        None => AnySelector::new(),
    }
}
