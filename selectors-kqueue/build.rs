//! Names this crate's target families once (see ARCHITECTURE.md, "cfg
//! aliases"): `kqueue` on Apple and the BSDs, `evfilt_user` where rustix
//! can express `EVFILT_USER` (Apple, FreeBSD, DragonFly; NetBSD has it
//! since 10 but rustix does not offer it there, OpenBSD not at all).

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let apple = std::env::var("CARGO_CFG_TARGET_VENDOR").map_or(false, |v| v == "apple");
    let bsd = matches!(os.as_str(), "freebsd" | "netbsd" | "openbsd" | "dragonfly");
    if apple || bsd {
        println!("cargo:rustc-cfg=kqueue");
    }
    if apple || matches!(os.as_str(), "freebsd" | "dragonfly") {
        println!("cargo:rustc-cfg=evfilt_user");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
