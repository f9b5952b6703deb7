//! A small reader for NumPy `.npy` files, the binary alternative to the CSV layout.
//!
//! The format: the magic `\x93NUMPY`, a major and minor version byte, the header length
//! (2 bytes little-endian for version 1, 4 bytes for versions 2 and 3), then a header that is
//! a Python dict literal such as `{'descr': '<f8', 'fortran_order': False, 'shape': (245, 200), }`,
//! then the raw values. Accepted element types: `<f4`, `<f8`, `<i4`, `<i8` (and `|`/`=`
//! spellings of the byte order on little-endian types). Not accepted, with an error:
//! big-endian data, other types, `fortran_order: True`, object arrays, and pickles.
//!
//! Every length is checked against the file size before anything is allocated, so a
//! truncated or corrupt file gives an error, never a panic or a huge allocation.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::csv::MAX_LABEL;
use super::error::DataError;
use super::matrix::Matrix;

const MAGIC: &[u8] = b"\x93NUMPY";

/// Headers longer than this are rejected as corrupt (NumPy writes a few hundred bytes).
const MAX_HEADER: usize = 1 << 20;

/// Element types this reader understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    F4,
    F8,
    I4,
    I8,
}

impl Dtype {
    fn parse(descr: &str) -> Option<Dtype> {
        let body = descr.strip_prefix(['<', '=', '|']).unwrap_or(descr);
        match body {
            "f4" => Some(Dtype::F4),
            "f8" => Some(Dtype::F8),
            "i4" => Some(Dtype::I4),
            "i8" => Some(Dtype::I8),
            _ => None,
        }
    }

    fn size(self) -> usize {
        match self {
            Dtype::F4 | Dtype::I4 => 4,
            Dtype::F8 | Dtype::I8 => 8,
        }
    }

    /// Decodes one little-endian element (exactly `size()` bytes) as `f64`, exactly for every
    /// `f4`, `f8`, `i4` value and for `i8` values up to 2^53.
    fn decode(self, bytes: &[u8]) -> f64 {
        let mut raw = [0u8; 8];
        raw[..bytes.len()].copy_from_slice(bytes);
        match self {
            Dtype::F4 => f32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]) as f64,
            Dtype::F8 => f64::from_le_bytes(raw),
            Dtype::I4 => i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]) as f64,
            Dtype::I8 => i64::from_le_bytes(raw) as f64,
        }
    }
}

/// What the header says about the array.
struct Header {
    dtype: Dtype,
    shape: Vec<usize>,
}

/// A cursor over the header text, enough for the dict literals NumPy writes.
struct DictParser<'a> {
    text: &'a [u8],
    pos: usize,
}

impl DictParser<'_> {
    fn skip_space(&mut self) {
        while self
            .text
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_whitespace())
        {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.text.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!(
                "header: expected '{}' at byte {}",
                c as char, self.pos
            ))
        }
    }

    fn string(&mut self) -> Result<String, String> {
        let quote = self.peek().filter(|&c| c == b'\'' || c == b'"');
        let quote =
            quote.ok_or_else(|| format!("header: expected a string at byte {}", self.pos))?;
        self.pos += 1;
        let start = self.pos;
        while self.text.get(self.pos).is_some_and(|&c| c != quote) {
            self.pos += 1;
        }
        if self.pos >= self.text.len() {
            return Err("header: unterminated string".into());
        }
        let value = String::from_utf8_lossy(&self.text[start..self.pos]).into_owned();
        self.pos += 1;
        Ok(value)
    }

    fn word(&mut self) -> String {
        self.skip_space();
        let start = self.pos;
        while self
            .text
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_alphanumeric())
        {
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.text[start..self.pos]).into_owned()
    }

    fn tuple(&mut self) -> Result<Vec<usize>, String> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        loop {
            match self.peek() {
                Some(b')') => {
                    self.pos += 1;
                    return Ok(dims);
                }
                Some(b',') if !dims.is_empty() => self.pos += 1,
                _ => {
                    let word = self.word();
                    let dim = word.parse::<usize>().map_err(|_| {
                        format!("header: expected a dimension in 'shape', found {word:?}")
                    })?;
                    dims.push(dim);
                }
            }
        }
    }
}

/// Parses the header dict into an element type and a shape.
fn parse_header(text: &[u8]) -> Result<Header, String> {
    let mut parser = DictParser { text, pos: 0 };
    let mut descr = None;
    let mut fortran = None;
    let mut shape = None;

    parser.expect(b'{')?;
    loop {
        if parser.peek() == Some(b'}') {
            break;
        }
        let key = parser.string()?;
        parser.expect(b':')?;
        match key.as_str() {
            "descr" => descr = Some(parser.string()?),
            "fortran_order" => fortran = Some(parser.word()),
            "shape" => shape = Some(parser.tuple()?),
            other => return Err(format!("header: unexpected key {other:?}")),
        }
        if parser.peek() == Some(b',') {
            parser.pos += 1;
        }
    }

    let descr = descr.ok_or("header: no 'descr'")?;
    let dtype = Dtype::parse(&descr).ok_or_else(|| {
        format!("element type {descr:?}, expected one of '<f4', '<f8', '<i4', '<i8'")
    })?;
    match fortran.as_deref() {
        Some("False") => {}
        Some("True") => return Err("fortran_order is True; save a C-ordered array".into()),
        _ => return Err("header: 'fortran_order' missing or not True/False".into()),
    }
    let shape = shape.ok_or("header: no 'shape'")?;
    Ok(Header { dtype, shape })
}

/// An open `.npy` file positioned at its first value, with a checked header.
struct NpyReader<'a> {
    path: &'a Path,
    reader: BufReader<File>,
    dtype: Dtype,
    shape: Vec<usize>,
    count: usize,
}

impl<'a> NpyReader<'a> {
    /// Opens `path`, reads and checks the preamble and header, and checks that the data that
    /// follows has exactly the length the shape asks for.
    fn open(path: &'a Path) -> Result<Self, DataError> {
        let file = File::open(path).map_err(|e| DataError::io(path, e))?;
        let file_len = file.metadata().map_err(|e| DataError::io(path, e))?.len();
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let fail = |reason: String| DataError::npy(path, reason);

        // Magic, version and header length.
        let mut preamble = [0u8; 8];
        reader
            .read_exact(&mut preamble)
            .map_err(|_| fail("shorter than the 8-byte preamble".into()))?;
        if &preamble[..6] != MAGIC {
            return Err(fail("bad magic, expected \\x93NUMPY".into()));
        }
        let (header_len, prefix_len) = match preamble[6] {
            1 => {
                let mut len = [0u8; 2];
                reader
                    .read_exact(&mut len)
                    .map_err(|_| fail("truncated header length".into()))?;
                (u16::from_le_bytes(len) as usize, 10)
            }
            2 | 3 => {
                let mut len = [0u8; 4];
                reader
                    .read_exact(&mut len)
                    .map_err(|_| fail("truncated header length".into()))?;
                (u32::from_le_bytes(len) as usize, 12)
            }
            v => return Err(fail(format!("format version {v}, expected 1, 2 or 3"))),
        };

        // The header dict.
        if header_len > MAX_HEADER || (prefix_len + header_len) as u64 > file_len {
            return Err(fail(format!(
                "truncated header: {header_len} bytes announced, the file has {file_len} in all"
            )));
        }
        let mut header = vec![0u8; header_len];
        reader
            .read_exact(&mut header)
            .map_err(|_| fail("truncated header".into()))?;
        let Header { dtype, shape } = parse_header(&header).map_err(fail)?;

        // The data must be exactly as long as the shape says.
        let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        let data_len = count.and_then(|c| c.checked_mul(dtype.size()));
        let available = file_len - (prefix_len + header_len) as u64;
        let Some(count) = count.filter(|_| data_len.map(|b| b as u64) == Some(available)) else {
            let needed = data_len.map_or("more than 2^64".to_string(), |b| b.to_string());
            return Err(fail(format!(
                "shape {shape:?} of {dtype:?} needs {needed} data bytes, the file has {available}"
            )));
        };

        Ok(NpyReader {
            path,
            reader,
            dtype,
            shape,
            count,
        })
    }

    /// Streams the values in chunks, calling `visit(index, value)` for each in C order.
    fn for_each(
        mut self,
        mut visit: impl FnMut(usize, f64) -> Result<(), DataError>,
    ) -> Result<(), DataError> {
        let size = self.dtype.size();
        let mut chunk = vec![0u8; 8192 * size];
        let mut index = 0;

        while index < self.count {
            let take = ((self.count - index) * size).min(chunk.len());
            self.reader
                .read_exact(&mut chunk[..take])
                .map_err(|e| DataError::npy(self.path, format!("data truncated ({e})")))?;
            for bytes in chunk[..take].chunks_exact(size) {
                visit(index, self.dtype.decode(bytes))?;
                index += 1;
            }
        }
        Ok(())
    }
}

/// Reads a 2-D `.npy` array of shape `(samples, features)` as a matrix.
///
/// # Errors
///
/// [`DataError::Missing`] or [`DataError::Io`] when the file cannot be read;
/// [`DataError::Npy`] for a bad magic, version, header, element type, Fortran order, a shape
/// that is not 2-D, or data of the wrong length; [`DataError::Empty`] for zero rows or
/// columns; [`DataError::NonFinite`] (line = 1-based row) for NaN, infinities, or `f8` values
/// beyond the range of `f32`.
pub fn read_matrix_npy(path: &Path) -> Result<Matrix, DataError> {
    let npy = NpyReader::open(path)?;
    let &[rows, cols] = npy.shape.as_slice() else {
        let reason = format!(
            "shape {:?}, expected 2 dimensions (samples, features)",
            npy.shape
        );
        return Err(DataError::npy(path, reason));
    };
    if rows == 0 || cols == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }

    let mut data = Vec::with_capacity(npy.count);
    npy.for_each(|index, value| {
        let single = value as f32;
        if !single.is_finite() {
            return Err(DataError::NonFinite {
                path: path.to_path_buf(),
                line: index / cols + 1,
                column: index % cols + 1,
                text: value.to_string(),
            });
        }
        data.push(single);
        Ok(())
    })?;
    Matrix::new(rows, cols, data)
}

/// Reads class labels from a `.npy` array of shape `(samples,)` or `(samples, 1)`, integer
/// or float typed, each value a non-negative integer at most [`MAX_LABEL`].
///
/// # Errors
///
/// As [`read_matrix_npy`] for unreadable or malformed files; [`DataError::BadLabel`]
/// (line = 1-based row) for a negative, fractional, non-finite or too large label.
pub fn read_labels_npy(path: &Path) -> Result<Vec<usize>, DataError> {
    let npy = NpyReader::open(path)?;
    let rows = match *npy.shape.as_slice() {
        [rows] | [rows, 1] => rows,
        _ => {
            let reason = format!("labels of shape {:?}, expected (samples,)", npy.shape);
            return Err(DataError::npy(path, reason));
        }
    };
    if rows == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }

    let mut labels = Vec::with_capacity(rows);
    npy.for_each(|index, value| {
        let integral = value.is_finite() && value.fract() == 0.0;
        if !integral || !(0.0..=MAX_LABEL as f64).contains(&value) {
            return Err(DataError::BadLabel {
                path: path.to_path_buf(),
                line: index + 1,
                text: value.to_string(),
            });
        }
        labels.push(value as usize);
        Ok(())
    })?;
    Ok(labels)
}

/// Encodes a little-endian `f32` array of the given shape as the bytes of a version-1 `.npy`
/// file, header padded so the data starts at a multiple of 64 bytes as NumPy does.
///
/// Used to write datasets in the binary layout and to build test files.
pub fn encode_npy_f32(shape: &[usize], values: &[f32]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');

    let mut bytes = Vec::with_capacity(10 + header.len() + 4 * values.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&[1, 0]);
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::{parse_header, Dtype};

    #[test]
    fn headers_in_numpy_spellings_parse() {
        let header = parse_header(b"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }");
        let header = header.unwrap();
        assert_eq!((header.dtype, header.shape), (Dtype::F8, vec![2, 3]));

        let header = parse_header(b"{\"shape\":(7,),\"descr\":\"<i8\",\"fortran_order\":False}");
        let header = header.unwrap();
        assert_eq!((header.dtype, header.shape), (Dtype::I8, vec![7]));
    }

    #[test]
    fn unusable_headers_are_refused() {
        let bad: [&[u8]; 6] = [
            b"{'descr': '>f8', 'fortran_order': False, 'shape': (2, 3), }",
            b"{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }",
            b"{'descr': '<c16', 'fortran_order': False, 'shape': (2, 3), }",
            b"{'descr': '<f8', 'fortran_order': False, 'shape': (2, -3), }",
            b"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)",
            b"{'descr': '<f8', 'fortran_order': False}",
        ];
        for header in bad {
            assert!(
                parse_header(header).is_err(),
                "{}",
                String::from_utf8_lossy(header)
            );
        }
    }
}
