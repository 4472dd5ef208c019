//! Runs the benchmark, the allocation test and the CPython script, and prints
//! the markdown table of BENCHMARKS.md on stdout (progress goes to stderr).
//!
//! usage: cargo xtask bench [--quick], or in selectors-bench/:
//! cargo run --release --bin report -- [--quick] [--no-run]
//!
//! The full run makes [`ROUNDS`] passes of the whole criterion benchmark,
//! each with short measurements, and reports each figure's median over the
//! passes: on a shared machine a slow stretch of a few seconds then spoils
//! one pass of the few benchmarks it overlaps, not the table. `--quick`
//! makes one short pass; `--no-run` reuses the last criterion results in
//! selectors-bench/target/criterion instead of running `cargo bench`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// Our backends, the floor each is measured against, and CPython's selector
/// on the same primitive.
const BACKENDS: [(&str, &str, &str); 3] = [
    ("epoll", "floor-epoll", "cpython-epoll"),
    ("poll", "floor-poll", "cpython-poll"),
    ("select", "floor-select", "cpython-select"),
];

/// Scenario groups, in table order, with what one measured operation is.
/// Passes of the whole benchmark in a full run.
const ROUNDS: usize = 3;

/// Criterion's timing for each pass of a full run (a quick run sets its own
/// through `SELECTORS_BENCH_QUICK`).
const ROUND_TIMING: [&str; 4] = ["--warm-up-time", "0.4", "--measurement-time", "1"];

const GROUPS: [(&str, &str); 6] = [
    ("idle", "one select, N registered, none ready"),
    ("ready", "one select, k of N ready"),
    ("chain", "one bench.c run: N pairs, A active, N writes"),
    (
        "churn-register",
        "register + unregister one fd, M others registered",
    ),
    (
        "churn-modify",
        "modify READ -> READ|WRITE -> READ, M others registered",
    ),
    ("modify-select", "(modify one fd, select) x 2, N registered"),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let no_run = args.iter().any(|a| a == "--no-run");
    // Its own workspace (the root one excludes it): cargo runs here.
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_dir.join("target"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());

    let rounds = match (no_run, quick) {
        (true, _) => 0,
        (false, true) => 1,
        (false, false) => ROUNDS,
    };
    let mut passes: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for round in 1..=rounds {
        let mut bench = Command::new(&cargo);
        bench.current_dir(crate_dir);
        bench.args(["bench", "-p", "selectors-bench", "--bench", "select"]);
        if quick {
            bench.env("SELECTORS_BENCH_QUICK", "1");
        } else {
            bench.arg("--").args(ROUND_TIMING);
        }
        run(
            &mut bench,
            &format!("cargo bench (pass {round} of {rounds})"),
        );
        for (id, ns) in read_criterion(&target.join("criterion")) {
            passes.entry(id).or_default().push(ns);
        }
    }
    let criterion = if no_run {
        read_criterion(&target.join("criterion"))
    } else {
        passes
            .into_iter()
            .map(|(id, mut ns)| {
                ns.sort_by(f64::total_cmp);
                (id, ns[ns.len() / 2])
            })
            .collect()
    };

    let mut alloc = Command::new(&cargo);
    alloc.current_dir(crate_dir);
    alloc.args([
        "test",
        "-p",
        "selectors-bench",
        "--release",
        "--test",
        "alloc",
    ]);
    alloc.args(["--", "--nocapture", "--test-threads=1"]);
    let alloc_out = run(&mut alloc, "cargo test --test alloc");

    let mut python = Command::new("python3");
    python.arg(crate_dir.join("cpython_bench.py"));
    if quick {
        python.arg("--quick");
    }
    let cpython: Value = serde_json::from_str(&run(&mut python, "cpython_bench.py"))
        .expect("cpython_bench.py printed invalid JSON");
    let mut results = criterion;
    if let Some(map) = cpython["results"].as_object() {
        for (id, ns) in map {
            results.insert(id.clone(), ns.as_f64().unwrap_or(f64::NAN));
        }
    }

    print_table(&results, cpython["python"].as_str().unwrap_or("?"));
    println!();
    print_events_table(&results);
    println!();
    println!("Heap per registered fd at N = 10000 (live bytes after `new` + 10000 `register` + one `select_into`, / N; from tests/alloc.rs):");
    println!();
    println!("| backend | T | bytes/fd | budget 32 + size_of::<T>() |");
    println!("|---|---|---:|---:|");
    for line in alloc_out.lines() {
        // "heap-per-fd backend=epoll T=usize bytes=28.7 budget=40"
        if let Some((_, rest)) = line.split_once("heap-per-fd ") {
            let field = |name: &str| {
                rest.split_whitespace()
                    .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                    .unwrap_or("?")
                    .to_string()
            };
            println!(
                "| {} | `{}` | {} | {} |",
                field("backend"),
                field("T"),
                field("bytes"),
                field("budget")
            );
        }
    }
}

/// Runs `cmd` with its stdout captured (and returned) and its stderr shown.
fn run(cmd: &mut Command, what: &str) -> String {
    eprintln!("report: running {what}");
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        eprintln!("{stdout}");
        panic!("{what} failed: {}", out.status);
    }
    stdout
}

/// `group/function/value` -> median ns, from every `new/benchmark.json` +
/// `new/estimates.json` pair under `dir`.
fn read_criterion(dir: &Path) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.ends_with("new/benchmark.json") {
                let read = |p: &Path| -> Option<Value> {
                    serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()
                };
                let (Some(id), Some(est)) =
                    (read(&path), read(&path.with_file_name("estimates.json")))
                else {
                    continue;
                };
                let key = format!(
                    "{}/{}/{}",
                    id["group_id"].as_str().unwrap_or(""),
                    id["function_id"].as_str().unwrap_or(""),
                    id["value_str"].as_str().unwrap_or("")
                );
                if let Some(ns) = est["median"]["point_estimate"].as_f64() {
                    out.insert(key, ns);
                }
            }
        }
    }
    out
}

fn print_table(results: &BTreeMap<String, f64>, python: &str) {
    println!("Medians (of criterion's medians over the passes). floor = the raw rustix syscall loop on the same primitive; CPython {python} = `selectors` on the same primitive (EpollSelector is its DefaultSelector); best peer = fastest of mio, polling and CPython for epoll, CPython on the same primitive for poll and select (mio and polling use epoll).");
    println!("above-floor = (ours - floor) / (CPython - floor): the target is <= 0.10.");
    println!();
    println!("| scenario | param | backend | ours | floor | mio | polling | CPython | ours/floor | ours/best peer | above-floor vs CPython |");
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (group, _) in GROUPS {
        for param in params(results, group, "epoll") {
            let get = |peer: &str| results.get(&format!("{group}/{peer}/{param}")).copied();
            for (ours, floor, cpy) in BACKENDS {
                let (o, f, m, p, c) = (get(ours), get(floor), get("mio"), get("polling"), get(cpy));
                // mio and polling are epoll libraries: poll and select
                // backends are compared with CPython on their own primitive.
                let peers = if ours == "epoll" {
                    [m, p, c]
                } else {
                    [None, None, c]
                };
                let best = peers
                    .into_iter()
                    .flatten()
                    .fold(None, |b: Option<f64>, x| Some(b.map_or(x, |b| b.min(x))));
                let above = match (o, f, c) {
                    (Some(o), Some(f), Some(c)) if c > f => {
                        format!("{:.3}", (o - f).max(0.0) / (c - f))
                    }
                    _ => "-".into(),
                };
                println!(
                    "| {group} | {param} | {ours} | {} | {} | {} | {} | {} | {} | {} | {above} |",
                    time(o),
                    time(f),
                    time(m),
                    time(p),
                    time(c),
                    ratio(o, f),
                    ratio(o, best),
                );
            }
        }
    }
    println!();
    for (group, what) in GROUPS {
        println!("- `{group}`: {what}.");
    }
}

/// `select_events` with `T` = a 64-byte non-`Clone` struct (the
/// `<backend>-events` peers) against the floor and against `select_into`
/// with `T = usize`, in `ready` and `chain` (issue 15: within 1.03 of the
/// floor, and no slower than `select_into`).
fn print_events_table(results: &BTreeMap<String, f64>) {
    println!("`select_events` with T = a 64-byte non-Clone struct, reaching each event's data with `data(&ev)`, beside `select_into` with T = usize:");
    println!();
    println!("| scenario | param | backend | select_events | select_into | floor | events/floor | events/select_into |");
    println!("|---|---|---|---:|---:|---:|---:|---:|");
    for group in ["ready", "chain"] {
        for param in params(results, group, "epoll-events") {
            let get = |peer: &str| results.get(&format!("{group}/{peer}/{param}")).copied();
            for (ours, floor, _) in BACKENDS {
                let (e, o, f) = (get(&format!("{ours}-events")), get(ours), get(floor));
                println!(
                    "| {group} | {param} | {ours} | {} | {} | {} | {} | {} |",
                    time(e),
                    time(o),
                    time(f),
                    ratio(e, f),
                    ratio(e, o),
                );
            }
        }
    }
}

/// The parameters `peer` was measured with in `group`, in table order.
fn params<'a>(results: &'a BTreeMap<String, f64>, group: &str, peer: &str) -> Vec<&'a str> {
    let mut params: Vec<&str> = results
        .keys()
        .filter_map(|k| {
            let mut parts = k.splitn(3, '/');
            (parts.next() == Some(group) && parts.next() == Some(peer))
                .then(|| parts.next())
                .flatten()
        })
        .collect();
    params.sort_by_key(|p| param_order(p));
    params
}

/// Sorts "1000-k100" after "100-k100" and "10000" after "1000".
fn param_order(param: &str) -> Vec<u64> {
    param
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap_or(0))
        .collect()
}

fn time(ns: Option<f64>) -> String {
    match ns {
        None => "-".into(),
        Some(ns) if ns < 1e3 => format!("{ns:.0} ns"),
        Some(ns) if ns < 1e6 => format!("{:.2} µs", ns / 1e3),
        Some(ns) if ns < 1e9 => format!("{:.2} ms", ns / 1e6),
        Some(ns) => format!("{:.2} s", ns / 1e9),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "-".into(),
    }
}
