//! Loading a dataset folder in the MOGONET layout, as CSV or as NumPy files.
//!
//! For modality `i` (numbered from 1): `i_tr.csv` and `i_te.csv` hold one sample per line;
//! `labels_tr.csv` and `labels_te.csv` one class per line; `i_featname.csv`, where present,
//! names the columns. The binary variant has `i_tr.npy`, `i_te.npy`, `labels_tr.npy` and
//! `labels_te.npy` instead (feature names still come from `i_featname.csv`). Loading only
//! reads: no input file is ever modified.

use std::path::{Path, PathBuf};

use super::csv::{read_labels_csv, read_matrix_csv, read_names_csv};
use super::dataset::{DataSplits, Dataset};
use super::error::DataError;
use super::matrix::Matrix;
use super::npy::{read_labels_npy, read_matrix_npy};

/// Which file type a dataset folder uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Comma-separated text, `*.csv`.
    Csv,
    /// NumPy arrays, `*.npy`.
    Npy,
}

impl FileFormat {
    fn extension(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Npy => "npy",
        }
    }

    fn read_matrix(self, path: &Path) -> Result<Matrix, DataError> {
        match self {
            FileFormat::Csv => read_matrix_csv(path),
            FileFormat::Npy => read_matrix_npy(path),
        }
    }

    fn read_labels(self, path: &Path) -> Result<Vec<usize>, DataError> {
        match self {
            FileFormat::Csv => read_labels_csv(path),
            FileFormat::Npy => read_labels_npy(path),
        }
    }
}

/// Tells whether `dir` holds CSV or NPY files, by which `labels_tr` file exists.
///
/// When both exist, CSV wins.
///
/// # Errors
///
/// [`DataError::Missing`] naming `dir/labels_tr.csv` when neither labels file exists (or
/// naming `dir` itself when the folder does not exist).
pub fn detect_format(dir: &Path) -> Result<FileFormat, DataError> {
    if !dir.is_dir() {
        return Err(DataError::Missing {
            path: dir.to_path_buf(),
        });
    }
    for format in [FileFormat::Csv, FileFormat::Npy] {
        if dir
            .join(format!("labels_tr.{}", format.extension()))
            .is_file()
        {
            return Ok(format);
        }
    }
    Err(DataError::Missing {
        path: dir.join("labels_tr.csv"),
    })
}

/// The modality numbers (from 1) that `dir` has a training file for, in increasing order.
///
/// # Errors
///
/// [`DataError::Missing`] or [`DataError::Io`] when the folder cannot be listed or has no
/// labels file.
pub fn list_modalities(dir: &Path) -> Result<Vec<usize>, DataError> {
    let format = detect_format(dir)?;
    let suffix = format!("_tr.{}", format.extension());
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;

    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| DataError::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let number = name
            .strip_suffix(suffix.as_str())
            .and_then(|s| s.parse::<usize>().ok());
        if let Some(m) = number.filter(|&m| m > 0) {
            found.push(m);
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// Loads the listed modalities (numbered from 1, as in the file names) of the dataset in
/// `dir`, choosing CSV or NPY with [`detect_format`]. An empty list loads every modality
/// that [`list_modalities`] finds.
///
/// `num_classes` is one more than the largest label of either split.
///
/// # Errors
///
/// [`DataError::InvalidArgument`] for modality 0 or a repeated modality; every error of
/// [`load_dir_as`].
pub fn load_dir(dir: &Path, modalities: &[usize]) -> Result<DataSplits, DataError> {
    let format = detect_format(dir)?;
    if modalities.is_empty() {
        let all = list_modalities(dir)?;
        if all.is_empty() {
            let path = dir.join(format!("1_tr.{}", format.extension()));
            return Err(DataError::Missing { path });
        }
        return load_dir_as(dir, &all, format);
    }
    load_dir_as(dir, modalities, format)
}

/// Reads only the test features `i_te.csv` (or `i_te.npy`) of the listed modalities, for
/// prediction on data without labels: no labels or training files are needed.
///
/// # Errors
///
/// [`DataError::InvalidArgument`] for an empty list, modality 0 or a repeat;
/// [`DataError::Missing`] naming `i_te.csv` when neither file exists; every error of the
/// readers; [`DataError::RowCount`] when the modalities' row counts differ.
pub fn load_test_features(dir: &Path, modalities: &[usize]) -> Result<Vec<Matrix>, DataError> {
    check_modality_list(modalities)?;
    let mut matrices: Vec<(PathBuf, Matrix)> = Vec::with_capacity(modalities.len());
    for &m in modalities {
        let csv = dir.join(format!("{m}_te.csv"));
        let npy = dir.join(format!("{m}_te.npy"));
        let (path, matrix) = if csv.is_file() {
            let matrix = read_matrix_csv(&csv)?;
            (csv, matrix)
        } else if npy.is_file() {
            let matrix = read_matrix_npy(&npy)?;
            (npy, matrix)
        } else {
            return Err(DataError::Missing { path: csv });
        };
        if let Some((first, other)) = matrices.first() {
            if other.rows != matrix.rows {
                return Err(DataError::RowCount {
                    first: first.clone(),
                    first_rows: other.rows,
                    second: path,
                    second_rows: matrix.rows,
                });
            }
        }
        matrices.push((path, matrix));
    }
    Ok(matrices.into_iter().map(|(_, m)| m).collect())
}

/// Loads the listed modalities of `dir` from files of the given format.
///
/// # Errors
///
/// [`DataError::InvalidArgument`] for an empty list, modality 0 or a repeat;
/// [`DataError::Missing`] naming the path of a missing file; every error of the file readers
/// (empty files, ragged rows, bad cells, non-finite values, bad labels);
/// [`DataError::RowCount`] naming the labels file and a modality file whose row counts
/// differ; [`DataError::WidthMismatch`] when a modality's training and test widths differ,
/// [`DataError::FeatureNames`] when a feature-name file's length differs from the width.
pub fn load_dir_as(
    dir: &Path,
    modalities: &[usize],
    format: FileFormat,
) -> Result<DataSplits, DataError> {
    check_modality_list(modalities)?;
    let ext = format.extension();

    // Labels first: they fix the number of samples of each split.
    let labels_tr_path = dir.join(format!("labels_tr.{ext}"));
    let labels_te_path = dir.join(format!("labels_te.{ext}"));
    let labels_tr = format.read_labels(&labels_tr_path)?;
    let labels_te = format.read_labels(&labels_te_path)?;
    check_classes(&labels_tr_path, &labels_tr, &labels_te_path, &labels_te)?;

    // Each modality, both splits, checked against the labels and each other.
    let mut train = Vec::with_capacity(modalities.len());
    let mut test = Vec::with_capacity(modalities.len());
    let mut names = Vec::with_capacity(modalities.len());
    for &m in modalities {
        let tr_path = dir.join(format!("{m}_tr.{ext}"));
        let te_path = dir.join(format!("{m}_te.{ext}"));
        let tr = format.read_matrix(&tr_path)?;
        check_rows(&labels_tr_path, labels_tr.len(), &tr_path, tr.rows)?;
        let te = format.read_matrix(&te_path)?;
        check_rows(&labels_te_path, labels_te.len(), &te_path, te.rows)?;

        if tr.cols != te.cols {
            return Err(DataError::WidthMismatch {
                train: tr_path,
                train_cols: tr.cols,
                test: te_path,
                test_cols: te.cols,
            });
        }
        names.push(read_feature_names(dir, m, &tr_path, tr.cols)?);
        train.push(tr);
        test.push(te);
    }

    // Classes are counted over both splits, so a class absent from one still counts.
    let max_label = labels_tr
        .iter()
        .chain(&labels_te)
        .copied()
        .max()
        .unwrap_or(0);
    let num_classes = max_label + 1;
    let make = |modalities, labels| Dataset {
        modalities,
        labels,
        num_classes,
        sample_kinds: None,
        feature_names: names.clone(),
    };
    Ok(DataSplits {
        train: make(train, labels_tr),
        test: make(test, labels_te),
    })
}

/// Refuses labels a classifier cannot be trained and scored on: fewer than two classes in
/// training, a test label that training never has, or a class index below the class count
/// (the largest label over both splits, plus one) with no training sample. Such a class
/// would get an output the training never fits (a stray label 7 in binary data makes eight).
///
/// # Errors
/// [`DataError::Classes`] naming the label file at fault and the first class concerned.
fn check_classes(
    train_path: &Path,
    train: &[usize],
    test_path: &Path,
    test: &[usize],
) -> Result<(), DataError> {
    let classes = train.iter().chain(test).max().map_or(0, |&m| m + 1);
    let mut seen = vec![false; classes];
    for &label in train {
        seen[label] = true;
    }
    let present: Vec<usize> = (0..classes).filter(|&c| seen[c]).collect();
    if present.len() < 2 {
        return Err(DataError::Classes {
            path: train_path.to_path_buf(),
            reason: format!(
                "the training labels hold {} distinct class(es) ({present:?}); a classifier \
                 needs at least 2",
                present.len()
            ),
        });
    }
    if let Some((row, label)) = test.iter().enumerate().find(|(_, &l)| !seen[l]) {
        return Err(DataError::Classes {
            path: test_path.to_path_buf(),
            reason: format!(
                "row {}: label {label} never appears in the training labels {}; a model cannot \
                 learn a class it has no sample of",
                row + 1,
                train_path.display()
            ),
        });
    }
    let missing = classes - present.len();
    if let Some(first) = (0..classes).find(|&c| !seen[c]) {
        return Err(DataError::Classes {
            path: train_path.to_path_buf(),
            reason: format!(
                "the largest label, {}, implying {classes} classes, of which {missing} have \
                 no training sample (the first: class {first}); labels must number the classes \
                 0..C-1, each with training samples",
                classes - 1
            ),
        });
    }
    Ok(())
}

fn check_modality_list(modalities: &[usize]) -> Result<(), DataError> {
    let op = "the list of modalities";
    if modalities.is_empty() {
        return Err(DataError::argument(op, "no modality selected"));
    }
    if modalities.contains(&0) {
        return Err(DataError::argument(
            op,
            "modalities are numbered from 1, got 0",
        ));
    }
    for (k, m) in modalities.iter().enumerate() {
        if modalities[..k].contains(m) {
            return Err(DataError::argument(
                op,
                format!("modality {m} is listed twice"),
            ));
        }
    }
    Ok(())
}

fn check_rows(
    labels: &Path,
    label_rows: usize,
    modality: &Path,
    rows: usize,
) -> Result<(), DataError> {
    if label_rows == rows {
        return Ok(());
    }
    Err(DataError::RowCount {
        first: labels.to_path_buf(),
        first_rows: label_rows,
        second: modality.to_path_buf(),
        second_rows: rows,
    })
}

/// Reads `dir/{m}_featname.csv` when it exists and checks it names every column.
fn read_feature_names(
    dir: &Path,
    m: usize,
    train_path: &Path,
    cols: usize,
) -> Result<Option<Vec<String>>, DataError> {
    let path: PathBuf = dir.join(format!("{m}_featname.csv"));
    if !path.is_file() {
        return Ok(None);
    }
    let names = read_names_csv(&path)?;
    if names.len() != cols {
        return Err(DataError::FeatureNames {
            path,
            found: names.len(),
            data: train_path.to_path_buf(),
            expected: cols,
        });
    }
    Ok(Some(names))
}
