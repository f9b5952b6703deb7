//! The error type of the data layer.
//!
//! Every message names where the problem is (the file, its 1-based line and column, or the
//! synthetic spec) and what was expected there, so a user can fix the input without reading
//! the code.

use std::path::PathBuf;

/// Everything that can go wrong while reading, checking, generating or writing data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A file that could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// A file that the dataset layout requires and that is not there.
    #[error("{path}: file not found (expected by the dataset layout)")]
    Missing {
        /// The path that was looked for.
        path: PathBuf,
    },

    /// A file with no data rows at all.
    #[error("{path}: the file is empty, expected at least one row")]
    Empty {
        /// The empty file.
        path: PathBuf,
    },

    /// A row whose number of cells differs from the first row's.
    #[error(
        "{path}, line {line}: expected {expected} columns (as on line {first_line}), found {found}"
    )]
    Ragged {
        /// The file.
        path: PathBuf,
        /// 1-based line of the offending row.
        line: usize,
        /// 1-based line of the first row, which set the width.
        first_line: usize,
        /// Width of the first row.
        expected: usize,
        /// Width of the offending row.
        found: usize,
    },

    /// A cell that does not parse as a number.
    #[error("{path}, line {line}, column {column}: expected a number, found {text:?}")]
    NotANumber {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column (cell index, not byte offset).
        column: usize,
        /// The cell as written (cut to 40 characters).
        text: String,
    },

    /// A cell holding NaN or an infinity (or a number too large for `f32`).
    #[error("{path}, line {line}, column {column}: expected a finite number, found {text:?}")]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// 1-based line (for `.npy` files, the 1-based row).
        line: usize,
        /// 1-based column.
        column: usize,
        /// The value as written.
        text: String,
    },

    /// A label that is not a non-negative integer.
    #[error(
        "{path}, line {line}: expected a class label (an integer from 0 to at most {max}), \
         found {text:?}",
        max = super::csv::MAX_LABEL
    )]
    BadLabel {
        /// The label file.
        path: PathBuf,
        /// 1-based line (for `.npy` files, the 1-based row).
        line: usize,
        /// The label as written.
        text: String,
    },

    /// A line that is malformed as a whole: invalid UTF-8, or a blank line between rows.
    #[error("{path}, line {line}: {reason}")]
    BadLine {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong and what was expected.
        reason: String,
    },

    /// Two files of one split that should describe the same samples but do not.
    #[error(
        "row counts disagree: {first} has {first_rows} rows but {second} has {second_rows} rows"
    )]
    RowCount {
        /// The first file.
        first: PathBuf,
        /// Its number of rows.
        first_rows: usize,
        /// The second file.
        second: PathBuf,
        /// Its number of rows.
        second_rows: usize,
    },

    /// A modality whose training and test files have different widths.
    #[error(
        "widths disagree: {train} has {train_cols} columns but {test} has {test_cols} columns"
    )]
    WidthMismatch {
        /// The training file.
        train: PathBuf,
        /// Its width.
        train_cols: usize,
        /// The test file.
        test: PathBuf,
        /// Its width.
        test_cols: usize,
    },

    /// Labels that name classes the training split never shows: a class index below the
    /// class count with no training sample, or a test label absent from training.
    #[error("{path}: {reason}")]
    Classes {
        /// The label file at fault.
        path: PathBuf,
        /// What is wrong and what was expected.
        reason: String,
    },

    /// A feature-name file whose length differs from its modality's width.
    #[error("{path}: {found} feature names, but {data} has {expected} columns")]
    FeatureNames {
        /// The `i_featname.csv` file.
        path: PathBuf,
        /// How many names it holds.
        found: usize,
        /// The modality's training file.
        data: PathBuf,
        /// That file's width.
        expected: usize,
    },

    /// A `.npy` file this reader does not accept: bad magic, header, type, order or length.
    #[error("{path}: not a supported .npy file: {reason}")]
    Npy {
        /// The file.
        path: PathBuf,
        /// What is wrong and what was expected.
        reason: String,
    },

    /// A synthetic dataset name that cannot be parsed or used.
    #[error("synthetic spec {spec:?}: {reason}")]
    Spec {
        /// The spec as given.
        spec: String,
        /// What is wrong and what was expected.
        reason: String,
    },

    /// An argument that cannot be used: an empty dataset, a bad fraction, modality 0.
    #[error("{op}: {reason}")]
    InvalidArgument {
        /// The function or setting concerned.
        op: &'static str,
        /// What is wrong and what was expected.
        reason: String,
    },
}

impl DataError {
    /// Builds an [`DataError::Io`] for `path`, turning "not found" into [`DataError::Missing`].
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::NotFound {
            DataError::Missing { path }
        } else {
            DataError::Io { path, source }
        }
    }

    /// Builds an [`DataError::InvalidArgument`].
    pub(crate) fn argument(op: &'static str, reason: impl Into<String>) -> Self {
        DataError::InvalidArgument {
            op,
            reason: reason.into(),
        }
    }

    /// Builds an [`DataError::Npy`].
    pub(crate) fn npy(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        DataError::Npy {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// Shortens `text` to at most 40 characters for an error message.
pub(crate) fn excerpt(text: &str) -> String {
    const LIMIT: usize = 40;
    if text.chars().count() <= LIMIT {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(LIMIT).collect();
    cut.push_str("...");
    cut
}
