//! Effective memory bandwidth of each CUDA kernel on 64M-element f32 inputs.
//!
//! Bandwidth = (bytes read + bytes written) / kernel time, timed with CUDA events over ten
//! launches after one warm-up, and compared with the 4800 GB/s peak of an H200. Without a GPU
//! it says so and exits 0.
//!
//! Run: `cargo run --release --example cuda_bandwidth --features cuda`.

#[cfg(feature = "cuda")]
mod bench {
    use cudarc::driver::sys::CUevent_flags;
    use dmil::cuda::kernels::{self as k, Gaussian, GaussianGrad, KlLayout, Reduction};
    use dmil::cuda::{CudaError, CudaSlice, GpuContext};

    /// Elements per input: 64M f32, 256 MiB a buffer.
    const N: usize = 64 << 20;

    /// Row length for the per-row KL and the synergy features (a latent dimension).
    const COLS: usize = 64;

    /// Peak HBM3e bandwidth of the H200, in GB/s.
    const PEAK_GBPS: f64 = 4800.0;

    /// Timed launches per kernel.
    const REPEATS: u32 = 10;

    /// Times `launch` and prints its bandwidth, given the f32 values it reads and writes.
    fn measure(
        gpu: &GpuContext,
        name: &str,
        floats_moved: usize,
        mut launch: impl FnMut() -> Result<(), CudaError>,
    ) -> Result<(), CudaError> {
        launch()?;
        let start = gpu
            .context()
            .new_event(Some(CUevent_flags::CU_EVENT_DEFAULT))?;
        let stop = gpu
            .context()
            .new_event(Some(CUevent_flags::CU_EVENT_DEFAULT))?;

        start.record(gpu.stream())?;
        for _ in 0..REPEATS {
            launch()?;
        }
        stop.record(gpu.stream())?;
        let seconds = f64::from(start.elapsed_ms(&stop)?) / 1e3 / f64::from(REPEATS);

        let gbps = (floats_moved * 4) as f64 / seconds / 1e9;
        println!(
            "{name:<28} {:>8.3} ms {gbps:>8.1} GB/s {:>5.1} % of peak",
            seconds * 1e3,
            100.0 * gbps / PEAK_GBPS
        );
        Ok(())
    }

    fn buffer(gpu: &GpuContext, seed: u64) -> Result<CudaSlice<f32>, CudaError> {
        let mut buf = gpu.zeros(N)?;
        k::standard_normal(gpu, &mut buf, seed, 0)?;
        Ok(buf)
    }

    /// Runs every measurement on GPU 0.
    pub fn run() -> Result<(), CudaError> {
        let gpu = match GpuContext::open(0) {
            Ok(gpu) => gpu,
            Err(err @ (CudaError::NoDriver | CudaError::NoDevice { .. })) => {
                println!("no GPU present ({err}); nothing to measure");
                return Ok(());
            }
            Err(err) => return Err(err),
        };
        println!("{} ({}), {N} elements a buffer", gpu.name()?, gpu.arch());

        let [a, b, c, d] = [
            buffer(&gpu, 1)?,
            buffer(&gpu, 2)?,
            buffer(&gpu, 3)?,
            buffer(&gpu, 4)?,
        ];
        let mut o1 = gpu.zeros(N)?;
        let mut o2 = gpu.zeros(N)?;
        let mut o3 = gpu.zeros(N)?;
        let mut o4 = gpu.zeros(N)?;
        let mut wide = gpu.zeros(3 * N)?;
        let rows = N / COLS;
        let mut per_row = gpu.zeros(rows)?;
        let mut scalar = gpu.zeros(1)?;
        let g_rows = gpu.zeros(rows)?;
        let g_one = gpu.upload(&[1.0])?;
        let q = Gaussian { mu: &a, logvar: &b };
        let p = Gaussian { mu: &c, logvar: &d };
        let by_row = KlLayout {
            cols: COLS,
            reduction: Reduction::PerRow,
        };
        let summed = KlLayout {
            cols: COLS,
            reduction: Reduction::Sum,
        };

        measure(&gpu, "standard_normal", N, || {
            k::standard_normal(&gpu, &mut o1, 9, 0)
        })?;
        measure(&gpu, "reparameterize", 4 * N, || {
            k::reparameterize(&gpu, &a, &b, &c, &mut o1)
        })?;
        measure(&gpu, "reparameterize_backward", 5 * N, || {
            k::reparameterize_backward(&gpu, &a, &b, &c, &mut o1, &mut o2)
        })?;
        measure(&gpu, "kl_std (sum)", 2 * N, || {
            k::kl_std(&gpu, q, summed, &mut scalar)
        })?;
        measure(&gpu, "kl_std (per row)", 2 * N + rows, || {
            k::kl_std(&gpu, q, by_row, &mut per_row)
        })?;
        measure(&gpu, "kl_std_backward", 4 * N + rows, || {
            let dx = GaussianGrad {
                mu: &mut o1,
                logvar: &mut o2,
            };
            k::kl_std_backward(&gpu, &g_rows, q, by_row, dx)
        })?;
        measure(&gpu, "kl_pair (sum)", 4 * N, || {
            k::kl_pair(&gpu, q, p, summed, &mut scalar)
        })?;
        measure(&gpu, "kl_pair (per row)", 4 * N + rows, || {
            k::kl_pair(&gpu, q, p, by_row, &mut per_row)
        })?;
        measure(&gpu, "kl_pair_backward", 8 * N, || {
            let dq = GaussianGrad {
                mu: &mut o1,
                logvar: &mut o2,
            };
            let dp = GaussianGrad {
                mu: &mut o3,
                logvar: &mut o4,
            };
            k::kl_pair_backward(&gpu, &g_one, q, p, summed, dq, dp)
        })?;
        measure(&gpu, "product", 3 * N, || k::product(&gpu, &a, &b, &mut o1))?;
        measure(&gpu, "product_backward", 5 * N, || {
            k::product_backward(&gpu, &c, &a, &b, &mut o1, &mut o2)
        })?;
        measure(&gpu, "synergy_features", 5 * N, || {
            k::synergy_features(&gpu, &a, &b, COLS, &mut wide)
        })?;
        measure(&gpu, "synergy_features_backward", 7 * N, || {
            k::synergy_features_backward(&gpu, &wide, &a, &b, COLS, &mut o1, &mut o2)
        })?;
        Ok(())
    }
}

#[cfg(feature = "cuda")]
fn main() -> std::process::ExitCode {
    match bench::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "cuda"))]
fn main() {
    println!("built without the `cuda` feature; rerun with --features cuda");
}
