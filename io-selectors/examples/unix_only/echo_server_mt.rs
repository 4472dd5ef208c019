//! The `echo_server_mt` example, whose code is `../echo_server_mt.rs`:
//! Unix only, since it spreads connections between threads with
//! `SO_REUSEPORT`, which Windows lacks. Elsewhere it says so and exits
//! with 2.

#[cfg(unix)]
#[path = "../echo_server_mt.rs"]
mod echo_server_mt;

#[cfg(unix)]
fn main() {
    echo_server_mt::main()
}

#[cfg(not(unix))]
fn main() {
    eprintln!("echo_server_mt: Unix only: it relies on SO_REUSEPORT");
    std::process::exit(2);
}
