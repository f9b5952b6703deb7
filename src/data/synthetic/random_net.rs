//! Small fixed random networks that turn a one-hot code into a feature vector.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// A one-hidden-layer network with random, frozen weights:
/// `f(x) = W2 tanh(W1 x + b1)`, `W1 ~ N(0, 1)`, `b1 ~ N(0, 0.25)`, `W2 ~ N(0, 2 / hidden)`.
///
/// The scale of `W2` makes each output coordinate have a spread of about 1 over random
/// inputs, the same scale as the standard Gaussian noise that fills inactive blocks. It is
/// written with plain loops because the data layer does not depend on the engine.
#[derive(Debug, Clone)]
pub struct RandomNet {
    inputs: usize,
    hidden: usize,
    outputs: usize,
    w1: Vec<f32>,
    b1: Vec<f32>,
    w2: Vec<f32>,
}

impl RandomNet {
    /// Draws a network's weights from `rng`.
    pub fn new(inputs: usize, hidden: usize, outputs: usize, rng: &mut ChaCha8Rng) -> Self {
        let mut gaussian = |n: usize, std: f32| -> Vec<f32> {
            (0..n)
                .map(|_| std * rng.sample::<f32, _>(StandardNormal))
                .collect()
        };
        let w1 = gaussian(hidden * inputs, 1.0);
        let b1 = gaussian(hidden, 0.5);
        let w2 = gaussian(outputs * hidden, (2.0 / hidden as f32).sqrt());
        RandomNet {
            inputs,
            hidden,
            outputs,
            w1,
            b1,
            w2,
        }
    }

    /// Number of output features.
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// The output for the one-hot input of `class`, written into `out` (length `outputs`).
    ///
    /// # Panics
    ///
    /// When `class >= inputs` or `out.len() != outputs` (internal misuse).
    pub fn forward_one_hot(&self, class: usize, out: &mut [f32]) {
        assert!(class < self.inputs && out.len() == self.outputs);

        // Hidden layer: the one-hot input picks column `class` of W1.
        let hidden: Vec<f32> = (0..self.hidden)
            .map(|h| (self.w1[h * self.inputs + class] + self.b1[h]).tanh())
            .collect();

        // Output layer.
        for (o, y) in out.iter_mut().enumerate() {
            let weights = &self.w2[o * self.hidden..(o + 1) * self.hidden];
            *y = weights.iter().zip(&hidden).map(|(w, h)| w * h).sum();
        }
    }
}
