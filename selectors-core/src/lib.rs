//! The types every `selectors` backend shares: [`Events`], [`SelectorKey`],
//! [`FileObject`], [`Error`], the read-only [`SelectorMap`], the
//! [`Selector`] trait, the data-free [`Event`] and the cross-thread
//! [`Waker`]. That is the whole user API; users normally depend on the
//! `io-selectors` umbrella crate, which re-exports it.
//!
//! Backend implementers also find the selector engine, the contract a
//! kernel adapter implements and the helpers adapters share in [`backend`]
//! (see ARCHITECTURE.md in the repository). Users never need it.
//!
//! The crate has no `unsafe`, and its user types make no system call (the
//! one system call in the crate is the socket-pair waker's,
//! [`backend::WakePipe`]).
//!
//! | Python | here |
//! |---|---|
//! | `EVENT_READ`, `EVENT_WRITE` | [`Events::READ`], [`Events::WRITE`] ([`EVENT_READ`], [`EVENT_WRITE`]) |
//! | file object | [`FileObject`] |
//! | `SelectorKey` | [`SelectorKey`] |
//! | `BaseSelector` | [`Selector`] |
//! | `get_map()` | [`SelectorMap`] |
//! | `ValueError`, `KeyError`, `OSError` | [`Error`] |
#![forbid(unsafe_code)]

pub mod backend;
mod error;
mod event;
mod events;
mod fileobj;
mod growth;
mod key;
mod map;
mod merge;
mod raw;
mod selector;
mod timeout;
mod waker;

pub use error::{Error, Result};
pub use event::Event;
pub use events::{Events, EVENT_READ, EVENT_WRITE};
pub use fileobj::FileObject;
pub use key::SelectorKey;
pub use map::{Iter, SelectorMap};
pub use raw::RawFd;
pub use selector::{Ready, Selector};
pub use waker::Waker;

static_assertions::assert_impl_all!(Events: Copy, Send, Sync, Unpin);
static_assertions::assert_impl_all!(Event: Copy, Send, Sync, Unpin);
#[cfg(unix)]
static_assertions::assert_eq_size!(Event, [u32; 4]);
#[cfg(windows)]
static_assertions::assert_eq_size!(Event, [u64; 3]);
static_assertions::assert_impl_all!(Error: Send, Sync, std::error::Error);
static_assertions::assert_impl_all!(SelectorKey<()>: Copy, Send, Sync);
static_assertions::assert_impl_all!(SelectorMap<()>: Send, Sync, Clone);
static_assertions::assert_impl_all!(Waker: Send, Sync, Clone, Unpin);
static_assertions::assert_not_impl_any!(SelectorMap<std::rc::Rc<()>>: Send, Sync);
