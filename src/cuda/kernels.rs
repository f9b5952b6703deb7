//! Typed launchers for the kernels of `kernels/`, on `CudaSlice<f32>` buffers.
//!
//! Every launcher checks the lengths of its buffers, writes into outputs the caller allocated
//! (so buffers can be reused from step to step, and a benchmark times the kernel alone), and
//! queues the kernel on [`GpuContext::stream`] without waiting for it. Inputs are row-major;
//! the maths of each kernel is in [`crate::cuda::reference`], which the GPU tests compare with.

use cudarc::driver::{CudaSlice, LaunchArgs, PushKernelArg};

use super::compile::{GAUSSIAN_KL, REPARAMETERIZE, SYNERGY};
use super::device::GpuContext;
use super::error::CudaError;

/// How a KL divergence is reduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    /// One value per row: output `[rows]`, upstream gradient `[rows]`.
    PerRow,
    /// One value for everything: output `[1]`, upstream gradient `[1]`.
    Sum,
}

/// The layout of a KL divergence's inputs: rows of `cols` values, reduced by `reduction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KlLayout {
    /// The length of a row (the latent dimension); must be positive.
    pub cols: usize,
    /// Per row or over everything.
    pub reduction: Reduction,
}

/// A diagonal Gaussian on the device: means and log-variances of equal length.
#[derive(Debug, Clone, Copy)]
pub struct Gaussian<'a> {
    /// The means.
    pub mu: &'a CudaSlice<f32>,
    /// The log-variances, `ln sigma^2`.
    pub logvar: &'a CudaSlice<f32>,
}

/// Where the gradients of a [`Gaussian`]'s two parameters go.
#[derive(Debug)]
pub struct GaussianGrad<'a> {
    /// Gradient with respect to the means.
    pub mu: &'a mut CudaSlice<f32>,
    /// Gradient with respect to the log-variances.
    pub logvar: &'a mut CudaSlice<f32>,
}

/// Fails with [`CudaError::Shape`] unless `got == want`.
fn expect_len(op: &'static str, what: &str, got: usize, want: usize) -> Result<(), CudaError> {
    if got == want {
        return Ok(());
    }
    Err(CudaError::Shape {
        op,
        detail: format!("{what} has {got} elements, expected {want}"),
    })
}

/// The number of rows of `len` elements in rows of `cols`.
fn row_count(op: &'static str, len: usize, cols: usize) -> Result<usize, CudaError> {
    if cols == 0 || !len.is_multiple_of(cols) {
        let detail = format!("{len} elements do not form rows of {cols} (cols must be > 0)");
        return Err(CudaError::Shape { op, detail });
    }
    Ok(len / cols)
}

/// The length of a KL divergence's output (and of its upstream gradient).
fn kl_out_len(op: &'static str, len: usize, layout: KlLayout) -> Result<usize, CudaError> {
    let rows = row_count(op, len, layout.cols)?;
    Ok(match layout.reduction {
        Reduction::PerRow => rows,
        Reduction::Sum => 1,
    })
}

/// Queues a configured launch.
///
/// # Safety
///
/// The arguments pushed on `args` must match the kernel's parameters in number, order and
/// type, and every buffer must be as long as the kernel will index it.
unsafe fn launch(gpu: &GpuContext, mut args: LaunchArgs<'_>, work: u64) -> Result<(), CudaError> {
    args.launch(gpu.launch_config(work))?;
    Ok(())
}

// ---- reparameterisation ---------------------------------------------------------------------

/// `z = mu + exp(logvar / 2) * eps`, element by element.
///
/// # Errors
///
/// [`CudaError::Shape`] unless all four buffers have equal lengths; compile and driver errors.
pub fn reparameterize(
    gpu: &GpuContext,
    mu: &CudaSlice<f32>,
    logvar: &CudaSlice<f32>,
    eps: &CudaSlice<f32>,
    z: &mut CudaSlice<f32>,
) -> Result<(), CudaError> {
    const OP: &str = "reparameterize";
    let n = mu.len();
    expect_len(OP, "logvar", logvar.len(), n)?;
    expect_len(OP, "eps", eps.len(), n)?;
    expect_len(OP, "z", z.len(), n)?;
    if n == 0 {
        return Ok(());
    }

    let f = gpu.function(&REPARAMETERIZE, "reparameterize_forward")?;
    let n = n as u64;
    let mut args = gpu.stream().launch_builder(&f);
    args.arg(mu).arg(logvar).arg(eps).arg(z).arg(&n);

    // SAFETY: (mu, logvar, eps, z, n) as in the kernel; all four buffers hold n floats.
    unsafe { launch(gpu, args, n.div_ceil(4)) }
}

/// Backward of [`reparameterize`]: `dmu = dz`, `dlogvar = dz * eps * exp(logvar / 2) / 2`.
///
/// # Errors
///
/// [`CudaError::Shape`] unless all five buffers have equal lengths; compile and driver errors.
pub fn reparameterize_backward(
    gpu: &GpuContext,
    dz: &CudaSlice<f32>,
    logvar: &CudaSlice<f32>,
    eps: &CudaSlice<f32>,
    dmu: &mut CudaSlice<f32>,
    dlogvar: &mut CudaSlice<f32>,
) -> Result<(), CudaError> {
    const OP: &str = "reparameterize_backward";
    let n = dz.len();
    expect_len(OP, "logvar", logvar.len(), n)?;
    expect_len(OP, "eps", eps.len(), n)?;
    expect_len(OP, "dmu", dmu.len(), n)?;
    expect_len(OP, "dlogvar", dlogvar.len(), n)?;
    if n == 0 {
        return Ok(());
    }

    let f = gpu.function(&REPARAMETERIZE, "reparameterize_backward")?;
    let n = n as u64;
    let mut args = gpu.stream().launch_builder(&f);
    args.arg(dz)
        .arg(logvar)
        .arg(eps)
        .arg(dmu)
        .arg(dlogvar)
        .arg(&n);

    // SAFETY: (dz, logvar, eps, dmu, dlogvar, n) as in the kernel; all hold n floats.
    unsafe { launch(gpu, args, n.div_ceil(4)) }
}

/// Fills `out` with standard normals `offset..offset + out.len()` of the stream `seed`.
///
/// The stream is Philox-4x32-10 with Box-Muller (see [`crate::cuda::philox`], which computes
/// the same numbers on the CPU): the same `(seed, offset)` always gives the same values, and
/// filling `[0, n)` then `[n, 2n)` gives the same as filling `[0, 2n)` at once.
///
/// # Errors
///
/// [`CudaError::Shape`] if `offset + out.len()` overflows a u64; compile and driver errors.
pub fn standard_normal(
    gpu: &GpuContext,
    out: &mut CudaSlice<f32>,
    seed: u64,
    offset: u64,
) -> Result<(), CudaError> {
    if offset.checked_add(out.len() as u64).is_none() {
        let detail = format!(
            "positions {offset} + {} run past the end of the stream",
            out.len()
        );
        return Err(CudaError::Shape {
            op: "standard_normal",
            detail,
        });
    }
    if out.is_empty() {
        return Ok(());
    }

    let f = gpu.function(&REPARAMETERIZE, "standard_normal")?;
    let n = out.len() as u64;
    let mut args = gpu.stream().launch_builder(&f);
    args.arg(out).arg(&n).arg(&seed).arg(&offset);

    // SAFETY: (out, n, seed, offset) as in the kernel; out holds n > 0 floats.
    unsafe { launch(gpu, args, n.div_ceil(4) + 1) }
}

// ---- KL divergences --------------------------------------------------------------------------

/// Launches `<prefix>_rows` or `<prefix>_sum` of `gaussian_kl.cu` on `inputs`.
fn kl_forward(
    gpu: &GpuContext,
    prefix: &str,
    inputs: &[&CudaSlice<f32>],
    layout: KlLayout,
    out: &mut CudaSlice<f32>,
) -> Result<(), CudaError> {
    let n = inputs[0].len() as u64;
    let cols = layout.cols as u64;

    match layout.reduction {
        Reduction::Sum => {
            gpu.stream().memset_zeros(out)?;
            if n == 0 {
                return Ok(());
            }
            let f = gpu.function(&GAUSSIAN_KL, &format!("{prefix}_sum"))?;
            let mut args = gpu.stream().launch_builder(&f);
            for input in inputs {
                args.arg(*input);
            }
            args.arg(out).arg(&n);

            // SAFETY: (inputs.., out, n) as in kl_std_sum / kl_pair_sum; the caller checked
            // that every input holds n floats and out one.
            unsafe { launch(gpu, args, n.div_ceil(4)) }
        }
        Reduction::PerRow => {
            let rows = n / cols;
            if rows == 0 {
                return Ok(());
            }
            let f = gpu.function(&GAUSSIAN_KL, &format!("{prefix}_rows"))?;
            let mut args = gpu.stream().launch_builder(&f);
            for input in inputs {
                args.arg(*input);
            }
            args.arg(out).arg(&rows).arg(&cols);

            // SAFETY: (inputs.., out, rows, cols) as in kl_std_rows / kl_pair_rows; the caller
            // checked that every input holds rows * cols floats and out rows. One warp a row.
            unsafe { launch(gpu, args, rows * 32) }
        }
    }
}

/// `KL(N(mu, exp(logvar)) || N(0, I)) = 1/2 sum (exp(logvar) + mu^2 - 1 - logvar)`, per row
/// (`out` has `rows` elements) or over everything (`out` has one).
///
/// The sum over everything adds per-block partial sums atomically, so its last bits may vary
/// from run to run.
///
/// # Errors
///
/// [`CudaError::Shape`] if `mu` and `logvar` differ in length, do not form rows of
/// `layout.cols`, or `out` has the wrong length; compile and driver errors.
pub fn kl_std(
    gpu: &GpuContext,
    x: Gaussian<'_>,
    layout: KlLayout,
    out: &mut CudaSlice<f32>,
) -> Result<(), CudaError> {
    const OP: &str = "kl_std";
    let n = x.mu.len();
    expect_len(OP, "logvar", x.logvar.len(), n)?;
    expect_len(OP, "out", out.len(), kl_out_len(OP, n, layout)?)?;

    kl_forward(gpu, "kl_std", &[x.mu, x.logvar], layout, out)
}

/// The per-row flag of the backward kernels.
fn per_row_flag(layout: KlLayout) -> u32 {
    u32::from(layout.reduction == Reduction::PerRow)
}

/// Backward of [`kl_std`] with upstream gradient `g` (`[rows]` or `[1]`):
/// `dmu = g mu`, `dlogvar = g (exp(logvar) - 1) / 2`.
///
/// # Errors
///
/// [`CudaError::Shape`] if any buffer has the wrong length; compile and driver errors.
pub fn kl_std_backward(
    gpu: &GpuContext,
    g: &CudaSlice<f32>,
    x: Gaussian<'_>,
    layout: KlLayout,
    dx: GaussianGrad<'_>,
) -> Result<(), CudaError> {
    const OP: &str = "kl_std_backward";
    let n = x.mu.len();
    expect_len(OP, "logvar", x.logvar.len(), n)?;
    expect_len(OP, "g", g.len(), kl_out_len(OP, n, layout)?)?;
    expect_len(OP, "dmu", dx.mu.len(), n)?;
    expect_len(OP, "dlogvar", dx.logvar.len(), n)?;
    if n == 0 {
        return Ok(());
    }

    let f = gpu.function(&GAUSSIAN_KL, "kl_std_backward")?;
    let (n, cols, per_row) = (n as u64, layout.cols as u64, per_row_flag(layout));
    let mut args = gpu.stream().launch_builder(&f);
    args.arg(g)
        .arg(x.mu)
        .arg(x.logvar)
        .arg(dx.mu)
        .arg(dx.logvar);
    args.arg(&n).arg(&cols).arg(&per_row);

    // SAFETY: (g, mu, lv, dmu, dlv, n, cols, per_row) as in the kernel; lengths checked above.
    unsafe { launch(gpu, args, n.div_ceil(4)) }
}

/// `KL(q || p) = 1/2 sum (lp - lq + (exp(lq) + (mq - mp)^2) / exp(lp) - 1)` between diagonal
/// Gaussians of equal shape, per row (`out` has `rows` elements) or over everything (one).
///
/// # Errors
///
/// [`CudaError::Shape`] if the four inputs differ in length, do not form rows of
/// `layout.cols`, or `out` has the wrong length; compile and driver errors.
pub fn kl_pair(
    gpu: &GpuContext,
    q: Gaussian<'_>,
    p: Gaussian<'_>,
    layout: KlLayout,
    out: &mut CudaSlice<f32>,
) -> Result<(), CudaError> {
    const OP: &str = "kl_pair";
    let n = q.mu.len();
    expect_len(OP, "q.logvar", q.logvar.len(), n)?;
    expect_len(OP, "p.mu", p.mu.len(), n)?;
    expect_len(OP, "p.logvar", p.logvar.len(), n)?;
    expect_len(OP, "out", out.len(), kl_out_len(OP, n, layout)?)?;

    kl_forward(
        gpu,
        "kl_pair",
        &[q.mu, q.logvar, p.mu, p.logvar],
        layout,
        out,
    )
}

/// Backward of [`kl_pair`] with upstream gradient `g` (`[rows]` or `[1]`). With
/// `d = mq - mp`: `dmq = g d / vp`, `dmp = -dmq`, `dlq = g (vq / vp - 1) / 2`,
/// `dlp = g (1 - (vq + d^2) / vp) / 2`.
///
/// # Errors
///
/// [`CudaError::Shape`] if any buffer has the wrong length; compile and driver errors.
pub fn kl_pair_backward(
    gpu: &GpuContext,
    g: &CudaSlice<f32>,
    q: Gaussian<'_>,
    p: Gaussian<'_>,
    layout: KlLayout,
    dq: GaussianGrad<'_>,
    dp: GaussianGrad<'_>,
) -> Result<(), CudaError> {
    const OP: &str = "kl_pair_backward";
    let n = q.mu.len();
    expect_len(OP, "q.logvar", q.logvar.len(), n)?;
    expect_len(OP, "p.mu", p.mu.len(), n)?;
    expect_len(OP, "p.logvar", p.logvar.len(), n)?;
    expect_len(OP, "g", g.len(), kl_out_len(OP, n, layout)?)?;
    for (what, len) in [
        ("dq.mu", dq.mu.len()),
        ("dq.logvar", dq.logvar.len()),
        ("dp.mu", dp.mu.len()),
        ("dp.logvar", dp.logvar.len()),
    ] {
        expect_len(OP, what, len, n)?;
    }
    if n == 0 {
        return Ok(());
    }

    let f = gpu.function(&GAUSSIAN_KL, "kl_pair_backward")?;
    let (n, cols, per_row) = (n as u64, layout.cols as u64, per_row_flag(layout));
    let mut args = gpu.stream().launch_builder(&f);
    args.arg(g).arg(q.mu).arg(q.logvar).arg(p.mu).arg(p.logvar);
    args.arg(dq.mu).arg(dq.logvar).arg(dp.mu).arg(dp.logvar);
    args.arg(&n).arg(&cols).arg(&per_row);

    // SAFETY: (g, mq, lq, mp, lp, dmq, dlq, dmp, dlp, n, cols, per_row) as in the kernel;
    // lengths checked above.
    unsafe { launch(gpu, args, n.div_ceil(4)) }
}

// ---- synergy -----------------------------------------------------------------------------------

/// `p = a * b`, element by element.
///
/// # Errors
///
/// [`CudaError::Shape`] unless the three buffers have equal lengths; compile and driver errors.
pub fn product(
    gpu: &GpuContext,
    a: &CudaSlice<f32>,
    b: &CudaSlice<f32>,
    p: &mut CudaSlice<f32>,
) -> Result<(), CudaError> {
    const OP: &str = "product";
    let n = a.len();
    expect_len(OP, "b", b.len(), n)?;
    expect_len(OP, "p", p.len(), n)?;
    if n == 0 {
        return Ok(());
    }

    let f = gpu.function(&SYNERGY, "product_forward")?;
    let n = n as u64;
    let mut args = gpu.stream().launch_builder(&f);
    args.arg(a).arg(b).arg(p).arg(&n);

    // SAFETY: (a, b, p, n) as in the kernel; all hold n floats.
    unsafe { launch(gpu, args, n.div_ceil(4)) }
}

/// Backward of [`product`]: `da = dp * b`, `db = dp * a`.
///
/// # Errors
///
/// [`CudaError::Shape`] unless the five buffers have equal lengths; compile and driver errors.
pub fn product_backward(
    gpu: &GpuContext,
    dp: &CudaSlice<f32>,
    a: &CudaSlice<f32>,
    b: &CudaSlice<f32>,
    da: &mut CudaSlice<f32>,
    db: &mut CudaSlice<f32>,
) -> Result<(), CudaError> {
    const OP: &str = "product_backward";
    let n = dp.len();
    expect_len(OP, "a", a.len(), n)?;
    expect_len(OP, "b", b.len(), n)?;
    expect_len(OP, "da", da.len(), n)?;
    expect_len(OP, "db", db.len(), n)?;
    if n == 0 {
        return Ok(());
    }

    let f = gpu.function(&SYNERGY, "product_backward")?;
    let n = n as u64;
    let mut args = gpu.stream().launch_builder(&f);
    args.arg(dp).arg(a).arg(b).arg(da).arg(db).arg(&n);

    // SAFETY: (dp, a, b, da, db, n) as in the kernel; all hold n floats.
    unsafe { launch(gpu, args, n.div_ceil(4)) }
}

/// The synergy features `S = [a, b, a * b]` of `[rows, cols]` inputs: `s` is
/// `[rows, 3 cols]`, row `r` holding row `r` of `a`, of `b`, and of their product.
///
/// # Errors
///
/// [`CudaError::Shape`] if `a` and `b` differ in length, do not form rows of `cols`, or `s`
/// does not hold three times as many; compile and driver errors.
pub fn synergy_features(
    gpu: &GpuContext,
    a: &CudaSlice<f32>,
    b: &CudaSlice<f32>,
    cols: usize,
    s: &mut CudaSlice<f32>,
) -> Result<(), CudaError> {
    const OP: &str = "synergy_features";
    let n = a.len();
    expect_len(OP, "b", b.len(), n)?;
    expect_len(OP, "s", s.len(), 3 * n)?;
    let rows = row_count(OP, n, cols)?;
    if n == 0 {
        return Ok(());
    }

    let f = gpu.function(&SYNERGY, "features_forward")?;
    let (rows, cols) = (rows as u64, cols as u64);
    let mut args = gpu.stream().launch_builder(&f);
    args.arg(a).arg(b).arg(s).arg(&rows).arg(&cols);

    // SAFETY: (a, b, s, rows, cols) as in the kernel; a and b hold rows * cols, s three times.
    unsafe { launch(gpu, args, (rows * cols).div_ceil(4)) }
}

/// Backward of [`synergy_features`]: with each row of `ds` split into `[dsa, dsb, dsp]`,
/// `da = dsa + dsp * b` and `db = dsb + dsp * a`.
///
/// # Errors
///
/// [`CudaError::Shape`] if any buffer has the wrong length; compile and driver errors.
pub fn synergy_features_backward(
    gpu: &GpuContext,
    ds: &CudaSlice<f32>,
    a: &CudaSlice<f32>,
    b: &CudaSlice<f32>,
    cols: usize,
    da: &mut CudaSlice<f32>,
    db: &mut CudaSlice<f32>,
) -> Result<(), CudaError> {
    const OP: &str = "synergy_features_backward";
    let n = a.len();
    expect_len(OP, "b", b.len(), n)?;
    expect_len(OP, "ds", ds.len(), 3 * n)?;
    expect_len(OP, "da", da.len(), n)?;
    expect_len(OP, "db", db.len(), n)?;
    let rows = row_count(OP, n, cols)?;
    if n == 0 {
        return Ok(());
    }

    let f = gpu.function(&SYNERGY, "features_backward")?;
    let (rows, cols) = (rows as u64, cols as u64);
    let mut args = gpu.stream().launch_builder(&f);
    args.arg(ds)
        .arg(a)
        .arg(b)
        .arg(da)
        .arg(db)
        .arg(&rows)
        .arg(&cols);

    // SAFETY: (ds, a, b, da, db, rows, cols) as in the kernel; lengths checked above.
    unsafe { launch(gpu, args, (rows * cols).div_ceil(4)) }
}
