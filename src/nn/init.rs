//! Weight initialisation, as PyTorch does it by default, from an explicit seeded generator.

use rand_chacha::ChaCha8Rng;

use crate::tensor::{Shape, Tensor};

/// How a weight matrix of shape `[fan_out, fan_in]` is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Init {
    /// Uniform in `+-1/sqrt(fan_in)`: PyTorch's default for `nn.Linear` (Kaiming-uniform with
    /// a negative slope of sqrt(5), which works out to this bound).
    #[default]
    KaimingUniform,
    /// Glorot/Xavier uniform: `+-sqrt(6 / (fan_in + fan_out))`, which keeps the variance of
    /// activations and gradients equal in both directions for tanh-like activations.
    XavierUniform,
}

impl Init {
    /// Draws a `[fan_out, fan_in]` weight.
    pub fn weight(self, fan_out: usize, fan_in: usize, rng: &mut ChaCha8Rng) -> Tensor<f32> {
        let bound = match self {
            Init::KaimingUniform => 1.0 / (fan_in.max(1) as f32).sqrt(),
            Init::XavierUniform => (6.0 / (fan_in + fan_out).max(1) as f32).sqrt(),
        };
        Tensor::rand_uniform_with(Shape::from([fan_out, fan_in]), -bound, bound, rng)
    }
}

/// A bias of `fan_out` entries uniform in `+-1/sqrt(fan_in)`, PyTorch's default for Linear.
pub fn bias(fan_out: usize, fan_in: usize, rng: &mut ChaCha8Rng) -> Tensor<f32> {
    let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
    Tensor::rand_uniform_with(Shape::from([fan_out]), -bound, bound, rng)
}
