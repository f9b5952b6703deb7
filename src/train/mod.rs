//! Training utilities.

pub mod metrics;
