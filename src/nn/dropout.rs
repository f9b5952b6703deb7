//! [`Dropout`]: randomly zeroes activations while training, as a regulariser.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::nn::Module;
use crate::tensor::{pool, Tensor};

/// Inverted dropout: in training each element is kept with probability `1 - p` and scaled
/// by `1 / (1 - p)`, or set to zero, so the expected value of every output equals its input
/// and evaluation needs no rescaling; in evaluation it is the identity.
///
/// The mask comes from a ChaCha8 generator seeded at construction, so two runs with the same
/// seed and the same sequence of calls drop the same elements. The generator sits behind a
/// mutex so that `forward` takes `&self`; calls from several threads are safe but then draw
/// masks in whatever order the threads reach the lock.
///
/// Gradient: the output gradient times the same mask (zero or `1 / (1 - p)`).
pub struct Dropout {
    p: f32,
    training: AtomicBool,
    rng: Mutex<ChaCha8Rng>,
}

impl Dropout {
    /// A dropout layer that zeroes each element with probability `p`, in training mode.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `0 <= p < 1` (with `p = 1` every output would be
    /// zero and the scale infinite).
    pub fn new(p: f32, seed: u64) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::argument(
                "Dropout",
                format!("the drop probability must be in [0, 1), got {p}"),
            ));
        }
        Ok(Dropout {
            p,
            training: AtomicBool::new(true),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
        })
    }

    /// The drop probability.
    pub fn p(&self) -> f32 {
        self.p
    }

    /// True in training mode.
    pub fn is_training(&self) -> bool {
        self.training.load(Ordering::Relaxed)
    }

    /// `x` with a fresh random mask applied in training mode; `x` itself (the same handle)
    /// in evaluation mode or when `p = 0`.
    pub fn forward(&self, x: &Tensor<f32>) -> Tensor<f32> {
        if !self.is_training() || self.p == 0.0 {
            return x.clone();
        }

        let scale = 1.0 / (1.0 - self.p);
        // The buffer first holds the generator's raw words, then each becomes its mask value.
        let mut mask = pool::zeroed(x.numel());
        {
            let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
            rng.fill(bytemuck::cast_slice_mut::<f32, u32>(&mut mask));
        }
        let threshold = drop_threshold(self.p);
        for m in &mut mask {
            *m = if m.to_bits() >> 8 < threshold {
                0.0
            } else {
                scale
            };
        }
        let mask = Tensor::from_vec(mask, x.shape().clone())
            .expect("the mask has one value per element of x");

        x * &mask
    }
}

/// The integer form of the test `u < p` for a uniform `u` in [0, 1) drawn as rand does:
/// `u = (w >> 8) * 2^-24` from one 32-bit word `w`. Scaling by a power of two is exact, so
/// `u < p` holds exactly when `w >> 8 < ceil(p * 2^24)`; the mask therefore drops the same
/// elements as drawing `rng.random::<f32>() < p` word by word, while the words come from one
/// bulk fill of the generator's output (several times faster than one call per element).
fn drop_threshold(p: f32) -> u32 {
    (p * (1u32 << 24) as f32).ceil() as u32
}

impl Module for Dropout {
    fn visit_parameters(&self, _prefix: &str, _visit: &mut dyn FnMut(String, &Tensor<f32>)) {}

    fn set_training(&self, training: bool) {
        self.training.store(training, Ordering::Relaxed);
    }
}
