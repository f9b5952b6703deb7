//! The parameters of every kernel of `kernels/step.cu`, read from the PTX NVRTC makes, match
//! what its launcher in `src/cuda/backend.rs` pushes, in number, order and kind. Launch
//! arguments are untyped at run time: a missing or swapped argument would only show on a GPU,
//! so this check catches it on any machine with libnvrtc (skipped, with a notice, without).

#![cfg(feature = "cuda")]

use dmil::cuda::compile::{compile_ptx, nvrtc_available, STEP};

/// Each kernel's parameters as its launcher pushes them: `p` a device pointer (a
/// `CudaSlice<f32>`), `u` a `u64`, `f` an `f32`. In PTX both pointers and `u64` are `.u64`.
const SIGNATURES: [(&str, &str); 18] = [
    ("add_bias", "ppuu"),
    ("add_column_sums", "ppuuu"),
    ("relu_forward", "pu"),
    ("relu_backward", "ppu"),
    ("mul_assign", "ppu"),
    ("dropout_mask", "puf"),
    ("put_columns", "ppuuuu"),
    ("add_columns", "ppuuuu"),
    ("reparameterize_backward_add", "pppppu"),
    ("product_backward_add", "pppppu"),
    ("cross_entropy", "ppuufpup"),
    ("kl_standard_normal", "ppufpupp"),
    ("kl_gaussians", "ppppufpupppp"),
    ("mse", "ppufpup"),
    ("gate_forward", "ppuuupp"),
    ("gate_backward", "pppuuupp"),
    ("sum_squares", "pupu"),
    ("adam", "ppppupuufffffff"),
];

/// The PTX types of the parameters of `.entry name(...)`, in order.
fn parameter_types(ptx: &str, name: &str) -> Vec<String> {
    let start = ptx
        .find(&format!(".entry {name}("))
        .unwrap_or_else(|| panic!("no entry {name} in the PTX"));
    let rest = &ptx[start..];
    let end = rest.find(')').expect("the parameter list closes");
    rest[..end]
        .lines()
        .filter_map(|line| line.trim().strip_prefix(".param "))
        .map(|decl| decl.split_whitespace().next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn step_kernel_parameters_match_their_launchers() {
    if !nvrtc_available() {
        eprintln!("SKIPPED: no libnvrtc found; `source .ci/nvrtc-env.sh` to install one");
        return;
    }
    let ptx = compile_ptx(&STEP, "compute_90")
        .unwrap_or_else(|e| panic!("{e}"))
        .to_src();

    assert_eq!(
        SIGNATURES.len(),
        STEP.functions.len(),
        "one signature per kernel"
    );
    for (name, kinds) in SIGNATURES {
        let want: Vec<&str> = kinds
            .chars()
            .map(|k| match k {
                'p' | 'u' => ".u64",
                'f' => ".f32",
                other => panic!("unknown kind {other}"),
            })
            .collect();
        assert_eq!(parameter_types(&ptx, name), want, "parameters of {name}");
    }
}
