//! Not implemented yet: see the tracker.
pub use selectors_core::*;

#[cfg(unix)]
mod any;
#[cfg(unix)]
pub use any::{AnySelector, Backend, ParseBackendError};
