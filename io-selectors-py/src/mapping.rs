//! `get_map()`'s object: a live, read-only `collections.abc.Mapping` of fds
//! to keys, as CPython's `_SelectorMapping`.
//!
//! It is registered as a virtual subclass of `Mapping` (see `lib.rs`) and
//! implements what CPython's class gets from it: `len`, iteration (the
//! fds), `[fileobj]`, `in`, `get`, `keys()`, `values()`, `items()` (the
//! standard library's own view classes) and `==`. No mutation: `del`,
//! `m[k] = v` raise TypeError, as on any read-only mapping.

use pyo3::exceptions::PyKeyError;
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyTuple, PyType};
use pyo3::PyTraverseError;

use crate::selector::BaseSelectorImpl;

/// Mapping of file objects to selector keys.
#[pyclass(module = "io_selectors", name = "_SelectorMapping")]
pub(crate) struct SelectorMapping {
    selector: Py<BaseSelectorImpl>,
}

impl SelectorMapping {
    pub(crate) fn new(selector: Py<BaseSelectorImpl>) -> SelectorMapping {
        SelectorMapping { selector }
    }
}

/// A class of `collections.abc`, imported once.
fn abc<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyType>>,
    name: &str,
) -> PyResult<&'py Bound<'py, PyType>> {
    cell.import(py, "collections.abc", name)
}

/// `collections.abc.Mapping`, to register this class with and compare by.
pub(crate) fn mapping_abc(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    static MAPPING: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    abc(py, &MAPPING, "Mapping")
}

#[pymethods]
impl SelectorMapping {
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        BaseSelectorImpl::map_len(self.selector.bind(py))
    }

    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        fileobj: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        BaseSelectorImpl::map_get(self.selector.bind(py), fileobj)
    }

    /// The registered fds (a snapshot: registering while iterating is fine).
    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let fds = BaseSelectorImpl::map_fds(self.selector.bind(py))?;
        PyList::new(py, fds)?.try_iter().map(Bound::into_any)
    }

    /// `Mapping.__contains__`: `self[fileobj]` without KeyError.
    fn __contains__(&self, py: Python<'_>, fileobj: &Bound<'_, PyAny>) -> PyResult<bool> {
        match self.__getitem__(py, fileobj) {
            Ok(_) => Ok(true),
            Err(e) if e.is_instance_of::<PyKeyError>(py) => Ok(false),
            Err(e) => Err(e),
        }
    }

    #[pyo3(signature = (fileobj, default = None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        fileobj: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match self.__getitem__(py, fileobj) {
            Ok(key) => Ok(key.into_any()),
            Err(e) if e.is_instance_of::<PyKeyError>(py) => {
                Ok(default.unwrap_or_else(|| py.None().into_bound(py)))
            }
            Err(e) => Err(e),
        }
    }

    fn keys<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        static VIEW: PyOnceLock<Py<PyType>> = PyOnceLock::new();
        abc(slf.py(), &VIEW, "KeysView")?.call1((slf,))
    }

    fn values<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        static VIEW: PyOnceLock<Py<PyType>> = PyOnceLock::new();
        abc(slf.py(), &VIEW, "ValuesView")?.call1((slf,))
    }

    fn items<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        static VIEW: PyOnceLock<Py<PyType>> = PyOnceLock::new();
        abc(slf.py(), &VIEW, "ItemsView")?.call1((slf,))
    }

    /// `Mapping.__eq__`: equal to any mapping with the same items.
    fn __eq__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        if !other.is_instance(mapping_abc(py)?)? {
            return Ok(py.NotImplemented());
        }
        let mine = PyDict::from_sequence(&Self::items(slf)?)?;
        let theirs = PyDict::from_sequence(&other.call_method0("items")?)?;
        Ok(mine
            .eq(theirs)?
            .into_pyobject(py)?
            .to_owned()
            .into_any()
            .unbind())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.selector)
    }
}
