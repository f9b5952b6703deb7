//! The CUDA backend (feature `cuda`): device access, run-time kernel compilation, and the
//! custom kernels of DMIL with their CPU references.
//!
//! - [`backend`] implements the explicit DMIL step's primitives ([`crate::step::Backend`])
//!   on a GPU (never yet run on one; see its documentation);
//! - [`bench`](mod@bench) measures each custom kernel's bandwidth;
//! - [`device`] checks for the driver and holds [`GpuContext`] (context, stream, module
//!   cache, uploads and downloads);
//! - [`compile`] embeds the `kernels/*.cu` sources and compiles them with NVRTC;
//! - [`kernels`] launches them, forward and backward, on `CudaSlice<f32>` buffers;
//! - [`reference`](mod@reference) computes the same maths with plain loops on the CPU;
//! - [`philox`] is the CPU twin of the device's normal generator;
//! - [`error`] defines [`CudaError`].
//!
//! cudarc loads libcuda and libnvrtc at run time, so this module builds everywhere; without a
//! driver, [`GpuContext::open`] returns [`CudaError::NoDriver`].

pub mod backend;
pub mod bench;
pub mod compile;
pub mod device;
pub mod error;
pub mod kernels;
pub mod philox;
pub mod reference;

pub use cudarc::driver::CudaSlice;

pub use backend::CudaBackend;
pub use compile::{compile_ptx, nvrtc_available, KernelSource, KERNEL_SOURCES};
pub use device::{device_count, driver_available, GpuContext};
pub use error::CudaError;
pub use kernels::{Gaussian, GaussianGrad, KlLayout, Reduction};
