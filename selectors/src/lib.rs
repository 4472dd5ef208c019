//! Not implemented yet: see the tracker.
pub use selectors_core::*;
