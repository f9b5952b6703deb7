//! [`GaussianHead`]: a layer that outputs a diagonal Gaussian, and [`Gaussian`], its sample
//! by reparameterization.

use rand_chacha::ChaCha8Rng;

use super::linear::Linear;
use super::module::{child_prefix, Module};
use crate::error::Result;
use crate::tensor::Tensor;

/// A diagonal Gaussian per row: `N(mean, diag(exp(logvar)))`.
#[derive(Clone, Debug)]
pub struct Gaussian {
    /// Means, `[batch, latent]`.
    pub mean: Tensor<f32>,
    /// Log-variances, `[batch, latent]`.
    pub logvar: Tensor<f32>,
}

impl Gaussian {
    /// The reparameterized sample `mean + exp(logvar / 2) * eps` for standard-normal `eps` of
    /// the same shape: a draw from the Gaussian through which gradients reach `mean` and
    /// `logvar` (d/d mean = 1, d/d logvar = exp(logvar / 2) * eps / 2).
    ///
    /// # Errors
    /// [`crate::Error::ShapeMismatch`] when `eps` does not have the Gaussian's shape.
    pub fn reparameterize(&self, eps: &Tensor<f32>) -> Result<Tensor<f32>> {
        self.mean.try_reparameterize(&self.logvar, eps)
    }

    /// A reparameterized sample with `eps` drawn from `rng`.
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> Tensor<f32> {
        let eps = Tensor::randn_with(self.mean.shape().clone(), rng);
        self.reparameterize(&eps)
            .expect("eps is drawn in the Gaussian's own shape")
    }
}

/// A linear layer pair mapping features to the mean and log-variance of a diagonal Gaussian:
/// the posterior heads q(M | Z), q(N | Z), q(R | ...), q(U | M) and v(R | M) of DMIL.
/// Parameters are named `mean.*` and `logvar.*`.
pub struct GaussianHead {
    mean: Linear,
    logvar: Linear,
}

impl GaussianHead {
    /// A head from `inputs` features to a `latent`-dimensional Gaussian.
    pub fn new(inputs: usize, latent: usize, rng: &mut ChaCha8Rng) -> Self {
        GaussianHead {
            mean: Linear::new(inputs, latent, rng),
            logvar: Linear::new(inputs, latent, rng),
        }
    }

    /// Width of the latent Gaussian.
    pub fn latent(&self) -> usize {
        self.mean.outputs()
    }

    /// The Gaussian for each row of `x`.
    ///
    /// # Errors
    /// [`crate::Error::ShapeMismatch`] when the input width is wrong.
    pub fn try_forward(&self, x: &Tensor<f32>) -> Result<Gaussian> {
        Ok(Gaussian {
            mean: self.mean.try_forward(x)?,
            logvar: self.logvar.try_forward(x)?,
        })
    }

    /// The Gaussian for each row of `x`.
    ///
    /// # Panics
    /// When the input width is wrong; see [`GaussianHead::try_forward`].
    #[track_caller]
    pub fn forward(&self, x: &Tensor<f32>) -> Gaussian {
        self.try_forward(x).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Module for GaussianHead {
    fn visit_parameters(&self, prefix: &str, visit: &mut dyn FnMut(String, &Tensor<f32>)) {
        self.mean
            .visit_parameters(&child_prefix(prefix, "mean"), visit);
        self.logvar
            .visit_parameters(&child_prefix(prefix, "logvar"), visit);
    }
}
