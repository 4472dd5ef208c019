//! Names this crate's target family once (see ARCHITECTURE.md, "cfg
//! aliases"): `ppoll` where rustix's `poll` calls `ppoll(2)` and so takes a
//! `timespec` rather than an `int` of milliseconds.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let ppoll = [
        "linux",
        "android",
        "freebsd",
        "dragonfly",
        "fuchsia",
        "haiku",
        "hurd",
    ];
    if ppoll.contains(&os.as_str()) {
        println!("cargo:rustc-cfg=ppoll");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
