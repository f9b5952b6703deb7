//! Kernel sources and their run-time compilation by NVRTC.
//!
//! The CUDA C files of `kernels/` are embedded in the binary with `include_str!`. NVRTC turns
//! one into PTX for a virtual architecture (`compute_XY`); the driver then compiles the PTX
//! for the actual GPU when [`crate::cuda::GpuContext`] loads it, once per context. Only
//! `libnvrtc` is needed to compile, not the driver, so a machine without a GPU can prove that
//! every kernel compiles (see `tests/cuda_kernels_compile.rs` and `.ci/nvrtc-env.sh`).

use cudarc::nvrtc::{self, CompileError, CompileOptions, Ptx};

use super::error::{guard, CudaError};

/// One file of `kernels/`: its name, its source and the kernels it defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelSource {
    /// The file name, e.g. `reparameterize.cu`.
    pub file: &'static str,
    /// The CUDA C source.
    pub source: &'static str,
    /// The `extern "C" __global__` functions it defines.
    pub functions: &'static [&'static str],
}

/// `kernels/common.cuh`: helpers every kernel file uses, put in front of it at compile time.
pub const COMMON: &str = include_str!("../../kernels/common.cuh");

/// `kernels/reparameterize.cu`: the reparameterisation trick and the normal generator.
pub const REPARAMETERIZE: KernelSource = KernelSource {
    file: "reparameterize.cu",
    source: include_str!("../../kernels/reparameterize.cu"),
    functions: &[
        "reparameterize_forward",
        "reparameterize_backward",
        "standard_normal",
    ],
};

/// `kernels/gaussian_kl.cu`: KL divergences of diagonal Gaussians and their gradients.
pub const GAUSSIAN_KL: KernelSource = KernelSource {
    file: "gaussian_kl.cu",
    source: include_str!("../../kernels/gaussian_kl.cu"),
    functions: &[
        "kl_std_sum",
        "kl_std_rows",
        "kl_std_backward",
        "kl_pair_sum",
        "kl_pair_rows",
        "kl_pair_backward",
    ],
};

/// `kernels/synergy.cu`: the element-wise product and the fused `[a, b, a * b]` features.
pub const SYNERGY: KernelSource = KernelSource {
    file: "synergy.cu",
    source: include_str!("../../kernels/synergy.cu"),
    functions: &[
        "product_forward",
        "product_backward",
        "features_forward",
        "features_backward",
    ],
};

/// `kernels/step.cu`: the primitives of the explicit DMIL training step (`crate::step`)
/// other than matrix products.
pub const STEP: KernelSource = KernelSource {
    file: "step.cu",
    source: include_str!("../../kernels/step.cu"),
    functions: &[
        "add_bias",
        "add_column_sums",
        "relu_forward",
        "relu_backward",
        "mul_assign",
        "dropout_mask",
        "put_columns",
        "add_columns",
        "reparameterize_backward_add",
        "product_backward_add",
        "cross_entropy",
        "kl_standard_normal",
        "kl_gaussians",
        "mse",
        "gate_forward",
        "gate_backward",
        "sum_squares",
        "adam",
    ],
};

/// Every kernel file, in a fixed order (the order of [`crate::cuda::GpuContext`]'s cache).
pub const KERNEL_SOURCES: [KernelSource; 4] = [REPARAMETERIZE, GAUSSIAN_KL, SYNERGY, STEP];

/// Whether the NVRTC library can be loaded (`libnvrtc.so.13`, `.12`, ... on the library path).
///
/// Compiling without it would panic inside cudarc, so [`compile_ptx`] checks this first.
pub fn nvrtc_available() -> bool {
    // SAFETY: loading libnvrtc runs only its initialisers; cudarc's check then drops it again.
    guard("nvrtc::is_culib_present", || unsafe {
        nvrtc::sys::is_culib_present()
    })
    .unwrap_or(false)
}

/// The NVRTC version as (major, minor).
///
/// # Errors
///
/// [`CudaError::NoNvrtc`] without libnvrtc; [`CudaError::Nvrtc`] if the call fails.
pub fn nvrtc_version() -> Result<(i32, i32), CudaError> {
    if !nvrtc_available() {
        return Err(CudaError::NoNvrtc);
    }

    let mut major = 0;
    let mut minor = 0;
    // SAFETY: libnvrtc is present; nvrtcVersion only writes the two integers.
    let status = guard("nvrtcVersion", || unsafe {
        nvrtc::sys::nvrtcVersion(&mut major, &mut minor)
    })?;

    status.result().map_err(|err| CudaError::Nvrtc {
        file: "-".to_string(),
        message: format!("nvrtcVersion: {err:?}"),
    })?;
    Ok((major, minor))
}

/// Compiles `kernel` to PTX for the virtual architecture `arch`, e.g. `compute_90`.
///
/// The program is named `kernels/<file>`, so NVRTC's diagnostics read
/// `kernels/synergy.cu(42): error: ...`. Options: `--gpu-architecture=<arch>` and
/// `--std=c++17`; no fast-math, so results stay close to the CPU reference.
///
/// # Errors
///
/// [`CudaError::NoNvrtc`] without libnvrtc, [`CudaError::Compile`] with NVRTC's log when the
/// source does not compile, [`CudaError::Nvrtc`] or [`CudaError::Library`] for other failures.
pub fn compile_ptx(kernel: &KernelSource, arch: &str) -> Result<Ptx, CudaError> {
    if !nvrtc_available() {
        return Err(CudaError::NoNvrtc);
    }

    let file = format!("kernels/{}", kernel.file);
    let options = CompileOptions {
        options: vec![
            format!("--gpu-architecture={arch}"),
            "--std=c++17".to_string(),
        ],
        name: Some(file.clone()),
        ..Default::default()
    };

    // The shared helpers go first; `#line` restarts the numbering so that NVRTC's messages
    // point into the kernel file itself.
    let source = format!("{COMMON}\n#line 1 \"{file}\"\n{}", kernel.source);
    let compiled = guard("nvrtc::compile_ptx_with_opts", || {
        nvrtc::compile_ptx_with_opts(source, options)
    })?;

    compiled.map_err(|err| match err {
        CompileError::CompileError { options, log, .. } => CudaError::Compile {
            file,
            options,
            log: log.to_string_lossy().trim_end().to_string(),
        },
        other => CudaError::Nvrtc {
            file,
            message: format!("{other:?}"),
        },
    })
}
