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

            fn __repr__(&self, py: ::pyo3::Python<'_>) -> ::pyo3::PyResult<String> {
                Ok(format!(concat!("<", $repr, " {}>"), ::pyo3::types::PyAnyMethods::repr(self.func.bind(py))?))
            }
        }
    };
}

pub(crate) use wrapper;

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
