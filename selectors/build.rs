//! Names, once, which backends this target has with the enabled features, so
//! the crate, its tests and its examples say `cfg(selectors_epoll)` rather
//! than repeating each backend's target list. The lists are those under
//! which each backend crate exports its selector.

use std::env;

fn main() {
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let vendor = env::var("CARGO_CFG_TARGET_VENDOR").unwrap_or_default();
    let unix = env::var("CARGO_CFG_UNIX").is_ok();
    let feature =
        |name: &str| env::var_os(format!("CARGO_FEATURE_{}", name.to_uppercase())).is_some();

    let linux = matches!(os.as_str(), "linux" | "android");
    let bsd = matches!(os.as_str(), "freebsd" | "netbsd" | "openbsd" | "dragonfly");
    let apple = vendor == "apple";

    // Where rustix's select(2) has no FD_SETSIZE limit (selectors-select).
    let select = feature("select") && (linux || apple || bsd);
    let poll = feature("poll") && unix;
    let epoll = feature("epoll") && linux;
    let kqueue = feature("kqueue") && (apple || bsd);
    // DESIGN.md's order: kqueue, then epoll, then poll, then select.
    let default = [
        ("kqueue", kqueue),
        ("epoll", epoll),
        ("poll", poll),
        ("select", select),
    ]
    .into_iter()
    .find(|&(_, on)| on)
    .map(|(name, _)| name);

    let check_cfg = rustc_minor().map_or(true, |minor| minor >= 80);
    let cfg = |name: &str, on: bool| {
        // Declared for the `unexpected_cfgs` lint of Rust 1.80 and later;
        // older cargo (MSRV 1.65) warns about the line, so it gets none. The
        // single-colon form is the one every cargo reads.
        if check_cfg {
            println!("cargo:rustc-check-cfg=cfg({name})");
        }
        if on {
            println!("cargo:rustc-cfg={name}");
        }
    };
    cfg("selectors_select", select);
    cfg("selectors_poll", poll);
    cfg("selectors_epoll", epoll);
    cfg("selectors_kqueue", kqueue);
    cfg("selectors_any_backend", default.is_some());
    for name in ["kqueue", "epoll", "poll", "select"] {
        cfg(&format!("selectors_default_{name}"), default == Some(name));
    }
    println!("cargo:rerun-if-changed=build.rs");
}

/// The minor version of the compiler cargo builds with (`rustc 1.65.0 ...`
/// gives 65), or `None` if it cannot be told.
fn rustc_minor() -> Option<u32> {
    let rustc = env::var_os("RUSTC")?;
    let out = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()?;
    let version = String::from_utf8(out.stdout).ok()?;
    version.split(['.', ' ']).nth(2)?.parse().ok()
}
