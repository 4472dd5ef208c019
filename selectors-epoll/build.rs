//! Names this crate's target families once (see ARCHITECTURE.md, "cfg
//! aliases"): `epoll` on Linux and Android, `epoll_pwait2` where the crate
//! calls `epoll_pwait2(2)` itself (Linux with glibc or musl, whose `libc`
//! has `SYS_epoll_pwait2`).

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if matches!(os.as_str(), "linux" | "android") {
        println!("cargo:rustc-cfg=epoll");
    }
    if os == "linux" && matches!(env.as_str(), "gnu" | "musl") {
        println!("cargo:rustc-cfg=epoll_pwait2");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
