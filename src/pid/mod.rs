//! Partial information decomposition (PID): how much of what two sources say about a target
//! is redundant, unique to one source, or synergistic.
//!
//! - [`JointDistribution`]: a validated joint table p(x1, x2, y) with its marginals and
//!   information quantities;
//! - [`ExactPid`] and [`decompose`]: the exact BROJA decomposition of a discrete distribution;
//! - [`paper_truth`] and [`pooled_mixture`]: the two readings of a gate mixture's "truth";
//! - [`truth_tables`]: the exact distributions behind the built-in Boolean datasets;
//! - [`ClusterEstimator`]: the clustering estimator for continuous features, built on
//!   [`standardise`], [`pca`] and [`kmeans`].

mod cholesky;
mod cluster;
mod datasets;
mod distribution;
mod error;
mod exact;
mod features;
mod kmeans;
mod report;
mod solver;
mod truth;

pub use cluster::{ClusterEstimate, ClusterEstimator};
pub use datasets::{gate_table, truth_tables};
pub use distribution::{entropy, mutual_information, JointDistribution};
pub use error::PidError;
pub use exact::{decompose, ExactPid};
pub use features::{pca, standardise, Pca};
pub use kmeans::{kmeans, KMeans};
pub use report::{PidBits, PidDecomposition, PidPercent, ZERO_TOTAL_BITS};
pub use truth::{paper_truth, pooled_mixture};
