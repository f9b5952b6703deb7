//! [`Ensemble`]: one classifier per modality, trained each on its own loss, logits averaged
//! at prediction.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::config::ModelConfig;
use super::encoder::Encoder;
use super::{check_inputs, Loss, ModelKind, MultimodalModel, Prediction, Stage};
use crate::error::Result;
use crate::nn::loss::cross_entropy;
use crate::nn::{child_prefix, Linear, Module};
use crate::tensor::Tensor;

/// Encoders as DMIL's, each with its own linear head; the training loss is the mean of the
/// unimodal cross-entropies, and the prediction the mean of the unimodal logits.
pub struct Ensemble {
    config: ModelConfig,
    encoders: Vec<Encoder>,
    heads: Vec<Linear>,
}

impl Ensemble {
    /// An Ensemble model with parameters drawn from `seed`.
    ///
    /// # Errors
    /// [`crate::Error::Config`] for an unusable configuration.
    pub fn new(config: ModelConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut encoders = Vec::new();
        let mut heads = Vec::new();
        for (m, &w) in config.input_widths.iter().enumerate() {
            encoders.push(Encoder::new(
                w,
                &config.encoder,
                &mut rng,
                seed ^ (0x5eed + m as u64),
            )?);
            heads.push(Linear::new(
                config.encoder.embedding,
                config.num_classes,
                &mut rng,
            ));
        }
        Ok(Ensemble {
            config,
            encoders,
            heads,
        })
    }

    fn unimodal_logits(&self, inputs: &[Tensor<f32>]) -> Result<Vec<Tensor<f32>>> {
        check_inputs(&self.config, inputs)?;
        self.encoders
            .iter()
            .zip(&self.heads)
            .zip(inputs)
            .map(|((e, h), x)| h.try_forward(&e.forward(x)?))
            .collect()
    }
}

impl Module for Ensemble {
    fn visit_parameters(&self, prefix: &str, visit: &mut dyn FnMut(String, &Tensor<f32>)) {
        for (m, (e, h)) in self.encoders.iter().zip(&self.heads).enumerate() {
            let branch = child_prefix(&format!("{prefix}branches."), &m.to_string());
            e.visit_parameters(&format!("{branch}encoder."), visit);
            h.visit_parameters(&format!("{branch}head."), visit);
        }
    }

    fn set_training(&self, training: bool) {
        self.encoders.iter().for_each(|e| e.set_training(training));
    }
}

impl MultimodalModel for Ensemble {
    fn kind(&self) -> ModelKind {
        ModelKind::Ensemble
    }

    fn config(&self) -> &ModelConfig {
        &self.config
    }

    fn loss(&self, inputs: &[Tensor<f32>], labels: &[usize], _: Stage) -> Result<Loss> {
        let logits = self.unimodal_logits(inputs)?;
        let terms = logits
            .iter()
            .map(|l| cross_entropy(l, labels, None))
            .collect::<Result<Vec<_>>>()?;
        let refs: Vec<&Tensor<f32>> = terms.iter().collect();
        let mut loss = Loss::new();
        loss.push("ce", 1.0, Tensor::try_stack(&refs, 0)?.mean_all());
        Ok(loss)
    }

    fn predict(&self, inputs: &[Tensor<f32>]) -> Result<Prediction> {
        let logits = self.unimodal_logits(inputs)?;
        let refs: Vec<&Tensor<f32>> = logits.iter().collect();
        Ok(Prediction {
            logits: Tensor::try_stack(&refs, 0)?.mean(&[0], false),
            weights: None,
        })
    }
}
