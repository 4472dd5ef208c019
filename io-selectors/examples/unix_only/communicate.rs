//! The `communicate` example, whose code is `../communicate.rs`: Unix
//! only, since it selects on a child's pipes, and Windows selectors take
//! sockets only (as the spec says). Elsewhere it says so and exits with 2.

#[cfg(unix)]
#[path = "../communicate.rs"]
mod communicate;

#[cfg(unix)]
fn main() {
    communicate::main()
}

#[cfg(not(unix))]
fn main() {
    eprintln!("communicate: Unix only: Windows selectors take sockets, not pipes");
    std::process::exit(2);
}
