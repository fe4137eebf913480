//! Cross-crate tests of seawall and the replayer of the shared scenario files
//! in `tests/scenarios/` (see its README for the format).

pub mod replay;
pub mod scenario;
