//! The error type of the [`pid`](crate::pid) module.
//!
//! Everything a caller can get wrong when building a distribution or running an estimator
//! (bad entries, empty inputs, mismatched lengths, impossible settings) comes back as a
//! [`PidError`]; the module never panics on user input.

/// Errors of partial information decomposition and the clustering estimator.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PidError {
    /// A table, a sample list or a mixture with nothing in it.
    #[error("{what} is empty")]
    Empty {
        /// What was empty, for example `"joint table"`.
        what: &'static str,
    },

    /// A probability or weight that is negative, NaN or infinite.
    #[error("{what} at {index:?} is {value}; entries must be finite and non-negative")]
    InvalidEntry {
        /// What the entry belongs to.
        what: &'static str,
        /// Where it is: `[x1, x2, y]` for a table cell, `[i]` for a list element.
        index: Vec<usize>,
        /// The offending value.
        value: f64,
    },

    /// A table (or mixture) whose entries are all zero, so it cannot be normalised.
    #[error("{what} has total mass zero and cannot be normalised")]
    ZeroMass {
        /// What had no mass.
        what: &'static str,
    },

    /// A flat table whose length does not equal the product of its dimensions.
    #[error("a {n1} x {n2} x {ny} table needs {expected} entries, got {actual}")]
    TableLength {
        /// Size of the first source alphabet.
        n1: usize,
        /// Size of the second source alphabet.
        n2: usize,
        /// Size of the target alphabet.
        ny: usize,
        /// `n1 * n2 * ny`.
        expected: usize,
        /// Length of the data given.
        actual: usize,
    },

    /// Paired sample lists (or feature matrices) that do not describe the same samples.
    #[error("{what}: lengths differ ({details})")]
    LengthMismatch {
        /// The operation concerned.
        what: &'static str,
        /// The lengths that were given.
        details: String,
    },

    /// A setting that cannot be used, such as zero clusters.
    #[error("{what}: {reason}")]
    InvalidArgument {
        /// The setting or operation concerned.
        what: &'static str,
        /// What is wrong and what was expected.
        reason: String,
    },
}
