//! [`NoiseSource`]: the seeded standard-normal draws of reparameterized sampling.

use std::sync::{Mutex, PoisonError};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::nn::Gaussian;
use crate::tensor::Tensor;

/// A seeded generator shared by a model's Gaussian heads, so that one seed fixes every sample
/// of a training run, bit for bit. Behind a mutex so forward passes take `&self`.
pub struct NoiseSource {
    rng: Mutex<ChaCha8Rng>,
}

impl NoiseSource {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        NoiseSource {
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
        }
    }

    /// A reparameterized sample of `g` when `training`, its mean otherwise.
    pub fn draw(&self, g: &Gaussian, training: bool) -> Tensor<f32> {
        if !training {
            return g.mean.clone();
        }
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        g.sample(&mut rng)
    }
}
