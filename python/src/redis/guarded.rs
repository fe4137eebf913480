//! The wrapper of a `def` function decorated with a shared breaker: the whole
//! call in Rust, as the local breaker's `Guarded` does.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::breaker::SharedCircuitBreaker;
use crate::permit::bind_method;

/// A function decorated with a :class:`SharedCircuitBreaker`: calls it through
/// the breaker.
///
/// ``__wrapped__`` is the original function; it binds as a method.
#[pyclass(module = "seawall", frozen, dict, weakref)]
pub(crate) struct SharedGuarded {
    breaker: Py<SharedCircuitBreaker>,
    func: Py<PyAny>,
}

impl SharedGuarded {
    pub(crate) fn new(
        breaker: &Bound<'_, SharedCircuitBreaker>,
        func: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        if !func.is_callable() {
            return Err(crate::errors::wrong_type("fn", "a callable", func));
        }
        Ok(Self {
            breaker: breaker.clone().unbind(),
            func: func.clone().unbind(),
        })
    }
}

#[pymethods]
impl SharedGuarded {
    #[pyo3(signature = (*args, **kwargs))]
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        SharedCircuitBreaker::guarded_call(self.breaker.bind(py), self.func.bind(py), args, kwargs)
    }

    /// Binds as a method, like a function does.
    fn __get__<'py>(
        slf: &Bound<'py, Self>,
        instance: Option<&Bound<'py, PyAny>>,
        _owner: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        bind_method(slf.as_any(), instance)
    }

    /// The breaker the function is called through.
    #[getter]
    fn breaker(&self, py: Python<'_>) -> Py<SharedCircuitBreaker> {
        self.breaker.clone_ref(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("<guarded {}>", self.func.bind(py).repr()?))
    }
}
