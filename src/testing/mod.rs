//! Test support for backends (feature `testing`).

pub mod conformance;
pub mod faults;
