//! The errors of the CUDA backend.
//!
//! Everything a user can run into (no driver, no GPU, no NVRTC, a kernel that does not
//! compile, buffers of the wrong length) is an ordinary value of [`CudaError`], never a panic.
//! The crate's own error type wraps it.

use cudarc::driver::DriverError;

/// Why a CUDA operation could not run.
#[derive(Debug, thiserror::Error)]
pub enum CudaError {
    /// The CUDA driver library (`libcuda.so`) could not be loaded: no NVIDIA driver here.
    #[error("no CUDA driver found (libcuda.so); use --device cpu")]
    NoDriver,

    /// The driver loaded, but there is no device with this ordinal.
    #[error("no CUDA device with ordinal {ordinal}: {count} device(s) found; use --device cpu")]
    NoDevice {
        /// The ordinal that was asked for.
        ordinal: usize,
        /// How many devices the driver reports.
        count: usize,
    },

    /// The NVRTC library (`libnvrtc.so`) could not be loaded, so kernels cannot be compiled.
    #[error(
        "no NVRTC library found (libnvrtc.so); install the CUDA toolkit or source \
         .ci/nvrtc-env.sh"
    )]
    NoNvrtc,

    /// NVRTC rejected a kernel source; `log` is its message, with file name and line.
    #[error("NVRTC could not compile {file} with {options:?}:\n{log}")]
    Compile {
        /// The source file, as `kernels/<name>.cu`.
        file: String,
        /// The options passed to NVRTC.
        options: Vec<String>,
        /// NVRTC's log.
        log: String,
    },

    /// NVRTC failed for a reason other than the source (creating the program, reading PTX).
    #[error("NVRTC failed on {file}: {message}")]
    Nvrtc {
        /// The source file, as `kernels/<name>.cu`.
        file: String,
        /// What NVRTC reported.
        message: String,
    },

    /// A CUDA driver call returned an error (out of memory, launch failure, ...).
    #[error("CUDA driver error: {0}")]
    Driver(#[from] DriverError),

    /// cudarc panicked inside a driver or NVRTC call, e.g. because the loaded library lacks a
    /// symbol it needs (a driver older than the CUDA version cudarc was built for).
    #[error("CUDA library call `{call}` failed: {message}")]
    Library {
        /// The call that panicked.
        call: &'static str,
        /// The panic message.
        message: String,
    },

    /// Buffers handed to a kernel do not have the lengths the kernel needs.
    #[error("{op}: {detail}")]
    Shape {
        /// The kernel launcher that refused the buffers.
        op: &'static str,
        /// Which lengths were expected and which were given.
        detail: String,
    },
}

/// Runs `f`, turning a panic inside cudarc into [`CudaError::Library`].
///
/// cudarc's dynamically loaded bindings panic when a library or a symbol is missing; the
/// presence checks in [`crate::cuda::device`] and [`crate::cuda::compile`] rule out the first
/// case, and this guard turns the rest into an ordinary error.
pub(crate) fn guard<T>(call: &'static str, f: impl FnOnce() -> T) -> Result<T, CudaError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        let message = if let Some(text) = payload.downcast_ref::<&str>() {
            (*text).to_string()
        } else if let Some(text) = payload.downcast_ref::<String>() {
            text.clone()
        } else {
            "unknown panic".to_string()
        };
        CudaError::Library { call, message }
    })
}

impl From<CudaError> for crate::Error {
    fn from(err: CudaError) -> Self {
        crate::Error::Cuda(err.to_string())
    }
}
