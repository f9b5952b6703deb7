//! Checkpoints: a module's parameters and buffers in the safetensors format, readable by
//! PyTorch (`safetensors.torch.load_file`), numpy and other tools, with the run's metadata.
//!
//! The file holds one little-endian F32 tensor per named parameter and buffer, under the
//! names of [`Module::named_parameters`] and [`Module::named_buffers`], and a `__metadata__`
//! string map with two entries: `"format": "pt"` (what PyTorch's loaders look for) and
//! `"dmil"`: the caller's JSON value, serialised.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

use crate::error::{Error, Result};
use crate::nn::{Module, Named};

/// The `__metadata__` key that holds the caller's JSON.
pub const METADATA_KEY: &str = "dmil";

/// Writes every parameter and buffer of `module`, and `metadata`, to `path`.
///
/// The bytes go to a temporary file in the same folder, which is flushed and synced to disk
/// and then renamed over `path` (the folder is synced too, where the platform allows), so a
/// crash leaves either the old checkpoint or the new one, never a half-written file.
///
/// # Errors
/// [`Error::Checkpoint`] when two tensors share a name or a name is reserved by the format;
/// [`Error::Io`] when the file cannot be written (the temporary file is removed then).
pub fn save_checkpoint(
    path: &Path,
    module: &dyn Module,
    metadata: &serde_json::Value,
) -> Result<()> {
    let tensors = named_tensors(path, module)?;
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(name, t)| {
            let data = t.to_vec().iter().flat_map(|v| v.to_le_bytes()).collect();
            (name.clone(), t.dims().to_vec(), data)
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(name, shape, data)| {
            let view = TensorView::new(Dtype::F32, shape.clone(), data)
                .map_err(|e| checkpoint_error(path, format!("tensor {name}: {e}")))?;
            Ok((name.as_str(), view))
        })
        .collect::<Result<Vec<_>>>()?;

    let json = serde_json::to_string(metadata)
        .map_err(|e| checkpoint_error(path, format!("metadata cannot be serialised: {e}")))?;
    let info = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        (METADATA_KEY.to_string(), json),
    ]);
    let file_bytes = safetensors::serialize(views, Some(info))
        .map_err(|e| checkpoint_error(path, format!("cannot be serialised: {e}")))?;

    write_atomically(path, &file_bytes)
}

/// Loads the checkpoint at `path` into `module` and returns its metadata (`Null` when the
/// file has no `"dmil"` entry, as in files written by other tools).
///
/// Every name, shape and dtype is checked first; when anything does not fit, one error lists
/// all that is missing from the file, unexpected in it, or mismatched (with the expected and
/// found shape and dtype), and the module is left untouched. Only when everything fits are
/// the values copied into the module's tensors.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Checkpoint`] when it is not a valid
/// safetensors file (truncated, corrupted header), its metadata is not JSON, or it does not
/// fit the module.
pub fn load_checkpoint(path: &Path, module: &dyn Module) -> Result<serde_json::Value> {
    let bytes = fs::read(path).map_err(|source| io_error(path, source))?;
    let file = parse(path, &bytes)?;
    let metadata = metadata_of(path, &bytes)?;
    let expected = named_tensors(path, module)?;

    let mut problems = Vec::new();
    let expected_names: HashMap<&str, usize> = expected
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (name.as_str(), i))
        .collect();
    let mut unexpected: Vec<String> = file
        .names()
        .into_iter()
        .filter(|name| !expected_names.contains_key(name))
        .map(str::to_string)
        .collect();
    unexpected.sort();

    let mut found = Vec::with_capacity(expected.len());
    for (name, tensor) in &expected {
        let view = match file.tensor(name) {
            Ok(view) => view,
            Err(_) => {
                problems.push(format!("missing {name} (expected {})", tensor.shape()));
                continue;
            }
        };
        if view.dtype() != Dtype::F32 || view.shape() != tensor.dims() {
            problems.push(format!(
                "mismatched {name}: expected {} F32, found {:?} {:?}",
                tensor.shape(),
                view.shape(),
                view.dtype()
            ));
            continue;
        }
        if !tensor.is_contiguous() {
            problems.push(format!("{name}: the module's tensor is not contiguous"));
            continue;
        }
        found.push((tensor, view));
    }
    problems.extend(
        unexpected
            .into_iter()
            .map(|name| format!("unexpected {name}")),
    );
    if !problems.is_empty() {
        return Err(checkpoint_error(
            path,
            format!("does not fit the model: {}", problems.join("; ")),
        ));
    }

    for (tensor, view) in found {
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        tensor.assign(&values)?;
    }
    Ok(metadata)
}

/// The metadata of the checkpoint at `path` (`Null` when it has no `"dmil"` entry), without
/// a module: to rebuild the model a checkpoint was saved from. The whole file is read and
/// validated.
///
/// # Errors
/// As [`load_checkpoint`], except that nothing is compared with a module.
pub fn read_checkpoint_metadata(path: &Path) -> Result<serde_json::Value> {
    let bytes = fs::read(path).map_err(|source| io_error(path, source))?;
    parse(path, &bytes)?;
    metadata_of(path, &bytes)
}

/// Every parameter then every buffer of `module`, checked for names the file cannot hold.
fn named_tensors(path: &Path, module: &dyn Module) -> Result<Vec<Named>> {
    let mut tensors = module.named_parameters();
    tensors.extend(module.named_buffers());

    let mut seen = BTreeMap::new();
    for (name, _) in &tensors {
        if name == "__metadata__" || seen.insert(name.as_str(), ()).is_some() {
            return Err(checkpoint_error(
                path,
                format!("the module has a duplicate or reserved tensor name {name:?}"),
            ));
        }
    }
    Ok(tensors)
}

/// Parses and validates a whole safetensors file.
fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<SafeTensors<'a>> {
    SafeTensors::deserialize(bytes)
        .map_err(|e| checkpoint_error(path, format!("not a valid safetensors file: {e}")))
}

/// The caller's JSON stored in the `__metadata__` map of a parsed file.
fn metadata_of(path: &Path, bytes: &[u8]) -> Result<serde_json::Value> {
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| checkpoint_error(path, format!("not a valid safetensors file: {e}")))?;
    let Some(json) = header.metadata().as_ref().and_then(|m| m.get(METADATA_KEY)) else {
        return Ok(serde_json::Value::Null);
    };
    serde_json::from_str(json)
        .map_err(|e| checkpoint_error(path, format!("the {METADATA_KEY:?} metadata: {e}")))
}

/// Writes `bytes` to a temporary sibling of `path`, syncs it, and renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| checkpoint_error(path, "the path does not name a file".to_string()))?;
    let temp = folder.join(format!(
        ".{}.tmp-{}-{}",
        file_name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));

    let written = (|| {
        let mut file = File::create(&temp)?;
        file.write_all(bytes)?;
        file.flush()?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if let Err(source) = written {
        let _ = fs::remove_file(&temp);
        return Err(io_error(path, source));
    }

    // Makes the rename itself durable. Folders cannot be opened for syncing everywhere
    // (Windows), and the data is already safe, so a failure here is not an error.
    if let Ok(dir) = File::open(&folder) {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn checkpoint_error(path: &Path, reason: String) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        reason,
    }
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}
