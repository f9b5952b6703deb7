//! [`Linear`]: the affine layer `y = x W^T + b`.

use rand_chacha::ChaCha8Rng;

use super::init::{self, Init};
use super::module::Module;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// `y = x W^T + b` with `W` of shape `[out, in]` and `b` of `[out]`, stored as PyTorch stores
/// them, so checkpoints carry the same names and shapes (`weight`, `bias`).
///
/// `W^T` is a transposed view handed to the matrix product as strides; it is never copied.
pub struct Linear {
    weight: Tensor<f32>,
    bias: Option<Tensor<f32>>,
}

impl Linear {
    /// A layer from `inputs` to `outputs` features with a bias, initialised as PyTorch does
    /// by default (see [`Init::KaimingUniform`]).
    pub fn new(inputs: usize, outputs: usize, rng: &mut ChaCha8Rng) -> Self {
        Self::with_init(inputs, outputs, true, Init::default(), rng)
    }

    /// A layer with a chosen initialisation, with or without a bias.
    pub fn with_init(
        inputs: usize,
        outputs: usize,
        with_bias: bool,
        init: Init,
        rng: &mut ChaCha8Rng,
    ) -> Self {
        let weight = init.weight(outputs, inputs, rng).requires_grad();
        let bias = with_bias.then(|| init::bias(outputs, inputs, rng).requires_grad());
        Linear { weight, bias }
    }

    /// Number of input features.
    pub fn inputs(&self) -> usize {
        self.weight.dims()[1]
    }

    /// Number of output features.
    pub fn outputs(&self) -> usize {
        self.weight.dims()[0]
    }

    /// The `[out, in]` weight.
    pub fn weight(&self) -> &Tensor<f32> {
        &self.weight
    }

    /// The `[out]` bias, if any.
    pub fn bias(&self) -> Option<&Tensor<f32>> {
        self.bias.as_ref()
    }

    /// Applies the layer to `x` of shape `[.., in]`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when the last axis of `x` is not `in`.
    pub fn try_forward(&self, x: &Tensor<f32>) -> Result<Tensor<f32>> {
        if x.rank() == 0 || x.dims()[x.rank() - 1] != self.inputs() {
            return Err(Error::shapes(
                "linear",
                x.dims(),
                self.weight.dims(),
                "the input's last axis must equal the weight's second",
            ));
        }
        // A batch of rows takes the fused operation; other ranks the product and a sum.
        if x.rank() == 2 {
            return x.try_linear(&self.weight, self.bias.as_ref());
        }
        let y = x.try_matmul(&self.weight.t())?;
        match &self.bias {
            Some(b) => y.try_add(b),
            None => Ok(y),
        }
    }

    /// Applies the layer.
    ///
    /// # Panics
    /// When the input width is wrong; see [`Linear::try_forward`].
    #[track_caller]
    pub fn forward(&self, x: &Tensor<f32>) -> Tensor<f32> {
        self.try_forward(x).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Module for Linear {
    fn visit_parameters(&self, prefix: &str, visit: &mut dyn FnMut(String, &Tensor<f32>)) {
        visit(format!("{prefix}weight"), &self.weight);
        if let Some(b) = &self.bias {
            visit(format!("{prefix}bias"), b);
        }
    }
}
