//! Checkpoints: round trips, the one error that lists every mismatch, damaged files that
//! must give errors rather than panics, and the atomic write.

mod nn_support;

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use dmil::nn::{load_checkpoint, read_checkpoint_metadata, save_checkpoint, Module};
use dmil::{Error, Tensor};
use nn_support::{snapshot, Net};
use proptest::prelude::*;
use safetensors::tensor::{Dtype, TensorView};
use serde_json::json;

/// A model whose running statistics have moved away from their initial values.
fn trained_net(seed: u64) -> Net {
    let net = Net::new(3, 4, 2, seed);
    net.forward(&Tensor::randn([8, 3], seed)).unwrap();
    net
}

/// A valid checkpoint file's bytes.
fn checkpoint_bytes(dir: &Path) -> Vec<u8> {
    let path = dir.join("valid.safetensors");
    save_checkpoint(&path, &trained_net(1), &json!({"epoch": 1})).unwrap();
    fs::read(path).unwrap()
}

/// Loads `bytes` (written to a file) into a fresh model and checks that any failure is a
/// typed error and that a failed load leaves the model untouched.
fn load_bytes(dir: &Path, bytes: &[u8]) -> dmil::Result<serde_json::Value> {
    let path = dir.join("damaged.safetensors");
    fs::write(&path, bytes).unwrap();
    let net = Net::new(3, 4, 2, 9);
    let before = snapshot(&net);
    let result = load_checkpoint(&path, &net);
    if result.is_err() {
        assert_eq!(before, snapshot(&net), "a failed load changed the model");
    }
    result
}

#[test]
fn round_trip_restores_parameters_buffers_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let source = trained_net(1);
    let metadata = json!({"epoch": 3, "config": {"hidden": 4, "lr": 0.001}, "tag": "α"});
    save_checkpoint(&path, &source, &metadata).unwrap();

    let target = Net::new(3, 4, 2, 2);
    assert_ne!(snapshot(&source), snapshot(&target));
    let loaded = load_checkpoint(&path, &target).unwrap();

    assert_eq!(loaded, metadata);
    assert_eq!(snapshot(&source), snapshot(&target));
    assert_eq!(read_checkpoint_metadata(&path).unwrap(), metadata);
    let names: Vec<String> = snapshot(&target).into_iter().map(|(n, _)| n).collect();
    assert!(names.contains(&"norm.running_var".to_string()), "{names:?}");
}

#[test]
fn atomic_write_leaves_only_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    save_checkpoint(&path, &trained_net(1), &json!(null)).unwrap();
    // Overwriting goes through a temporary file and a rename too.
    save_checkpoint(&path, &trained_net(2), &json!({"second": true})).unwrap();

    let entries: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, ["model.safetensors"]);
    assert_eq!(
        read_checkpoint_metadata(&path).unwrap(),
        json!({"second": true})
    );
}

#[test]
fn saving_into_a_missing_folder_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/folder/model.safetensors");
    let err = save_checkpoint(&path, &trained_net(1), &json!(null)).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("model.safetensors"), "{err}");
}

#[test]
fn loading_into_another_shape_lists_every_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    save_checkpoint(&path, &trained_net(1), &json!(null)).unwrap();

    // hidden 5 instead of 4: every tensor but the head's bias changes shape.
    let other = Net::new(3, 5, 2, 2);
    let before = snapshot(&other);
    let err = load_checkpoint(&path, &other).unwrap_err();
    assert!(matches!(err, Error::Checkpoint { .. }), "{err}");
    let message = err.to_string();
    for expected in [
        "mismatched encoder.0.weight: expected [5, 3] F32, found [4, 3] F32",
        "mismatched encoder.1.weight: expected [5, 5] F32, found [4, 4] F32",
        "mismatched norm.running_mean: expected [5] F32, found [4] F32",
        "mismatched head.weight: expected [2, 5] F32, found [2, 4] F32",
    ] {
        assert!(message.contains(expected), "{expected:?} not in {message}");
    }
    assert!(!message.contains("head.bias"), "{message}");
    assert_eq!(
        before,
        snapshot(&other),
        "nothing may be loaded on a mismatch"
    );
}

#[test]
fn missing_unexpected_and_wrong_dtype_are_reported_together() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edited.safetensors");
    let net = trained_net(1);

    // The model's tensors minus `head.bias`, with `norm.weight` as F64, plus a stray tensor.
    let mut tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, t) in snapshot(&net) {
        let dims = shape_of(&net, &name);
        match name.as_str() {
            "head.bias" => {}
            "norm.weight" => {
                let bytes = t.iter().flat_map(|v| f64::from(*v).to_le_bytes()).collect();
                tensors.push((name, Dtype::F64, dims, bytes));
            }
            _ => {
                let bytes = t.iter().flat_map(|v| v.to_le_bytes()).collect();
                tensors.push((name, Dtype::F32, dims, bytes));
            }
        }
    }
    tensors.push((
        "extra.scale".into(),
        Dtype::F32,
        vec![1],
        1f32.to_le_bytes().to_vec(),
    ));
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();

    let message = load_checkpoint(&path, &net).unwrap_err().to_string();
    for expected in [
        "missing head.bias (expected [2])",
        "unexpected extra.scale",
        "mismatched norm.weight: expected [4] F32, found [4] F64",
    ] {
        assert!(message.contains(expected), "{expected:?} not in {message}");
    }

    // A file without dmil metadata (written by another tool) loads with Null metadata.
    let plain = dir.path().join("plain.safetensors");
    let encoded: Vec<(String, Vec<usize>, Vec<u8>)> = snapshot(&net)
        .into_iter()
        .map(|(n, v)| {
            let dims = shape_of(&net, &n);
            (n, dims, v.iter().flat_map(|x| x.to_le_bytes()).collect())
        })
        .collect();
    let views: Vec<(String, TensorView)> = encoded
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    fs::write(&plain, safetensors::serialize(views, None).unwrap()).unwrap();
    let fresh = Net::new(3, 4, 2, 5);
    assert_eq!(load_checkpoint(&plain, &fresh).unwrap(), json!(null));
    assert_eq!(snapshot(&fresh), snapshot(&net));
}

fn shape_of(net: &Net, name: &str) -> Vec<usize> {
    net.named_parameters()
        .into_iter()
        .chain(net.named_buffers())
        .find(|(n, _)| n == name)
        .map(|(_, t)| t.dims().to_vec())
        .unwrap()
}

#[test]
fn truncated_files_are_checkpoint_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = checkpoint_bytes(dir.path());
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    for len in [
        0,
        3,
        8,
        9,
        8 + header_len / 2,
        8 + header_len,
        bytes.len() - 1,
    ] {
        let err = load_bytes(dir.path(), &bytes[..len]).unwrap_err();
        assert!(
            matches!(err, Error::Checkpoint { .. }),
            "length {len}: {err}"
        );
        assert!(
            err.to_string().contains("not a valid safetensors file"),
            "{err}"
        );
    }
}

#[test]
fn corrupted_headers_are_checkpoint_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = checkpoint_bytes(dir.path());

    // A header length far beyond the file.
    let mut huge = bytes.clone();
    huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    // Broken JSON: the opening brace replaced.
    let mut not_json = bytes.clone();
    not_json[8] = b'x';
    // Invalid UTF-8 in the header.
    let mut not_utf8 = bytes.clone();
    not_utf8[9] = 0xff;
    // Data offsets that no longer match the sizes: rewrite one shape digit in the header.
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8(bytes[8..8 + header_len].to_vec()).unwrap();
    let lying = header.replacen("\"shape\":[4]", "\"shape\":[7]", 1);
    assert_ne!(
        lying, header,
        "the header should hold a [4] shape: {header}"
    );
    let mut bad_offsets = bytes[..8].to_vec();
    bad_offsets.extend(lying.as_bytes());
    bad_offsets.extend(&bytes[8 + header_len..]);

    for (what, damaged) in [
        ("huge length", huge),
        ("not JSON", not_json),
        ("not UTF-8", not_utf8),
        ("bad offsets", bad_offsets),
    ] {
        let err = load_bytes(dir.path(), &damaged).unwrap_err();
        assert!(matches!(err, Error::Checkpoint { .. }), "{what}: {err}");
    }

    // Metadata whose "dmil" entry is not JSON.
    let path = dir.path().join("bad-meta.safetensors");
    let views: Vec<(&str, TensorView)> = Vec::new();
    let info = HashMap::from([("dmil".to_string(), "{not json".to_string())]);
    fs::write(&path, safetensors::serialize(views, Some(info)).unwrap()).unwrap();
    let err = read_checkpoint_metadata(&path).unwrap_err();
    assert!(err.to_string().contains("\"dmil\" metadata"), "{err}");
}

#[test]
fn a_missing_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.safetensors");
    let err = load_checkpoint(&path, &Net::new(3, 4, 2, 1)).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let dir = tempfile::tempdir().unwrap();
        prop_assert!(load_bytes(dir.path(), &bytes).is_err());
    }

    #[test]
    fn random_byte_flips_never_panic(
        position in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = checkpoint_bytes(dir.path());
        let at = position.index(bytes.len());
        bytes[at] = value;
        // A change in the data section, or one the header's JSON survives, may still load;
        // whatever happens, no panic, and a failed load changes nothing (see load_bytes).
        let _ = load_bytes(dir.path(), &bytes);
    }
}
