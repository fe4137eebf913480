//! The scenario replayer (work in progress).
