//! `cargo xtask`: developer and CI tasks for the selectors workspace.

fn main() {
    eprintln!("usage: cargo xtask <task> (none yet)");
    std::process::exit(2);
}
