//! [`Encoder`]: the per-modality network phi_m mapping an input X_m to its embedding Z_m.

use rand_chacha::ChaCha8Rng;

use super::config::EncoderConfig;
use crate::error::Result;
use crate::nn::{child_prefix, Dropout, Linear, Module};
use crate::tensor::Tensor;

/// An MLP for tabular input: `Linear -> ReLU -> Dropout` for each hidden width, then
/// `Linear -> ReLU` to the embedding. The paper uses ResNet-18 on images and spectrograms;
/// tabular omics data calls for this.
pub struct Encoder {
    layers: Vec<Linear>,
    dropout: Dropout,
}

impl Encoder {
    /// An encoder from `input` features as `config` describes.
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] for a dropout outside [0, 1).
    pub fn new(
        input: usize,
        config: &EncoderConfig,
        rng: &mut ChaCha8Rng,
        seed: u64,
    ) -> Result<Self> {
        let mut widths = vec![input];
        widths.extend(&config.hidden);
        widths.push(config.embedding);
        let layers = widths
            .windows(2)
            .map(|w| Linear::new(w[0], w[1], rng))
            .collect();
        Ok(Encoder {
            layers,
            dropout: Dropout::new(config.dropout, seed)?,
        })
    }

    /// Z_m for a batch of inputs `[batch, input]`.
    ///
    /// # Errors
    /// [`crate::Error::ShapeMismatch`] when the input width is wrong.
    pub fn forward(&self, x: &Tensor<f32>) -> Result<Tensor<f32>> {
        let last = self.layers.len() - 1;
        let mut h = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.try_forward(&h)?.relu();
            if i < last {
                h = self.dropout.forward(&h);
            }
        }
        Ok(h)
    }
}

impl Module for Encoder {
    fn visit_parameters(&self, prefix: &str, visit: &mut dyn FnMut(String, &Tensor<f32>)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit_parameters(&child_prefix(prefix, &i.to_string()), visit);
        }
    }

    fn set_training(&self, training: bool) {
        self.dropout.set_training(training);
    }
}
