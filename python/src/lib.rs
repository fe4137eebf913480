//! The pyo3 extension module `seawall._seawall` (work in progress).

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _seawall(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
