//! A dense row-major matrix of `f32`, the in-memory form of one modality.

use super::error::DataError;

/// A dense `rows x cols` matrix stored row by row: element `(i, j)` is `data[i * cols + j]`.
///
/// The data layer keeps its own small matrix type so it depends on nothing but `std`; the
/// model turns it into a tensor without copying more than once.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Number of rows (samples).
    pub rows: usize,
    /// Number of columns (features).
    pub cols: usize,
    /// The `rows * cols` values, row-major.
    pub data: Vec<f32>,
}

impl Matrix {
    /// Wraps `data` as a `rows x cols` matrix.
    ///
    /// # Errors
    ///
    /// [`DataError::InvalidArgument`] when `data.len() != rows * cols`.
    pub fn new(rows: usize, cols: usize, data: Vec<f32>) -> Result<Self, DataError> {
        let expected = rows.checked_mul(cols);
        if expected != Some(data.len()) {
            return Err(DataError::argument(
                "feature matrix",
                format!(
                    "{rows} x {cols} needs {rows}*{cols} values, got {}",
                    data.len()
                ),
            ));
        }
        Ok(Matrix { rows, cols, data })
    }

    /// A `rows x cols` matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    /// Row `i` as a slice of `cols` values.
    ///
    /// # Panics
    ///
    /// When `i >= rows` (a programming error, like slice indexing).
    pub fn row(&self, i: usize) -> &[f32] {
        assert!(i < self.rows, "row {i} out of range for {} rows", self.rows);
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Row `i` as a mutable slice.
    ///
    /// # Panics
    ///
    /// When `i >= rows`.
    pub fn row_mut(&mut self, i: usize) -> &mut [f32] {
        assert!(i < self.rows, "row {i} out of range for {} rows", self.rows);
        &mut self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Element `(i, j)`.
    ///
    /// # Panics
    ///
    /// When `i >= rows` or `j >= cols`.
    pub fn get(&self, i: usize, j: usize) -> f32 {
        assert!(
            j < self.cols,
            "column {j} out of range for {} columns",
            self.cols
        );
        self.row(i)[j]
    }

    /// A new matrix holding the rows listed in `indices`, in that order (repeats allowed).
    ///
    /// # Panics
    ///
    /// When an index is `>= rows`.
    pub fn select_rows(&self, indices: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(indices.len() * self.cols);
        for &i in indices {
            data.extend_from_slice(self.row(i));
        }
        Matrix {
            rows: indices.len(),
            cols: self.cols,
            data,
        }
    }
}
