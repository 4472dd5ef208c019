//! Not published: what the workspace's tests share, one copy each (issue
//! 13). A dev-dependency of the crates whose tests use it, never a normal
//! dependency, so nothing here reaches users.
//!
//! - [`ModelKqueueSelector`] (Unix): the kqueue adapter on an in-process
//!   model of FreeBSD's kqueue ([`kqueue_model`]), so the kqueue code runs
//!   on Linux;
//! - [`checked`]: what every `select` result must satisfy, whatever the
//!   backend;
//! - [`fds`]: the open-files limit and high fd numbers;
//! - [`child`]: example binaries and the lines a child process prints;
//! - [`rng`]: a small deterministic PRNG and the byte patterns made of it.

#[cfg(unix)]
pub mod kqueue_model;

pub mod child;
pub mod fds;
mod ready;
pub mod rng;

pub use ready::checked;

/// The kqueue adapter on the in-process model ([`kqueue_model`]): what
/// `KqueueSelector` is on Apple and the BSDs, with the model in place of the
/// kernel.
#[cfg(unix)]
pub type ModelKqueueSelector<T = ()> =
    selectors_core::backend::Engine<selectors_kqueue::Kqueue<kqueue_model::ModelKqueue>, T>;
