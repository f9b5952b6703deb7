//! One module per subcommand.

pub mod bench;
pub mod checkpoint;
pub mod compare;
pub mod pid;
pub mod synth;
pub mod train;

use dmil::{Error, Result};

use crate::cli::Device;

/// Fails with the ordinary "no CUDA" error unless a CUDA device can be used.
///
/// # Errors
/// [`Error::Cuda`] when the binary was built without the `cuda` feature or no driver or GPU
/// is present.
pub fn require_device(device: Device) -> Result<()> {
    if device == Device::Cpu {
        return Ok(());
    }
    Err(Error::Cuda(cuda_unavailable()))
}

#[cfg(feature = "cuda")]
fn cuda_unavailable() -> String {
    match dmil::cuda::GpuContext::open(0) {
        Err(e) => e.to_string(),
        Ok(ctx) => format!(
            "a GPU is present ({}), but training on it is not available yet: the CUDA kernels \
             run through `dmil::cuda`, the trainer runs on the CPU; use --device cpu",
            ctx.name().unwrap_or_default()
        ),
    }
}

#[cfg(not(feature = "cuda"))]
fn cuda_unavailable() -> String {
    "this binary was built without the `cuda` feature; rebuild with `--features cuda`, or use \
     --device cpu"
        .into()
}
