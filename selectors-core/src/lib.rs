//! The types every `selectors` backend shares: [`Events`], [`SelectorKey`],
//! [`FileObject`], [`Error`], [`SelectorMap`] and the [`Selector`] trait,
//! the cross-thread [`Waker`], plus the small helpers backends need
//! ([`timeout`], [`push_ready`], [`ReadyMerger`], [`WakePipe`]).
//!
//! This crate makes no system call and has no `unsafe`. Users normally
//! depend on the `selectors` umbrella crate, which re-exports all of it.
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

mod error;
mod events;
mod fileobj;
mod growth;
mod key;
mod map;
mod merge;
mod selector;
pub mod timeout;
mod waker;

pub use error::{Error, Result};
pub use events::{Events, EVENT_READ, EVENT_WRITE};
pub use fileobj::FileObject;
pub use growth::reserve_lean;
pub use key::SelectorKey;
pub use map::{push_ready, Iter, SelectorMap};
pub use merge::ReadyMerger;
pub use selector::{Ready, Selector};
pub use waker::{Wake, WakePipe, Waker};

static_assertions::assert_impl_all!(Events: Copy, Send, Sync, Unpin);
static_assertions::assert_impl_all!(Error: Send, Sync, std::error::Error);
static_assertions::assert_impl_all!(SelectorKey<()>: Copy, Send, Sync);
static_assertions::assert_impl_all!(SelectorMap<()>: Send, Sync, Clone);
static_assertions::assert_impl_all!(Waker: Send, Sync, Clone, Unpin);
static_assertions::assert_not_impl_any!(SelectorMap<std::rc::Rc<()>>: Send, Sync);
