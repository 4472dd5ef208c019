//! Child processes: the example binaries the tests run, and the lines a
//! child prints, read as they come.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Mutex;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The example binary `name` of `package`, built with `features` if needed:
/// `target/<profile>/examples/<name>`, beside the calling test's `deps/`.
///
/// `cargo test` builds examples, but not when given target filters such as
/// `--test communicate`, and then a stale binary would be tested; so this
/// asks cargo (`$CARGO`, set by `cargo test`) to bring it up to date once
/// per test process, with the features the test was built with (`cargo
/// xtask features` tests each feature set's own build). Not on Windows,
/// whose tests run under Wine, where the host's cargo cannot be started:
/// `cargo xtask wine` builds the examples first.
pub fn example_binary(package: &str, features: &[&str], name: &str) -> PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let exe = std::env::current_exe().expect("current_exe");
    let profile = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binaries live in target/<profile>/deps");
    let path = profile
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));

    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let cargo = std::env::var("CARGO").ok().filter(|_| cfg!(unix));
    if let (Some(cargo), false) = (cargo, built.iter().any(|b| b == name)) {
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", package, "--example", name])
            .arg("--no-default-features");
        if !features.is_empty() {
            cmd.args(["--features", &features.join(",")]);
        }
        if profile.file_name().map_or(false, |p| p == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build");
        assert!(status.success(), "cargo build --example {name}: {status}");
        built.push(name.to_owned());
    }
    assert!(
        path.is_file(),
        "{} is missing: `cargo build -p {package} --example {name}`",
        path.display()
    );
    path
}

/// The lines a child process writes to a pipe, each with the instant it
/// was read, gathered by a thread of their own so the child never blocks
/// on a full pipe.
#[derive(Debug)]
pub struct Lines {
    lines: Receiver<(Instant, String)>,
    reader: Option<JoinHandle<()>>,
}

impl Lines {
    /// Starts reading `from` (a child's stdout or stderr) line by line,
    /// until end of file or a read error.
    pub fn read<R: Read + Send + 'static>(from: R) -> Lines {
        let (tx, lines) = mpsc::channel();
        let reader = thread::spawn(move || {
            for line in BufReader::new(from).lines() {
                let Ok(line) = line else { break };
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        Lines {
            lines,
            reader: Some(reader),
        }
    }

    /// The next line and when it was read; `Disconnected` at end of file,
    /// `Timeout` if none came within `limit`.
    pub fn next_timed(&self, limit: Duration) -> Result<(Instant, String), RecvTimeoutError> {
        self.lines.recv_timeout(limit)
    }

    /// The next line, or `None` at end of file or after `limit`.
    pub fn line(&self, limit: Duration) -> Option<String> {
        self.next_timed(limit).ok().map(|(_, line)| line)
    }

    /// The lines read so far and not taken yet, without waiting.
    pub fn pending(&self) -> Vec<String> {
        self.lines.try_iter().map(|(_, line)| line).collect()
    }

    /// Every line not read yet, up to end of file (the child must have
    /// exited or closed the pipe); then the reader thread is done.
    pub fn rest(&mut self) -> Vec<String> {
        let rest = self.lines.iter().map(|(_, line)| line).collect();
        self.finish();
        rest
    }

    /// Waits for end of file and the reader thread's exit.
    pub fn finish(&mut self) {
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the line reader panicked");
        }
    }
}
