//! [`Joint`]: the late-fusion baseline: every modality's embedding concatenated, one linear
//! head.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::config::ModelConfig;
use super::encoder::Encoder;
use super::{check_inputs, Loss, ModelKind, MultimodalModel, Prediction, Stage};
use crate::error::Result;
use crate::nn::loss::cross_entropy;
use crate::nn::{child_prefix, Linear, Module};
use crate::tensor::Tensor;

/// Encoders as DMIL's, `[Z_1, .., Z_M]` concatenated, one linear classifier.
pub struct Joint {
    config: ModelConfig,
    encoders: Vec<Encoder>,
    head: Linear,
}

impl Joint {
    /// A Joint model with parameters drawn from `seed`.
    ///
    /// # Errors
    /// [`crate::Error::Config`] for an unusable configuration.
    pub fn new(config: ModelConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let encoders = config
            .input_widths
            .iter()
            .enumerate()
            .map(|(m, &w)| Encoder::new(w, &config.encoder, &mut rng, seed ^ (0x5eed + m as u64)))
            .collect::<Result<Vec<_>>>()?;
        let fused = config.encoder.embedding * encoders.len();
        Ok(Joint {
            head: Linear::new(fused, config.num_classes, &mut rng),
            encoders,
            config,
        })
    }

    fn logits(&self, inputs: &[Tensor<f32>]) -> Result<Tensor<f32>> {
        check_inputs(&self.config, inputs)?;
        let z = self
            .encoders
            .iter()
            .zip(inputs)
            .map(|(e, x)| e.forward(x))
            .collect::<Result<Vec<_>>>()?;
        let refs: Vec<&Tensor<f32>> = z.iter().collect();
        self.head.try_forward(&Tensor::try_concat(&refs, -1)?)
    }
}

impl Module for Joint {
    fn visit_parameters(&self, prefix: &str, visit: &mut dyn FnMut(String, &Tensor<f32>)) {
        for (m, e) in self.encoders.iter().enumerate() {
            e.visit_parameters(
                &child_prefix(&format!("{prefix}encoders."), &m.to_string()),
                visit,
            );
        }
        self.head.visit_parameters(&format!("{prefix}head."), visit);
    }

    fn set_training(&self, training: bool) {
        self.encoders.iter().for_each(|e| e.set_training(training));
    }
}

impl MultimodalModel for Joint {
    fn kind(&self) -> ModelKind {
        ModelKind::Joint
    }

    fn config(&self) -> &ModelConfig {
        &self.config
    }

    fn loss(&self, inputs: &[Tensor<f32>], labels: &[usize], _: Stage) -> Result<Loss> {
        let mut loss = Loss::new();
        loss.push(
            "ce",
            1.0,
            cross_entropy(&self.logits(inputs)?, labels, None)?,
        );
        Ok(loss)
    }

    fn predict(&self, inputs: &[Tensor<f32>]) -> Result<Prediction> {
        Ok(Prediction {
            logits: self.logits(inputs)?,
            weights: None,
        })
    }
}
