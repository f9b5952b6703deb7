//! [`kernel_bandwidths`]: the effective memory bandwidth of every custom kernel, for
//! `dmil bench --device cuda`.
//!
//! Each kernel runs `repeats` times on buffers of `elements` floats after one untimed launch;
//! the time is the wall time of all launches up to a stream synchronization, divided by
//! `repeats`. The bytes counted are those the kernel must read and write at least once (an
//! accumulated output counts twice: read and written), so the figure compares with the
//! device's peak bandwidth (about 4.8 TB/s on an H200). Never run on a GPU yet.

use std::time::Instant;

use cudarc::driver::CudaSlice;

use super::backend::CudaBackend;
use super::kernels::{self as k, Gaussian, GaussianGrad, KlLayout, Reduction};
use crate::error::Result;
use crate::step::{AdamArgs, Backend};

/// The measured bandwidth of one kernel.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct KernelBandwidth {
    /// The kernel, as `file: function`.
    pub kernel: &'static str,
    /// Elements of each input.
    pub elements: usize,
    /// Bytes read and written per launch.
    pub bytes: u64,
    /// Mean time per launch.
    pub mean_us: f64,
    /// `bytes / time`, in GB/s.
    pub gb_per_s: f64,
}

/// Row length of the per-row KL reductions and of the bias.
const COLS: usize = 64;

/// Times every custom kernel on `elements`-element buffers.
///
/// # Errors
/// Device errors (out of memory for large `elements`).
pub fn kernel_bandwidths(
    backend: &CudaBackend,
    elements: usize,
    repeats: usize,
) -> Result<Vec<KernelBandwidth>> {
    let gpu = backend.gpu();
    let n = elements.next_multiple_of(COLS);
    let repeats = repeats.max(1);
    let mut bufs: Vec<CudaSlice<f32>> = Vec::with_capacity(8);
    for i in 0..8 {
        let mut b = backend.zeros(n)?;
        backend.fill_normal(&mut b, 1, (i * n) as u64)?;
        bufs.push(b);
    }
    let mut wide = backend.zeros(3 * n)?;
    let mut rows_out = backend.zeros(n / COLS)?;
    let mut one = backend.zeros(1)?;
    let mut stats = backend.zeros(9)?;
    let bias = backend.zeros(COLS)?;
    let mut out = Vec::new();

    let mut timed = |kernel: &'static str, arrays: u64, run: &mut dyn FnMut() -> Result<()>| {
        run()?;
        gpu.synchronize()?;
        let started = Instant::now();
        for _ in 0..repeats {
            run()?;
        }
        gpu.synchronize()?;
        let mean_us = started.elapsed().as_secs_f64() * 1e6 / repeats as f64;
        let bytes = arrays * 4 * n as u64;
        out.push(KernelBandwidth {
            kernel,
            elements: n,
            bytes,
            mean_us,
            gb_per_s: bytes as f64 / (mean_us * 1e3),
        });
        Ok::<(), crate::Error>(())
    };

    let [a, b, c, d, e, f, g, h] = &mut bufs[..] else {
        unreachable!("eight buffers were allocated above")
    };
    let sum = KlLayout {
        cols: COLS,
        reduction: Reduction::Sum,
    };
    let per_row = KlLayout {
        cols: COLS,
        reduction: Reduction::PerRow,
    };

    timed("reparameterize.cu: reparameterize_forward", 4, &mut || {
        Ok(k::reparameterize(gpu, a, b, c, d)?)
    })?;
    timed("reparameterize.cu: reparameterize_backward", 5, &mut || {
        Ok(k::reparameterize_backward(gpu, a, b, c, d, e)?)
    })?;
    timed("reparameterize.cu: standard_normal", 1, &mut || {
        Ok(k::standard_normal(gpu, d, 3, 0)?)
    })?;
    let x = Gaussian { mu: a, logvar: b };
    timed("gaussian_kl.cu: kl_std_sum", 2, &mut || {
        Ok(k::kl_std(gpu, x, sum, &mut one)?)
    })?;
    timed("gaussian_kl.cu: kl_std_rows", 2, &mut || {
        Ok(k::kl_std(gpu, x, per_row, &mut rows_out)?)
    })?;
    timed("gaussian_kl.cu: kl_std_backward", 4, &mut || {
        let dx = GaussianGrad { mu: d, logvar: e };
        Ok(k::kl_std_backward(gpu, &one, x, sum, dx)?)
    })?;
    let p = Gaussian { mu: c, logvar: h };
    timed("gaussian_kl.cu: kl_pair_sum", 4, &mut || {
        Ok(k::kl_pair(gpu, x, p, sum, &mut one)?)
    })?;
    timed("gaussian_kl.cu: kl_pair_rows", 4, &mut || {
        Ok(k::kl_pair(gpu, x, p, per_row, &mut rows_out)?)
    })?;
    timed("gaussian_kl.cu: kl_pair_backward", 8, &mut || {
        let dq = GaussianGrad { mu: d, logvar: e };
        let dp = GaussianGrad { mu: f, logvar: g };
        Ok(k::kl_pair_backward(gpu, &one, x, p, sum, dq, dp)?)
    })?;
    timed("synergy.cu: product_forward", 3, &mut || {
        Ok(k::product(gpu, a, b, d)?)
    })?;
    timed("synergy.cu: product_backward", 5, &mut || {
        Ok(k::product_backward(gpu, c, a, b, d, e)?)
    })?;
    timed("synergy.cu: features_forward", 5, &mut || {
        Ok(k::synergy_features(gpu, a, b, COLS, &mut wide)?)
    })?;
    timed("synergy.cu: features_backward", 7, &mut || {
        Ok(k::synergy_features_backward(gpu, &wide, a, b, COLS, d, e)?)
    })?;

    timed("step.cu: add_bias", 2, &mut || backend.add_bias(d, &bias))?;
    timed("step.cu: add_column_sums", 1, &mut || {
        let mut sums = backend.zeros(COLS)?;
        backend.add_column_sums(a, &mut sums)
    })?;
    timed("step.cu: relu_forward", 2, &mut || backend.relu(d))?;
    timed("step.cu: relu_backward", 3, &mut || {
        backend.relu_backward(a, d)
    })?;
    timed("step.cu: mul_assign", 3, &mut || backend.mul_assign(d, a))?;
    timed(
        "step.cu: dropout_mask (with standard_normal)",
        3,
        &mut || backend.dropout_mask(d, 0.5, 5, 0),
    )?;
    timed("step.cu: reparameterize_backward_add", 7, &mut || {
        backend.reparameterize_backward(a, b, c, d, e)
    })?;
    timed("step.cu: product_backward_add", 7, &mut || {
        backend.product_backward(c, a, b, d, e)
    })?;
    timed("step.cu: kl_standard_normal", 6, &mut || {
        backend.kl_standard_normal(a, b, 1e-9, &mut stats, 0, d, e)
    })?;
    timed("step.cu: kl_gaussians", 12, &mut || {
        backend.kl_gaussians([a, b], [c, h], 1e-9, &mut stats, 1, [d, e, f, g])
    })?;
    timed("step.cu: mse", 3, &mut || {
        backend.mse(a, b, 1e-9, &mut stats, 2, d)
    })?;
    timed("step.cu: sum_squares", 1, &mut || {
        backend.sum_squares(a, &mut stats, 8)
    })?;
    let args = AdamArgs {
        step_size: 1e-9,
        root_correction2: 1.0,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
        max_norm: 0.0,
        norm_slot: 8,
        loss_slots: 8,
    };
    timed("step.cu: adam", 7, &mut || {
        backend.adam(d, a, e, f, &stats, args)
    })?;
    Ok(out)
}
