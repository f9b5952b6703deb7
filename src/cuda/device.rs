//! Opening a GPU: the driver presence check, the context and stream, the module cache, and
//! copies between host and device.
//!
//! cudarc loads `libcuda` at run time (feature `dynamic-loading`), so the crate builds and
//! runs on machines without CUDA; but its first driver call panics when the library is
//! missing. [`GpuContext::open`] therefore checks for the library first and reports its
//! absence as [`CudaError::NoDriver`], and guards the remaining calls against panics.

use std::sync::{Arc, Mutex};

use cudarc::driver::{
    self, sys::CUdevice_attribute, CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream,
    LaunchConfig,
};

use super::compile::{compile_ptx, KernelSource, KERNEL_SOURCES};
use super::error::{guard, CudaError};

/// Threads per block of every launch; a multiple of 32, as the reductions need.
pub(crate) const BLOCK_SIZE: u32 = 256;

/// Resident blocks per multiprocessor that a grid-stride launch aims for.
const BLOCKS_PER_SM: u32 = 8;

/// Whether the CUDA driver library (`libcuda.so`) can be loaded on this machine.
///
/// `false` means no NVIDIA driver is installed; `true` does not promise a usable GPU.
pub fn driver_available() -> bool {
    // SAFETY: loading libcuda runs only its initialisers; cudarc's check then drops it again.
    guard("driver::is_culib_present", || unsafe {
        driver::sys::is_culib_present()
    })
    .unwrap_or(false)
}

/// The number of CUDA devices.
///
/// # Errors
///
/// [`CudaError::NoDriver`] without libcuda; [`CudaError::Driver`] if `cuInit` fails (for
/// example `CUDA_ERROR_NO_DEVICE` when the driver is installed but no GPU is visible).
pub fn device_count() -> Result<usize, CudaError> {
    if !driver_available() {
        return Err(CudaError::NoDriver);
    }

    let count = guard("CudaContext::device_count", CudaContext::device_count)??;
    Ok(usize::try_from(count).unwrap_or(0))
}

/// One GPU, ready to run the kernels of `kernels/`.
///
/// It holds the device's primary context, one stream on which every launch and copy of this
/// wrapper is ordered, and the modules compiled so far: each kernel file is compiled by NVRTC
/// and loaded on first use, then reused.
#[derive(Debug)]
pub struct GpuContext {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    arch: String,
    multiprocessors: u32,
    modules: Mutex<[Option<Arc<CudaModule>>; KERNEL_SOURCES.len()]>,
}

impl GpuContext {
    /// Opens device `ordinal` (0 for the first GPU).
    ///
    /// # Errors
    ///
    /// [`CudaError::NoDriver`] when libcuda is missing ("no CUDA driver found (libcuda.so); use
    /// --device cpu"), [`CudaError::NoDevice`] when `ordinal` is out of range,
    /// [`CudaError::Driver`] or [`CudaError::Library`] when the driver fails.
    pub fn open(ordinal: usize) -> Result<Self, CudaError> {
        let count = device_count()?;
        if ordinal >= count {
            return Err(CudaError::NoDevice { ordinal, count });
        }

        let ctx = guard("CudaContext::new", || CudaContext::new(ordinal))??;
        let stream = ctx.default_stream();

        let (major, minor) = ctx.compute_capability()?;
        let sms = ctx.attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)?;

        Ok(Self {
            ctx,
            stream,
            arch: format!("compute_{major}{minor}"),
            multiprocessors: u32::try_from(sms).unwrap_or(1).max(1),
            modules: Mutex::new(Default::default()),
        })
    }

    /// The device's name, e.g. "NVIDIA H200".
    ///
    /// # Errors
    ///
    /// [`CudaError::Driver`] if the driver call fails.
    pub fn name(&self) -> Result<String, CudaError> {
        Ok(self.ctx.name()?)
    }

    /// The virtual architecture kernels are compiled for, e.g. `compute_90`.
    pub fn arch(&self) -> &str {
        &self.arch
    }

    /// The stream on which this context's kernels and copies run, in order.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// The underlying cudarc context, e.g. to create timing events.
    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    /// Waits until all work queued on [`Self::stream`] has finished.
    ///
    /// # Errors
    ///
    /// [`CudaError::Driver`] if a queued kernel or copy failed.
    pub fn synchronize(&self) -> Result<(), CudaError> {
        Ok(self.stream.synchronize()?)
    }

    /// Copies `host` into a new device buffer.
    ///
    /// # Errors
    ///
    /// [`CudaError::Driver`] if allocation or the copy fails.
    pub fn upload(&self, host: &[f32]) -> Result<CudaSlice<f32>, CudaError> {
        Ok(self.stream.clone_htod(host)?)
    }

    /// Copies a device buffer back into a new vector, waiting for queued work first.
    ///
    /// # Errors
    ///
    /// [`CudaError::Driver`] if the copy, or earlier work on the stream, fails.
    pub fn download(&self, device: &CudaSlice<f32>) -> Result<Vec<f32>, CudaError> {
        Ok(self.stream.clone_dtoh(device)?)
    }

    /// A new device buffer of `len` zeros, e.g. for a kernel's output.
    ///
    /// # Errors
    ///
    /// [`CudaError::Driver`] if allocation fails.
    pub fn zeros(&self, len: usize) -> Result<CudaSlice<f32>, CudaError> {
        Ok(self.stream.alloc_zeros::<f32>(len)?)
    }

    /// The kernel `name` of `source`, compiling and loading `source` on first use.
    ///
    /// # Errors
    ///
    /// Those of [`compile_ptx`], and [`CudaError::Driver`] if loading fails.
    pub(crate) fn function(
        &self,
        source: &KernelSource,
        name: &str,
    ) -> Result<CudaFunction, CudaError> {
        let slot = KERNEL_SOURCES
            .iter()
            .position(|s| s.file == source.file)
            .ok_or_else(|| CudaError::Nvrtc {
                file: source.file.to_string(),
                message: "not one of the embedded kernel files".to_string(),
            })?;

        let module = {
            let mut modules = self
                .modules
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            match &modules[slot] {
                Some(module) => module.clone(),
                None => {
                    let ptx = compile_ptx(source, &self.arch)?;
                    let module = self.ctx.load_module(ptx)?;
                    modules[slot] = Some(module.clone());
                    module
                }
            }
        };

        Ok(module.load_function(name)?)
    }

    /// A grid-stride launch configuration for `work` independent items: 256 threads a block,
    /// enough blocks to fill the GPU (8 per multiprocessor) but no more than the work needs.
    pub(crate) fn launch_config(&self, work: u64) -> LaunchConfig {
        let needed = work.div_ceil(u64::from(BLOCK_SIZE)).max(1);
        let cap = u64::from(self.multiprocessors * BLOCKS_PER_SM);
        LaunchConfig {
            grid_dim: (needed.min(cap) as u32, 1, 1),
            block_dim: (BLOCK_SIZE, 1, 1),
            shared_mem_bytes: 0,
        }
    }
}
