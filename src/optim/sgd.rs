//! [`Sgd`]: stochastic gradient descent with momentum, Nesterov momentum and weight decay,
//! with PyTorch's update rule.

use crate::error::{Error, Result};
use crate::optim::grads::{check_finite, with_grad_and_param};
use crate::optim::Optimizer;
use crate::tensor::Tensor;

/// Settings of [`Sgd`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    /// Learning rate, `lr > 0`.
    pub lr: f32,
    /// Momentum factor `mu` in [0, 1); 0 turns momentum off.
    pub momentum: f32,
    /// Nesterov momentum (needs `momentum > 0`).
    pub nesterov: bool,
    /// L2 penalty `wd >= 0`, added to the gradient as `wd * p`.
    pub weight_decay: f32,
}

impl Default for SgdConfig {
    /// lr 0.01, momentum 0.9, no Nesterov, no weight decay.
    fn default() -> Self {
        SgdConfig {
            lr: 0.01,
            momentum: 0.9,
            nesterov: false,
            weight_decay: 0.0,
        }
    }
}

impl SgdConfig {
    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the first bad setting.
    pub fn validate(&self) -> Result<()> {
        let bad = if !(self.lr.is_finite() && self.lr >= 0.0) {
            Some(format!("lr must be finite and >= 0, got {}", self.lr))
        } else if !(0.0..1.0).contains(&self.momentum) {
            Some(format!("momentum must be in [0, 1), got {}", self.momentum))
        } else if self.nesterov && self.momentum == 0.0 {
            Some("nesterov needs a non-zero momentum".to_string())
        } else if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            Some(format!(
                "weight_decay must be >= 0, got {}",
                self.weight_decay
            ))
        } else {
            None
        };
        bad.map_or(Ok(()), |reason| Err(Error::argument("SgdConfig", reason)))
    }
}

/// Stochastic gradient descent, step by step as PyTorch's `torch.optim.SGD` (dampening 0):
///
/// ```text
/// g = grad + wd * p                      (weight decay, when wd > 0)
/// b = g            on a parameter's first step,
/// b = mu * b + g   afterwards             (momentum buffer, when mu > 0)
/// d = g + mu * b   with Nesterov, else d = b   (d = g without momentum)
/// p = p - lr * d
/// ```
///
/// Momentum buffers are allocated on a parameter's first step and reused, so steady-state
/// steps allocate nothing. A parameter whose gradient is `None` (frozen or unused) is skipped
/// and its buffer left as it was.
pub struct Sgd {
    params: Vec<Tensor<f32>>,
    config: SgdConfig,
    momentum: Vec<Option<Vec<f32>>>,
}

impl Sgd {
    /// An optimizer for `params` (leaves made with `requires_grad`). The settings are
    /// checked by every [`Optimizer::step`].
    pub fn new(params: Vec<Tensor<f32>>, config: SgdConfig) -> Self {
        let momentum = vec![None; params.len()];
        Sgd {
            params,
            config,
            momentum,
        }
    }

    /// The settings in use.
    pub fn config(&self) -> &SgdConfig {
        &self.config
    }
}

impl Optimizer for Sgd {
    /// # Errors
    /// [`Error::InvalidArgument`] for invalid settings; [`Error::NonFinite`] naming the first
    /// parameter (index and shape) whose gradient holds NaN or infinity. Nothing changes then.
    fn step(&mut self) -> Result<()> {
        self.config.validate()?;
        check_finite(&self.params)?;
        let SgdConfig {
            lr,
            momentum: mu,
            nesterov,
            weight_decay: wd,
        } = self.config;

        for (index, param) in self.params.iter().enumerate() {
            let state = &mut self.momentum[index];
            with_grad_and_param(index, param, |grad, p| {
                if mu == 0.0 {
                    for (p, &g) in p.iter_mut().zip(grad) {
                        *p -= lr * (g + wd * *p);
                    }
                    return;
                }

                // A fresh buffer of zeros makes the first update b = mu * 0 + g = g.
                let buf = state.get_or_insert_with(|| vec![0.0; grad.len()]);
                for ((p, &g), b) in p.iter_mut().zip(grad).zip(buf.iter_mut()) {
                    let g = g + wd * *p;
                    *b = mu * *b + g;
                    let d = if nesterov { g + mu * *b } else { *b };
                    *p -= lr * d;
                }
            })?;
        }
        Ok(())
    }

    fn params(&self) -> &[Tensor<f32>] {
        &self.params
    }

    fn learning_rate(&self) -> f32 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.config.lr = lr;
    }
}
