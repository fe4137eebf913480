//! Which exceptions count: exception types or a predicate, as in `failure_on=`,
//! `exclude=` and `retry_on=`.

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple, PyType};

use crate::errors::wrong_type;

/// A set of exceptions: a tuple of exception types, or a predicate.
pub(crate) enum Matcher {
    /// `isinstance(error, types)`.
    Types(Py<PyTuple>),
    /// `bool(predicate(error))`.
    Predicate(Py<PyAny>),
}

const EXPECTED: &str = "an exception type, a tuple of exception types, or a callable taking the exception and returning a bool";

impl Matcher {
    /// Every `Exception` (not `BaseException`: cancellation, `KeyboardInterrupt`
    /// and `SystemExit` are not failures of the dependency).
    pub(crate) fn exceptions(py: Python<'_>) -> PyResult<Self> {
        let types = PyTuple::new(py, [py.get_type::<PyException>()])?;
        Ok(Matcher::Types(types.unbind()))
    }

    /// Parses an argument: an exception type, a tuple or list of them, or a callable.
    pub(crate) fn from_arg(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Self> {
        let py = value.py();
        let is_exception_type = |v: &Bound<'_, PyAny>| -> PyResult<bool> {
            match v.cast::<PyType>() {
                Ok(t) => t.is_subclass(&py.get_type::<pyo3::exceptions::PyBaseException>()),
                Err(_) => Ok(false),
            }
        };
        if is_exception_type(value)? {
            return Ok(Matcher::Types(PyTuple::new(py, [value])?.unbind()));
        }
        let items = if let Ok(tuple) = value.cast::<PyTuple>() {
            Some(tuple.clone())
        } else if let Ok(list) = value.cast::<PyList>() {
            Some(list.to_tuple())
        } else {
            None
        };
        if let Some(items) = items {
            for item in items.iter() {
                if !is_exception_type(&item)? {
                    return Err(wrong_type(name, EXPECTED, &item));
                }
            }
            return Ok(Matcher::Types(items.unbind()));
        }
        if value.is_callable() && value.cast::<PyType>().is_err() {
            return Ok(Matcher::Predicate(value.clone().unbind()));
        }
        Err(wrong_type(name, EXPECTED, value))
    }

    /// Whether `error` is in the set. A predicate that raises is reported
    /// through `sys.unraisablehook` and answers `on_error`.
    pub(crate) fn matches(&self, py: Python<'_>, error: &PyErr, on_error: bool) -> bool {
        match self {
            Matcher::Types(types) => error.is_instance(py, types.bind(py).as_any()),
            Matcher::Predicate(predicate) => {
                let predicate = predicate.bind(py);
                match predicate
                    .call1((error.value(py),))
                    .and_then(|answer| answer.is_truthy())
                {
                    Ok(answer) => answer,
                    Err(raised) => {
                        raised.write_unraisable(py, Some(predicate));
                        on_error
                    }
                }
            }
        }
    }

    /// The argument as given (a tuple of types, or the predicate).
    pub(crate) fn to_object(&self, py: Python<'_>) -> Py<PyAny> {
        match self {
            Matcher::Types(types) => types.clone_ref(py).into_any(),
            Matcher::Predicate(predicate) => predicate.clone_ref(py),
        }
    }
}

/// `failure_on=` minus `exclude=`.
pub(crate) struct Classifier {
    pub(crate) include: Matcher,
    pub(crate) exclude: Option<Matcher>,
}

impl Classifier {
    /// Parses `include` (default: every `Exception`) and `exclude` (default: none).
    pub(crate) fn from_args(
        py: Python<'_>,
        include: Option<&Bound<'_, PyAny>>,
        include_name: &str,
        exclude: Option<&Bound<'_, PyAny>>,
        exclude_name: &str,
    ) -> PyResult<Self> {
        let include = match include {
            Some(value) if !value.is_none() => Matcher::from_arg(value, include_name)?,
            _ => Matcher::exceptions(py)?,
        };
        let exclude = match exclude {
            Some(value) if !value.is_none() => Some(Matcher::from_arg(value, exclude_name)?),
            _ => None,
        };
        Ok(Self { include, exclude })
    }

    /// The `failure_on=` argument as given (a tuple of types, or the predicate).
    pub(crate) fn include_object(&self, py: Python<'_>) -> Py<PyAny> {
        self.include.to_object(py)
    }

    /// The `exclude=` argument as given (an empty tuple when there was none).
    pub(crate) fn exclude_object(&self, py: Python<'_>) -> Py<PyAny> {
        match &self.exclude {
            Some(exclude) => exclude.to_object(py),
            None => PyTuple::empty(py).into_any().unbind(),
        }
    }

    /// Whether `error` counts.
    pub(crate) fn counts(&self, py: Python<'_>, error: &PyErr) -> bool {
        self.include.matches(py, error, true)
            && !self
                .exclude
                .as_ref()
                .is_some_and(|exclude| exclude.matches(py, error, false))
    }
}
