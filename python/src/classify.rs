//! Which exceptions count: exception types or a predicate, as in `failure_on=`,
//! `exclude=` and `retry_on=`, with the one meaning every binding gives them
//! (`seawall_core::compose::error_outcome`).

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple, PyType};
use seawall_core::breaker::Outcome;
use seawall_core::compose::error_outcome;

use crate::compose::stop_of;
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

    /// Whether `error` is in the set. A predicate that raises an `Exception`
    /// is reported through `sys.unraisablehook` and answers `on_error`; one
    /// that raises any other `BaseException` (Ctrl-C, `sys.exit()`) raises it.
    pub(crate) fn matches(&self, py: Python<'_>, error: &PyErr, on_error: bool) -> PyResult<bool> {
        match self {
            Matcher::Types(types) => Ok(error.is_instance(py, types.bind(py).as_any())),
            Matcher::Predicate(predicate) => {
                let predicate = predicate.bind(py);
                match predicate
                    .call1((error.value(py),))
                    .and_then(|answer| answer.is_truthy())
                {
                    Ok(answer) => Ok(answer),
                    Err(raised) => {
                        reported(py, raised, predicate)?;
                        Ok(on_error)
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

    /// Whether the rules name `error`: `include` matches and `exclude` does not.
    pub(crate) fn matches(&self, py: Python<'_>, error: &PyErr) -> PyResult<bool> {
        Ok(self.include.matches(py, error, true)? && !self.excludes(py, error)?)
    }

    fn excludes(&self, py: Python<'_>, error: &PyErr) -> PyResult<bool> {
        match &self.exclude {
            Some(exclude) => exclude.matches(py, error, false),
            None => Ok(false),
        }
    }

    /// How a breaker counts a call that raised `error`, the same in every
    /// binding:
    ///
    /// - a `BaseException` that is not an `Exception` (cancellation, Ctrl-C,
    ///   `sys.exit()`) counts as nothing: the permit is released;
    /// - one of seawall's own exceptions, raised by a policy decorated below
    ///   the breaker, counts as the core's composition table says: a refusal
    ///   is nothing, a timeout a failure;
    /// - an error `exclude` names counts as nothing, an error `failure_on`
    ///   names is a failure, and any other error is a success: the dependency
    ///   answered (resilience4j's `recordExceptions` and `ignoreExceptions`).
    ///
    /// A predicate that raises a `BaseException` that is not an `Exception`
    /// raises it here.
    pub(crate) fn outcome(&self, py: Python<'_>, error: &PyErr) -> PyResult<Option<Outcome>> {
        if !error.is_instance_of::<PyException>(py) {
            return Ok(None);
        }
        if let Some((stop, _)) = stop_of(py, error) {
            return Ok(stop.breaker_outcome());
        }
        let excluded = self.excludes(py, error)?;
        let failure = !excluded && self.include.matches(py, error, true)?;
        Ok(error_outcome(failure, excluded))
    }

    /// As [`outcome`](Self::outcome), for a breaker's permit: a
    /// `BaseException` a predicate raises comes back with `error` as its
    /// context, for the caller to release the permit and raise it.
    pub(crate) fn breaker_outcome(
        &self,
        py: Python<'_>,
        error: &PyErr,
    ) -> PyResult<Option<Outcome>> {
        self.outcome(py, error).inspect_err(|raised| {
            let _ = raised
                .value(py)
                .setattr(pyo3::intern!(py, "__context__"), error.value(py));
        })
    }

    /// Whether `error` counts as a failure (see [`outcome`](Self::outcome));
    /// a `BaseException` a predicate raises is reported, and the error counts.
    /// For a limiter, whose permit ends on a failure or not.
    pub(crate) fn counts(&self, py: Python<'_>, error: &PyErr) -> bool {
        match self.outcome(py, error) {
            Ok(outcome) => outcome == Some(Outcome::Failure),
            Err(raised) => {
                raised.write_unraisable(py, None);
                true
            }
        }
    }
}

/// Reports an `Exception` raised by a user's callback through
/// `sys.unraisablehook`; any other `BaseException` is returned, to be raised.
pub(crate) fn reported(py: Python<'_>, raised: PyErr, callback: &Bound<'_, PyAny>) -> PyResult<()> {
    if raised.is_instance_of::<PyException>(py) {
        raised.write_unraisable(py, Some(callback));
        Ok(())
    } else {
        Err(raised)
    }
}
