//! Streaming readers for the comma-separated files of the MOGONET layout.
//!
//! A file is read line by line through a [`BufReader`]; only the values parsed so far and one
//! line of text are held, never the whole file as a string. So a CSV loads in about its
//! parsed size, plus up to as much again while the value vector grows.
//!
//! Accepted: a UTF-8 byte-order mark, `\n` or `\r\n` line endings, spaces around cells, and
//! blank lines at the end of the file. Rejected with the file, line and column: blank lines
//! between rows, ragged rows, cells that are not numbers, NaN and infinities. There is no
//! header row and no quoting: the layout holds numbers only.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::error::{excerpt, DataError};
use super::matrix::Matrix;

/// Labels larger than this are rejected, so a stray large number cannot make the class
/// count (and every per-class array) absurdly large.
pub const MAX_LABEL: usize = 1_000_000;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Calls `visit(line_number, text)` for each non-blank line of `path` (1-based numbers) and
/// returns how many lines it visited.
///
/// The text has its byte-order mark, line ending and surrounding ASCII spaces removed.
fn for_each_row(
    path: &Path,
    mut visit: impl FnMut(usize, &str) -> Result<(), DataError>,
) -> Result<usize, DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut buf = Vec::with_capacity(1 << 12);
    let mut line_number = 0;
    let mut rows = 0;
    let mut first_blank = None;

    loop {
        buf.clear();
        let read = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| DataError::io(path, e))?;
        if read == 0 {
            break;
        }
        line_number += 1;

        let mut bytes = buf.as_slice();
        if line_number == 1 {
            bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
        }
        let bytes = bytes.trim_ascii();
        if bytes.is_empty() {
            first_blank.get_or_insert(line_number);
            continue;
        }

        if let Some(blank) = first_blank {
            return Err(DataError::BadLine {
                path: path.to_path_buf(),
                line: blank,
                reason: "blank line between rows (only trailing blank lines are allowed)".into(),
            });
        }
        let text = std::str::from_utf8(bytes).map_err(|e| DataError::BadLine {
            path: path.to_path_buf(),
            line: line_number,
            reason: format!("not valid UTF-8 text ({e})"),
        })?;
        visit(line_number, text)?;
        rows += 1;
    }
    Ok(rows)
}

/// Parses one numeric cell, rejecting text, NaN, infinities and values beyond `f32`.
fn parse_cell(path: &Path, line: usize, column: usize, cell: &str) -> Result<f32, DataError> {
    let cell = cell.trim_ascii();
    let value: f32 = cell.parse().map_err(|_| DataError::NotANumber {
        path: path.to_path_buf(),
        line,
        column,
        text: excerpt(cell),
    })?;
    if !value.is_finite() {
        return Err(DataError::NonFinite {
            path: path.to_path_buf(),
            line,
            column,
            text: excerpt(cell),
        });
    }
    Ok(value)
}

/// Parses a class label: a non-negative integer, also when written as a float such as
/// `1.000e+00` (the ROSMAP files do this), at most [`MAX_LABEL`].
pub(crate) fn parse_label(text: &str) -> Option<usize> {
    if let Ok(label) = text.parse::<usize>() {
        return (label <= MAX_LABEL).then_some(label);
    }
    let value: f64 = text.parse().ok()?;
    let integral = value.is_finite() && value.fract() == 0.0;
    if integral && (0.0..=MAX_LABEL as f64).contains(&value) {
        Some(value as usize)
    } else {
        None
    }
}

/// Reads a file of comma-separated numbers, one row per line, as a matrix.
///
/// # Errors
///
/// [`DataError::Missing`] or [`DataError::Io`] when the file cannot be read;
/// [`DataError::Empty`] when it has no rows; [`DataError::Ragged`] when a row's width differs
/// from the first row's; [`DataError::NotANumber`] and [`DataError::NonFinite`] for bad cells;
/// [`DataError::BadLine`] for invalid UTF-8 or a blank line between rows.
pub fn read_matrix_csv(path: &Path) -> Result<Matrix, DataError> {
    let mut data: Vec<f32> = Vec::new();
    let mut width: Option<(usize, usize)> = None;

    let rows = for_each_row(path, |line, text| {
        let start = data.len();
        for (j, cell) in text.split(',').enumerate() {
            data.push(parse_cell(path, line, j + 1, cell)?);
        }
        let found = data.len() - start;

        match width {
            None => width = Some((found, line)),
            Some((expected, first_line)) if expected != found => {
                return Err(DataError::Ragged {
                    path: path.to_path_buf(),
                    line,
                    first_line,
                    expected,
                    found,
                });
            }
            Some(_) => {}
        }
        Ok(())
    })?;

    let Some((cols, _)) = width else {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    };
    data.shrink_to_fit();
    Matrix::new(rows, cols, data)
}

/// Reads a file of class labels, one non-negative integer per line.
///
/// # Errors
///
/// As [`read_matrix_csv`] for unreadable, empty or malformed files; [`DataError::BadLine`]
/// when a line has more than one cell; [`DataError::BadLabel`] when a label is negative,
/// fractional, not a number, or above [`MAX_LABEL`].
pub fn read_labels_csv(path: &Path) -> Result<Vec<usize>, DataError> {
    let mut labels = Vec::new();

    for_each_row(path, |line, text| {
        let cells = text.split(',').count();
        if cells != 1 {
            return Err(DataError::BadLine {
                path: path.to_path_buf(),
                line,
                reason: format!("expected one label per line, found {cells} comma-separated cells"),
            });
        }
        let label = parse_label(text).ok_or_else(|| DataError::BadLabel {
            path: path.to_path_buf(),
            line,
            text: excerpt(text),
        })?;
        labels.push(label);
        Ok(())
    })?;

    if labels.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(labels)
}

/// Reads a list of names, one per line (the `i_featname.csv` files).
///
/// # Errors
///
/// [`DataError::Missing`] or [`DataError::Io`] when the file cannot be read;
/// [`DataError::BadLine`] for invalid UTF-8 or a blank line between names.
pub fn read_names_csv(path: &Path) -> Result<Vec<String>, DataError> {
    let mut names = Vec::new();
    for_each_row(path, |_, text| {
        names.push(text.to_string());
        Ok(())
    })?;
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::parse_label;

    #[test]
    fn labels_are_non_negative_integers_in_any_notation() {
        assert_eq!(parse_label("3"), Some(3));
        assert_eq!(parse_label("1.000000000000000000e+00"), Some(1));
        assert_eq!(parse_label("0.0"), Some(0));
        for bad in ["-1", "2.5", "AD", "", "nan", "inf", "1e7", "-0.5"] {
            assert_eq!(parse_label(bad), None, "{bad}");
        }
    }
}
