//! Malformed inputs: every loader returns an error naming the problem (or loads the harmless
//! variants: BOM, CRLF, trailing blank lines), never panics, and never changes its input.

use std::collections::BTreeMap;
use std::path::Path;

use dmil::data::{encode_npy_f32, load_dir, DataError, DataSplits};
use proptest::prelude::*;

type Files = BTreeMap<&'static str, Vec<u8>>;

/// A small valid CSV dataset: one modality of width 2, 3 training and 2 test samples.
fn valid_csv() -> Files {
    let mut files = Files::new();
    files.insert("1_tr.csv", b"1,2\n3.5,-4e-1\n5,6\n".to_vec());
    files.insert("1_te.csv", b"7,8\n9,10\n".to_vec());
    files.insert("labels_tr.csv", b"0\n1\n2\n".to_vec());
    files.insert("labels_te.csv", b"1\n0\n".to_vec());
    files
}

/// The same dataset as `.npy` files.
fn valid_npy() -> Files {
    let mut files = Files::new();
    files.insert(
        "1_tr.npy",
        encode_npy_f32(&[3, 2], &[1.0, 2.0, 3.5, -0.4, 5.0, 6.0]),
    );
    files.insert("1_te.npy", encode_npy_f32(&[2, 2], &[7.0, 8.0, 9.0, 10.0]));
    files.insert("labels_tr.npy", encode_npy_f32(&[3], &[0.0, 1.0, 2.0]));
    files.insert("labels_te.npy", encode_npy_f32(&[2], &[1.0, 0.0]));
    files
}

/// Writes `files` to a fresh folder, loads it, and checks the files are byte-for-byte intact.
fn load(files: &Files) -> Result<DataSplits, DataError> {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let result = load_dir(dir.path(), &[1]);
    for (name, bytes) in files {
        let after = std::fs::read(dir.path().join(name)).unwrap();
        assert_eq!(&after, bytes, "{name} was modified by loading");
    }
    result
}

fn with(mut files: Files, name: &'static str, bytes: &[u8]) -> Files {
    files.insert(name, bytes.to_vec());
    files
}

fn message(files: &Files) -> String {
    load(files).expect_err("should fail").to_string()
}

#[test]
fn the_valid_dataset_loads() {
    let splits = load(&valid_csv()).unwrap();
    assert_eq!(
        splits.train.modalities[0].data,
        vec![1.0, 2.0, 3.5, -0.4, 5.0, 6.0]
    );
    assert_eq!(splits.train.num_classes, 3);
    assert_eq!(load(&valid_npy()).unwrap(), splits);
}

#[test]
fn bom_crlf_spaces_and_trailing_blank_lines_load() {
    let expected = load(&valid_csv()).unwrap();
    let variants = [
        with(
            valid_csv(),
            "1_tr.csv",
            b"\xEF\xBB\xBF1,2\r\n3.5,-4e-1\r\n5,6\r\n",
        ),
        with(valid_csv(), "1_tr.csv", b"1, 2\n 3.5 ,-4e-1\n5,6"),
        with(
            valid_csv(),
            "labels_tr.csv",
            b"\xEF\xBB\xBF0\r\n1.0\r\n2\r\n\r\n\n",
        ),
    ];
    for files in &variants {
        assert_eq!(load(files).unwrap(), expected);
    }
}

#[test]
fn each_malformed_csv_gives_a_precise_error() {
    let cases: [(&'static str, &[u8], &[&str]); 12] = [
        (
            "1_tr.csv",
            b"1,2\n3\n5,6\n",
            &["1_tr.csv", "line 2", "expected 2 columns", "found 1"],
        ),
        (
            "1_tr.csv",
            b"1,2\n3,x7\n5,6\n",
            &["line 2, column 2", "\"x7\""],
        ),
        (
            "1_tr.csv",
            b"1,2\n3,NaN\n5,6\n",
            &["line 2, column 2", "finite"],
        ),
        (
            "1_tr.csv",
            b"1,2\n3,4\n-inf,6\n",
            &["line 3, column 1", "finite"],
        ),
        (
            "1_tr.csv",
            b"1,2\n3,1e39\n5,6\n",
            &["line 2, column 2", "finite"],
        ),
        ("1_tr.csv", b"1,2\n\n3,4\n5,6\n", &["line 2", "blank line"]),
        (
            "1_tr.csv",
            b"1,2\n3,\n5,6\n",
            &["line 2, column 2", "expected a number"],
        ),
        ("1_tr.csv", b"", &["1_tr.csv", "empty"]),
        (
            "labels_tr.csv",
            b"0\n-1\n2\n",
            &["labels_tr.csv", "line 2", "\"-1\""],
        ),
        ("labels_tr.csv", b"0\n1\n2.5\n", &["line 3", "\"2.5\""]),
        ("labels_tr.csv", b"0\nAD\n1\n", &["line 2", "class label"]),
        (
            "labels_te.csv",
            b"1\n0\n1\n",
            &["labels_te.csv", "3 rows", "1_te.csv", "2 rows"],
        ),
    ];
    for (name, bytes, fragments) in cases {
        let err = message(&with(valid_csv(), name, bytes));
        for fragment in fragments {
            assert!(
                err.contains(fragment),
                "{name} {bytes:?}: {err:?} lacks {fragment:?}"
            );
        }
    }
}

#[test]
fn width_mismatch_and_missing_files_are_named() {
    let err = message(&with(valid_csv(), "1_te.csv", b"7,8,0\n9,10,0\n"));
    assert!(
        err.contains("1_tr.csv has 2 columns") && err.contains("1_te.csv has 3"),
        "{err}"
    );

    let mut files = valid_csv();
    files.remove("1_te.csv");
    assert!(matches!(load(&files), Err(DataError::Missing { path }) if path.ends_with("1_te.csv")));

    files.remove("labels_tr.csv");
    let err = message(&files);
    assert!(
        err.contains("labels_tr.csv") && err.contains("not found"),
        "{err}"
    );

    let err = load_dir(Path::new("/nonexistent/dmil-data"), &[1])
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/dmil-data"), "{err}");

    assert!(load_dir(Path::new("."), &[0]).is_err());
}

/// `bytes` with the first occurrence of `from` overwritten by `to` (of the same length).
fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern present");
    let mut out = bytes.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    out
}

#[test]
fn malformed_npy_files_are_rejected() {
    let good = encode_npy_f32(&[3, 2], &[1.0, 2.0, 3.5, -0.4, 5.0, 6.0]);
    let header_end = good.len() - 24;
    let fortran = replace(&good, b"False", b"True ");
    let big_endian = replace(&good, b"<f4", b">f4");
    let one_dim = replace(&good, b"(3, 2)", b"(6,)  ");
    let mut version9 = good.clone();
    version9[6] = 9;
    let mut nan = good.clone();
    nan[header_end + 12..header_end + 16].copy_from_slice(&f32::NAN.to_le_bytes());

    let cases: Vec<(Vec<u8>, &str)> = vec![
        (good[..5].to_vec(), "preamble"),
        (good[..9].to_vec(), "header length"),
        (good[..40].to_vec(), "truncated header"),
        (good[..good.len() - 3].to_vec(), "data bytes"),
        ([good.clone(), vec![0; 4]].concat(), "data bytes"),
        (fortran, "fortran_order"),
        (big_endian, "element type"),
        (one_dim, "2 dimensions"),
        (version9, "version 9"),
        (nan, "line 2, column 2"),
        (b"not numpy at all".to_vec(), "magic"),
    ];
    for (bytes, fragment) in cases {
        let err = message(&with(valid_npy(), "1_tr.npy", &bytes));
        assert!(
            err.contains("1_tr.npy") && err.contains(fragment),
            "{err:?} lacks {fragment}"
        );
    }

    let label = encode_npy_f32(&[3], &[0.0, -1.0, 2.0]);
    let err = message(&with(valid_npy(), "labels_tr.npy", &label));
    assert!(err.contains("labels_tr.npy, line 2"), "{err}");
    let label = encode_npy_f32(&[3], &[0.0, 1.0, 2.5]);
    assert!(message(&with(valid_npy(), "labels_tr.npy", &label)).contains("line 3"));
}

#[test]
fn npy_integer_and_double_types_load() {
    // Hand-written headers for <i8 labels and <f8 features.
    fn npy(descr: &str, shape: &str, payload: &[u8]) -> Vec<u8> {
        let header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n");
        let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(payload);
        bytes
    }
    let labels: Vec<u8> = [0i64, 1, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
    let features: Vec<u8> = [1.0f64, 2.0, 3.5, -0.4, 5.0, 6.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let ints: Vec<u8> = [1i32, 0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut files = valid_npy();
    files.insert("labels_tr.npy", npy("<i8", "(3,)", &labels));
    files.insert("labels_te.npy", npy("<i4", "(2, 1)", &ints));
    files.insert("1_tr.npy", npy("<f8", "(3, 2)", &features));
    assert_eq!(load(&files).unwrap(), load(&valid_csv()).unwrap());
}

/// Small edits of a valid file's bytes: replace, insert or delete one byte at a position.
fn edit(bytes: &[u8], op: u8, at: usize, byte: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let at = at % (out.len() + 1);
    match op % 3 {
        0 if at < out.len() => out[at] = byte,
        1 => out.insert(at, byte),
        _ if at < out.len() => {
            out.remove(at);
        }
        _ => out.push(byte),
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_bytes_never_panic(
        which in 0usize..8,
        bytes in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let (files, name) = if which < 4 {
            let names = ["1_tr.csv", "1_te.csv", "labels_tr.csv", "labels_te.csv"];
            (valid_csv(), names[which])
        } else {
            let names = ["1_tr.npy", "1_te.npy", "labels_tr.npy", "labels_te.npy"];
            (valid_npy(), names[which - 4])
        };
        let _ = load(&with(files, name, &bytes));
    }

    #[test]
    fn edited_files_load_or_fail_cleanly(
        which in 0usize..8,
        edits in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..4),
    ) {
        let (files, name) = if which < 4 {
            let names = ["1_tr.csv", "1_te.csv", "labels_tr.csv", "labels_te.csv"];
            (valid_csv(), names[which])
        } else {
            let names = ["1_tr.npy", "1_te.npy", "labels_tr.npy", "labels_te.npy"];
            (valid_npy(), names[which - 4])
        };
        let mut bytes = files[name].clone();
        for (op, at, byte) in edits {
            bytes = edit(&bytes, op, at, byte);
        }
        if let Ok(splits) = load(&with(files, name, &bytes)) {
            // Whatever loads satisfies the dataset invariants and holds finite numbers.
            splits.train.check().unwrap();
            splits.test.check().unwrap();
            prop_assert!(splits.train.modalities[0].data.iter().all(|x| x.is_finite()));
        }
    }

    #[test]
    fn truncated_npy_files_fail(cut in 0usize..88) {
        let good = &valid_npy()["1_tr.npy"];
        let result = load(&with(valid_npy(), "1_tr.npy", &good[..cut.min(good.len() - 1)]));
        prop_assert!(result.is_err());
    }
}
