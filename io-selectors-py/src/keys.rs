//! The `SelectorKey` objects a selector holds, and the handles the Rust
//! selector carries for them.
//!
//! Why a handle: the Rust `Selector<T>` clones `T` into every `select`
//! result, with the GIL released. A `Py<PyAny>` cannot be cloned there (an
//! incref needs the GIL; PyO3's `py-clone` would defer or panic), so `T` is
//! a [`Slot`], a `Copy` index into a [`KeyTable`] of Python keys that only
//! code holding the GIL touches. No generation counter is needed: `select`
//! turns the slots it got into keys before anything can unregister, under
//! the same borrow of the selector, so a slot is never stale when read.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyTuple, PyType};

/// A registration's index in its selector's [`KeyTable`]: the Rust
/// selector's data `T`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot(u32);

/// The Python `SelectorKey` of every registration, by [`Slot`]; freed slots
/// are reused, so the table is as long as the most keys held at once.
#[derive(Default)]
pub(crate) struct KeyTable {
    keys: Vec<Option<Py<PyTuple>>>,
    free: Vec<u32>,
}

impl KeyTable {
    /// Stores `key`, returning its slot.
    pub(crate) fn insert(&mut self, key: Py<PyTuple>) -> Slot {
        match self.free.pop() {
            Some(i) => {
                self.keys[i as usize] = Some(key);
                Slot(i)
            }
            None => {
                let i = u32::try_from(self.keys.len()).expect("fewer than 2^32 registrations");
                self.keys.push(Some(key));
                Slot(i)
            }
        }
    }

    /// The key in `slot`; `None` once the table was cleared (by close, or by
    /// the garbage collector breaking a cycle).
    #[inline]
    pub(crate) fn get(&self, slot: Slot) -> Option<&Py<PyTuple>> {
        self.keys.get(slot.0 as usize)?.as_ref()
    }

    /// Puts `key` in place of the key in `slot` (modify).
    pub(crate) fn replace(&mut self, slot: Slot, key: Py<PyTuple>) {
        if let Some(entry) = self.keys.get_mut(slot.0 as usize) {
            *entry = Some(key);
        }
    }

    /// Takes the key out of `slot` and frees the slot.
    pub(crate) fn remove(&mut self, slot: Slot) -> Option<Py<PyTuple>> {
        let key = self.keys.get_mut(slot.0 as usize)?.take()?;
        self.free.push(slot.0);
        Some(key)
    }

    /// Every key held, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Py<PyTuple>> {
        self.keys.iter().flatten()
    }

    /// How many keys are held.
    pub(crate) fn len(&self) -> usize {
        self.keys.len() - self.free.len()
    }

    /// Drops every key (and so the references to the registered objects
    /// and their data).
    pub(crate) fn clear(&mut self) {
        self.keys = Vec::new();
        self.free = Vec::new();
    }
}

/// The standard library's `selectors.SelectorKey` namedtuple class: every
/// key made here is an instance of it.
pub(crate) fn key_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    static KEY_TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    KEY_TYPE.import(py, "selectors", "SelectorKey")
}

/// `SelectorKey(fileobj, fd, events, data)`, made as the namedtuple's own
/// `__new__` makes it (`tuple.__new__(cls, items)`), without running the
/// Python-level `__new__`.
pub(crate) fn new_key<'py>(
    py: Python<'py>,
    fileobj: &Bound<'py, PyAny>,
    fd: &Bound<'py, PyAny>,
    events: &Bound<'py, PyAny>,
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyTuple>> {
    let class = key_type(py)?;
    if direct_alloc(py, class)? {
        return alloc_key(py, class, [fileobj, fd, events, data]);
    }
    static TUPLE_NEW: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let tuple_new = TUPLE_NEW
        .get_or_try_init(py, || {
            py.get_type::<PyTuple>()
                .getattr("__new__")
                .map(Bound::unbind)
        })?
        .bind(py);
    let items = PyTuple::new(py, [fileobj, fd, events, data])?;
    Ok(tuple_new.call1((class, items))?.cast_into()?)
}

/// Whether [`alloc_key`] may make keys: `class` is a tuple subclass without
/// extra storage (`__slots__ = ()`, as namedtuple makes it), and the
/// interpreter's tuple is the plain array of items that `tuple.__new__`
/// fills the same way (3.14 added a cached hash that it also sets).
fn direct_alloc(py: Python<'_>, class: &Bound<'_, PyType>) -> PyResult<bool> {
    static DIRECT: PyOnceLock<bool> = PyOnceLock::new();
    DIRECT
        .get_or_try_init(py, || -> PyResult<bool> {
            let tuple = py.get_type::<PyTuple>();
            let same_size = class
                .getattr("__basicsize__")?
                .eq(tuple.getattr("__basicsize__")?)?;
            Ok(py.version_info() < (3, 14) && class.is_subclass(&tuple)? && same_size)
        })
        .copied()
}

/// A `class` instance holding `items`, as CPython 3.9-3.13's
/// `tuple_subtype_new` makes it: `tp_alloc(class, n)`, then each item
/// stored with a new reference. Half the cost of calling `tuple.__new__`
/// (no argument tuples, no method call), which shows in register: see
/// BENCHMARKS.md.
fn alloc_key<'py>(
    py: Python<'py>,
    class: &Bound<'py, PyType>,
    items: [&Bound<'py, PyAny>; 4],
) -> PyResult<Bound<'py, PyTuple>> {
    let tp = class.as_type_ptr();
    // SAFETY: `tp` is a live type object (we hold `class`) that
    // `direct_alloc` checked is a tuple subclass of tuple's own size, so
    // its `tp_alloc` (PyType_GenericAlloc when unset) returns a new tuple of
    // `items.len()` NULL slots, or NULL with an exception set.
    let key = unsafe {
        let alloc = (*tp).tp_alloc.unwrap_or(pyo3::ffi::PyType_GenericAlloc);
        Bound::from_owned_ptr_or_err(py, alloc(tp, items.len() as pyo3::ffi::Py_ssize_t))?
    };
    for (i, item) in items.into_iter().enumerate() {
        // SAFETY: `key` is a fresh tuple of four slots that nothing else has
        // seen yet; `i < 4`; SET_ITEM steals the new reference we give it,
        // filling each NULL slot once, before the tuple is used.
        unsafe { pyo3::ffi::PyTuple_SET_ITEM(key.as_ptr(), i as _, item.clone().into_ptr()) };
    }
    // SAFETY: `class` is a tuple subclass, so `key` is a tuple.
    Ok(unsafe { key.cast_into_unchecked() })
}

/// Field `i` of a key (0 fileobj, 1 fd, 2 events, 3 data).
#[inline]
pub(crate) fn field<'py>(key: &Bound<'py, PyTuple>, i: usize) -> Bound<'py, PyAny> {
    key.get_item(i).expect("a SelectorKey has four fields")
}
