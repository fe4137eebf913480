//! The wrapper of a `def` function decorated with a shared breaker: the whole
//! call in Rust, as the local breaker's `Guarded` does.

use super::breaker::SharedCircuitBreaker;
use crate::wrapper::wrapper;

wrapper! {
    /// A function decorated with a :class:`SharedCircuitBreaker`: calls it through
    /// the breaker.
    ///
    /// ``__wrapped__`` is the original function; it binds as a method.
    SharedGuarded {
        breaker: SharedCircuitBreaker,
        getter_doc: "The breaker the function is called through.",
        call: SharedCircuitBreaker::guarded_call,
        repr: "guarded",
    }
}
