//! Names this crate's target family once (see ARCHITECTURE.md, "cfg
//! aliases"): `unlimited_select` where rustix's `select(2)` sizes fd sets
//! by the highest fd (Linux, Android, Apple, the BSDs).

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let vendor = std::env::var("CARGO_CFG_TARGET_VENDOR").unwrap_or_default();
    let bsd = matches!(os.as_str(), "freebsd" | "netbsd" | "openbsd" | "dragonfly");
    if matches!(os.as_str(), "linux" | "android") || vendor == "apple" || bsd {
        println!("cargo:rustc-cfg=unlimited_select");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
