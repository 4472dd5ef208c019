//! `cargo xtask msrv`: check the library crates with the declared rust-version.
//!
//! Old cargo cannot simply be pointed at this workspace:
//! - cargo 1.65 only speaks the git protocol to crates.io (the sparse index
//!   came in 1.68), and needs the network for the index even with a lockfile;
//! - the workspace also holds xtask, benches and dev-dependencies whose
//!   manifests and resolution old cargo need not understand (and `[lints]`
//!   only makes it warn);
//! - a plain resolve picks the newest dependency versions, which may need a
//!   newer Rust than ours even though older compatible ones exist.
//!
//! So the check builds a separate workspace under `target/xtask-msrv`: the
//! library crates copied with their dev-dependencies, `[lints]` and explicit
//! bench/example/test targets stripped, and a root manifest with the same
//! `[workspace.package]` and `[workspace.dependencies]`. The *current* cargo
//! resolves it MSRV-aware (`CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback`,
//! cargo >= 1.84: the newest versions whose rust-version we satisfy) and
//! vendors the sources; the old cargo then checks it `--offline --locked`
//! against the vendored copy. A dependency that needs a newer Rust than ours
//! therefore shows up as a failed check here, never as a silent bump.

use std::fs;
use std::path::{Path, PathBuf};

use crate::cmd::{self, cargo, root};
use crate::steps::{StepResult, Steps};

/// Checked besides the host: a kqueue target, since on Linux the kqueue
/// backend compiles to nothing and its code would escape the MSRV check.
const EXTRA_TARGETS: [&str; 1] = ["x86_64-apple-darwin"];

/// The `rust-version` of `[workspace.package]` in the root manifest.
pub(crate) fn rust_version() -> Result<String, String> {
    let manifest = read(&root().join("Cargo.toml"))?;
    let (_, body) = sections(&manifest)
        .into_iter()
        .find(|(header, _)| header == "workspace.package")
        .ok_or("the root Cargo.toml has no [workspace.package]")?;
    body.lines()
        .find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == "rust-version").then(|| value.trim().trim_matches('"').to_owned())
        })
        .ok_or_else(|| "[workspace.package] declares no rust-version".into())
}

/// Installs the MSRV toolchain (minimal profile) and its extra targets if
/// missing; returns its name.
pub(crate) fn install_toolchain() -> Result<String, String> {
    cmd::require_rustup()?;
    let version = rust_version()?;
    let toolchains = cmd::output(cmd::rustup().args(["toolchain", "list"]))?;
    if !toolchains
        .lines()
        .any(|l| l.starts_with(&format!("{version}-")))
    {
        cmd::run(cmd::rustup().args(["toolchain", "install", &version, "--profile", "minimal"]))?;
    }
    let installed = cmd::output(cmd::rustup().args([
        "target",
        "list",
        "--installed",
        "--toolchain",
        &version,
    ]))?;
    let missing: Vec<&str> = EXTRA_TARGETS
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if !missing.is_empty() {
        cmd::run(
            cmd::rustup()
                .args(["target", "add", "--toolchain", &version])
                .args(&missing),
        )?;
    }
    Ok(version)
}

/// Prepares the MSRV workspace, then one `cargo check` sub-step per target.
pub(crate) fn run(steps: &mut Steps) -> StepResult {
    let toolchain = install_toolchain()?;
    let dir = root().join("target").join("xtask-msrv");
    write_workspace(&dir)?;
    // Resolve and vendor with the current cargo, before the source replacement
    // exists (it would make cargo resolve against the previous vendor dir).
    cmd::run(
        cargo()
            .current_dir(&dir)
            .env("CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS", "fallback")
            .arg("generate-lockfile"),
    )?;
    let lock = read(&dir.join("Cargo.lock"))?;
    if !lock.lines().any(|l| l == "version = 3") {
        return Err(format!(
            "{}/Cargo.lock is not lockfile version 3, which cargo {toolchain} needs",
            dir.display()
        ));
    }
    cmd::run(
        cargo()
            .current_dir(&dir)
            .args([
                "vendor",
                "--quiet",
                "--locked",
                "--versioned-dirs",
                "vendor",
            ])
            .stdout(std::process::Stdio::null()),
    )?;
    write(&dir.join(".cargo").join("config.toml"), VENDOR_CONFIG)?;
    for target in Some(None).into_iter().chain(EXTRA_TARGETS.iter().map(Some)) {
        steps.run(target.copied().unwrap_or("host"), |_| {
            let mut check = cmd::rustup();
            check.current_dir(&dir).args([
                "run",
                &toolchain,
                "cargo",
                "check",
                "--offline",
                "--locked",
                "--workspace",
            ]);
            if let Some(target) = target {
                check.args(["--target", target]);
            }
            // Whatever toolchain runs xtask must not leak into the old cargo.
            for var in [
                "CARGO",
                "RUSTC",
                "RUSTDOC",
                "RUSTUP_TOOLCHAIN",
                "CARGO_TARGET_DIR",
            ] {
                check.env_remove(var);
            }
            cmd::run(&mut check)
        });
    }
    Ok(())
}

const VENDOR_CONFIG: &str = "\
# Generated by `cargo xtask msrv`: build from the vendored sources, offline.
[source.crates-io]
replace-with = \"vendored-sources\"

[source.vendored-sources]
directory = \"vendor\"
";

/// (Re)writes the MSRV workspace in `dir`; keeps its `target/` for speed.
fn write_workspace(dir: &Path) -> StepResult {
    let root = root();
    for stale in ["vendor", ".cargo", "Cargo.lock"] {
        let path = dir.join(stale);
        let _ = if path.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
    }
    let manifest = read(&root.join("Cargo.toml"))?;
    let members: Vec<&str> = crate::library_crates().collect();
    write(
        &dir.join("Cargo.toml"),
        &workspace_manifest(&manifest, &members),
    )?;
    for file in fs::read_dir(&root).map_err(|e| format!("{}: {e}", root.display()))? {
        let name = file.map_err(|e| e.to_string())?.file_name();
        let name = name.to_string_lossy();
        // Crates may include the README or licence files in their docs.
        if name.starts_with("README") || name.starts_with("LICENSE") {
            copy(&root.join(&*name), &dir.join(&*name))?;
        }
    }
    for member in members {
        let to = dir.join(member);
        let _ = fs::remove_dir_all(&to);
        copy_tree(&root.join(member), &to)?;
        let manifest = read(&to.join("Cargo.toml"))?;
        write(&to.join("Cargo.toml"), &member_manifest(&manifest))?;
    }
    Ok(())
}

/// The generated root manifest: only `members`, plus the shared tables
/// copied verbatim (not `[workspace.lints]`, which cargo 1.65 does not know).
fn workspace_manifest(root_manifest: &str, members: &[&str]) -> String {
    let mut out = String::from("# Generated by `cargo xtask msrv`: the library crates only.\n[workspace]\nresolver = \"2\"\nmembers = [\n");
    for member in members {
        out += &format!("    \"{member}\",\n");
    }
    out += "]\n";
    for (header, body) in sections(root_manifest) {
        if header == "workspace.package" || header == "workspace.dependencies" {
            out += &format!("\n[{header}]\n{}\n", body.trim_end());
        }
    }
    out
}

/// A member manifest without what only tests, benches and lints need.
fn member_manifest(manifest: &str) -> String {
    let mut out = String::new();
    for (header, body) in sections(manifest) {
        let dev = header == "dev-dependencies"
            || header.starts_with("dev-dependencies.")
            || header.contains(".dev-dependencies");
        let lints = header == "lints" || header.starts_with("lints.");
        let extra_target = matches!(header.as_str(), "[bench]" | "[example]" | "[test]");
        if dev || lints || extra_target {
            continue;
        }
        if !header.is_empty() {
            out += &format!("[{header}]\n");
        }
        out += &body;
    }
    out
}

/// Splits a manifest into `(header, body)` at each table header line; the
/// header is the text between the outer brackets (`[[bench]]` gives `[bench]`).
/// Keys before the first header come with an empty header.
fn sections(manifest: &str) -> Vec<(String, String)> {
    let mut out = vec![(String::new(), String::new())];
    for line in manifest.lines() {
        let trimmed = line.trim();
        let header = trimmed
            .strip_prefix('[')
            .and_then(|t| t.split('#').next()?.trim().strip_suffix(']'));
        match header {
            // `[x]` opens a table; `["a", "b"]` on its own line is array content.
            Some(header) if !header.starts_with('"') => {
                out.push((header.trim().to_owned(), String::new()))
            }
            _ => {
                let body = &mut out.last_mut().expect("never empty").1;
                *body += line;
                body.push('\n');
            }
        }
    }
    out
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> StepResult {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn copy(from: &Path, to: &Path) -> StepResult {
    fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("copy {} to {}: {e}", from.display(), to.display()))
}

/// Copies a crate directory, skipping any `target/` inside it.
fn copy_tree(from: &Path, to: &Path) -> StepResult {
    fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let (src, dst): (PathBuf, PathBuf) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().map_err(|e| e.to_string())?.is_dir() {
            if entry.file_name() != "target" {
                copy_tree(&src, &dst)?;
            }
        } else {
            copy(&src, &dst)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMBER: &str = r#"[package]
name = "io-selectors"
version.workspace = true

[features]
default = ["select", "poll"]
select = ["dep:selectors-select"]

[dependencies]
selectors-core.workspace = true

[target.'cfg(unix)'.dependencies]
rustix = { workspace = true, features = ["event"] }

[dev-dependencies]
criterion = "0.8"

[dev-dependencies.mio]
version = "1"

[target.'cfg(unix)'.dev-dependencies]
libc.workspace = true

[[bench]]
name = "select"
harness = false

[lints]
workspace = true
"#;

    #[test]
    fn member_manifest_keeps_the_library_and_drops_dev_only_tables() {
        let stripped = member_manifest(MEMBER);
        for kept in [
            "[package]",
            "[features]",
            "default = [\"select\", \"poll\"]",
            "[dependencies]",
            "[target.'cfg(unix)'.dependencies]",
        ] {
            assert!(stripped.contains(kept), "lost {kept}:\n{stripped}");
        }
        for dropped in [
            "dev-dependencies",
            "criterion",
            "mio",
            "libc",
            "[[bench]]",
            "harness",
            "[lints]",
        ] {
            assert!(!stripped.contains(dropped), "kept {dropped}:\n{stripped}");
        }
    }

    #[test]
    fn workspace_manifest_copies_shared_tables_but_not_lints_or_members() {
        let root = "[workspace]\nmembers = [\n    \"xtask\",\n]\n\n[workspace.package]\nrust-version = \"1.65\"\n\n\
                    [workspace.dependencies]\nlibc = \"0.2\"\n\n[workspace.lints.rust]\nmissing_docs = \"warn\"\n";
        let generated = workspace_manifest(root, &["selectors-core", "io-selectors"]);
        assert!(
            generated.contains("members = [\n    \"selectors-core\",\n    \"io-selectors\",\n]"),
            "{generated}"
        );
        assert!(
            generated.contains("[workspace.package]\nrust-version = \"1.65\"\n"),
            "{generated}"
        );
        assert!(
            generated.contains("[workspace.dependencies]\nlibc = \"0.2\"\n"),
            "{generated}"
        );
        assert!(
            !generated.contains("\"xtask\"") && !generated.contains("lints"),
            "{generated}"
        );
    }

    #[test]
    fn rust_version_is_read_from_the_workspace_manifest() {
        let version = rust_version().unwrap();
        let manifest = read(&root().join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains(&format!("rust-version = \"{version}\"")),
            "{version}"
        );
        assert!(version.starts_with("1."), "{version}");
    }
}
