//! [`BatchNorm1d`]: batch normalisation of feature vectors, and [`batch_norm_train`], the
//! differentiable normalisation it runs in training mode.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};
use crate::nn::Module;
use crate::tensor::{Element, Tensor};

/// Normalises each feature (column) of `x: [B, F]` by the batch's statistics, then applies
/// the affine map: `y = (x - mean) / sqrt(var + eps) * weight + bias`, with `mean` and the
/// biased variance `var = mean((x - mean)^2)` taken over the batch axis, and `weight`, `bias`
/// of shape `[F]`.
///
/// Built from engine operations, so the gradient is the exact one, including the paths
/// through the batch mean and variance (every sample's output depends on every other
/// sample of its batch).
///
/// # Errors
/// [`Error::InvalidShape`] when `x` is not `[B, F]` with B >= 2 (one sample has no spread:
/// it would normalise to zero); [`Error::ShapeMismatch`] when `weight` or `bias` is not `[F]`;
/// [`Error::InvalidArgument`] when `eps` is not finite and positive.
pub fn batch_norm_train<T: Element>(
    x: &Tensor<T>,
    weight: &Tensor<T>,
    bias: &Tensor<T>,
    eps: T,
) -> Result<Tensor<T>> {
    Ok(batch_norm_parts(x, weight, bias, eps)?.output)
}

/// What a training-mode pass computes: the output and the batch statistics.
struct BatchNormParts<T: Element> {
    output: Tensor<T>,
    mean: Tensor<T>,
    biased_var: Tensor<T>,
}

fn batch_norm_parts<T: Element>(
    x: &Tensor<T>,
    weight: &Tensor<T>,
    bias: &Tensor<T>,
    eps: T,
) -> Result<BatchNormParts<T>> {
    const OP: &str = "batch_norm";
    let [batch, features] = *x.dims() else {
        return Err(Error::shape(OP, x.dims(), "expected [batch, features]"));
    };
    if batch < 2 {
        return Err(Error::shape(
            OP,
            x.dims(),
            "training mode needs at least 2 samples per batch",
        ));
    }
    for param in [weight, bias] {
        if param.dims() != [features] {
            return Err(Error::shapes(
                OP,
                x.dims(),
                param.dims(),
                "weight and bias must be [features]",
            ));
        }
    }
    if !(eps.is_finite() && eps > T::ZERO) {
        return Err(Error::argument(
            OP,
            format!("eps must be positive, got {eps}"),
        ));
    }

    let mean = x.try_mean(&[0], true)?;
    let centered = x.try_sub(&mean)?;

    let biased_var = centered.try_mul(&centered)?.try_mean(&[0], true)?;
    let std = biased_var.add_scalar(eps).sqrt();
    let normalised = centered.try_div(&std)?;

    let output = normalised.try_mul(weight)?.try_add(bias)?;
    Ok(BatchNormParts {
        output,
        mean,
        biased_var,
    })
}

/// Batch normalisation over the features of `[B, F]` inputs, as PyTorch's `BatchNorm1d` with
/// its defaults: momentum 0.1, eps 1e-5, a learned scale `weight` (ones) and shift `bias`
/// (zeros), and running statistics.
///
/// - Training mode: normalises by the batch's mean and biased variance
///   ([`batch_norm_train`]) and updates the buffers in place, outside the graph:
///   `running = (1 - momentum) running + momentum batch`, with the unbiased variance
///   (`B / (B - 1)` times the biased one) for `running_var`.
/// - Evaluation mode: normalises by `running_mean` and `running_var`, which stay unchanged.
///
/// A frozen BatchNorm (after [`Module::freeze`]`(true)`, which turns its parameters'
/// gradients off) always behaves as in evaluation mode, even if a parent module later calls
/// `set_training(true)` on the whole model: a frozen stage keeps its statistics while the
/// rest trains.
pub struct BatchNorm1d {
    features: usize,
    momentum: f32,
    eps: f32,
    weight: Tensor<f32>,
    bias: Tensor<f32>,
    running_mean: Tensor<f32>,
    running_var: Tensor<f32>,
    training: AtomicBool,
}

impl BatchNorm1d {
    /// A BatchNorm over `features` features with PyTorch's defaults, in training mode.
    pub fn new(features: usize) -> Self {
        BatchNorm1d {
            features,
            momentum: 0.1,
            eps: 1e-5,
            weight: Tensor::ones([features]).requires_grad(),
            bias: Tensor::zeros([features]).requires_grad(),
            running_mean: Tensor::zeros([features]),
            running_var: Tensor::ones([features]),
            training: AtomicBool::new(true),
        }
    }

    /// A BatchNorm with another `momentum` (the weight of each new batch in the running
    /// statistics) and `eps` (added to the variance).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `0 <= momentum <= 1` and `eps > 0`, both finite.
    pub fn with_options(features: usize, momentum: f32, eps: f32) -> Result<Self> {
        if !((0.0..=1.0).contains(&momentum) && eps.is_finite() && eps > 0.0) {
            return Err(Error::argument(
                "BatchNorm1d",
                format!("needs momentum in [0, 1] and eps > 0, got {momentum} and {eps}"),
            ));
        }
        Ok(BatchNorm1d {
            momentum,
            eps,
            ..Self::new(features)
        })
    }

    /// The learned scale, `[F]`.
    pub fn weight(&self) -> &Tensor<f32> {
        &self.weight
    }

    /// The learned shift, `[F]`.
    pub fn bias(&self) -> &Tensor<f32> {
        &self.bias
    }

    /// The running mean, `[F]`.
    pub fn running_mean(&self) -> &Tensor<f32> {
        &self.running_mean
    }

    /// The running (unbiased) variance, `[F]`.
    pub fn running_var(&self) -> &Tensor<f32> {
        &self.running_var
    }

    /// True when the next forward pass uses batch statistics: training mode and not frozen.
    pub fn uses_batch_statistics(&self) -> bool {
        self.training.load(Ordering::Relaxed) && self.weight.needs_grad()
    }

    /// Normalises `x: [B, F]`; see the type's documentation for the two modes.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] when `x` is not `[B, F]` for this layer's F, or when B < 2 in
    /// training mode.
    pub fn forward(&self, x: &Tensor<f32>) -> Result<Tensor<f32>> {
        if x.rank() != 2 || x.dims()[1] != self.features {
            return Err(Error::shape(
                "BatchNorm1d",
                x.dims(),
                format!("expected [batch, {}]", self.features),
            ));
        }

        if !self.uses_batch_statistics() {
            let std = self.running_var.add_scalar(self.eps).sqrt();
            let normalised = x.try_sub(&self.running_mean)?.try_div(&std)?;
            return normalised.try_mul(&self.weight)?.try_add(&self.bias);
        }

        let parts = batch_norm_parts(x, &self.weight, &self.bias, self.eps)?;
        self.update_running_statistics(&parts.mean, &parts.biased_var, x.dims()[0])?;
        Ok(parts.output)
    }

    /// Moves the running statistics towards this batch's, in place and outside the graph.
    fn update_running_statistics(
        &self,
        mean: &Tensor<f32>,
        biased_var: &Tensor<f32>,
        batch: usize,
    ) -> Result<()> {
        let m = self.momentum;
        let unbias = batch as f32 / (batch - 1) as f32;
        let (batch_mean, batch_var) = (mean.to_vec(), biased_var.to_vec());

        self.running_mean.update_in_place(|running| {
            for (r, &b) in running.iter_mut().zip(&batch_mean) {
                *r = (1.0 - m) * *r + m * b;
            }
        })?;
        self.running_var.update_in_place(|running| {
            for (r, &b) in running.iter_mut().zip(&batch_var) {
                *r = (1.0 - m) * *r + m * b * unbias;
            }
        })
    }
}

impl Module for BatchNorm1d {
    fn visit_parameters(&self, prefix: &str, visit: &mut dyn FnMut(String, &Tensor<f32>)) {
        visit(format!("{prefix}weight"), &self.weight);
        visit(format!("{prefix}bias"), &self.bias);
    }

    fn visit_buffers(&self, prefix: &str, visit: &mut dyn FnMut(String, &Tensor<f32>)) {
        visit(format!("{prefix}running_mean"), &self.running_mean);
        visit(format!("{prefix}running_var"), &self.running_var);
    }

    fn set_training(&self, training: bool) {
        self.training.store(training, Ordering::Relaxed);
    }
}
