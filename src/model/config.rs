//! [`ModelConfig`]: everything needed to rebuild a model, saved in checkpoints.

use serde::{Deserialize, Serialize};

use super::ModelKind;
use crate::error::{Error, Result};

/// The per-modality encoder: an MLP from the input width through `hidden` to `embedding`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EncoderConfig {
    /// Widths of the hidden layers (the paper's tabular setting: one of 256).
    pub hidden: Vec<usize>,
    /// Width E of the embedding Z_m.
    pub embedding: usize,
    /// Dropout probability after each hidden layer, in training only.
    pub dropout: f32,
}

impl Default for EncoderConfig {
    fn default() -> Self {
        EncoderConfig {
            hidden: vec![256],
            embedding: 128,
            // Small omics datasets (a few hundred samples of hundreds of features) overfit
            // without it.
            dropout: 0.5,
        }
    }
}

/// Weights of DMIL's loss terms. The authors' released configuration scales every KL by 0.1
/// inside the model and 0.2 in the loss, so KL terms default to 0.02; means, not sums, are
/// taken over batch and latent dimensions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossWeights {
    /// Cross-entropy of each unimodal head on M_m (stage 1 and 3).
    pub unimodal: f32,
    /// Cross-entropy of each component head (R, U_m, S) on its own (stages 2 and 3).
    pub component: f32,
    /// KL of every posterior to N(0, I).
    pub kl: f32,
    /// KL(q(R | all) || v(R | M_m)), summed over m: the consistency alignment (equation 18).
    pub alignment: f32,
    /// Mean squared reconstruction of Z_m from [M_m, N_m] and of M_m from [U_m, R].
    pub reconstruction: f32,
}

impl Default for LossWeights {
    fn default() -> Self {
        LossWeights {
            unimodal: 1.0,
            component: 1.0,
            kl: 0.02,
            alignment: 0.02,
            reconstruction: 1.0,
        }
    }
}

/// The largest width (input, hidden, latent, gate) or class count a configuration may ask
/// for, so that a typo or a corrupted checkpoint gives an error rather than an attempt to
/// allocate terabytes.
pub const MAX_WIDTH: usize = 1 << 20;

/// The largest single weight matrix a configuration may ask for: 2^28 weights (1 GiB).
pub const MAX_LAYER_WEIGHTS: usize = 1 << 28;

/// Everything that fixes a model's architecture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Which model.
    pub kind: ModelKind,
    /// Width of each modality's input.
    pub input_widths: Vec<usize>,
    /// Number of classes C.
    pub num_classes: usize,
    /// The encoders (shared design across modalities).
    pub encoder: EncoderConfig,
    /// Width of every DMIL latent (M, N, R, U, S).
    pub latent: usize,
    /// Hidden width of DMIL's gate.
    pub gate_hidden: usize,
    /// DMIL's loss weights.
    pub loss: LossWeights,
}

impl ModelConfig {
    /// A configuration with the defaults for `kind` on inputs of `input_widths`.
    pub fn new(kind: ModelKind, input_widths: Vec<usize>, num_classes: usize) -> Self {
        ModelConfig {
            kind,
            input_widths,
            num_classes,
            encoder: EncoderConfig::default(),
            latent: 64,
            gate_hidden: 64,
            loss: LossWeights::default(),
        }
    }

    /// The configuration every speed measurement uses (`dmil bench`, the criterion benches,
    /// the profiling examples), so their figures compare with each other and with the
    /// PyTorch reference of issue #7: two ROSMAP-shaped modalities of 200 features, two
    /// classes, encoders 200 -> 256 -> 128, latent width 64, other settings at their defaults.
    pub fn benchmark(kind: ModelKind) -> Self {
        let mut config = ModelConfig::new(kind, vec![200, 200], 2);
        config.encoder.hidden = vec![256];
        config.encoder.embedding = 128;
        config.latent = 64;
        config
    }

    /// The weight count of the largest matrix the model would hold (widths are capped by
    /// [`MAX_WIDTH`] first, so the products cannot overflow).
    fn largest_layer(&self) -> usize {
        let modalities = self.input_widths.len();
        let mut largest = 0;
        for &input in &self.input_widths {
            let mut previous = input;
            for &w in self.encoder.hidden.iter().chain([&self.encoder.embedding]) {
                largest = largest.max(previous * w);
                previous = w;
            }
        }
        let synergy_inputs =
            (modalities + modalities * modalities.saturating_sub(1) / 2) * self.latent;
        largest.max(synergy_inputs * self.latent)
    }

    /// Checks that the configuration can build a model.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first problem.
    pub fn validate(&self) -> Result<()> {
        let min_modalities = if self.kind == ModelKind::Dmil { 2 } else { 1 };
        if self.input_widths.len() < min_modalities {
            return Err(Error::Config(format!(
                "{} needs at least {min_modalities} modalities, got {}",
                self.kind,
                self.input_widths.len()
            )));
        }
        if self.input_widths.contains(&0) || self.encoder.embedding == 0 || self.latent == 0 {
            return Err(Error::Config("widths must be positive".into()));
        }
        if self.encoder.hidden.contains(&0) || self.gate_hidden == 0 {
            return Err(Error::Config("hidden widths must be positive".into()));
        }
        let widths = self.input_widths.iter().chain(&self.encoder.hidden).chain([
            &self.encoder.embedding,
            &self.latent,
            &self.gate_hidden,
            &self.num_classes,
        ]);
        if let Some(w) = widths.copied().find(|&w| w > MAX_WIDTH) {
            return Err(Error::Config(format!(
                "a width or class count of {w} is above the supported {MAX_WIDTH}"
            )));
        }
        if self.largest_layer() > MAX_LAYER_WEIGHTS {
            return Err(Error::Config(format!(
                "a layer of {} weights is above the supported {MAX_LAYER_WEIGHTS}; use smaller \
                 widths",
                self.largest_layer()
            )));
        }
        if self.num_classes < 2 {
            return Err(Error::Config(format!(
                "a classifier needs at least 2 classes, got {}",
                self.num_classes
            )));
        }
        if !(0.0..1.0).contains(&self.encoder.dropout) {
            return Err(Error::Config(format!(
                "dropout must be in [0, 1), got {}",
                self.encoder.dropout
            )));
        }
        Ok(())
    }
}
