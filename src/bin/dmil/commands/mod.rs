//! One module per subcommand.

pub mod bench;
pub mod checkpoint;
pub mod compare;
pub mod pid;
pub mod synth;
pub mod train;

use dmil::Result;

use crate::cli::Device;

/// Where a command runs its training steps.
pub enum Engine {
    /// The autograd model on the CPU.
    Cpu,
    /// DMIL's explicit step on a GPU.
    #[cfg(feature = "cuda")]
    Cuda(Box<dmil::cuda::CudaBackend>),
}

/// Opens `device`: nothing to do for the CPU; the first GPU, with cuBLAS, for CUDA.
///
/// # Errors
/// [`Error::Cuda`] when the binary was built without the `cuda` feature or no driver, GPU or
/// cuBLAS is present (the command then exits with status 1).
pub fn engine(device: Device) -> Result<Engine> {
    match device {
        Device::Cpu => Ok(Engine::Cpu),
        Device::Cuda => open_cuda(),
    }
}

#[cfg(feature = "cuda")]
fn open_cuda() -> Result<Engine> {
    let gpu = dmil::cuda::GpuContext::open(0)?;
    Ok(Engine::Cuda(Box::new(dmil::cuda::CudaBackend::new(gpu)?)))
}

#[cfg(not(feature = "cuda"))]
fn open_cuda() -> Result<Engine> {
    Err(dmil::Error::Cuda(
        "this binary was built without the `cuda` feature; rebuild with `--features cuda`, or \
         use --device cpu"
            .into(),
    ))
}
