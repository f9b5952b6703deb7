//! [`Mlp`]: a stack of [`Linear`] layers with a non-linearity between them.

use rand_chacha::ChaCha8Rng;

use super::activation::Activation;
use super::linear::Linear;
use super::module::{child_prefix, Module};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A multilayer perceptron through the given widths: `widths = [200, 256, 128]` is
/// `Linear(200, 256) -> act -> Linear(256, 128)`, with `act` after the last layer too when
/// `activate_last` is set. Layers are named `0`, `1`, ... so parameters read `1.weight`.
pub struct Mlp {
    layers: Vec<Linear>,
    activation: Activation,
    activate_last: bool,
}

impl Mlp {
    /// An MLP through `widths` (at least two: input and output).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for fewer than two widths or a zero width.
    pub fn new(
        widths: &[usize],
        activation: Activation,
        activate_last: bool,
        rng: &mut ChaCha8Rng,
    ) -> Result<Self> {
        if widths.len() < 2 || widths.contains(&0) {
            return Err(Error::argument(
                "mlp",
                format!("needs at least two non-zero widths, got {widths:?}"),
            ));
        }
        let layers = widths
            .windows(2)
            .map(|w| Linear::new(w[0], w[1], rng))
            .collect();
        Ok(Mlp {
            layers,
            activation,
            activate_last,
        })
    }

    /// Width of the input.
    pub fn inputs(&self) -> usize {
        self.layers[0].inputs()
    }

    /// Width of the output.
    pub fn outputs(&self) -> usize {
        self.layers[self.layers.len() - 1].outputs()
    }

    /// Applies the layers in turn.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when the input width is wrong.
    pub fn try_forward(&self, x: &Tensor<f32>) -> Result<Tensor<f32>> {
        let last = self.layers.len() - 1;
        let mut h = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.try_forward(&h)?;
            if i < last || self.activate_last {
                h = self.activation.apply(&h);
            }
        }
        Ok(h)
    }

    /// Applies the layers in turn.
    ///
    /// # Panics
    /// When the input width is wrong; see [`Mlp::try_forward`].
    #[track_caller]
    pub fn forward(&self, x: &Tensor<f32>) -> Tensor<f32> {
        self.try_forward(x).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Module for Mlp {
    fn visit_parameters(&self, prefix: &str, visit: &mut dyn FnMut(String, &Tensor<f32>)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit_parameters(&child_prefix(prefix, &i.to_string()), visit);
        }
    }
}
