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

use super::backend::{AdamArgs, Backend, Gemm};
use super::params::{self, Group, Head, Layers, Lin, Param};

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
const NORM_SLOT: usize = TERM_NAMES.len();

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

/// What the encoder and intra-modal decomposition of one modality computed.
struct Intra<B: Backend> {
    /// The output of each encoder layer after ReLU (and dropout); the last is Z_m.
    hidden: Vec<B::Buf>,
    mu_m: B::Buf,
    lv_m: B::Buf,
    mu_n: B::Buf,
    lv_n: B::Buf,
    m: B::Buf,
    n: B::Buf,
}

/// Gradients flowing into one modality's intra-modal decomposition.
struct IntraGrad<B: Backend> {
    mu_m: B::Buf,
    lv_m: B::Buf,
    mu_n: B::Buf,
    lv_n: B::Buf,
    m: B::Buf,
    n: B::Buf,
}

/// Which parts a stage trains and which terms it adds.
#[derive(Clone, Copy, Debug)]
struct Plan {
    train_first: bool,
    train_second: bool,
    intra_terms: bool,
    interaction_terms: bool,
}

impl Plan {
    fn of(stage: Stage) -> Plan {
        let (train_first, train_second) = match stage {
            Stage::Decompose => (true, false),
            Stage::Interact => (false, true),
            Stage::FineTune | Stage::Supervised => (true, true),
        };
        Plan {
            train_first,
            train_second,
            intra_terms: train_first,
            interaction_terms: train_second,
        }
    }

    fn trains(self, group: Group) -> bool {
        match group {
            Group::First => self.train_first,
            Group::Second => self.train_second,
        }
    }
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

/// The state of one forward-backward pass.
struct Run<'a, B: Backend> {
    b: &'a B,
    config: &'a ModelConfig,
    layers: &'a Layers,
    params: &'a mut Vec<Param<B>>,
    stats: &'a mut B::Buf,
    rows: usize,
    plan: Plan,
}

impl<B: Backend> Run<'_, B> {
    /// `x W^T + b` for `x` of `[rows, lin.inputs]`.
    fn linear(&self, lin: Lin, x: &B::Buf) -> Result<B::Buf> {
        let mut y = self.b.zeros(self.rows * lin.outputs)?;
        let shape = Gemm {
            m: self.rows,
            n: lin.outputs,
            k: lin.inputs,
            trans_a: false,
            trans_b: true,
            beta: 0.0,
        };
        self.b
            .gemm(shape, x, &self.params[lin.weight].value, &mut y)?;
        self.b.add_bias(&mut y, &self.params[lin.bias].value)?;
        Ok(y)
    }

    /// Both outputs of a Gaussian head.
    fn head(&self, head: Head, x: &B::Buf) -> Result<(B::Buf, B::Buf)> {
        Ok((self.linear(head.mean, x)?, self.linear(head.logvar, x)?))
    }

    /// Backward of [`Run::linear`] from `dy`: `dW += dy^T x`, `db += colsum(dy)` when `train`,
    /// and `dx += dy W` when `dx` is given.
    fn linear_backward(
        &mut self,
        lin: Lin,
        x: &B::Buf,
        dy: &B::Buf,
        train: bool,
        dx: Option<&mut B::Buf>,
    ) -> Result<()> {
        if train {
            let shape = Gemm {
                m: lin.outputs,
                n: lin.inputs,
                k: self.rows,
                trans_a: true,
                trans_b: false,
                beta: 1.0,
            };
            self.b
                .gemm(shape, dy, x, &mut self.params[lin.weight].grad)?;
            self.b
                .add_column_sums(dy, &mut self.params[lin.bias].grad)?;
            self.params[lin.weight].touched = true;
            self.params[lin.bias].touched = true;
        }
        if let Some(dx) = dx {
            let shape = Gemm {
                m: self.rows,
                n: lin.inputs,
                k: lin.outputs,
                trans_a: false,
                trans_b: false,
                beta: 1.0,
            };
            self.b.gemm(shape, dy, &self.params[lin.weight].value, dx)?;
        }
        Ok(())
    }

    /// Backward of a Gaussian head from the gradients of its mean and log-variance.
    fn head_backward(
        &mut self,
        head: Head,
        x: &B::Buf,
        dmu: &B::Buf,
        dlv: &B::Buf,
        train: bool,
        mut dx: Option<&mut B::Buf>,
    ) -> Result<()> {
        self.linear_backward(head.mean, x, dmu, train, dx.as_deref_mut())?;
        self.linear_backward(head.logvar, x, dlv, train, dx)
    }

    /// `[a, b]` along columns, each `[rows, latent]`.
    fn concat(&self, parts: &[&B::Buf], width: usize) -> Result<B::Buf> {
        let cols = parts.len() * width;
        let mut out = self.b.zeros(self.rows * cols)?;
        for (i, part) in parts.iter().enumerate() {
            self.b.put_columns(part, &mut out, cols, i * width)?;
        }
        Ok(out)
    }

    /// Zeros of `[rows, latent]`.
    fn latent_zeros(&self) -> Result<B::Buf> {
        self.b.zeros(self.rows * self.config.latent)
    }

    fn intra_grad(&self) -> Result<IntraGrad<B>> {
        Ok(IntraGrad {
            mu_m: self.latent_zeros()?,
            lv_m: self.latent_zeros()?,
            mu_n: self.latent_zeros()?,
            lv_n: self.latent_zeros()?,
            m: self.latent_zeros()?,
            n: self.latent_zeros()?,
        })
    }

    /// The encoder of modality `m` and its M/N heads and samples.
    fn intra_forward(&self, m: usize, batch: &StepBatch<B>) -> Result<Intra<B>> {
        let branch = &self.layers.branches[m];
        let dropout = self.config.encoder.dropout > 0.0 && self.plan.train_first;
        let last = branch.encoder.len() - 1;

        let mut hidden: Vec<B::Buf> = Vec::with_capacity(branch.encoder.len());
        for (i, &lin) in branch.encoder.iter().enumerate() {
            let x = if i == 0 {
                &batch.inputs[m]
            } else {
                &hidden[i - 1]
            };
            let mut h = self.linear(lin, x)?;
            self.b.relu(&mut h)?;
            if i < last && dropout {
                self.b.mul_assign(&mut h, &batch.noise.masks[m][i])?;
            }
            hidden.push(h);
        }

        let z = &hidden[last];
        let (mu_m, lv_m) = self.head(branch.task, z)?;
        let (mu_n, lv_n) = self.head(branch.rest, z)?;
        let mut sample_m = self.latent_zeros()?;
        let mut sample_n = self.latent_zeros()?;
        self.b
            .reparameterize(&mu_m, &lv_m, &batch.noise.m[m], &mut sample_m)?;
        self.b
            .reparameterize(&mu_n, &lv_n, &batch.noise.n[m], &mut sample_n)?;
        Ok(Intra {
            hidden,
            mu_m,
            lv_m,
            mu_n,
            lv_n,
            m: sample_m,
            n: sample_n,
        })
    }

    /// The stage-1 terms of modality `m`, forward and backward into `grad`.
    fn intra_terms(
        &mut self,
        m: usize,
        part: &Intra<B>,
        batch: &StepBatch<B>,
        grad: &mut IntraGrad<B>,
    ) -> Result<()> {
        let (layers, config) = (self.layers, self.config);
        let branch = &layers.branches[m];
        let w = &config.loss;
        let (rows, l, e) = (self.rows, self.config.latent, self.config.encoder.embedding);
        let c = self.config.num_classes;
        let modalities = self.config.input_widths.len() as f32;

        if w.unimodal != 0.0 {
            let logits = self.linear(branch.unimodal, &part.m)?;
            let mut dlogits = self.b.zeros(rows * c)?;
            let scale = w.unimodal / modalities / rows as f32;
            self.b.cross_entropy(
                &logits,
                &batch.labels,
                c,
                scale,
                self.stats,
                0,
                &mut dlogits,
            )?;
            self.linear_backward(branch.unimodal, &part.m, &dlogits, true, Some(&mut grad.m))?;
        }

        if w.kl != 0.0 {
            let scale = w.kl / (rows * l) as f32;
            let (mu, lv) = (&mut grad.mu_m, &mut grad.lv_m);
            self.b
                .kl_standard_normal(&part.mu_m, &part.lv_m, scale, self.stats, 1, mu, lv)?;
            let (mu, lv) = (&mut grad.mu_n, &mut grad.lv_n);
            self.b
                .kl_standard_normal(&part.mu_n, &part.lv_n, scale, self.stats, 1, mu, lv)?;
        }

        if w.reconstruction != 0.0 {
            let z = &part.hidden[part.hidden.len() - 1];
            let input = self.concat(&[&part.m, &part.n], l)?;
            let [first, second] = branch.z_decoder;
            let mut h = self.linear(first, &input)?;
            self.b.relu(&mut h)?;
            let rebuilt = self.linear(second, &h)?;

            let mut drebuilt = self.b.zeros(rows * e)?;
            let scale = w.reconstruction / (rows * e) as f32;
            self.b
                .mse(&rebuilt, z, scale, self.stats, 2, &mut drebuilt)?;

            let mut dh = self.b.zeros(rows * first.outputs)?;
            self.linear_backward(second, &h, &drebuilt, true, Some(&mut dh))?;
            self.b.relu_backward(&h, &mut dh)?;
            let mut dinput = self.b.zeros(rows * 2 * l)?;
            self.linear_backward(first, &input, &dh, true, Some(&mut dinput))?;
            self.b.add_columns(&dinput, 2 * l, 0, &mut grad.m)?;
            self.b.add_columns(&dinput, 2 * l, l, &mut grad.n)?;
        }
        Ok(())
    }

    /// Backward through the samples, the M/N heads and the encoder of modality `m`.
    fn intra_backward(
        &mut self,
        m: usize,
        part: &Intra<B>,
        batch: &StepBatch<B>,
        mut grad: IntraGrad<B>,
    ) -> Result<()> {
        let (layers, config) = (self.layers, self.config);
        let branch = &layers.branches[m];
        let noise = &batch.noise;
        self.b.reparameterize_backward(
            &grad.m,
            &part.lv_m,
            &noise.m[m],
            &mut grad.mu_m,
            &mut grad.lv_m,
        )?;
        self.b.reparameterize_backward(
            &grad.n,
            &part.lv_n,
            &noise.n[m],
            &mut grad.mu_n,
            &mut grad.lv_n,
        )?;

        let last = branch.encoder.len() - 1;
        let z = &part.hidden[last];
        let mut dh = self.b.zeros(self.rows * branch.encoder[last].outputs)?;
        self.head_backward(branch.task, z, &grad.mu_m, &grad.lv_m, true, Some(&mut dh))?;
        self.head_backward(branch.rest, z, &grad.mu_n, &grad.lv_n, true, Some(&mut dh))?;

        let dropout = config.encoder.dropout > 0.0;
        for i in (0..=last).rev() {
            let lin = branch.encoder[i];
            if i < last && dropout {
                self.b.mul_assign(&mut dh, &noise.masks[m][i])?;
            }
            self.b.relu_backward(&part.hidden[i], &mut dh)?;
            let x = if i == 0 {
                &batch.inputs[m]
            } else {
                &part.hidden[i - 1]
            };
            if i == 0 {
                self.linear_backward(lin, x, &dh, true, None)?;
            } else {
                let mut dx = self.b.zeros(self.rows * lin.inputs)?;
                self.linear_backward(lin, x, &dh, true, Some(&mut dx))?;
                dh = dx;
            }
        }
        Ok(())
    }

    /// The consistency decomposition, synergy, heads and gate, their terms, and the backward
    /// pass through them; gradients for the stage-1 parts go into `grads` (empty when frozen).
    fn interactions(
        &mut self,
        intra: &[Intra<B>],
        batch: &StepBatch<B>,
        grads: &mut [IntraGrad<B>],
    ) -> Result<()> {
        let layers = self.layers;
        let w = &self.config.loss;
        let (rows, l, c) = (self.rows, self.config.latent, self.config.num_classes);
        let modalities = intra.len();
        let components = modalities + 2;
        let train_first = self.plan.train_first;
        let noise = &batch.noise;

        // ---- forward ----
        let means: Vec<&B::Buf> = intra.iter().map(|i| &i.mu_m).collect();
        let shared_in = self.concat(&means, l)?;
        let (mu_r, lv_r) = self.head(layers.shared, &shared_in)?;
        let mut r = self.latent_zeros()?;
        self.b.reparameterize(&mu_r, &lv_r, &noise.r, &mut r)?;

        let mut unique = Vec::with_capacity(modalities);
        let mut from_one = Vec::with_capacity(modalities);
        let mut u = Vec::with_capacity(modalities);
        for (m, part) in intra.iter().enumerate() {
            let branch = &layers.branches[m];
            let (mu_u, lv_u) = self.head(branch.unique, &part.mu_m)?;
            let mut sample = self.latent_zeros()?;
            self.b
                .reparameterize(&mu_u, &lv_u, &noise.u[m], &mut sample)?;
            u.push(sample);
            unique.push((mu_u, lv_u));
            from_one.push(self.head(branch.shared_from_one, &part.mu_m)?);
        }

        let pairs: Vec<(usize, usize)> = (0..modalities)
            .flat_map(|i| (i + 1..modalities).map(move |j| (i, j)))
            .collect();
        let mut products = Vec::with_capacity(pairs.len());
        for &(i, j) in &pairs {
            let mut p = self.latent_zeros()?;
            self.b.product(&intra[i].n, &intra[j].n, &mut p)?;
            products.push(p);
        }
        let synergy_parts: Vec<&B::Buf> = intra.iter().map(|i| &i.n).chain(&products).collect();
        let synergy_in = self.concat(&synergy_parts, l)?;
        let s = self.linear(layers.synergy, &synergy_in)?;

        let comps: Vec<&B::Buf> = std::iter::once(&r).chain(&u).chain([&s]).collect();
        let head_logits = comps
            .iter()
            .zip(&layers.heads)
            .map(|(x, &head)| self.linear(head, x))
            .collect::<Result<Vec<_>>>()?;
        let logit_refs: Vec<&B::Buf> = head_logits.iter().collect();
        let stacked = self.concat(&logit_refs, c)?;
        let gate_in = self.concat(&comps, l)?;
        let [gate0, gate1] = layers.gate;
        let mut gate_hidden = self.linear(gate0, &gate_in)?;
        self.b.relu(&mut gate_hidden)?;
        let gate_logits = self.linear(gate1, &gate_hidden)?;
        let mut weights = self.b.zeros(rows * components)?;
        let mut logits = self.b.zeros(rows * c)?;
        self.b
            .gate(&gate_logits, &stacked, c, &mut weights, &mut logits)?;

        // ---- loss terms, each with its gradient ----
        let mut dlogits = self.b.zeros(rows * c)?;
        let ce_scale = 1.0 / rows as f32;
        self.b.cross_entropy(
            &logits,
            &batch.labels,
            c,
            ce_scale,
            self.stats,
            3,
            &mut dlogits,
        )?;

        let mut dhead: Vec<B::Buf> = (0..components)
            .map(|_| self.b.zeros(rows * c))
            .collect::<Result<_>>()?;
        if w.component != 0.0 {
            let scale = w.component / rows as f32;
            for (x, d) in head_logits.iter().zip(&mut dhead) {
                self.b
                    .cross_entropy(x, &batch.labels, c, scale, self.stats, 4, d)?;
            }
        }

        let (mut dmu_r, mut dlv_r) = (self.latent_zeros()?, self.latent_zeros()?);
        let mut dunique = Vec::with_capacity(modalities);
        let mut dfrom_one = Vec::with_capacity(modalities);
        for _ in 0..modalities {
            dunique.push((self.latent_zeros()?, self.latent_zeros()?));
            dfrom_one.push((self.latent_zeros()?, self.latent_zeros()?));
        }
        let kl_scale = w.kl / (rows * l) as f32;
        if w.kl != 0.0 {
            self.b.kl_standard_normal(
                &mu_r, &lv_r, kl_scale, self.stats, 5, &mut dmu_r, &mut dlv_r,
            )?;
            for ((mu, lv), (dmu, dlv)) in unique.iter().zip(&mut dunique) {
                self.b
                    .kl_standard_normal(mu, lv, kl_scale, self.stats, 5, dmu, dlv)?;
            }
        }
        if w.alignment != 0.0 {
            let scale = w.alignment / (rows * l) as f32;
            for ((mu, lv), (dmu, dlv)) in from_one.iter().zip(&mut dfrom_one) {
                let grads = [&mut dmu_r, &mut dlv_r, dmu, dlv];
                self.b
                    .kl_gaussians([&mu_r, &lv_r], [mu, lv], scale, self.stats, 6, grads)?;
            }
        }

        let mut dr = self.latent_zeros()?;
        let mut du: Vec<B::Buf> = (0..modalities)
            .map(|_| self.latent_zeros())
            .collect::<Result<_>>()?;
        if w.reconstruction != 0.0 {
            let scale = w.reconstruction / (rows * l) as f32;
            for m in 0..modalities {
                let [first, second] = layers.branches[m].m_decoder;
                let input = self.concat(&[&u[m], &r], l)?;
                let mut h = self.linear(first, &input)?;
                self.b.relu(&mut h)?;
                let rebuilt = self.linear(second, &h)?;
                let mut drebuilt = self.latent_zeros()?;
                self.b.mse(
                    &rebuilt,
                    &intra[m].mu_m,
                    scale,
                    self.stats,
                    7,
                    &mut drebuilt,
                )?;

                let mut dh = self.b.zeros(rows * first.outputs)?;
                self.linear_backward(second, &h, &drebuilt, true, Some(&mut dh))?;
                self.b.relu_backward(&h, &mut dh)?;
                let mut dinput = self.b.zeros(rows * 2 * l)?;
                self.linear_backward(first, &input, &dh, true, Some(&mut dinput))?;
                self.b.add_columns(&dinput, 2 * l, 0, &mut du[m])?;
                self.b.add_columns(&dinput, 2 * l, l, &mut dr)?;
            }
        }

        // ---- backward through the gate and the component heads ----
        let mut dstacked = self.b.zeros(rows * components * c)?;
        let mut dgate_logits = self.b.zeros(rows * components)?;
        self.b.gate_backward(
            &dlogits,
            &weights,
            &stacked,
            c,
            &mut dstacked,
            &mut dgate_logits,
        )?;
        for (k, d) in dhead.iter_mut().enumerate() {
            self.b.add_columns(&dstacked, components * c, k * c, d)?;
        }
        let mut dgate_hidden = self.b.zeros(rows * gate0.outputs)?;
        self.linear_backward(
            gate1,
            &gate_hidden,
            &dgate_logits,
            true,
            Some(&mut dgate_hidden),
        )?;
        self.b.relu_backward(&gate_hidden, &mut dgate_hidden)?;
        let mut dgate_in = self.b.zeros(rows * components * l)?;
        self.linear_backward(gate0, &gate_in, &dgate_hidden, true, Some(&mut dgate_in))?;

        let mut ds = self.latent_zeros()?;
        {
            let mut dcomps: Vec<&mut B::Buf> = std::iter::once(&mut dr)
                .chain(du.iter_mut())
                .chain([&mut ds])
                .collect();
            for (k, dcomp) in dcomps.iter_mut().enumerate() {
                self.b
                    .add_columns(&dgate_in, components * l, k * l, dcomp)?;
            }
            for (k, dcomp) in dcomps.into_iter().enumerate() {
                let x = comps[k];
                self.linear_backward(layers.heads[k], x, &dhead[k], true, Some(dcomp))?;
            }
        }

        // ---- synergy ----
        let width = (modalities + pairs.len()) * l;
        let mut dsynergy_in = self.b.zeros(rows * width)?;
        let dsyn = train_first.then_some(&mut dsynergy_in);
        self.linear_backward(layers.synergy, &synergy_in, &ds, true, dsyn)?;
        if train_first {
            for (m, grad) in grads.iter_mut().enumerate() {
                self.b
                    .add_columns(&dsynergy_in, width, m * l, &mut grad.n)?;
            }
            for (p, &(i, j)) in pairs.iter().enumerate() {
                let mut dp = self.latent_zeros()?;
                self.b
                    .add_columns(&dsynergy_in, width, (modalities + p) * l, &mut dp)?;
                let (lo, hi) = grads.split_at_mut(j);
                let (gi, gj) = (&mut lo[i], &mut hi[0]);
                self.b
                    .product_backward(&dp, &intra[i].n, &intra[j].n, &mut gi.n, &mut gj.n)?;
            }
        }

        // ---- R, U_m and v(R | M_m), back to the means of M_m ----
        self.b
            .reparameterize_backward(&dr, &lv_r, &noise.r, &mut dmu_r, &mut dlv_r)?;
        let mut dshared_in = self.b.zeros(rows * modalities * l)?;
        let dsh = train_first.then_some(&mut dshared_in);
        self.head_backward(layers.shared, &shared_in, &dmu_r, &dlv_r, true, dsh)?;
        for m in 0..modalities {
            let branch = &layers.branches[m];
            let (dmu_u, dlv_u) = &mut dunique[m];
            self.b
                .reparameterize_backward(&du[m], &unique[m].1, &noise.u[m], dmu_u, dlv_u)?;
            let mut dmean = grads.get_mut(m).map(|g| &mut g.mu_m);
            let x = &intra[m].mu_m;
            self.head_backward(branch.unique, x, dmu_u, dlv_u, true, dmean.as_deref_mut())?;
            let (dmu_v, dlv_v) = &dfrom_one[m];
            self.head_backward(branch.shared_from_one, x, dmu_v, dlv_v, true, dmean)?;
            if let Some(grad) = grads.get_mut(m) {
                self.b
                    .add_columns(&dshared_in, modalities * l, m * l, &mut grad.mu_m)?;
            }
        }
        Ok(())
    }
}
