//! The models: DMIL and its two baselines, Joint and Ensemble, all behind one trait so the
//! trainer, the metrics and the command line treat them alike.

mod config;
mod dmil;
mod encoder;
mod ensemble;
mod joint;
mod sampler;

use std::fmt;
use std::str::FromStr;

pub use config::{EncoderConfig, LossWeights, ModelConfig, MAX_WIDTH};
pub use dmil::Dmil;
pub use encoder::Encoder;
pub use ensemble::Ensemble;
pub use joint::Joint;
pub use sampler::NoiseSource;

use crate::error::{Error, Result};
use crate::nn::Module;
use crate::tensor::Tensor;

/// Which model to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Decomposition-based Multimodal Interaction Learning.
    Dmil,
    /// Encoders concatenated, one linear head.
    Joint,
    /// One head per modality, logits averaged.
    Ensemble,
}

impl ModelKind {
    /// The three kinds, in the order of the paper's tables.
    pub const ALL: [ModelKind; 3] = [ModelKind::Joint, ModelKind::Ensemble, ModelKind::Dmil];

    /// The lower-case name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Dmil => "dmil",
            ModelKind::Joint => "joint",
            ModelKind::Ensemble => "ensemble",
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "dmil" => Ok(ModelKind::Dmil),
            "joint" => Ok(ModelKind::Joint),
            "ensemble" => Ok(ModelKind::Ensemble),
            other => Err(Error::Config(format!(
                "unknown model {other:?}: expected dmil, joint or ensemble"
            ))),
        }
    }
}

/// A stage of training. DMIL trains in three (supplementary B.1); the baselines in one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// DMIL stage 1: encoders, the M/N heads, the Z decoders and the unimodal heads.
    Decompose,
    /// DMIL stage 2: stage-1 parts frozen; consistency decomposition, synergy, heads, gate.
    Interact,
    /// DMIL stage 3: everything, at a low learning rate, every loss term.
    FineTune,
    /// The single stage of a baseline.
    Supervised,
}

impl Stage {
    /// A short name for logs: `1-decompose`, `2-interact`, `3-finetune`, `supervised`.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Decompose => "1-decompose",
            Stage::Interact => "2-interact",
            Stage::FineTune => "3-finetune",
            Stage::Supervised => "supervised",
        }
    }
}

/// A training loss and its named terms (already weighted), so a NaN can be traced to its term.
pub struct Loss {
    /// The sum that is back-propagated.
    pub total: Tensor<f32>,
    /// Each weighted term's name and value.
    pub terms: Vec<(&'static str, f32)>,
}

impl Loss {
    /// Adds `weight * term` under `name`, skipping a zero weight entirely.
    pub(crate) fn push(&mut self, name: &'static str, weight: f32, term: Tensor<f32>) {
        if weight == 0.0 {
            return;
        }
        let weighted = &term * weight;
        self.terms.push((name, weighted.item()));
        self.total = &self.total + &weighted;
    }

    /// An empty loss.
    pub(crate) fn new() -> Self {
        Loss {
            total: Tensor::scalar(0.0),
            terms: Vec::new(),
        }
    }
}

/// What a model predicts for a batch in evaluation mode.
pub struct Prediction {
    /// Class logits, `[batch, classes]`.
    pub logits: Tensor<f32>,
    /// DMIL's gate weights over its components, `[batch, components]`; `None` for baselines.
    pub weights: Option<Tensor<f32>>,
}

/// A classifier over several modalities that the trainer can fit stage by stage.
pub trait MultimodalModel: Module {
    /// Which model this is.
    fn kind(&self) -> ModelKind;

    /// The configuration it was built from (saved with checkpoints).
    fn config(&self) -> &ModelConfig;

    /// The stages it trains in, in order; one supervised stage unless a model says otherwise.
    fn stages(&self) -> &'static [Stage] {
        &[Stage::Supervised]
    }

    /// Freezes and unfreezes parameters for `stage` and puts the trainable parts in training
    /// mode. By default everything trains in every stage.
    fn enter_stage(&self, stage: Stage) {
        let _ = stage;
        self.freeze(false);
    }

    /// The training loss of one batch in `stage` (training-mode forward: samples, dropout).
    ///
    /// # Errors
    /// Shape errors when `inputs` do not match the configuration; label errors from the
    /// cross-entropy.
    fn loss(&self, inputs: &[Tensor<f32>], labels: &[usize], stage: Stage) -> Result<Loss>;

    /// Evaluation-mode prediction (means instead of samples, no dropout).
    ///
    /// # Errors
    /// Shape errors when `inputs` do not match the configuration.
    fn predict(&self, inputs: &[Tensor<f32>]) -> Result<Prediction>;

    /// Names of the components the gate weighs, in the order of [`Prediction::weights`].
    fn component_names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Builds the model `config` asks for, seeded.
///
/// # Errors
/// [`Error::Config`] for an unusable configuration (fewer than two modalities for DMIL, zero
/// widths, fewer than two classes).
pub fn build(config: &ModelConfig, seed: u64) -> Result<Box<dyn MultimodalModel>> {
    config.validate()?;
    Ok(match config.kind {
        ModelKind::Dmil => Box::new(Dmil::new(config.clone(), seed)?),
        ModelKind::Joint => Box::new(Joint::new(config.clone(), seed)?),
        ModelKind::Ensemble => Box::new(Ensemble::new(config.clone(), seed)?),
    })
}

/// Checks that a batch has one tensor per modality, each `[batch, width]` with the configured
/// widths and one batch size.
pub(crate) fn check_inputs(config: &ModelConfig, inputs: &[Tensor<f32>]) -> Result<usize> {
    if inputs.len() != config.input_widths.len() {
        return Err(Error::Config(format!(
            "the model expects {} modalities, got {}",
            config.input_widths.len(),
            inputs.len()
        )));
    }
    let batch = inputs[0].dims().first().copied().unwrap_or(0);
    for (m, (x, &width)) in inputs.iter().zip(&config.input_widths).enumerate() {
        if x.rank() != 2 || x.dims()[1] != width || x.dims()[0] != batch {
            return Err(Error::shape(
                "model input",
                x.dims(),
                format!("modality {} must be [{batch}, {width}]", m + 1),
            ));
        }
    }
    Ok(batch)
}
