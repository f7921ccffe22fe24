//! The in-process scheduler.
