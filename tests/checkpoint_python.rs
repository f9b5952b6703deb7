//! Our checkpoints read by the reference implementation of the safetensors format.
//!
//! The test writes a checkpoint and runs `tests/python/load_checkpoint.py`, which loads it
//! with `safetensors.numpy.load_file` and prints every tensor's name, shape, dtype and sum,
//! and the `__metadata__` map, as JSON; the test compares that with the module. PyTorch
//! itself is not installed here (too large for CI), but the format parsed is the same:
//! `safetensors.numpy.load_file` and `safetensors.torch.load_file` both open the file with
//! the package's `safe_open` reader and differ only in the `framework` whose arrays it
//! returns (as read in the Python sources of safetensors 0.8), so a file that
//! `safetensors.numpy` reads correctly is one PyTorch's loader reads too.
//!
//! The interpreter is `$DMIL_PYTHON` (default `python3`); `scripts/test.sh` points it at a
//! virtual environment with `safetensors` and `numpy`. Without them the test prints SKIPPED
//! and passes.

mod nn_support;

use std::process::Command;

use dmil::nn::{save_checkpoint, Module};
use dmil::Tensor;
use nn_support::{snapshot, Net};
use serde_json::{json, Value};

fn python() -> String {
    std::env::var("DMIL_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

#[test]
fn safetensors_numpy_reads_our_checkpoints() {
    let available = Command::new(python())
        .args(["-c", "import safetensors.numpy"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !available {
        println!("SKIPPED: {} cannot import safetensors.numpy", python());
        return;
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let net = Net::new(3, 4, 2, 1);
    net.forward(&Tensor::randn([8, 3], 1)).unwrap();
    let metadata = json!({"epoch": 7, "model": "net"});
    save_checkpoint(&path, &net, &metadata).unwrap();

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/load_checkpoint.py"
    );
    let out = Command::new(python())
        .arg(script)
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the script failed: {stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    println!("{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();

    let tensors = report["tensors"].as_object().unwrap();
    let ours = snapshot(&net);
    assert_eq!(tensors.len(), ours.len(), "{stdout}");
    let shapes: Vec<(String, Vec<usize>)> = net
        .named_parameters()
        .into_iter()
        .chain(net.named_buffers())
        .map(|(name, t)| (name, t.dims().to_vec()))
        .collect();
    for ((name, dims), (_, values)) in shapes.iter().zip(&ours) {
        let theirs = &tensors[name];
        assert_eq!(theirs["shape"], json!(dims), "{name}");
        assert_eq!(theirs["dtype"], "float32", "{name}");
        let sum: f64 = values.iter().map(|&v| f64::from(v)).sum();
        let their_sum = theirs["sum"].as_f64().unwrap();
        assert!(
            (sum - their_sum).abs() <= 1e-9 * sum.abs().max(1.0),
            "{name}"
        );
    }

    assert_eq!(report["metadata"]["format"], "pt");
    let dmil: Value = serde_json::from_str(report["metadata"]["dmil"].as_str().unwrap()).unwrap();
    assert_eq!(dmil, metadata);
}
