//! The wrappers of decorated `def` functions (`Guarded`, `SharedGuarded`,
//! `Retrying`): one shape, made by [`wrapper!`], that calls the function
//! through its policy entirely in Rust and binds as a method.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

/// Declares a wrapper class: `$name { $owner: $Owner, call: $call, repr: "word" }`
/// holds the policy in its field and getter `$owner` and the function in
/// `func`, and answers `__call__(*args, **kwargs)` with
/// `$call(owner, func, args, kwargs)`. The getter's doc comes from `getter_doc`.
macro_rules! wrapper {
    (
        $(#[$doc:meta])*
        $name:ident {
            $owner:ident: $Owner:ty,
            getter_doc: $getter_doc:literal,
            call: $call:path,
            repr: $repr:literal $(,)?
        }
    ) => {
        $(#[$doc])*
        #[::pyo3::pyclass(module = "seawall", frozen, dict, weakref)]
        pub(crate) struct $name {
            $owner: ::pyo3::Py<$Owner>,
            func: ::pyo3::Py<::pyo3::PyAny>,
        }

        impl $name {
            /// Wraps `func` (checked callable) with `owner`.
            pub(crate) fn new(
                owner: &::pyo3::Bound<'_, $Owner>,
                func: &::pyo3::Bound<'_, ::pyo3::PyAny>,
            ) -> ::pyo3::PyResult<Self> {
                Ok(Self {
                    func: $crate::errors::callable(func, "fn")?,
                    $owner: owner.clone().unbind(),
                })
            }
        }

        #[::pyo3::pymethods]
        impl $name {
            #[pyo3(signature = (*args, **kwargs))]
            fn __call__<'py>(
                &self,
                py: ::pyo3::Python<'py>,
                args: &::pyo3::Bound<'py, ::pyo3::types::PyTuple>,
                kwargs: Option<&::pyo3::Bound<'py, ::pyo3::types::PyDict>>,
            ) -> ::pyo3::PyResult<::pyo3::Bound<'py, ::pyo3::PyAny>> {
                $call(self.$owner.bind(py), self.func.bind(py), args, kwargs)
            }

            /// Binds as a method, like a function does.
            fn __get__<'py>(
                slf: &::pyo3::Bound<'py, Self>,
                instance: Option<&::pyo3::Bound<'py, ::pyo3::PyAny>>,
                _owner: Option<&::pyo3::Bound<'py, ::pyo3::PyAny>>,
            ) -> ::pyo3::PyResult<::pyo3::Bound<'py, ::pyo3::PyAny>> {
                $crate::wrapper::bind_method(slf.as_any(), instance)
            }

            #[doc = $getter_doc]
            #[getter]
            fn $owner(&self, py: ::pyo3::Python<'_>) -> ::pyo3::Py<$Owner> {
                self.$owner.clone_ref(py)
            }

            /// The wrapped function's default arguments.
            #[getter]
            fn __defaults__<'py>(&self, py: ::pyo3::Python<'py>) -> ::pyo3::Bound<'py, ::pyo3::PyAny> {
                $crate::wrapper::forwarded(self.func.bind(py), ::pyo3::intern!(py, "__defaults__"))
            }

            /// The wrapped function's default keyword-only arguments.
            #[getter]
            fn __kwdefaults__<'py>(&self, py: ::pyo3::Python<'py>) -> ::pyo3::Bound<'py, ::pyo3::PyAny> {
                $crate::wrapper::forwarded(self.func.bind(py), ::pyo3::intern!(py, "__kwdefaults__"))
            }

            /// Pickles by reference, as a function does: its module and
            /// qualified name (copied from the wrapped function).
            fn __reduce__<'py>(slf: &::pyo3::Bound<'py, Self>) -> ::pyo3::PyResult<::pyo3::Bound<'py, ::pyo3::PyAny>> {
                ::pyo3::types::PyAnyMethods::getattr(slf.as_any(), ::pyo3::intern!(slf.py(), "__qualname__"))
            }

            fn __repr__(&self, py: ::pyo3::Python<'_>) -> ::pyo3::PyResult<String> {
                Ok(format!(concat!("<", $repr, " {}>"), ::pyo3::types::PyAnyMethods::repr(self.func.bind(py))?))
            }
        }
    };
}

pub(crate) use wrapper;

/// An attribute of the wrapped function, or None.
pub(crate) fn forwarded<'py>(
    func: &Bound<'py, PyAny>,
    name: &Bound<'py, pyo3::types::PyString>,
) -> Bound<'py, PyAny> {
    func.getattr(name)
        .unwrap_or_else(|_| func.py().None().into_bound(func.py()))
}

/// `__get__` of the wrappers: unbound on the class, a bound method on an instance.
pub(crate) fn bind_method<'py>(
    wrapper: &Bound<'py, PyAny>,
    instance: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    match instance.filter(|i| !i.is_none()) {
        None => Ok(wrapper.clone()),
        Some(instance) => {
            static METHOD: PyOnceLock<Py<PyType>> = PyOnceLock::new();
            let method = METHOD.import(wrapper.py(), "types", "MethodType")?;
            method.call1((wrapper, instance))
        }
    }
}

/// Work a call handed back unstarted: a sync entry point (``call``, the
/// wrapper of a decorated ``def``) would see it end before it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deferred {
    /// A coroutine: the call was an ``async def`` function.
    Coroutine,
    /// A generator or an async generator: its errors come while iterating.
    Generator,
}

/// Whether `value` is deferred work (compared by exact type: a pointer
/// comparison per call).
#[inline]
pub(crate) fn deferred(value: &Bound<'_, PyAny>) -> PyResult<Option<Deferred>> {
    static TYPES: PyOnceLock<(Py<PyType>, Py<PyType>, Py<PyType>)> = PyOnceLock::new();
    let py = value.py();
    let (coroutine, generator, async_generator) = TYPES.get_or_try_init(py, || {
        let types = py.import("types")?;
        let get = |name: &str| -> PyResult<Py<PyType>> {
            Ok(types.getattr(name)?.cast_into::<PyType>()?.unbind())
        };
        PyResult::Ok((
            get("CoroutineType")?,
            get("GeneratorType")?,
            get("AsyncGeneratorType")?,
        ))
    })?;
    let kind = value.get_type();
    Ok(if kind.is(coroutine.bind(py)) {
        Some(Deferred::Coroutine)
    } else if kind.is(generator.bind(py)) || kind.is(async_generator.bind(py)) {
        Some(Deferred::Generator)
    } else {
        None
    })
}

/// The ``TypeError`` of a sync entry point handed deferred work, after
/// closing it (so that Python does not warn of a coroutine never awaited).
/// `advice` names the entry point to use instead.
pub(crate) fn deferred_error(
    value: &Bound<'_, PyAny>,
    func: &Bound<'_, PyAny>,
    kind: Deferred,
    advice: &str,
) -> PyErr {
    let _ = value.call_method0(pyo3::intern!(value.py(), "close"));
    let what = match kind {
        Deferred::Coroutine => "a coroutine",
        Deferred::Generator => "a generator",
    };
    let name = func
        .repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "the function".to_owned());
    pyo3::exceptions::PyTypeError::new_err(format!("{name} returned {what}: {advice}"))
}
