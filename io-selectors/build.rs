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
    let windows = os == "windows";

    // Where rustix's select(2) has no FD_SETSIZE limit, and Winsock
    // (selectors-select); poll(2), and WSAPoll (selectors-poll).
    let select = feature("select") && (linux || apple || bsd || windows);
    let poll = feature("poll") && (unix || windows);
    let epoll = feature("epoll") && linux;
    let kqueue = feature("kqueue") && (apple || bsd);
    let iocp = feature("iocp") && windows;
    // ARCHITECTURE.md's order: kqueue, then epoll, then IOCP, then poll, then
    // select; on Windows select before poll, as CPython (WSAPoll missed
    // failed connects before Windows 10 2004).
    let mut order = [
        ("kqueue", kqueue),
        ("epoll", epoll),
        ("iocp", iocp),
        ("poll", poll),
        ("select", select),
    ];
    if windows {
        order.swap(3, 4);
    }
    let default = order.into_iter().find(|&(_, on)| on).map(|(name, _)| name);

    // The names are declared for `unexpected_cfgs` in the workspace's
    // Cargo.toml.
    let cfg = |name: &str, on: bool| {
        if on {
            println!("cargo:rustc-cfg={name}");
        }
    };
    cfg("selectors_select", select);
    cfg("selectors_poll", poll);
    cfg("selectors_epoll", epoll);
    cfg("selectors_kqueue", kqueue);
    cfg("selectors_iocp", iocp);
    cfg("selectors_any_backend", default.is_some());
    for name in ["kqueue", "epoll", "iocp", "poll", "select"] {
        cfg(&format!("selectors_default_{name}"), default == Some(name));
    }
    println!("cargo:rerun-if-changed=build.rs");
}
