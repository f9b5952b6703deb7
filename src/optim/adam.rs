//! [`Adam`] and its decoupled-weight-decay variant AdamW, with PyTorch's update rule.

use crate::error::{Error, Result};
use crate::optim::grads::{check_finite, with_grad_and_param};
use crate::optim::Optimizer;
use crate::tensor::Tensor;

/// Settings of [`Adam`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// Learning rate, `lr >= 0`.
    pub lr: f32,
    /// Decay of the first-moment (mean) estimate, in [0, 1).
    pub beta1: f32,
    /// Decay of the second-moment (uncentred variance) estimate, in [0, 1).
    pub beta2: f32,
    /// Added to the denominator, `eps > 0`.
    pub eps: f32,
    /// Weight-decay coefficient `wd >= 0`.
    pub weight_decay: f32,
    /// `false`: Adam's L2 penalty, `wd * p` added to the gradient (so it is rescaled by the
    /// moments). `true`: AdamW, `p <- p - lr * wd * p` applied directly before the update.
    pub decoupled_weight_decay: bool,
}

impl Default for AdamConfig {
    /// lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay: PyTorch's defaults.
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
        }
    }
}

impl AdamConfig {
    /// AdamW with learning rate `lr`, decoupled weight decay `weight_decay`, and the other
    /// settings at their defaults.
    pub fn adamw(lr: f32, weight_decay: f32) -> Self {
        AdamConfig {
            lr,
            weight_decay,
            decoupled_weight_decay: true,
            ..Self::default()
        }
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the first bad setting.
    pub fn validate(&self) -> Result<()> {
        let bad = if !(self.lr.is_finite() && self.lr >= 0.0) {
            Some(format!("lr must be finite and >= 0, got {}", self.lr))
        } else if !(0.0..1.0).contains(&self.beta1) || !(0.0..1.0).contains(&self.beta2) {
            Some(format!(
                "betas must be in [0, 1), got ({}, {})",
                self.beta1, self.beta2
            ))
        } else if !(self.eps.is_finite() && self.eps > 0.0) {
            Some(format!("eps must be finite and > 0, got {}", self.eps))
        } else if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            Some(format!(
                "weight_decay must be >= 0, got {}",
                self.weight_decay
            ))
        } else {
            None
        };
        bad.map_or(Ok(()), |reason| Err(Error::argument("AdamConfig", reason)))
    }
}

/// The moment estimates of one parameter.
struct Moments {
    /// Number of updates this parameter has had.
    steps: i32,
    /// First moment `m`.
    mean: Vec<f32>,
    /// Second moment `v`.
    square: Vec<f32>,
}

/// Adam (Kingma and Ba, 2015), step by step as PyTorch's `torch.optim.Adam` and `AdamW`
/// (no AMSGrad). For each parameter, at its `t`-th update:
///
/// ```text
/// g = grad + wd * p                    (Adam with wd > 0)
/// p = p - lr * wd * p                  (AdamW instead)
/// m = beta1 * m + (1 - beta1) * g
/// v = beta2 * v + (1 - beta2) * g^2
/// p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
/// ```
///
/// The bias corrections are computed in `f64`, the element updates in `f32` over the
/// parameter's contiguous buffer, in plain loops the compiler vectorises. Moment buffers are
/// allocated at a parameter's first update and reused: steady-state steps allocate nothing.
/// A parameter whose gradient is `None` is skipped and its step count not advanced, as in
/// PyTorch.
pub struct Adam {
    params: Vec<Tensor<f32>>,
    config: AdamConfig,
    moments: Vec<Option<Moments>>,
}

impl Adam {
    /// An optimizer for `params` (leaves made with `requires_grad`). The settings are
    /// checked by every [`Optimizer::step`].
    pub fn new(params: Vec<Tensor<f32>>, config: AdamConfig) -> Self {
        let moments = params.iter().map(|_| None).collect();
        Adam {
            params,
            config,
            moments,
        }
    }

    /// The settings in use.
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }
}

impl Optimizer for Adam {
    /// # Errors
    /// [`Error::InvalidArgument`] for invalid settings; [`Error::NonFinite`] naming the first
    /// parameter (index and shape) whose gradient holds NaN or infinity. Nothing changes then.
    fn step(&mut self) -> Result<()> {
        self.config.validate()?;
        check_finite(&self.params)?;
        let AdamConfig {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay: wd,
            decoupled_weight_decay: decoupled,
        } = self.config;
        let l2 = if decoupled { 0.0 } else { wd };
        let shrink = if decoupled { 1.0 - lr * wd } else { 1.0 };

        for (index, param) in self.params.iter().enumerate() {
            let state = &mut self.moments[index];
            with_grad_and_param(index, param, |grad, p| {
                let moments = state.get_or_insert_with(|| Moments {
                    steps: 0,
                    mean: vec![0.0; grad.len()],
                    square: vec![0.0; grad.len()],
                });
                moments.steps = moments.steps.saturating_add(1);

                let t = moments.steps;
                let correction1 = 1.0 - f64::from(beta1).powi(t);
                let correction2 = 1.0 - f64::from(beta2).powi(t);
                let step_size = (f64::from(lr) / correction1) as f32;
                let root_correction2 = correction2.sqrt() as f32;

                let rule = Rule {
                    l2,
                    shrink,
                    beta1,
                    beta2,
                    eps,
                    step_size,
                    root_correction2,
                };
                update(&rule, p, grad, &mut moments.mean, &mut moments.square);
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

/// The per-step constants of one parameter's update.
struct Rule {
    l2: f32,
    shrink: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    step_size: f32,
    root_correction2: f32,
}

/// Applies `rule` to every element, with AVX2 when the processor has it (eight lanes instead
/// of SSE2's four; the same operations in the same order, so the results are identical).
fn update(rule: &Rule, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor supports AVX2, checked just above.
        unsafe { update_avx2(rule, p, g, m, v) };
        return;
    }
    update_lanes(rule, p, g, m, v);
}

/// [`update_lanes`] compiled for AVX2.
///
/// # Safety
/// The processor must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn update_avx2(rule: &Rule, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    update_lanes(rule, p, g, m, v);
}

/// The element loop of Adam, in a form the compiler vectorises.
#[inline(always)]
fn update_lanes(rule: &Rule, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    let lanes = p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut());
    for (((p, &g), m), v) in lanes {
        let g = g + rule.l2 * *p;
        *p *= rule.shrink;
        *m = rule.beta1 * *m + (1.0 - rule.beta1) * g;
        *v = rule.beta2 * *v + (1.0 - rule.beta2) * g * g;
        *p -= rule.step_size * *m / (v.sqrt() / rule.root_correction2 + rule.eps);
    }
}
