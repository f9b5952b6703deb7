//! [`Backend`]: the primitives DMIL's explicit training step is written in.
//!
//! Every method works on whole buffers of `f32` in row-major order; shapes travel as plain
//! numbers beside them. Methods that produce a value either overwrite their output or add to
//! it, as each one's documentation says: gradients that several paths feed are accumulated,
//! so the step zeroes them once and then only adds.
//!
//! Loss terms are not returned one by one: each loss primitive adds its (already weighted)
//! value into a slot of a small `stats` buffer that stays on the backend's device, so that a
//! GPU step needs no copy back to the host until the whole step is done.

use crate::error::Result;

/// The shape of one matrix product `C = op(A) op(B) + beta C`, all row-major, where `op(A)` is
/// `[m, k]` and `op(B)` is `[k, n]`; `trans_a` means `A` is stored as `[k, m]`, `trans_b` that
/// `B` is stored as `[n, k]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gemm {
    /// Rows of `C`.
    pub m: usize,
    /// Columns of `C`.
    pub n: usize,
    /// The summed dimension.
    pub k: usize,
    /// `A` is stored transposed.
    pub trans_a: bool,
    /// `B` is stored transposed.
    pub trans_b: bool,
    /// `0` overwrites `C`, `1` adds to it.
    pub beta: f32,
}

/// The constants of one Adam update of one parameter (PyTorch's rule with an L2 penalty; see
/// [`crate::optim::Adam`]), plus global-norm clipping read from the `stats` buffer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamArgs {
    /// `lr / (1 - beta1^t)`.
    pub step_size: f32,
    /// `sqrt(1 - beta2^t)`.
    pub root_correction2: f32,
    /// Decay of the first moment.
    pub beta1: f32,
    /// Decay of the second moment.
    pub beta2: f32,
    /// Added to the denominator.
    pub eps: f32,
    /// L2 penalty added to the gradient.
    pub weight_decay: f32,
    /// Clip the global gradient norm to this (0: no clipping).
    pub max_norm: f32,
    /// The `stats` slot holding the sum of squared gradients (see [`Backend::sum_squares`]).
    pub norm_slot: usize,
    /// The `stats` slots `0..loss_slots` hold the loss terms; when any of them or the squared
    /// norm is not finite, the update is skipped (the caller reports the error).
    pub loss_slots: usize,
}

/// The primitives of the DMIL training step, implemented once on the CPU
/// ([`super::CpuBackend`]) and once on a GPU (`crate::cuda::CudaBackend`).
///
/// Methods fail only for device errors (and, on the CPU, buffers of the wrong length, which
/// the step never produces); the step checks every user-facing shape before it starts.
pub trait Backend {
    /// A buffer of `f32` on the backend's device.
    type Buf;

    /// A buffer of `len` zeros.
    ///
    /// # Errors
    /// Allocation failure on the device.
    fn zeros(&self, len: usize) -> Result<Self::Buf>;

    /// A copy of `host` on the device.
    ///
    /// # Errors
    /// Allocation or copy failure.
    fn upload(&self, host: &[f32]) -> Result<Self::Buf>;

    /// Overwrites `buf` with `host` (equal lengths).
    ///
    /// # Errors
    /// Copy failure or lengths that differ.
    fn write(&self, host: &[f32], buf: &mut Self::Buf) -> Result<()>;

    /// A copy of `buf` on the host (after all queued work).
    ///
    /// # Errors
    /// Copy failure, or a failure of earlier queued work.
    fn download(&self, buf: &Self::Buf) -> Result<Vec<f32>>;

    /// Fills `buf` with standard normals determined by `(seed, offset)`: the same pair gives
    /// the same values on one backend (the CPU and GPU generators differ). A caller advances
    /// `offset` by the length of each fill to get fresh numbers.
    ///
    /// # Errors
    /// Device failure.
    fn fill_normal(&self, buf: &mut Self::Buf, seed: u64, offset: u64) -> Result<()>;

    /// Fills `buf` with an inverted-dropout mask determined by `(seed, offset)`: each element
    /// is 0 with probability `p` and `1 / (1 - p)` otherwise.
    ///
    /// # Errors
    /// Device failure.
    fn fill_dropout_mask(&self, buf: &mut Self::Buf, p: f32, seed: u64, offset: u64) -> Result<()>;

    /// The number of elements of `buf`.
    fn len(&self, buf: &Self::Buf) -> usize;

    /// Sets every element of `buf` to zero.
    ///
    /// # Errors
    /// Device failure.
    fn fill_zero(&self, buf: &mut Self::Buf) -> Result<()>;

    /// `c = op(a) op(b) + beta c`; see [`Gemm`].
    ///
    /// # Errors
    /// Device failure.
    fn gemm(&self, shape: Gemm, a: &Self::Buf, b: &Self::Buf, c: &mut Self::Buf) -> Result<()>;

    /// `x[r, c] += bias[c]` for `x` of `[rows, bias.len()]`.
    ///
    /// # Errors
    /// Device failure.
    fn add_bias(&self, x: &mut Self::Buf, bias: &Self::Buf) -> Result<()>;

    /// `out[c] += sum_r x[r, c]` for `x` of `[rows, out.len()]`: a bias gradient.
    ///
    /// # Errors
    /// Device failure.
    fn add_column_sums(&self, x: &Self::Buf, out: &mut Self::Buf) -> Result<()>;

    /// `x = max(x, 0)` in place.
    ///
    /// # Errors
    /// Device failure.
    fn relu(&self, x: &mut Self::Buf) -> Result<()>;

    /// `dy = dy * (y > 0)` in place, with `y` the ReLU's output (the gradient at 0 is 0).
    ///
    /// # Errors
    /// Device failure.
    fn relu_backward(&self, y: &Self::Buf, dy: &mut Self::Buf) -> Result<()>;

    /// `x = x * mask` in place: dropout with a supplied mask of zeros and `1 / (1 - p)`,
    /// forward and backward alike.
    ///
    /// # Errors
    /// Device failure.
    fn mul_assign(&self, x: &mut Self::Buf, mask: &Self::Buf) -> Result<()>;

    /// Writes `src` (`[rows, width]`) into columns `offset..offset + width` of `dst`
    /// (`[rows, dst_cols]`): one block of a concatenation along columns.
    ///
    /// # Errors
    /// Device failure.
    fn put_columns(
        &self,
        src: &Self::Buf,
        dst: &mut Self::Buf,
        dst_cols: usize,
        offset: usize,
    ) -> Result<()>;

    /// Adds columns `offset..offset + width` of `src` (`[rows, src_cols]`) into `dst`
    /// (`[rows, width]`): the gradient of one block of a concatenation.
    ///
    /// # Errors
    /// Device failure.
    fn add_columns(
        &self,
        src: &Self::Buf,
        src_cols: usize,
        offset: usize,
        dst: &mut Self::Buf,
    ) -> Result<()>;

    /// `out = a * b`, element-wise (the synergy products).
    ///
    /// # Errors
    /// Device failure.
    fn product(&self, a: &Self::Buf, b: &Self::Buf, out: &mut Self::Buf) -> Result<()>;

    /// Backward of [`Backend::product`]: `da += dout * b`, `db += dout * a`.
    ///
    /// # Errors
    /// Device failure.
    fn product_backward(
        &self,
        dout: &Self::Buf,
        a: &Self::Buf,
        b: &Self::Buf,
        da: &mut Self::Buf,
        db: &mut Self::Buf,
    ) -> Result<()>;

    /// `z = mu + exp(logvar / 2) eps`.
    ///
    /// # Errors
    /// Device failure.
    fn reparameterize(
        &self,
        mu: &Self::Buf,
        logvar: &Self::Buf,
        eps: &Self::Buf,
        z: &mut Self::Buf,
    ) -> Result<()>;

    /// Backward of [`Backend::reparameterize`]: `dmu += dz`,
    /// `dlogvar += dz eps exp(logvar / 2) / 2`.
    ///
    /// # Errors
    /// Device failure.
    fn reparameterize_backward(
        &self,
        dz: &Self::Buf,
        logvar: &Self::Buf,
        eps: &Self::Buf,
        dmu: &mut Self::Buf,
        dlogvar: &mut Self::Buf,
    ) -> Result<()>;

    /// Row-wise cross-entropy of `logits` (`[rows, cols]`) against `labels` (`rows` class
    /// indices stored as `f32`), fused with its gradient:
    /// `stats[slot] += scale sum_r (logsumexp(logits_r) - logits_r[y_r])` and
    /// `dlogits = scale (softmax(logits_r) - onehot(y_r))` (overwritten).
    /// With `scale = weight / rows` this is the weighted batch mean.
    ///
    /// # Errors
    /// Device failure.
    #[allow(clippy::too_many_arguments)]
    fn cross_entropy(
        &self,
        logits: &Self::Buf,
        labels: &Self::Buf,
        cols: usize,
        scale: f32,
        stats: &mut Self::Buf,
        slot: usize,
        dlogits: &mut Self::Buf,
    ) -> Result<()>;

    /// `KL(N(mu, e^lv) || N(0, 1))` summed over every element, times `scale`, added to
    /// `stats[slot]`; its gradient times `scale` added to `dmu` and `dlogvar`. Log-variances
    /// are clamped to [`crate::nn::loss::LOGVAR_RANGE`] as the CPU loss does (zero gradient
    /// outside it).
    ///
    /// # Errors
    /// Device failure.
    #[allow(clippy::too_many_arguments)]
    fn kl_standard_normal(
        &self,
        mu: &Self::Buf,
        logvar: &Self::Buf,
        scale: f32,
        stats: &mut Self::Buf,
        slot: usize,
        dmu: &mut Self::Buf,
        dlogvar: &mut Self::Buf,
    ) -> Result<()>;

    /// `KL(q || p)` between diagonal Gaussians (`q = (mu_q, lv_q)`, `p = (mu_p, lv_p)`),
    /// summed, times `scale`, added to `stats[slot]`; gradients times `scale` added to all
    /// four `d*` buffers (in the order `dmu_q, dlv_q, dmu_p, dlv_p`). Clamped like
    /// [`Backend::kl_standard_normal`].
    ///
    /// # Errors
    /// Device failure.
    #[allow(clippy::too_many_arguments)]
    fn kl_gaussians(
        &self,
        q: [&Self::Buf; 2],
        p: [&Self::Buf; 2],
        scale: f32,
        stats: &mut Self::Buf,
        slot: usize,
        grads: [&mut Self::Buf; 4],
    ) -> Result<()>;

    /// Squared error summed, times `scale`, added to `stats[slot]`;
    /// `dpred = 2 scale (pred - target)` (overwritten). `target` gets no gradient.
    ///
    /// # Errors
    /// Device failure.
    fn mse(
        &self,
        pred: &Self::Buf,
        target: &Self::Buf,
        scale: f32,
        stats: &mut Self::Buf,
        slot: usize,
        dpred: &mut Self::Buf,
    ) -> Result<()>;

    /// The gate: `weights = softmax(gate_logits)` row-wise (`[rows, k]`) and
    /// `logits[r, c] = sum_j weights[r, j] stacked[r, j classes + c]`, with `stacked`
    /// (`[rows, k classes]`) holding the k component logits side by side.
    ///
    /// # Errors
    /// Device failure.
    fn gate(
        &self,
        gate_logits: &Self::Buf,
        stacked: &Self::Buf,
        classes: usize,
        weights: &mut Self::Buf,
        logits: &mut Self::Buf,
    ) -> Result<()>;

    /// Backward of [`Backend::gate`] from `dlogits`: `dstacked[r, j C + c] = w[r, j]
    /// dlogits[r, c]`, and with `dw[r, j] = sum_c dlogits[r, c] stacked[r, j C + c]`,
    /// `dgate[r, j] = w[r, j] (dw[r, j] - sum_i w[r, i] dw[r, i])`. Both overwritten.
    ///
    /// # Errors
    /// Device failure.
    fn gate_backward(
        &self,
        dlogits: &Self::Buf,
        weights: &Self::Buf,
        stacked: &Self::Buf,
        classes: usize,
        dstacked: &mut Self::Buf,
        dgate: &mut Self::Buf,
    ) -> Result<()>;

    /// `stats[slot] += sum g^2`: one parameter's share of the global gradient norm.
    ///
    /// # Errors
    /// Device failure.
    fn sum_squares(&self, g: &Self::Buf, stats: &mut Self::Buf, slot: usize) -> Result<()>;

    /// One Adam update of `p` from `g` with moments `m` and `v`; the gradient is first scaled
    /// by `min(1, max_norm / (sqrt(stats[norm_slot]) + 1e-6))` when `max_norm > 0`, as
    /// [`crate::optim::clip_grad_norm`] does. Nothing changes when the loss or the norm in
    /// `stats` is not finite.
    ///
    /// # Errors
    /// Device failure.
    #[allow(clippy::too_many_arguments)]
    fn adam(
        &self,
        p: &mut Self::Buf,
        g: &Self::Buf,
        m: &mut Self::Buf,
        v: &mut Self::Buf,
        stats: &Self::Buf,
        args: AdamArgs,
    ) -> Result<()>;
}
