//! [`Dmil`]: Decomposition-based Multimodal Interaction Learning.
//!
//! For each modality m an encoder gives Z_m; two Gaussian heads split it into M_m, the part
//! that predicts the label, and N_m, the rest (the intra-modal decomposition, supplementary
//! equations 11 to 14: a reconstruction of Z_m from [M_m, N_m] plus the KL of each posterior
//! to N(0, I), which together bound I(M; N) from above). From the means of the M_m a joint
//! head gives the shared part R, and per modality a head gives the unique part U_m (the
//! consistency decomposition, equations 15 to 19: R is pulled towards what every single
//! modality can predict of it through KL(q(R | all) || v(R | M_m)), and M_m is rebuilt from
//! [U_m, R]). Synergy is S = Linear([N_1, .., N_M, N_i * N_j for i < j]): the products make
//! XOR-like interactions linearly separable. Each component has a linear head; a gate gives
//! per-sample weights over the components, and the prediction is the weighted sum of their
//! logits. The mean gate weights over a test set are the learned interaction proportions.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::config::ModelConfig;
use super::encoder::Encoder;
use super::sampler::NoiseSource;
use super::{check_inputs, Loss, ModelKind, MultimodalModel, Prediction, Stage};
use crate::error::Result;
use crate::nn::loss::{cross_entropy, kl_gaussians, kl_standard_normal, mse, Reduction};
use crate::nn::{child_prefix, Activation, Gaussian, GaussianHead, Linear, Mlp, Module};
use crate::tensor::Tensor;

/// The parts of DMIL that belong to one modality.
struct Branch {
    /// phi_m: X_m -> Z_m.
    encoder: Encoder,
    /// q(M_m | Z_m).
    task: GaussianHead,
    /// q(N_m | Z_m).
    rest: GaussianHead,
    /// Rebuilds Z_m from [M_m, N_m].
    z_decoder: Mlp,
    /// Classifies from M_m alone (stage 1).
    unimodal: Linear,
    /// q(U_m | M_m).
    unique: GaussianHead,
    /// v(R | M_m): what modality m alone can say of R.
    shared_from_one: GaussianHead,
    /// Rebuilds M_m from [U_m, R].
    m_decoder: Mlp,
}

impl Branch {
    fn new(input: usize, config: &ModelConfig, rng: &mut ChaCha8Rng, seed: u64) -> Result<Self> {
        let (e, l, c) = (config.encoder.embedding, config.latent, config.num_classes);
        Ok(Branch {
            encoder: Encoder::new(input, &config.encoder, rng, seed)?,
            task: GaussianHead::new(e, l, rng),
            rest: GaussianHead::new(e, l, rng),
            z_decoder: Mlp::new(&[2 * l, e, e], Activation::Relu, false, rng)?,
            unimodal: Linear::new(l, c, rng),
            unique: GaussianHead::new(l, l, rng),
            shared_from_one: GaussianHead::new(l, l, rng),
            m_decoder: Mlp::new(&[2 * l, l, l], Activation::Relu, false, rng)?,
        })
    }

    /// Visits the stage-1 parts (`first = true`) or the stage-2 parts.
    fn visit_stage(&self, prefix: &str, first: bool, visit: &mut dyn FnMut(&str, &dyn Module)) {
        let parts: Vec<(&str, &dyn Module)> = if first {
            vec![
                ("encoder", &self.encoder),
                ("task", &self.task),
                ("rest", &self.rest),
                ("z_decoder", &self.z_decoder),
                ("unimodal", &self.unimodal),
            ]
        } else {
            vec![
                ("unique", &self.unique),
                ("shared_from_one", &self.shared_from_one),
                ("m_decoder", &self.m_decoder),
            ]
        };
        for (name, part) in parts {
            visit(&child_prefix(prefix, name), part);
        }
    }
}

/// What the intra-modal decomposition gives for one modality.
struct Intra {
    z: Tensor<f32>,
    task: Gaussian,
    rest: Gaussian,
    m: Tensor<f32>,
    n: Tensor<f32>,
}

/// What the consistency decomposition, synergy and gate give for a batch.
struct Interactions {
    shared: Gaussian,
    unique: Vec<Gaussian>,
    from_one: Vec<Gaussian>,
    r: Tensor<f32>,
    u: Vec<Tensor<f32>>,
    component_logits: Vec<Tensor<f32>>,
    weights: Tensor<f32>,
    logits: Tensor<f32>,
}

/// The DMIL model; see the module documentation.
pub struct Dmil {
    config: ModelConfig,
    noise: NoiseSource,
    branches: Vec<Branch>,
    /// q(R | M_1, .., M_M).
    shared: GaussianHead,
    /// S = Linear([N_1, .., N_M, pairwise products]).
    synergy: Linear,
    /// One linear classifier per component: R, U_1..U_M, S.
    heads: Vec<Linear>,
    /// Linear -> ReLU -> Linear over the concatenated components; softmax gives the weights.
    gate: Mlp,
}

impl Dmil {
    /// A DMIL model with parameters drawn from `seed`.
    ///
    /// # Errors
    /// [`crate::Error::Config`] or [`crate::Error::InvalidArgument`] for an unusable
    /// configuration.
    pub fn new(config: ModelConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let modalities = config.input_widths.len();
        let (l, c) = (config.latent, config.num_classes);

        let branches = config
            .input_widths
            .iter()
            .enumerate()
            .map(|(m, &w)| Branch::new(w, &config, &mut rng, seed ^ (0x5eed + m as u64)))
            .collect::<Result<Vec<_>>>()?;
        let pairs = modalities * (modalities - 1) / 2;
        let components = modalities + 2;
        Ok(Dmil {
            shared: GaussianHead::new(modalities * l, l, &mut rng),
            synergy: Linear::new((modalities + pairs) * l, l, &mut rng),
            heads: (0..components)
                .map(|_| Linear::new(l, c, &mut rng))
                .collect(),
            gate: Mlp::new(
                &[components * l, config.gate_hidden, components],
                Activation::Relu,
                false,
                &mut rng,
            )?,
            noise: NoiseSource::new(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            branches,
            config,
        })
    }

    /// Runs the encoders and the intra-modal decomposition; samples M and N when `sample`.
    fn intra(&self, inputs: &[Tensor<f32>], sample: bool) -> Result<Vec<Intra>> {
        self.branches
            .iter()
            .zip(inputs)
            .map(|(branch, x)| {
                let z = branch.encoder.forward(x)?;
                let task = branch.task.try_forward(&z)?;
                let rest = branch.rest.try_forward(&z)?;
                let m = self.noise.draw(&task, sample);
                let n = self.noise.draw(&rest, sample);
                Ok(Intra {
                    z,
                    task,
                    rest,
                    m,
                    n,
                })
            })
            .collect()
    }

    /// The consistency decomposition, synergy, component heads and gate on top of `intra`.
    fn interactions(&self, intra: &[Intra], sample: bool) -> Result<Interactions> {
        let means: Vec<&Tensor<f32>> = intra.iter().map(|i| &i.task.mean).collect();
        let shared = self.shared.try_forward(&Tensor::try_concat(&means, -1)?)?;
        let r = self.noise.draw(&shared, sample);

        let mut unique = Vec::with_capacity(intra.len());
        let mut from_one = Vec::with_capacity(intra.len());
        let mut u = Vec::with_capacity(intra.len());
        for (branch, part) in self.branches.iter().zip(intra) {
            let q = branch.unique.try_forward(&part.task.mean)?;
            u.push(self.noise.draw(&q, sample));
            unique.push(q);
            from_one.push(branch.shared_from_one.try_forward(&part.task.mean)?);
        }

        let mut synergy_inputs: Vec<Tensor<f32>> = intra.iter().map(|i| i.n.clone()).collect();
        for i in 0..intra.len() {
            for j in i + 1..intra.len() {
                synergy_inputs.push(intra[i].n.try_mul(&intra[j].n)?);
            }
        }
        let refs: Vec<&Tensor<f32>> = synergy_inputs.iter().collect();
        let s = self.synergy.try_forward(&Tensor::try_concat(&refs, -1)?)?;

        let components: Vec<&Tensor<f32>> =
            std::iter::once(&r).chain(u.iter()).chain([&s]).collect();
        let component_logits = self
            .heads
            .iter()
            .zip(&components)
            .map(|(head, x)| head.try_forward(x))
            .collect::<Result<Vec<_>>>()?;
        let weights = self
            .gate
            .try_forward(&Tensor::try_concat(&components, -1)?)?
            .softmax(-1);
        let logit_refs: Vec<&Tensor<f32>> = component_logits.iter().collect();
        let stacked = Tensor::try_stack(&logit_refs, 1)?;
        let logits = weights.unsqueeze(-1).try_mul(&stacked)?.sum(&[1], false);

        Ok(Interactions {
            shared,
            unique,
            from_one,
            r,
            u,
            component_logits,
            weights,
            logits,
        })
    }

    /// Adds the stage-1 terms: unimodal cross-entropies, KL of M and N, Z reconstruction.
    fn intra_terms(&self, intra: &[Intra], labels: &[usize], loss: &mut Loss) -> Result<()> {
        let w = &self.config.loss;
        let count = intra.len() as f32;
        let (mut ce, mut kl, mut rec) = (Vec::new(), Vec::new(), Vec::new());
        for (branch, part) in self.branches.iter().zip(intra) {
            ce.push(cross_entropy(
                &branch.unimodal.try_forward(&part.m)?,
                labels,
                None,
            )?);
            kl.push(kl_standard_normal(
                &part.task.mean,
                &part.task.logvar,
                Reduction::Mean,
            )?);
            kl.push(kl_standard_normal(
                &part.rest.mean,
                &part.rest.logvar,
                Reduction::Mean,
            )?);
            let rebuilt = branch
                .z_decoder
                .try_forward(&Tensor::try_concat(&[&part.m, &part.n], -1)?)?;
            rec.push(mse(&rebuilt, &part.z.detach(), Reduction::Mean)?);
        }
        loss.push("unimodal_ce", w.unimodal / count, sum(&ce));
        loss.push("intra_kl", w.kl, sum(&kl));
        loss.push("z_reconstruction", w.reconstruction, sum(&rec));
        Ok(())
    }

    /// Adds the stage-2 terms: gated cross-entropy, component cross-entropies, KL of R and
    /// U_m, the alignment KL(q(R | all) || v(R | M_m)) and the M reconstruction.
    fn interaction_terms(
        &self,
        intra: &[Intra],
        out: &Interactions,
        labels: &[usize],
        loss: &mut Loss,
    ) -> Result<()> {
        let w = &self.config.loss;
        loss.push("gated_ce", 1.0, cross_entropy(&out.logits, labels, None)?);

        let component_ce = out
            .component_logits
            .iter()
            .map(|l| cross_entropy(l, labels, None))
            .collect::<Result<Vec<_>>>()?;
        loss.push("component_ce", w.component, sum(&component_ce));

        let mut kl = vec![kl_standard_normal(
            &out.shared.mean,
            &out.shared.logvar,
            Reduction::Mean,
        )?];
        let (mut align, mut rec) = (Vec::new(), Vec::new());
        for (m, branch) in self.branches.iter().enumerate() {
            let (q_u, v) = (&out.unique[m], &out.from_one[m]);
            kl.push(kl_standard_normal(&q_u.mean, &q_u.logvar, Reduction::Mean)?);
            align.push(kl_gaussians(
                &out.shared.mean,
                &out.shared.logvar,
                &v.mean,
                &v.logvar,
                Reduction::Mean,
            )?);
            let rebuilt = branch
                .m_decoder
                .try_forward(&Tensor::try_concat(&[&out.u[m], &out.r], -1)?)?;
            rec.push(mse(
                &rebuilt,
                &intra[m].task.mean.detach(),
                Reduction::Mean,
            )?);
        }
        loss.push("consistency_kl", w.kl, sum(&kl));
        loss.push("alignment_kl", w.alignment, sum(&align));
        loss.push("m_reconstruction", w.reconstruction, sum(&rec));
        Ok(())
    }

    /// Visits every part trained in stage 1 (`first`) or stage 2, as modules.
    fn visit_parts(&self, first: bool, visit: &mut dyn FnMut(&str, &dyn Module)) {
        for (m, branch) in self.branches.iter().enumerate() {
            branch.visit_stage(&child_prefix("branches.", &m.to_string()), first, visit);
        }
        if !first {
            visit("shared.", &self.shared);
            visit("synergy.", &self.synergy);
            for (k, head) in self.heads.iter().enumerate() {
                visit(&child_prefix("heads.", &k.to_string()), head);
            }
            visit("gate.", &self.gate);
        }
    }
}

/// The sum of a list of scalar tensors.
fn sum(terms: &[Tensor<f32>]) -> Tensor<f32> {
    let refs: Vec<&Tensor<f32>> = terms.iter().collect();
    Tensor::stack(&refs, 0).sum_all()
}

impl Module for Dmil {
    fn visit_parameters(&self, prefix: &str, visit: &mut dyn FnMut(String, &Tensor<f32>)) {
        for first in [true, false] {
            self.visit_parts(first, &mut |name, part| {
                part.visit_parameters(&format!("{prefix}{name}"), visit);
            });
        }
    }

    fn visit_buffers(&self, prefix: &str, visit: &mut dyn FnMut(String, &Tensor<f32>)) {
        for first in [true, false] {
            self.visit_parts(first, &mut |name, part| {
                part.visit_buffers(&format!("{prefix}{name}"), visit);
            });
        }
    }

    fn set_training(&self, training: bool) {
        for first in [true, false] {
            self.visit_parts(first, &mut |_, part| part.set_training(training));
        }
    }
}

impl MultimodalModel for Dmil {
    fn kind(&self) -> ModelKind {
        ModelKind::Dmil
    }

    fn config(&self) -> &ModelConfig {
        &self.config
    }

    fn stages(&self) -> &'static [Stage] {
        &[Stage::Decompose, Stage::Interact, Stage::FineTune]
    }

    fn enter_stage(&self, stage: Stage) {
        let (train_first, train_second) = match stage {
            Stage::Decompose => (true, false),
            Stage::Interact => (false, true),
            Stage::FineTune | Stage::Supervised => (true, true),
        };
        self.visit_parts(true, &mut |_, part| part.freeze(!train_first));
        self.visit_parts(false, &mut |_, part| part.freeze(!train_second));
    }

    fn loss(&self, inputs: &[Tensor<f32>], labels: &[usize], stage: Stage) -> Result<Loss> {
        check_inputs(&self.config, inputs)?;
        let intra = self.intra(inputs, true)?;
        let mut loss = Loss::new();
        if matches!(
            stage,
            Stage::Decompose | Stage::FineTune | Stage::Supervised
        ) {
            self.intra_terms(&intra, labels, &mut loss)?;
        }
        if matches!(stage, Stage::Interact | Stage::FineTune | Stage::Supervised) {
            let out = self.interactions(&intra, true)?;
            self.interaction_terms(&intra, &out, labels, &mut loss)?;
        }
        Ok(loss)
    }

    fn predict(&self, inputs: &[Tensor<f32>]) -> Result<Prediction> {
        check_inputs(&self.config, inputs)?;
        let intra = self.intra(inputs, false)?;
        let out = self.interactions(&intra, false)?;
        Ok(Prediction {
            logits: out.logits,
            weights: Some(out.weights),
        })
    }

    fn component_names(&self) -> Vec<String> {
        let mut names = vec!["redundancy".to_string()];
        names.extend((1..=self.branches.len()).map(|m| format!("uniqueness_{m}")));
        names.push("synergy".to_string());
        names
    }
}
