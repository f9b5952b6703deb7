//! One forward-backward pass of the explicit DMIL step: [`Run`] walks the layers of
//! [`Layers`] over a [`Backend`], forward and then backward, accumulating parameter gradients
//! and loss terms. [`super::DmilStep`] owns the parameters and drives it.

use crate::error::Result;
use crate::model::{ModelConfig, Stage};

use super::backend::{Backend, Gemm};
use super::dmil::StepBatch;
use super::params::{Group, Head, Layers, Lin, Param};

/// What the encoder and intra-modal decomposition of one modality computed.
pub(super) struct Intra<B: Backend> {
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
pub(super) struct IntraGrad<B: Backend> {
    mu_m: B::Buf,
    lv_m: B::Buf,
    mu_n: B::Buf,
    lv_n: B::Buf,
    m: B::Buf,
    n: B::Buf,
}

/// What the consistency decomposition, synergy and gate computed.
pub(super) struct Inter<B: Backend> {
    /// [mean of M_1, .., mean of M_M].
    shared_in: B::Buf,
    /// q(R | all): mean and log-variance.
    shared: (B::Buf, B::Buf),
    r: B::Buf,
    /// q(U_m | M_m) per modality.
    unique: Vec<(B::Buf, B::Buf)>,
    /// v(R | M_m) per modality.
    from_one: Vec<(B::Buf, B::Buf)>,
    u: Vec<B::Buf>,
    /// The modality pairs (i, j), i < j, in the order of the synergy input.
    pairs: Vec<(usize, usize)>,
    /// [N_1, .., N_M, N_i N_j ..].
    synergy_in: B::Buf,
    s: B::Buf,
    /// The component heads' logits, in the order R, U_1..U_M, S.
    head_logits: Vec<B::Buf>,
    /// The same side by side, `[rows, components * classes]`.
    stacked: B::Buf,
    /// [R, U_1, .., U_M, S].
    gate_in: B::Buf,
    gate_hidden: B::Buf,
    weights: B::Buf,
    logits: B::Buf,
}

/// Gradients flowing through the stage-2 parts.
pub(super) struct InterGrad<B: Backend> {
    logits: B::Buf,
    heads: Vec<B::Buf>,
    shared: (B::Buf, B::Buf),
    unique: Vec<(B::Buf, B::Buf)>,
    from_one: Vec<(B::Buf, B::Buf)>,
    r: B::Buf,
    u: Vec<B::Buf>,
    s: B::Buf,
}

/// Which parts a stage trains and which terms it adds.
#[derive(Clone, Copy, Debug)]
pub(super) struct Plan {
    pub train_first: bool,
    pub train_second: bool,
    pub intra_terms: bool,
    pub interaction_terms: bool,
}

impl Plan {
    pub(super) fn of(stage: Stage) -> Plan {
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

    pub(super) fn trains(self, group: Group) -> bool {
        match group {
            Group::First => self.train_first,
            Group::Second => self.train_second,
        }
    }
}

/// The state of one forward-backward pass.
pub(super) struct Run<'a, B: Backend> {
    pub b: &'a B,
    pub config: &'a ModelConfig,
    pub layers: &'a Layers,
    pub params: &'a mut Vec<Param<B>>,
    pub stats: &'a mut B::Buf,
    pub rows: usize,
    pub plan: Plan,
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

    pub(super) fn intra_grad(&self) -> Result<IntraGrad<B>> {
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
    pub(super) fn intra_forward(&self, m: usize, batch: &StepBatch<B>) -> Result<Intra<B>> {
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
    pub(super) fn intra_terms(
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
            let scale = w.reconstruction / (rows * e) as f32;
            let dinput = self.reconstruct(branch.z_decoder, &input, z, scale, 2)?;
            self.b.add_columns(&dinput, 2 * l, 0, &mut grad.m)?;
            self.b.add_columns(&dinput, 2 * l, l, &mut grad.n)?;
        }
        Ok(())
    }

    /// Backward through the samples, the M/N heads and the encoder of modality `m`.
    pub(super) fn intra_backward(
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

    /// A two-layer decoder (`Linear -> ReLU -> Linear`) from `input` (`[rows, width]`), its
    /// squared error against the detached `target` (weighted by `scale`, into `slot`), and
    /// the backward pass: the decoder's gradients, and the gradient of `input` returned.
    fn reconstruct(
        &mut self,
        decoder: [Lin; 2],
        input: &B::Buf,
        target: &B::Buf,
        scale: f32,
        slot: usize,
    ) -> Result<B::Buf> {
        let [first, second] = decoder;
        let mut h = self.linear(first, input)?;
        self.b.relu(&mut h)?;
        let rebuilt = self.linear(second, &h)?;
        let mut drebuilt = self.b.zeros(self.rows * second.outputs)?;
        self.b
            .mse(&rebuilt, target, scale, self.stats, slot, &mut drebuilt)?;

        let mut dh = self.b.zeros(self.rows * first.outputs)?;
        self.linear_backward(second, &h, &drebuilt, true, Some(&mut dh))?;
        self.b.relu_backward(&h, &mut dh)?;
        let mut dinput = self.b.zeros(self.rows * first.inputs)?;
        self.linear_backward(first, input, &dh, true, Some(&mut dinput))?;
        Ok(dinput)
    }

    /// The consistency decomposition, synergy, heads and gate, their terms, and the backward
    /// pass through them; gradients for the stage-1 parts go into `grads` (empty when frozen).
    pub(super) fn interactions(
        &mut self,
        intra: &[Intra<B>],
        batch: &StepBatch<B>,
        grads: &mut [IntraGrad<B>],
    ) -> Result<()> {
        let inter = self.interactions_forward(intra, batch)?;
        let mut grad = self.interaction_terms(intra, &inter, batch)?;
        self.gate_backward(&inter, &mut grad)?;
        self.synergy_backward(intra, &inter, &grad.s, grads)?;
        self.consistency_backward(intra, &inter, batch, grad, grads)
    }

    /// R, U_m, v(R | M_m), the synergy S, the component logits and the gate.
    fn interactions_forward(&self, intra: &[Intra<B>], batch: &StepBatch<B>) -> Result<Inter<B>> {
        let layers = self.layers;
        let (rows, l, c) = (self.rows, self.config.latent, self.config.num_classes);
        let modalities = intra.len();
        let noise = &batch.noise;

        let means: Vec<&B::Buf> = intra.iter().map(|i| &i.mu_m).collect();
        let shared_in = self.concat(&means, l)?;
        let shared = self.head(layers.shared, &shared_in)?;
        let mut r = self.latent_zeros()?;
        self.b
            .reparameterize(&shared.0, &shared.1, &noise.r, &mut r)?;

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
        let mut weights = self.b.zeros(rows * (modalities + 2))?;
        let mut logits = self.b.zeros(rows * c)?;
        self.b
            .gate(&gate_logits, &stacked, c, &mut weights, &mut logits)?;

        Ok(Inter {
            shared_in,
            shared,
            r,
            unique,
            from_one,
            u,
            pairs,
            synergy_in,
            s,
            head_logits,
            stacked,
            gate_in,
            gate_hidden,
            weights,
            logits,
        })
    }

    /// The stage-2 terms, each with the gradient of its inputs (the M reconstruction's
    /// backward included, as far as U_m and R).
    fn interaction_terms(
        &mut self,
        intra: &[Intra<B>],
        inter: &Inter<B>,
        batch: &StepBatch<B>,
    ) -> Result<InterGrad<B>> {
        let layers = self.layers;
        let w = &self.config.loss;
        let (rows, l, c) = (self.rows, self.config.latent, self.config.num_classes);
        let modalities = intra.len();
        let labels = &batch.labels;
        let pair =
            || -> Result<(B::Buf, B::Buf)> { Ok((self.latent_zeros()?, self.latent_zeros()?)) };
        let mut grad = InterGrad {
            logits: self.b.zeros(rows * c)?,
            heads: (0..modalities + 2)
                .map(|_| self.b.zeros(rows * c))
                .collect::<Result<_>>()?,
            shared: pair()?,
            unique: (0..modalities).map(|_| pair()).collect::<Result<_>>()?,
            from_one: (0..modalities).map(|_| pair()).collect::<Result<_>>()?,
            r: self.latent_zeros()?,
            u: (0..modalities)
                .map(|_| self.latent_zeros())
                .collect::<Result<_>>()?,
            s: self.latent_zeros()?,
        };

        let scale = 1.0 / rows as f32;
        self.b.cross_entropy(
            &inter.logits,
            labels,
            c,
            scale,
            self.stats,
            3,
            &mut grad.logits,
        )?;
        if w.component != 0.0 {
            let scale = w.component / rows as f32;
            for (x, d) in inter.head_logits.iter().zip(&mut grad.heads) {
                self.b
                    .cross_entropy(x, labels, c, scale, self.stats, 4, d)?;
            }
        }

        let (mu_r, lv_r) = &inter.shared;
        let (dmu_r, dlv_r) = &mut grad.shared;
        if w.kl != 0.0 {
            let scale = w.kl / (rows * l) as f32;
            self.b
                .kl_standard_normal(mu_r, lv_r, scale, self.stats, 5, dmu_r, dlv_r)?;
            for ((mu, lv), (dmu, dlv)) in inter.unique.iter().zip(&mut grad.unique) {
                self.b
                    .kl_standard_normal(mu, lv, scale, self.stats, 5, dmu, dlv)?;
            }
        }
        if w.alignment != 0.0 {
            let scale = w.alignment / (rows * l) as f32;
            for ((mu, lv), (dmu, dlv)) in inter.from_one.iter().zip(&mut grad.from_one) {
                let grads = [&mut *dmu_r, &mut *dlv_r, dmu, dlv];
                self.b
                    .kl_gaussians([mu_r, lv_r], [mu, lv], scale, self.stats, 6, grads)?;
            }
        }

        if w.reconstruction != 0.0 {
            let scale = w.reconstruction / (rows * l) as f32;
            for (m, part) in intra.iter().enumerate() {
                let input = self.concat(&[&inter.u[m], &inter.r], l)?;
                let decoder = layers.branches[m].m_decoder;
                let dinput = self.reconstruct(decoder, &input, &part.mu_m, scale, 7)?;
                self.b.add_columns(&dinput, 2 * l, 0, &mut grad.u[m])?;
                self.b.add_columns(&dinput, 2 * l, l, &mut grad.r)?;
            }
        }
        Ok(grad)
    }

    /// Backward through the gate and the component heads, into the gradients of R, U_m, S.
    fn gate_backward(&mut self, inter: &Inter<B>, grad: &mut InterGrad<B>) -> Result<()> {
        let layers = self.layers;
        let (rows, l, c) = (self.rows, self.config.latent, self.config.num_classes);
        let components = grad.heads.len();

        let mut dstacked = self.b.zeros(rows * components * c)?;
        let mut dgate_logits = self.b.zeros(rows * components)?;
        self.b.gate_backward(
            &grad.logits,
            &inter.weights,
            &inter.stacked,
            c,
            &mut dstacked,
            &mut dgate_logits,
        )?;
        for (k, d) in grad.heads.iter_mut().enumerate() {
            self.b.add_columns(&dstacked, components * c, k * c, d)?;
        }

        let [gate0, gate1] = layers.gate;
        let mut dhidden = self.b.zeros(rows * gate0.outputs)?;
        let hidden = &inter.gate_hidden;
        self.linear_backward(gate1, hidden, &dgate_logits, true, Some(&mut dhidden))?;
        self.b.relu_backward(hidden, &mut dhidden)?;
        let mut dgate_in = self.b.zeros(rows * components * l)?;
        self.linear_backward(gate0, &inter.gate_in, &dhidden, true, Some(&mut dgate_in))?;

        let comps: Vec<&B::Buf> = std::iter::once(&inter.r)
            .chain(&inter.u)
            .chain([&inter.s])
            .collect();
        let dcomps: Vec<&mut B::Buf> = std::iter::once(&mut grad.r)
            .chain(grad.u.iter_mut())
            .chain([&mut grad.s])
            .collect();
        for (k, dcomp) in dcomps.into_iter().enumerate() {
            self.b
                .add_columns(&dgate_in, components * l, k * l, &mut *dcomp)?;
            let head = layers.heads[k];
            self.linear_backward(head, comps[k], &grad.heads[k], true, Some(dcomp))?;
        }
        Ok(())
    }

    /// Backward through the synergy layer, and (when stage-1 parts train) through the
    /// products into the gradients of N_m.
    fn synergy_backward(
        &mut self,
        intra: &[Intra<B>],
        inter: &Inter<B>,
        ds: &B::Buf,
        grads: &mut [IntraGrad<B>],
    ) -> Result<()> {
        let (l, modalities) = (self.config.latent, intra.len());
        let width = (modalities + inter.pairs.len()) * l;
        let train_first = self.plan.train_first;

        let mut dsynergy_in = self.b.zeros(self.rows * width)?;
        let dx = train_first.then_some(&mut dsynergy_in);
        self.linear_backward(self.layers.synergy, &inter.synergy_in, ds, true, dx)?;
        if !train_first {
            return Ok(());
        }

        for (m, grad) in grads.iter_mut().enumerate() {
            self.b
                .add_columns(&dsynergy_in, width, m * l, &mut grad.n)?;
        }
        for (p, &(i, j)) in inter.pairs.iter().enumerate() {
            let mut dp = self.latent_zeros()?;
            self.b
                .add_columns(&dsynergy_in, width, (modalities + p) * l, &mut dp)?;
            let (lo, hi) = grads.split_at_mut(j);
            let (gi, gj) = (&mut lo[i], &mut hi[0]);
            self.b
                .product_backward(&dp, &intra[i].n, &intra[j].n, &mut gi.n, &mut gj.n)?;
        }
        Ok(())
    }

    /// Backward through the samples of R and U_m and the heads q(R | all), q(U_m | M_m) and
    /// v(R | M_m), into the gradients of the means of M_m (when stage-1 parts train).
    fn consistency_backward(
        &mut self,
        intra: &[Intra<B>],
        inter: &Inter<B>,
        batch: &StepBatch<B>,
        mut grad: InterGrad<B>,
        grads: &mut [IntraGrad<B>],
    ) -> Result<()> {
        let layers = self.layers;
        let (rows, l, modalities) = (self.rows, self.config.latent, intra.len());
        let noise = &batch.noise;

        let (dmu_r, dlv_r) = &mut grad.shared;
        self.b
            .reparameterize_backward(&grad.r, &inter.shared.1, &noise.r, dmu_r, dlv_r)?;
        let mut dshared_in = self.b.zeros(rows * modalities * l)?;
        let dx = self.plan.train_first.then_some(&mut dshared_in);
        self.head_backward(layers.shared, &inter.shared_in, dmu_r, dlv_r, true, dx)?;

        for (m, part) in intra.iter().enumerate() {
            let branch = &layers.branches[m];
            let (dmu_u, dlv_u) = &mut grad.unique[m];
            let lv_u = &inter.unique[m].1;
            self.b
                .reparameterize_backward(&grad.u[m], lv_u, &noise.u[m], dmu_u, dlv_u)?;
            let mut dmean = grads.get_mut(m).map(|g| &mut g.mu_m);
            let x = &part.mu_m;
            self.head_backward(branch.unique, x, dmu_u, dlv_u, true, dmean.as_deref_mut())?;
            let (dmu_v, dlv_v) = &grad.from_one[m];
            self.head_backward(branch.shared_from_one, x, dmu_v, dlv_v, true, dmean)?;
            if let Some(g) = grads.get_mut(m) {
                self.b
                    .add_columns(&dshared_in, modalities * l, m * l, &mut g.mu_m)?;
            }
        }
        Ok(())
    }
}
