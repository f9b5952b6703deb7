//! CPU reference implementations of every kernel in `kernels/`, as plain loops over f32
//! (sums accumulate in f64).
//!
//! They define what the kernels compute, and the GPU tests compare against them with relative
//! tolerances. Inputs are row-major; slices that belong together must have equal lengths, and
//! `cols` must divide their length (the launchers in [`crate::cuda::kernels`] check this and
//! return errors; here a mismatch is a programmer error and the functions panic).

pub use super::kernels::Reduction;
pub use super::philox::fill_standard_normal;

/// The number of rows of `len` elements in rows of `cols`; an empty row counts as none.
fn row_count(len: usize, cols: usize) -> usize {
    assert!(
        cols == 0 || len.is_multiple_of(cols),
        "length {len} is not a multiple of {cols}"
    );
    len.checked_div(cols).unwrap_or(0)
}

/// The upstream gradient for element `i`: `g[i / cols]` per row, `g[0]` for a sum.
fn upstream(g: &[f32], i: usize, cols: usize, reduction: Reduction) -> f32 {
    match reduction {
        Reduction::PerRow => g[i / cols],
        Reduction::Sum => g[0],
    }
}

/// Sums `term(i)` row by row (or all together), times 1/2, into a fresh vector.
///
/// The sums accumulate in f64 and are rounded once, so the reference is the accurate side when
/// a test compares it with the device's f32 tree reduction.
fn reduce(len: usize, cols: usize, reduction: Reduction, term: impl Fn(usize) -> f32) -> Vec<f32> {
    let half_sum = |range: std::ops::Range<usize>| {
        (0.5 * range.map(|i| f64::from(term(i))).sum::<f64>()) as f32
    };

    match reduction {
        Reduction::Sum => vec![half_sum(0..len)],
        Reduction::PerRow => (0..row_count(len, cols))
            .map(|r| half_sum(r * cols..(r + 1) * cols))
            .collect(),
    }
}

// ---- reparameterisation ---------------------------------------------------------------------

/// `z = mu + exp(logvar / 2) * eps`, element by element.
pub fn reparameterize(mu: &[f32], logvar: &[f32], eps: &[f32]) -> Vec<f32> {
    (0..mu.len())
        .map(|i| mu[i] + (0.5 * logvar[i]).exp() * eps[i])
        .collect()
}

/// Backward of [`reparameterize`]: `dmu = dz` and `dlogvar = dz * eps * exp(logvar / 2) / 2`.
pub fn reparameterize_backward(dz: &[f32], logvar: &[f32], eps: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let dlogvar = (0..dz.len())
        .map(|i| dz[i] * eps[i] * 0.5 * (0.5 * logvar[i]).exp())
        .collect();
    (dz.to_vec(), dlogvar)
}

// ---- KL to the standard normal --------------------------------------------------------------

/// `KL(N(mu, exp(logvar)) || N(0, I)) = 1/2 sum (exp(logvar) + mu^2 - 1 - logvar)`, per row
/// of `cols` or over everything.
pub fn kl_std(mu: &[f32], logvar: &[f32], cols: usize, reduction: Reduction) -> Vec<f32> {
    reduce(mu.len(), cols, reduction, |i| {
        logvar[i].exp() + mu[i] * mu[i] - 1.0 - logvar[i]
    })
}

/// Backward of [`kl_std`] with upstream gradient `g`:
/// `dmu = g mu` and `dlogvar = g (exp(logvar) - 1) / 2`.
pub fn kl_std_backward(
    g: &[f32],
    mu: &[f32],
    logvar: &[f32],
    cols: usize,
    reduction: Reduction,
) -> (Vec<f32>, Vec<f32>) {
    let n = mu.len();
    let gi = |i| upstream(g, i, cols, reduction);
    let dmu = (0..n).map(|i| gi(i) * mu[i]).collect();
    let dlogvar = (0..n)
        .map(|i| 0.5 * gi(i) * (logvar[i].exp() - 1.0))
        .collect();
    (dmu, dlogvar)
}

// ---- KL between two diagonal Gaussians ------------------------------------------------------

/// A diagonal Gaussian as two equally long slices: means and log-variances.
#[derive(Debug, Clone, Copy)]
pub struct Gaussian<'a> {
    /// The means.
    pub mu: &'a [f32],
    /// The log-variances, `ln sigma^2`.
    pub logvar: &'a [f32],
}

/// `KL(q || p) = 1/2 sum (lp - lq + (exp(lq) + (mq - mp)^2) / exp(lp) - 1)` for diagonal
/// Gaussians `q = N(mq, exp(lq))` and `p = N(mp, exp(lp))`, per row or over everything.
pub fn kl_pair(q: Gaussian<'_>, p: Gaussian<'_>, cols: usize, reduction: Reduction) -> Vec<f32> {
    reduce(q.mu.len(), cols, reduction, |i| {
        let d = q.mu[i] - p.mu[i];
        p.logvar[i] - q.logvar[i] + (q.logvar[i].exp() + d * d) / p.logvar[i].exp() - 1.0
    })
}

/// The four gradients of [`kl_pair`]: `(dmu_q, dlogvar_q, dmu_p, dlogvar_p)`.
pub type PairGradients = (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>);

/// Backward of [`kl_pair`] with upstream gradient `g`. With `d = mq - mp`, `vq = exp(lq)`,
/// `vp = exp(lp)`:
/// `dmq = g d / vp`, `dmp = -dmq`, `dlq = g (vq / vp - 1) / 2`,
/// `dlp = g (1 - (vq + d^2) / vp) / 2`.
pub fn kl_pair_backward(
    g: &[f32],
    q: Gaussian<'_>,
    p: Gaussian<'_>,
    cols: usize,
    reduction: Reduction,
) -> PairGradients {
    let n = q.mu.len();
    let mut grads = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);

    for i in 0..n {
        let gi = upstream(g, i, cols, reduction);
        let d = q.mu[i] - p.mu[i];
        let vq = q.logvar[i].exp();
        let vp = p.logvar[i].exp();
        grads.0[i] = gi * d / vp;
        grads.1[i] = 0.5 * gi * (vq / vp - 1.0);
        grads.2[i] = -gi * d / vp;
        grads.3[i] = 0.5 * gi * (1.0 - (vq + d * d) / vp);
    }
    grads
}

// ---- synergy ----------------------------------------------------------------------------------

/// `p = a * b`, element by element.
pub fn product(a: &[f32], b: &[f32]) -> Vec<f32> {
    a.iter().zip(b).map(|(x, y)| x * y).collect()
}

/// Backward of [`product`]: `da = dp * b`, `db = dp * a`.
pub fn product_backward(dp: &[f32], a: &[f32], b: &[f32]) -> (Vec<f32>, Vec<f32>) {
    (product(dp, b), product(dp, a))
}

/// The synergy features `S = [a, b, a * b]`: for `[rows, cols]` inputs, a `[rows, 3 cols]`
/// output whose row `r` is row `r` of `a`, then of `b`, then of their product.
pub fn synergy_features(a: &[f32], b: &[f32], cols: usize) -> Vec<f32> {
    let rows = row_count(a.len(), cols);
    let mut s = Vec::with_capacity(3 * a.len());

    for r in 0..rows {
        let span = r * cols..(r + 1) * cols;
        s.extend_from_slice(&a[span.clone()]);
        s.extend_from_slice(&b[span.clone()]);
        s.extend(a[span.clone()].iter().zip(&b[span]).map(|(x, y)| x * y));
    }
    s
}

/// Backward of [`synergy_features`]: with each row of `ds` split into `[dsa, dsb, dsp]`,
/// `da = dsa + dsp * b` and `db = dsb + dsp * a`.
pub fn synergy_features_backward(
    ds: &[f32],
    a: &[f32],
    b: &[f32],
    cols: usize,
) -> (Vec<f32>, Vec<f32>) {
    let n = a.len();
    let mut da = vec![0.0; n];
    let mut db = vec![0.0; n];

    for i in 0..n {
        let (r, c) = (i / cols, i % cols);
        let row = &ds[3 * r * cols..3 * (r + 1) * cols];
        da[i] = row[c] + row[2 * cols + c] * b[i];
        db[i] = row[cols + c] + row[2 * cols + c] * a[i];
    }
    (da, db)
}
