//! Learning-rate schedules: step decay, cosine annealing and reduce-on-plateau, behind one
//! trait that a trainer calls once per epoch.

use crate::error::{Error, Result};

/// A rule giving the learning rate of each epoch.
///
/// A trainer calls [`Schedule::next_lr`] once at the start of every epoch, in order, with
/// epochs counted from 0, and hands the answer to
/// [`Optimizer::set_learning_rate`](crate::optim::Optimizer::set_learning_rate):
///
/// ```text
/// for epoch in 0..epochs {
///     opt.set_learning_rate(schedule.next_lr(epoch, base_lr, last_validation_loss));
///     ... train one epoch, evaluate, keep last_validation_loss ...
/// }
/// ```
///
/// `metric` is the last validation metric, `None` before the first evaluation; schedules
/// that depend only on the epoch ignore it. `&mut self` lets a schedule keep state.
pub trait Schedule {
    /// The learning rate for `epoch`, starting from `base_lr`.
    fn next_lr(&mut self, epoch: usize, base_lr: f32, metric: Option<f32>) -> f32;
}

/// Multiplies the rate by `gamma` every `step_size` epochs:
/// `lr = base_lr * gamma^floor(epoch / step_size)`. A `step_size` of 0 never decays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepDecay {
    /// Epochs between two decays.
    pub step_size: usize,
    /// Factor applied at each decay.
    pub gamma: f32,
}

impl Schedule for StepDecay {
    fn next_lr(&mut self, epoch: usize, base_lr: f32, _metric: Option<f32>) -> f32 {
        let decays = epoch.checked_div(self.step_size).unwrap_or(0);
        let exponent = i32::try_from(decays).unwrap_or(i32::MAX);
        (f64::from(base_lr) * f64::from(self.gamma).powi(exponent)) as f32
    }
}

/// Cosine annealing from `base_lr` at epoch 0 to `min_lr` at epoch `total_epochs`, then flat:
/// `lr = min_lr + (base_lr - min_lr) (1 + cos(pi e / total_epochs)) / 2` with
/// `e = min(epoch, total_epochs)`. With `total_epochs = 0` the rate is `min_lr` throughout.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cosine {
    /// Length of the annealing, in epochs.
    pub total_epochs: usize,
    /// The rate reached at the end.
    pub min_lr: f32,
}

impl Schedule for Cosine {
    fn next_lr(&mut self, epoch: usize, base_lr: f32, _metric: Option<f32>) -> f32 {
        if self.total_epochs == 0 {
            return self.min_lr;
        }
        let progress = epoch.min(self.total_epochs) as f64 / self.total_epochs as f64;
        let (base, min) = (f64::from(base_lr), f64::from(self.min_lr));
        let cosine = (1.0 + (std::f64::consts::PI * progress).cos()) / 2.0;
        (min + (base - min) * cosine) as f32
    }
}

/// Cuts the rate by `factor` when the metric stops improving, as PyTorch's
/// `ReduceLROnPlateau` in mode "min" with a relative threshold and no cooldown.
///
/// Lower is better (a validation loss; pass the negated value of an accuracy). A metric
/// counts as an improvement when it is below `best * (1 - threshold)`; each epoch without one
/// is a bad epoch, and after more than `patience` bad epochs in a row the rate becomes
/// `max(lr * factor, min_lr)` and the count restarts. A NaN metric is a bad epoch; `None`
/// (not evaluated) changes nothing. The rate starts at the `base_lr` of the first call and
/// afterwards ignores `base_lr`.
#[derive(Clone, Debug, PartialEq)]
pub struct ReduceOnPlateau {
    /// Multiplier applied on a plateau, in (0, 1).
    pub factor: f32,
    /// Bad epochs tolerated before a cut.
    pub patience: usize,
    /// The rate is never cut below this.
    pub min_lr: f32,
    /// Relative improvement needed, for instance 1e-4.
    pub threshold: f32,
    best: Option<f32>,
    bad_epochs: usize,
    lr: Option<f32>,
}

impl ReduceOnPlateau {
    /// A plateau schedule.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `0 < factor < 1`, `min_lr >= 0` and
    /// `0 <= threshold < 1`.
    pub fn new(factor: f32, patience: usize, min_lr: f32, threshold: f32) -> Result<Self> {
        let valid = factor > 0.0
            && factor < 1.0
            && min_lr.is_finite()
            && min_lr >= 0.0
            && (0.0..1.0).contains(&threshold);
        if !valid {
            return Err(Error::argument(
                "ReduceOnPlateau",
                format!(
                    "needs 0 < factor < 1, min_lr >= 0 and 0 <= threshold < 1, got {factor}, \
                     {min_lr} and {threshold}"
                ),
            ));
        }
        Ok(ReduceOnPlateau {
            factor,
            patience,
            min_lr,
            threshold,
            best: None,
            bad_epochs: 0,
            lr: None,
        })
    }

    /// The best metric seen so far.
    pub fn best(&self) -> Option<f32> {
        self.best
    }
}

impl Schedule for ReduceOnPlateau {
    fn next_lr(&mut self, _epoch: usize, base_lr: f32, metric: Option<f32>) -> f32 {
        let lr = *self.lr.get_or_insert(base_lr);
        let Some(metric) = metric else {
            return lr;
        };

        let improved = match self.best {
            None => !metric.is_nan(),
            Some(best) => metric < best * (1.0 - self.threshold),
        };
        if improved {
            self.best = Some(metric);
            self.bad_epochs = 0;
            return lr;
        }

        self.bad_epochs += 1;
        if self.bad_epochs <= self.patience {
            return lr;
        }
        self.bad_epochs = 0;
        let reduced = (lr * self.factor).max(self.min_lr);
        self.lr = Some(reduced);
        reduced
    }
}
