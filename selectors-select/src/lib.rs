//! Not implemented yet: see the tracker.
