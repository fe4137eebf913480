//! The `with policy:` blocks open in the current context, from Rust: the same
//! list as `seawall/_blocks.py` (one `ContextVar` holding `(owner, permit,
//! next)` nodes), pushed and popped without a Python frame, so that
//! `with breaker:` costs about what the decorator does.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyTuple;

/// The context variable's bound `get` and `set`, and `_blocks.pop` (the
/// out-of-order exit, rare, stays in Python).
struct Methods {
    get: Py<PyAny>,
    set: Py<PyAny>,
    pop: Py<PyAny>,
}

static METHODS: PyOnceLock<Methods> = PyOnceLock::new();

fn methods(py: Python<'_>) -> PyResult<&'static Methods> {
    METHODS.get_or_try_init(py, || {
        let blocks = py.import("seawall._blocks")?;
        let open = blocks.getattr("_open")?;
        Ok(Methods {
            get: open.getattr("get")?.unbind(),
            set: open.getattr("set")?.unbind(),
            pop: blocks.getattr("pop")?.unbind(),
        })
    })
}

/// Records the permit of a block of `owner` that has just been entered.
pub(crate) fn push(owner: &Bound<'_, PyAny>, permit: Bound<'_, PyAny>) -> PyResult<()> {
    let py = owner.py();
    let methods = methods(py)?;
    let top = methods.get.bind(py).call0()?;
    let node = PyTuple::new(py, [owner.clone(), permit, top])?;
    methods.set.bind(py).call1((node,))?;
    Ok(())
}

/// The permit of the innermost open block of `owner`, forgotten.
pub(crate) fn pop<'py>(owner: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = owner.py();
    let methods = methods(py)?;
    let top = methods.get.bind(py).call0()?;
    // The usual case: the innermost block of the context is this one.
    if let Ok(node) = top.cast::<PyTuple>()
        && node.len() == 3
        && node.get_item(0)?.is(owner)
    {
        methods.set.bind(py).call1((node.get_item(2)?,))?;
        return node.get_item(1);
    }
    methods.pop.bind(py).call1((owner,))
}
