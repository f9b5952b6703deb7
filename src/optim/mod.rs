//! Optimizers and learning-rate schedules.
//!
//! An optimizer owns a list of parameter tensors (leaves made with `requires_grad`) and
//! updates them in place from their accumulated gradients; parameters without a gradient
//! (frozen, or unused by the loss) are skipped.

mod adam;
mod clip;
mod grads;
mod schedule;
mod sgd;

pub use adam::{Adam, AdamConfig};
pub use clip::clip_grad_norm;
pub use schedule::{Cosine, ReduceOnPlateau, Schedule, StepDecay};
pub use sgd::{Sgd, SgdConfig};

use crate::error::Result;
use crate::tensor::Tensor;

/// What every optimizer offers a trainer.
pub trait Optimizer {
    /// Applies one update to every parameter that has a gradient.
    ///
    /// # Errors
    /// [`crate::Error::NonFinite`] when a gradient holds NaN or infinity (no parameter is
    /// changed then).
    fn step(&mut self) -> Result<()>;

    /// Forgets the gradients of all parameters.
    fn zero_grad(&self) {
        for p in self.params() {
            p.zero_grad();
        }
    }

    /// The parameters this optimizer updates.
    fn params(&self) -> &[Tensor<f32>];

    /// The current learning rate.
    fn learning_rate(&self) -> f32;

    /// Changes the learning rate for the following steps.
    fn set_learning_rate(&mut self, lr: f32);
}
