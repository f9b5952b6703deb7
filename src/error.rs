//! The crate's error type.
//!
//! Everything a user can get wrong (shapes, arguments, files, configurations) comes back as an
//! [`Error`]. Each variant carries what a reader needs to fix the problem: the operation and
//! both shapes for a shape mismatch, the path (and line and column where they exist) for a file.
//! Panics are kept for broken internal invariants and are documented where they can happen.

use std::path::PathBuf;

/// Shorthand for results whose error is the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every error the library returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two tensors whose shapes do not fit together in `op`.
    #[error("{op}: shapes {lhs:?} and {rhs:?} are incompatible ({reason})")]
    ShapeMismatch {
        /// The operation that was asked for, for example `"matmul"`.
        op: &'static str,
        /// Shape of the first operand.
        lhs: Vec<usize>,
        /// Shape of the second operand.
        rhs: Vec<usize>,
        /// What was expected of them.
        reason: String,
    },

    /// One tensor whose shape does not suit `op`.
    #[error("{op}: a tensor of shape {shape:?} cannot be used here ({reason})")]
    InvalidShape {
        /// The operation that was asked for.
        op: &'static str,
        /// The offending shape.
        shape: Vec<usize>,
        /// What was expected.
        reason: String,
    },

    /// An axis outside `0..rank`.
    #[error("{op}: axis {axis} is out of range for a tensor of shape {shape:?}")]
    InvalidAxis {
        /// The operation that was asked for.
        op: &'static str,
        /// The axis given.
        axis: usize,
        /// Shape of the tensor.
        shape: Vec<usize>,
    },

    /// An argument that is not a shape problem: a negative width, an empty list, a bad value.
    #[error("{op}: {reason}")]
    InvalidArgument {
        /// The operation or setting concerned.
        op: &'static str,
        /// What is wrong and what was expected.
        reason: String,
    },

    /// A request the autodiff engine cannot honour, such as `backward` on a tensor that was
    /// not computed from anything that needs a gradient.
    #[error("autograd: {0}")]
    Autograd(String),

    /// A loss, gradient or value that became NaN or infinite.
    #[error("non-finite value: {0}")]
    NonFinite(String),

    /// A file that could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// A checkpoint that cannot be written, read, or loaded into the model at hand.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A configuration (model, trainer, command line) that cannot be used.
    #[error("configuration: {0}")]
    Config(String),

    /// A data file or synthetic spec that cannot be used; the message names the file, line
    /// and column, or the spec.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),

    /// A probability table or clustering request the PID tools cannot use.
    #[error(transparent)]
    Pid(#[from] crate::pid::PidError),

    /// Metrics asked of predictions that do not fit the labels.
    #[error(transparent)]
    Metrics(#[from] crate::train::metrics::MetricsError),

    /// CUDA is unavailable or a device call failed.
    #[error("cuda: {0}")]
    Cuda(String),
}

impl Error {
    /// Builds an [`Error::ShapeMismatch`].
    pub(crate) fn shapes(op: &'static str, lhs: &[usize], rhs: &[usize], reason: &str) -> Self {
        Error::ShapeMismatch {
            op,
            lhs: lhs.to_vec(),
            rhs: rhs.to_vec(),
            reason: reason.to_string(),
        }
    }

    /// Builds an [`Error::InvalidShape`].
    pub(crate) fn shape(op: &'static str, shape: &[usize], reason: impl Into<String>) -> Self {
        Error::InvalidShape {
            op,
            shape: shape.to_vec(),
            reason: reason.into(),
        }
    }

    /// Builds an [`Error::InvalidArgument`].
    pub(crate) fn argument(op: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            op,
            reason: reason.into(),
        }
    }
}
