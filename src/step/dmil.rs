//! [`DmilStep`]: one DMIL training step, forward and hand-derived backward, over a
//! [`Backend`].
//!
//! It computes exactly what [`crate::model::Dmil::loss`] computes in training mode, term by
//! term, and the gradients its tape would give, for each [`Stage`]:
//!
//! - stage 1 (`Decompose`): encoders (with dropout), the M/N heads, reparameterized samples,
//!   the unimodal cross-entropies on M_m (weight `unimodal / M`), the KL of every M_m and N_m
//!   to N(0, I) (mean over batch and latent, weight `kl`), and the reconstruction of the
//!   detached Z_m from [M_m, N_m] (mean squared error, weight `reconstruction`);
//! - stage 2 (`Interact`): the stage-1 parts frozen (so in evaluation mode: no dropout, no
//!   gradient); R from the means of every M_m, U_m and v(R | M_m) from each mean, the synergy
//!   input [N_1, .., N_M, N_i N_j], the component heads and the gate; the gated and component
//!   cross-entropies, the KL of R and U_m to N(0, I), the alignment KL(q(R) || v(R | M_m)) and
//!   the reconstruction of the detached mean of M_m from [U_m, R];
//! - stage 3 (`FineTune`, and `Supervised` as the model treats it): every term, every
//!   parameter.
//!
//! A term whose weight is zero is skipped entirely, as [`crate::model::Loss`] skips it, so its
//! parameters get no gradient and no optimizer step.
//!
//! The random parts come from outside: the caller supplies eps for every sample and the
//! dropout masks ([`StepNoise`]), so the same step can be compared with the autograd model
//! drawing from the same generator, and a GPU can draw them on the device.

use crate::error::{Error, Result};
use crate::model::{ModelConfig, ModelKind, Stage};
use crate::nn::Module;

use super::backend::{AdamArgs, Backend};
use super::params::{self, Layers, Param};
use super::pass::{Plan, Run};

/// The names of the loss terms, in the order of [`crate::model::Loss::terms`]; each has a
/// slot of the statistics buffer of the same index.
pub const TERM_NAMES: [&str; 8] = [
    "unimodal_ce",
    "intra_kl",
    "z_reconstruction",
    "gated_ce",
    "component_ce",
    "consistency_kl",
    "alignment_kl",
    "m_reconstruction",
];

/// The statistics slot of the sum of squared gradients.
pub(super) const NORM_SLOT: usize = TERM_NAMES.len();

/// Slots of the statistics buffer: the terms, then the squared norm.
const STAT_SLOTS: usize = NORM_SLOT + 1;

/// The random draws of one step, on the backend.
pub struct StepNoise<B: Backend> {
    /// eps of M_m, `[batch, latent]` per modality.
    pub m: Vec<B::Buf>,
    /// eps of N_m.
    pub n: Vec<B::Buf>,
    /// eps of R (unused in stage 1).
    pub r: B::Buf,
    /// eps of U_m (unused in stage 1).
    pub u: Vec<B::Buf>,
    /// Dropout masks (zeros and `1 / (1 - p)`) per modality, one per hidden encoder layer,
    /// `[batch, hidden_i]`; empty when dropout is off (p = 0). Unused in stage 2, where the
    /// frozen encoders run in evaluation mode.
    pub masks: Vec<Vec<B::Buf>>,
}

/// One batch on the backend.
pub struct StepBatch<B: Backend> {
    /// Samples in the batch.
    pub rows: usize,
    /// `[rows, width_m]` per modality.
    pub inputs: Vec<B::Buf>,
    /// `rows` class indices, as `f32`.
    pub labels: B::Buf,
    /// eps and dropout masks.
    pub noise: StepNoise<B>,
}

/// The loss of one step, as the autograd model reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct StepLoss {
    /// The sum of the terms.
    pub total: f32,
    /// Each active term's name and weighted value, in the model's order.
    pub terms: Vec<(&'static str, f32)>,
    /// The global gradient norm before clipping.
    pub grad_norm: f32,
}

/// Adam's settings for [`DmilStep::adam_step`]: those of [`crate::optim::AdamConfig`]
/// without decoupled weight decay (what the trainer uses), plus the clipping norm.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamSettings {
    /// Learning rate.
    pub lr: f32,
    /// First-moment decay.
    pub beta1: f32,
    /// Second-moment decay.
    pub beta2: f32,
    /// Denominator epsilon.
    pub eps: f32,
    /// L2 penalty added to the gradient.
    pub weight_decay: f32,
    /// Global gradient-norm limit (0: off).
    pub clip_norm: f32,
}

/// DMIL's parameters on a backend and its training step; see the module documentation.
pub struct DmilStep<'b, B: Backend> {
    backend: &'b B,
    config: ModelConfig,
    layers: Layers,
    params: Vec<Param<B>>,
    stats: B::Buf,
}

impl<'b, B: Backend> DmilStep<'b, B> {
    /// Copies the parameters of `model`, a DMIL built from `config`, onto `backend`, with
    /// fresh optimizer state.
    ///
    /// # Errors
    /// [`Error::Config`] when `config` is not a valid DMIL configuration or `model` does not
    /// hold its parameters; backend errors.
    pub fn new(backend: &'b B, config: &ModelConfig, model: &dyn Module) -> Result<Self> {
        config.validate()?;
        if config.kind != ModelKind::Dmil {
            return Err(Error::Config(format!(
                "the explicit training step supports DMIL only, not {}",
                config.kind
            )));
        }
        let (layers, entries) = params::layout(config);
        let params = params::upload(backend, &entries, model)?;
        let stats = backend.zeros(STAT_SLOTS)?;
        Ok(DmilStep {
            backend,
            config: config.clone(),
            layers,
            params,
            stats,
        })
    }

    /// The backend.
    pub fn backend(&self) -> &'b B {
        self.backend
    }

    /// Writes the current parameters back into `model` (the CPU model the step was built
    /// from, or one of the same configuration).
    ///
    /// # Errors
    /// [`Error::Config`] when `model` lacks a parameter; backend errors.
    pub fn download_into(&self, model: &dyn Module) -> Result<()> {
        params::download(self.backend, &self.params, model)
    }

    /// Replaces the parameters with those of `model` and forgets the optimizer state.
    ///
    /// # Errors
    /// As [`DmilStep::new`].
    pub fn upload_from(&mut self, model: &dyn Module) -> Result<()> {
        let (_, entries) = params::layout(&self.config);
        self.params = params::upload(self.backend, &entries, model)?;
        Ok(())
    }

    /// Forgets Adam's moments and step counts (a new stage starts a fresh optimizer).
    ///
    /// # Errors
    /// Backend errors.
    pub fn reset_optimizer(&mut self) -> Result<()> {
        for p in &mut self.params {
            self.backend.fill_zero(&mut p.mean)?;
            self.backend.fill_zero(&mut p.square)?;
            p.steps = 0;
        }
        Ok(())
    }

    /// The gradient of every parameter the last [`DmilStep::forward_backward`] reached, by
    /// name, copied to the host.
    ///
    /// # Errors
    /// Backend errors.
    pub fn gradients(&self) -> Result<Vec<(String, Vec<f32>)>> {
        self.params
            .iter()
            .filter(|p| p.touched)
            .map(|p| Ok((p.name.clone(), self.backend.download(&p.grad)?)))
            .collect()
    }

    /// Every parameter's value, by name, copied to the host.
    ///
    /// # Errors
    /// Backend errors.
    pub fn parameters(&self) -> Result<Vec<(String, Vec<f32>)>> {
        self.params
            .iter()
            .map(|p| Ok((p.name.clone(), self.backend.download(&p.value)?)))
            .collect()
    }

    /// Checks that `batch` fits the configuration.
    fn check(&self, batch: &StepBatch<B>, plan: Plan) -> Result<()> {
        let b = &self.backend;
        let (rows, l) = (batch.rows, self.config.latent);
        let modalities = self.config.input_widths.len();
        let bad = |what: String| Err(Error::Config(format!("DMIL step: {what}")));
        if rows == 0 {
            return bad("an empty batch".into());
        }
        if batch.inputs.len() != modalities {
            return bad(format!(
                "{} inputs for {modalities} modalities",
                batch.inputs.len()
            ));
        }
        for (m, (x, &w)) in batch
            .inputs
            .iter()
            .zip(&self.config.input_widths)
            .enumerate()
        {
            if b.len(x) != rows * w {
                return bad(format!("input {} is not [{rows}, {w}]", m + 1));
            }
        }
        if b.len(&batch.labels) != rows {
            return bad(format!("{} labels for {rows} rows", b.len(&batch.labels)));
        }
        let noise = &batch.noise;
        let latent_ok =
            |v: &[B::Buf]| v.len() == modalities && v.iter().all(|e| b.len(e) == rows * l);
        if !latent_ok(&noise.m) || !latent_ok(&noise.n) {
            return bad(format!(
                "eps of M and N must be {modalities} buffers of [{rows}, {l}]"
            ));
        }
        if plan.interaction_terms && (!latent_ok(&noise.u) || b.len(&noise.r) != rows * l) {
            return bad(format!("eps of R and U must be [{rows}, {l}]"));
        }
        let dropout = self.config.encoder.dropout > 0.0 && plan.train_first;
        if dropout {
            let hidden = &self.config.encoder.hidden;
            let masks_ok = noise.masks.len() == modalities
                && noise.masks.iter().all(|ms| {
                    ms.len() == hidden.len()
                        && ms.iter().zip(hidden).all(|(mk, &h)| b.len(mk) == rows * h)
                });
            if !masks_ok {
                return bad(format!(
                    "dropout masks must be [{rows}, h] per hidden layer"
                ));
            }
        }
        Ok(())
    }

    /// Forward pass, every loss term of `stage` and the gradients of the parameters it trains
    /// (the others keep theirs untouched). The loss stays on the backend until
    /// [`DmilStep::loss`] reads it.
    ///
    /// # Errors
    /// [`Error::Config`] when the batch does not fit the configuration; backend errors.
    pub fn forward_backward(&mut self, batch: &StepBatch<B>, stage: Stage) -> Result<()> {
        let plan = Plan::of(stage);
        self.check(batch, plan)?;

        self.backend.fill_zero(&mut self.stats)?;
        for p in &mut self.params {
            p.touched = false;
            if plan.trains(p.group) {
                self.backend.fill_zero(&mut p.grad)?;
            }
        }

        let mut run = Run {
            b: self.backend,
            config: &self.config,
            layers: &self.layers,
            params: &mut self.params,
            stats: &mut self.stats,
            rows: batch.rows,
            plan,
        };
        let intra = (0..batch.inputs.len())
            .map(|m| run.intra_forward(m, batch))
            .collect::<Result<Vec<_>>>()?;
        let mut grads = if plan.train_first {
            intra
                .iter()
                .map(|_| run.intra_grad())
                .collect::<Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        if plan.interaction_terms {
            run.interactions(&intra, batch, &mut grads)?;
        }
        if plan.intra_terms {
            for (m, (part, grad)) in intra.iter().zip(&mut grads).enumerate() {
                run.intra_terms(m, part, batch, grad)?;
            }
        }
        if plan.train_first {
            for (m, (part, grad)) in intra.iter().zip(grads).enumerate() {
                run.intra_backward(m, part, batch, grad)?;
            }
        }

        let trained: Vec<usize> = (0..self.params.len())
            .filter(|&i| self.params[i].touched && plan.trains(self.params[i].group))
            .collect();
        for i in trained {
            let p = &self.params[i];
            self.backend
                .sum_squares(&p.grad, &mut self.stats, NORM_SLOT)?;
        }
        Ok(())
    }

    /// One Adam update (after clipping to `settings.clip_norm`) of every parameter the last
    /// [`DmilStep::forward_backward`] trained. Nothing changes, on the device, when the loss
    /// or the gradient norm is not finite; [`DmilStep::loss`] then reports it.
    ///
    /// # Errors
    /// Backend errors.
    pub fn adam_step(&mut self, settings: &AdamSettings) -> Result<()> {
        for p in self.params.iter_mut().filter(|p| p.touched) {
            p.steps = p.steps.saturating_add(1);
            let t = p.steps;
            let correction1 = 1.0 - f64::from(settings.beta1).powi(t);
            let correction2 = 1.0 - f64::from(settings.beta2).powi(t);
            let args = AdamArgs {
                step_size: (f64::from(settings.lr) / correction1) as f32,
                root_correction2: correction2.sqrt() as f32,
                beta1: settings.beta1,
                beta2: settings.beta2,
                eps: settings.eps,
                weight_decay: settings.weight_decay,
                max_norm: settings.clip_norm,
                norm_slot: NORM_SLOT,
                loss_slots: TERM_NAMES.len(),
            };
            self.backend.adam(
                &mut p.value,
                &p.grad,
                &mut p.mean,
                &mut p.square,
                &self.stats,
                args,
            )?;
        }
        Ok(())
    }

    /// The loss of the last [`DmilStep::forward_backward`] (one copy from the device).
    ///
    /// # Errors
    /// [`Error::NonFinite`] naming the first term that is NaN or infinite, or the gradient
    /// norm; backend errors.
    pub fn loss(&self, stage: Stage) -> Result<StepLoss> {
        let stats = self.backend.download(&self.stats)?;
        let plan = Plan::of(stage);
        let w = &self.config.loss;
        let weights = [
            (plan.intra_terms, w.unimodal),
            (plan.intra_terms, w.kl),
            (plan.intra_terms, w.reconstruction),
            (plan.interaction_terms, 1.0),
            (plan.interaction_terms, w.component),
            (plan.interaction_terms, w.kl),
            (plan.interaction_terms, w.alignment),
            (plan.interaction_terms, w.reconstruction),
        ];
        let terms: Vec<(&'static str, f32)> = TERM_NAMES
            .iter()
            .zip(weights)
            .zip(&stats)
            .filter(|((_, (active, weight)), _)| *active && *weight != 0.0)
            .map(|((&name, _), &value)| (name, value))
            .collect();
        if let Some((name, value)) = terms.iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite(format!("loss term {name} is {value}")));
        }
        let grad_norm = stats[NORM_SLOT].sqrt();
        if !grad_norm.is_finite() {
            return Err(Error::NonFinite(format!(
                "the global gradient norm is {grad_norm}"
            )));
        }
        Ok(StepLoss {
            total: terms.iter().map(|(_, v)| v).sum(),
            terms,
            grad_norm,
        })
    }

    /// A whole training step: forward, backward, clipping, Adam, and the loss (the only copy
    /// back to the host).
    ///
    /// # Errors
    /// As [`DmilStep::forward_backward`] and [`DmilStep::loss`]; on a non-finite loss or
    /// gradient no parameter has changed.
    pub fn train_step(
        &mut self,
        batch: &StepBatch<B>,
        stage: Stage,
        settings: &AdamSettings,
    ) -> Result<StepLoss> {
        self.forward_backward(batch, stage)?;
        self.adam_step(settings)?;
        self.loss(stage)
    }
}
