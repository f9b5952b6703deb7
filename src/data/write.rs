//! Writing a dataset in the CSV layout that [`load_dir`](super::load_dir) reads.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use super::dataset::{DataSplits, Dataset};
use super::error::DataError;

/// Writes `splits` to `dir` in the MOGONET CSV layout: `i_tr.csv`, `i_te.csv` for each
/// modality `i` from 1, `labels_tr.csv`, `labels_te.csv`, and `i_featname.csv` where the
/// training split has feature names. The folder is created if needed.
///
/// Each file is written to a temporary file in the same folder and then renamed over its
/// final name, so a reader never sees a half-written file. Values are written in the
/// shortest form that reads back to the same `f32`, so [`load_dir`](super::load_dir) gives
/// back exactly the same numbers. Sample kinds are not written (the layout has no place for
/// them). Other files already in the folder are left alone, so write to a fresh folder when
/// the modality count may shrink.
///
/// # Errors
///
/// [`DataError::InvalidArgument`] when the splits break a [`Dataset`] invariant or have
/// different modality widths; [`DataError::Io`] naming the file that could not be written.
pub fn write_dir(splits: &DataSplits, dir: &Path) -> Result<(), DataError> {
    splits.train.check()?;
    splits.test.check()?;
    if splits.train.modality_widths() != splits.test.modality_widths() {
        let reason = format!(
            "train widths {:?} differ from test widths {:?}",
            splits.train.modality_widths(),
            splits.test.modality_widths()
        );
        return Err(DataError::argument("writing a dataset", reason));
    }
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;

    for (split, data) in [("tr", &splits.train), ("te", &splits.test)] {
        write_split(dir, split, data)?;
    }

    for (m, names) in splits.train.feature_names.iter().enumerate() {
        if let Some(names) = names {
            write_atomic(&dir.join(format!("{}_featname.csv", m + 1)), |out| {
                names.iter().try_for_each(|name| writeln!(out, "{name}"))
            })?;
        }
    }
    Ok(())
}

/// Writes the modality and label files of one split (`"tr"` or `"te"`).
fn write_split(dir: &Path, split: &str, data: &Dataset) -> Result<(), DataError> {
    for (m, matrix) in data.modalities.iter().enumerate() {
        write_atomic(&dir.join(format!("{}_{split}.csv", m + 1)), |out| {
            for i in 0..matrix.rows {
                for (j, x) in matrix.row(i).iter().enumerate() {
                    let sep = if j == 0 { "" } else { "," };
                    write!(out, "{sep}{x}")?;
                }
                writeln!(out)?;
            }
            Ok(())
        })?;
    }

    write_atomic(&dir.join(format!("labels_{split}.csv")), |out| {
        data.labels.iter().try_for_each(|y| writeln!(out, "{y}"))
    })
}

/// Writes `path` through `fill` into a temporary sibling file, syncs it, and renames it.
fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<(), DataError> {
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let temp = path.with_file_name(format!(
        ".{}.{}.tmp",
        file_name.unwrap_or_default(),
        std::process::id()
    ));

    let result = (|| {
        let mut out = BufWriter::new(File::create(&temp)?);
        fill(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temp);
        return Err(DataError::io(&temp, e));
    }

    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        DataError::io(path, e)
    })
}
