//! `subprocess.communicate()` on a selector: feed a child a large stdin
//! while reading its stdout and stderr, all three pipes in ONE selector, with
//! an overall timeout that kills the child.
//!
//! ```text
//! cargo run -p io-selectors --example communicate -- [--backend NAME]
//!     [--bytes N | --input FILE] [--out FILE] [--timeout SECS] [-- COMMAND ARGS...]
//! ```
//!
//! The default child is `sh -c 'cat; echo done >&2'` and the default payload
//! 8 MiB of deterministic bytes: far more than a pipe buffer (64 KiB), so a
//! naive "write everything, then read" deadlocks, while this loop does not.
//! It prints the byte counts and an FNV-1a checksum of what went in and came
//! out, copies the child's stderr to its own, and with `--out` saves the
//! child's stdout. On timeout it kills the child, says so, and exits with 124
//! (as timeout(1) does); otherwise with the child's exit code.
//!
//! `--backend NAME` (or `SELECTORS_BACKEND`), `--help` and the exit codes 1
//! (error) and 2 (bad arguments) are those of every example (`cli/mod.rs`).

mod cli;

use std::io::{self, Read, Write};
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use io_selectors::{AnySelector, Events, Selector};
use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};

/// Which pipe a key stands for: the data attached to each registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pipe {
    Stdin,
    Stdout,
    Stderr,
}

/// What the child produced, or that it ran out of time.
struct Outcome {
    written: usize,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// `None` if the deadline passed and the child was killed.
    status: Option<ExitStatus>,
}

const CHUNK: usize = 64 * 1024;

/// Runs the exchange on any backend: the whole point of the `Selector` trait.
fn communicate<S: Selector<Pipe>>(
    mut sel: S,
    child: &mut Child,
    input: &[u8],
    deadline: Instant,
) -> io::Result<Outcome> {
    let mut stdin: Option<ChildStdin> = child.stdin.take();
    let mut stdout: Option<ChildStdout> = child.stdout.take();
    let mut stderr: Option<ChildStderr> = child.stderr.take();
    if let Some(p) = &stdin {
        set_nonblocking(p)?;
        if input.is_empty() {
            stdin = None; // nothing to send: close it now, as Python does
        } else {
            sel.register(p, Events::WRITE, Pipe::Stdin)?;
        }
    }
    if let Some(p) = &stdout {
        set_nonblocking(p)?;
        sel.register(p, Events::READ, Pipe::Stdout)?;
    }
    if let Some(p) = &stderr {
        set_nonblocking(p)?;
        sel.register(p, Events::READ, Pipe::Stderr)?;
    }

    let mut out = Outcome {
        written: 0,
        stdout: Vec::new(),
        stderr: Vec::new(),
        status: None,
    };
    let mut ready = Vec::new();
    while !sel.get_map().is_empty() {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            return Ok(out); // timed out; the caller kills the child
        };
        sel.select_into(Some(left), &mut ready)?;
        for (key, _events) in &ready {
            match key.data {
                Pipe::Stdin => {
                    let Some(pipe) = stdin.as_mut() else { continue };
                    let end = input.len().min(out.written + CHUNK);
                    let done = match pipe.write(&input[out.written..end]) {
                        Ok(n) => {
                            out.written += n;
                            out.written == input.len()
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => false,
                        // The child closed its stdin (exited, or stopped
                        // reading for good): like Python, stop feeding it.
                        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => true,
                        Err(e) => return Err(e),
                    };
                    if done {
                        // Unregister before closing: the selector must never
                        // hold a closed fd.
                        sel.unregister(&*pipe)?;
                        stdin = None;
                    }
                }
                Pipe::Stdout => drain(&mut sel, &mut stdout, &mut out.stdout)?,
                Pipe::Stderr => drain(&mut sel, &mut stderr, &mut out.stderr)?,
            }
        }
    }
    // Every pipe is closed; the child may still be running (it closed its
    // output early or handed it to a grandchild), so wait, but not forever.
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            out.status = Some(status);
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    sel.close()?;
    Ok(out)
}

/// One read from a readable pipe; at EOF, unregisters and closes it.
fn drain<S: Selector<Pipe>, R: Read + std::os::unix::io::AsRawFd>(
    sel: &mut S,
    pipe: &mut Option<R>,
    buf: &mut Vec<u8>,
) -> io::Result<()> {
    let Some(p) = pipe.as_mut() else {
        return Ok(());
    };
    let len = buf.len();
    buf.resize(len + CHUNK, 0);
    let got = p.read(&mut buf[len..]);
    buf.truncate(len + *got.as_ref().unwrap_or(&0));
    match got {
        Ok(0) => {
            sel.unregister(&*p)?;
            *pipe = None;
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn set_nonblocking<F: std::os::unix::io::AsFd>(fd: F) -> io::Result<()> {
    let flags = fcntl_getfl(&fd)?;
    fcntl_setfl(&fd, flags | OFlags::NONBLOCK)?;
    Ok(())
}

/// The default payload: `n` deterministic, non-repeating-looking bytes.
fn payload(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..n)
        .map(|_| {
            // xorshift32: cheap, and a shifted or dropped byte shows up.
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// 64-bit FNV-1a: enough to tell the test the bytes came back unchanged.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

const USAGE: &str = "\
usage: communicate [--backend NAME] [--bytes N | --input FILE] [--out FILE] [--timeout SECS]
                   [-- COMMAND ARGS...]
  --bytes N        send N deterministic bytes (default 8 MiB)
  --input FILE     send FILE instead
  --out FILE       save the child's stdout to FILE
  --timeout SECS   kill the child after SECS seconds (default 30; exit code 124)
  -- COMMAND ...   the child (default: sh -c 'cat; echo done >&2')";

struct Args {
    bytes: usize,
    input: Option<String>,
    out: Option<String>,
    timeout: Duration,
    command: Vec<String>,
}

pub(crate) fn main() {
    let mut cli = cli::Cli::new("communicate", USAGE);
    let mut args = Args {
        bytes: 8 << 20,
        input: None,
        out: None,
        timeout: Duration::from_secs(30),
        command: vec!["sh".into(), "-c".into(), "cat; echo done >&2".into()],
    };
    while let Some(flag) = cli.next_flag() {
        match flag.as_str() {
            "--" => {
                args.command = cli.rest();
                if args.command.is_empty() {
                    cli.usage_error("no command after --");
                }
            }
            "--bytes" => args.bytes = cli.parse(&flag),
            "--input" => args.input = Some(cli.value(&flag)),
            "--out" => args.out = Some(cli.value(&flag)),
            "--timeout" => args.timeout = cli.seconds(&flag),
            other => cli.unknown(other),
        }
    }
    let sel = cli.selector();
    cli.finish(sel.and_then(|sel| run(sel, &args)));
}

fn run(sel: AnySelector<Pipe>, args: &Args) -> io::Result<()> {
    let input = match &args.input {
        Some(path) => std::fs::read(path)?,
        None => payload(args.bytes),
    };
    let mut child = Command::new(&args.command[0])
        .args(&args.command[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run {:?}: {e}", args.command)))?;
    let start = Instant::now();
    let deadline = start + args.timeout;
    let backend = sel.backend();
    let outcome = communicate(sel, &mut child, &input, deadline);
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
    };
    let elapsed = start.elapsed();

    println!("backend: {backend}");
    println!(
        "stdin: {} of {} bytes written, fnv1a {:016x}",
        outcome.written,
        input.len(),
        fnv1a(&input[..outcome.written])
    );
    println!(
        "stdout: {} bytes read, fnv1a {:016x}",
        outcome.stdout.len(),
        fnv1a(&outcome.stdout)
    );
    println!("stderr: {} bytes read", outcome.stderr.len());
    io::stderr().write_all(&outcome.stderr)?;
    if let Some(path) = &args.out {
        std::fs::write(path, &outcome.stdout)?;
    }
    match outcome.status {
        Some(status) => {
            println!("exit: {status} after {} ms", elapsed.as_millis());
            std::process::exit(status.code().unwrap_or(1));
        }
        None => {
            let pid = child.id();
            child.kill()?;
            let status = child.wait()?;
            eprintln!(
                "communicate: timed out after {:?}: killed child {pid} ({status})",
                args.timeout
            );
            std::process::exit(124);
        }
    }
}
