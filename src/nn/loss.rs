//! Losses: cross-entropy for classification, mean squared error for reconstruction, and the
//! Kullback-Leibler divergences of diagonal Gaussians that the variational heads need.
//!
//! Every loss is written with engine operations, so its gradient comes from the tape and is
//! property-tested like any other composition. They are generic over the element type so the
//! tests can check them in `f64`.
//!
//! # Log-variances
//! The Gaussian losses exponentiate log-variances. In `f32`, `e^89` overflows and `e^-104`
//! underflows to zero, after which a quotient or a logarithm turns into NaN. Both KL losses
//! therefore clamp every log-variance to [`LOGVAR_RANGE`] before use. Inside the range they
//! are exact; outside it the value is the one at the nearest bound and the gradient with
//! respect to that log-variance is zero, so a head that drifts far out gets no push back
//! from the KL term (its other losses still act on it). This is a deliberate trade: a finite
//! loss and finite gradients instead of a NaN that poisons every parameter.

use crate::error::{Error, Result};
use crate::tensor::ops::same_shape;
use crate::tensor::{Element, Tensor};

/// The closed interval every log-variance is clamped to inside the Gaussian losses: a
/// variance between `e^-30` (about 1e-13) and `e^30` (about 1e13). With it the largest
/// intermediate value, `e^(30 - (-30)) = e^60` (about 1e26), stays well inside `f32`.
pub const LOGVAR_RANGE: (f64, f64) = (-30.0, 30.0);

/// How an element-wise loss is reduced to one number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    /// The mean over every element.
    #[default]
    Mean,
    /// The sum over every element.
    Sum,
    /// The sum over every axis but the first, then the mean over the first (batch) axis: the
    /// per-sample total averaged over the batch, as a VAE's ELBO is usually written.
    BatchMean,
}

impl Reduction {
    /// Reduces the element-wise losses `x` to a scalar tensor.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] for [`Reduction::BatchMean`] on a tensor without axes or
    /// with an empty batch axis, and for [`Reduction::Mean`] on an empty tensor (the mean of
    /// nothing is undefined).
    pub fn apply<T: Element>(self, op: &'static str, x: &Tensor<T>) -> Result<Tensor<T>> {
        match self {
            Reduction::Sum => Ok(x.sum_all()),
            Reduction::Mean => {
                if x.numel() == 0 {
                    return Err(Error::shape(op, x.dims(), "the mean of no element"));
                }
                Ok(x.mean_all())
            }
            Reduction::BatchMean => {
                let batch = match x.dims().first() {
                    Some(&b) if b > 0 => b,
                    _ => {
                        return Err(Error::shape(
                            op,
                            x.dims(),
                            "batch-mean needs a non-empty first (batch) axis",
                        ))
                    }
                };
                Ok(x.sum_all().mul_scalar(T::ONE / T::from_f64(batch as f64)))
            }
        }
    }
}

/// Cross-entropy of `logits` `[B, C]` against integer class `labels` (B of them), averaged
/// over the batch.
///
/// Per sample, `l_i = -log_softmax(logits_i)[y_i] = logsumexp(logits_i) - logits_i[y_i]`,
/// computed stably (each row's maximum subtracted first) in one recorded operation,
/// [`Tensor::picked_log_softmax`], so logits of any finite size give a finite loss.
/// Without weights the result is `sum_i l_i / B`. With `class_weights` (C of them) it is
/// `sum_i w_{y_i} l_i / sum_i w_{y_i}`, PyTorch's weighted mean: a batch of one class gives
/// the unweighted loss whatever that class's weight.
///
/// Gradient with respect to `logits_i`: `w_{y_i} (softmax(logits_i) - onehot(y_i)) / W`,
/// with `W` the denominator above.
///
/// # Errors
/// [`Error::InvalidShape`] when `logits` is not `[B, C]` with B >= 1 and C >= 1;
/// [`Error::InvalidArgument`] when the number of labels is not B, a label is not below C
/// (the message names it), the weights are not C finite non-negative values, or the
/// weights of the batch's labels sum to zero.
pub fn cross_entropy<T: Element>(
    logits: &Tensor<T>,
    labels: &[usize],
    class_weights: Option<&[T]>,
) -> Result<Tensor<T>> {
    const OP: &str = "cross_entropy";
    let [batch, classes] = *logits.dims() else {
        return Err(Error::shape(
            OP,
            logits.dims(),
            "logits must be [batch, classes]",
        ));
    };
    if batch == 0 || classes == 0 {
        return Err(Error::shape(
            OP,
            logits.dims(),
            "needs at least one sample and class",
        ));
    }
    if labels.len() != batch {
        return Err(Error::argument(
            OP,
            format!("{} labels for a batch of {batch}", labels.len()),
        ));
    }
    if let Some((i, &bad)) = labels.iter().enumerate().find(|(_, &y)| y >= classes) {
        return Err(Error::argument(
            OP,
            format!("label {bad} of sample {i} is out of range for {classes} classes"),
        ));
    }
    if let Some(w) = class_weights {
        let valid = w.iter().all(|&v| v.is_finite() && v >= T::ZERO);
        if w.len() != classes || !valid {
            return Err(Error::argument(
                OP,
                format!(
                    "class weights must be {classes} finite non-negative values, got {:?}",
                    w
                ),
            ));
        }
    }

    // Each sample's log-probability of its label, weighted by its class weight, summed and
    // scaled in one operation.
    let weight_of = |y: usize| class_weights.map_or(T::ONE, |w| w[y]);
    let picks: Vec<(usize, T)> = labels.iter().map(|&y| (y, weight_of(y))).collect();
    let total_weight: f64 = picks.iter().map(|&(_, w)| w.to_f64()).sum();
    if total_weight <= 0.0 {
        return Err(Error::argument(
            OP,
            "the class weights of this batch's labels sum to zero",
        ));
    }

    logits.try_picked_log_softmax(&picks, T::from_f64(-1.0 / total_weight))
}

/// Mean squared error `(pred - target)^2` element-wise, then reduced.
///
/// Gradient with respect to `pred`: `2 (pred - target)` times the reduction's scale.
///
/// # Errors
/// [`Error::ShapeMismatch`] unless both tensors have the same shape (no broadcasting: a
/// silent broadcast of a `[B]` target against `[B, 1]` predictions is a classic bug);
/// the reduction's errors (see [`Reduction::apply`]).
pub fn mse<T: Element>(
    pred: &Tensor<T>,
    target: &Tensor<T>,
    reduction: Reduction,
) -> Result<Tensor<T>> {
    same_shape("mse", pred, target)?;

    let diff = pred.try_sub(target)?;
    let squared = diff.try_mul(&diff)?;

    reduction.apply("mse", &squared)
}

/// `KL(N(mu, e^logvar) || N(0, 1))` element-wise, then reduced:
/// `0.5 (e^logvar + mu^2 - 1 - logvar)`.
///
/// Gradients: `mu` with respect to `mu`; `0.5 (e^logvar - 1)` with respect to `logvar`
/// inside [`LOGVAR_RANGE`], zero outside it (see the module documentation).
///
/// # Errors
/// [`Error::ShapeMismatch`] unless `mu` and `logvar` have the same shape; the reduction's
/// errors.
pub fn kl_standard_normal<T: Element>(
    mu: &Tensor<T>,
    logvar: &Tensor<T>,
    reduction: Reduction,
) -> Result<Tensor<T>> {
    same_shape("kl_standard_normal", mu, logvar)?;

    let (lo, hi) = LOGVAR_RANGE;
    let kl = mu.try_kl_standard_normal_terms(logvar, (T::from_f64(lo), T::from_f64(hi)))?;

    reduction.apply("kl_standard_normal", &kl)
}

/// `KL(N(mu_q, e^logvar_q) || N(mu_p, e^logvar_p))` element-wise, then reduced:
/// `0.5 (logvar_p - logvar_q + (e^logvar_q + (mu_q - mu_p)^2) / e^logvar_p - 1)`.
///
/// Written as `e^(logvar_q - logvar_p) + (mu_q - mu_p)^2 e^-logvar_p` so that no quotient of
/// two huge or two tiny numbers is formed; with [`LOGVAR_RANGE`] every intermediate value
/// stays below `e^60`. Gradients flow to all four inputs (the prior too: DMIL's `v(R | M_m)`
/// is learned); a log-variance outside the range gets a zero gradient.
///
/// # Errors
/// [`Error::ShapeMismatch`] unless all four tensors have the same shape; the reduction's
/// errors.
pub fn kl_gaussians<T: Element>(
    mu_q: &Tensor<T>,
    logvar_q: &Tensor<T>,
    mu_p: &Tensor<T>,
    logvar_p: &Tensor<T>,
    reduction: Reduction,
) -> Result<Tensor<T>> {
    const OP: &str = "kl_gaussians";
    same_shape(OP, mu_q, logvar_q)?;
    same_shape(OP, mu_q, mu_p)?;
    same_shape(OP, mu_q, logvar_p)?;

    let (lo, hi) = LOGVAR_RANGE;
    let bounds = (T::from_f64(lo), T::from_f64(hi));
    let kl = mu_q.try_kl_gaussians_terms(logvar_q, mu_p, logvar_p, bounds)?;

    reduction.apply(OP, &kl)
}
