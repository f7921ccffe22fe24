//! The rules of datahall, as pure types and functions.
//!
//! Architecture invariant: this crate does no I/O, spawns nothing and knows nothing about
//! HTTP or SQL. Every national identifier and code has a type whose `parse` is the only
//! constructor, so an invalid value cannot exist past the edge.

pub mod access;
pub mod account;
pub mod aggregation;
pub mod audit;
pub mod calendar;
pub mod catalogue;
pub mod code;
pub mod collection;
pub mod deadline;
pub mod diff;
pub mod duty;
pub mod error;
pub mod freshness;
pub mod ids;
mod labelled;
pub mod mask;
pub mod search;
pub mod sharing;
pub mod storage;
pub mod values;
pub mod workflow;

pub use error::{FieldError, ValidationErrors};
