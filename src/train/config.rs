//! [`TrainConfig`]: how a model is fitted: optimizer, learning rates, epochs per stage, batch
//! size, model selection.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::Stage;

/// Which optimizer each stage uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// SGD with momentum 0.9 (the paper's CNN setting).
    Sgd,
    /// Adam (the paper's transformer setting; the better default on small tabular data).
    Adam,
}

/// Which split picks the best epoch of each stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Selection {
    /// A stratified validation split carved from the training data: the honest protocol.
    Validation,
    /// The test split itself: the protocol of the paper's released code. Optimistic, since
    /// the reported test score is the best of many looks at the test set; always labelled so.
    Test,
}

/// What makes one epoch better than another on the selection split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectionMetric {
    /// Accuracy first; mAP breaks ties (accuracy moves in steps of one sample).
    Accuracy,
    /// Accuracy plus mAP: smoother than accuracy alone on small splits.
    AccuracyPlusMap,
}

impl SelectionMetric {
    /// The score to maximise.
    pub fn score(self, accuracy: f64, map: f64) -> f64 {
        match self {
            SelectionMetric::Accuracy => accuracy + 1e-3 * map,
            SelectionMetric::AccuracyPlusMap => accuracy + map,
        }
    }
}

/// Epochs and learning rate of one stage.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StagePlan {
    /// Passes over the training data.
    pub epochs: usize,
    /// Learning rate for the whole stage.
    pub learning_rate: f32,
}

/// Everything about fitting that is not the model.
///
/// The defaults (Adam at 2e-3, weight decay 1e-3, stage epochs 30 / 20 / 10 with stage 3 at a
/// tenth of the rate, batch 64) were chosen on ROSMAP with selection on validation data; they
/// also fit the synthetic datasets, breast_tcga and mfeat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// DMIL stage 1.
    pub decompose: StagePlan,
    /// DMIL stage 2.
    pub interact: StagePlan,
    /// DMIL stage 3 (a low learning rate).
    pub finetune: StagePlan,
    /// The baselines' single stage.
    pub supervised: StagePlan,
    /// The optimizer.
    pub optimizer: OptimizerKind,
    /// Weight decay (L2, added to the gradient) of either optimizer.
    pub weight_decay: f32,
    /// Momentum of SGD.
    pub momentum: f32,
    /// Samples per mini-batch; the last partial batch of an epoch is kept.
    pub batch_size: usize,
    /// Where the best epoch of each stage is chosen.
    pub selection: Selection,
    /// How the best epoch is recognised.
    pub selection_metric: SelectionMetric,
    /// Fraction of the training data held out for validation (with `Selection::Validation`).
    pub validation_fraction: f64,
    /// Gradients are rescaled to at most this global norm (0 turns clipping off).
    pub clip_norm: f32,
    /// With [`Selection::Validation`]: once each stage's best epoch is known, train a fresh
    /// model (same seed) on all the training data, validation part included, for exactly
    /// those epochs, and keep it. Small datasets gain a fifth more samples to learn from.
    pub refit: bool,
    /// Keep each stage's last epoch instead of its best on the selection split (how a refit
    /// trains, having no held-out data left).
    pub keep_last_epoch: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            decompose: StagePlan {
                epochs: 30,
                learning_rate: 2e-3,
            },
            interact: StagePlan {
                epochs: 20,
                learning_rate: 2e-3,
            },
            finetune: StagePlan {
                epochs: 10,
                learning_rate: 2e-4,
            },
            supervised: StagePlan {
                epochs: 60,
                learning_rate: 2e-3,
            },
            optimizer: OptimizerKind::Adam,
            weight_decay: 1e-3,
            momentum: 0.9,
            batch_size: 64,
            selection: Selection::Validation,
            selection_metric: SelectionMetric::AccuracyPlusMap,
            validation_fraction: 0.2,
            clip_norm: 5.0,
            refit: false,
            keep_last_epoch: false,
        }
    }
}

impl TrainConfig {
    /// The plan of `stage`.
    pub fn plan(&self, stage: Stage) -> StagePlan {
        match stage {
            Stage::Decompose => self.decompose,
            Stage::Interact => self.interact,
            Stage::FineTune => self.finetune,
            Stage::Supervised => self.supervised,
        }
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first unusable setting.
    pub fn validate(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(Error::Config("batch size must be at least 1".into()));
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            return Err(Error::Config(format!(
                "validation fraction must be in [0, 1), got {}",
                self.validation_fraction
            )));
        }
        let plans = [
            self.decompose,
            self.interact,
            self.finetune,
            self.supervised,
        ];
        if plans
            .iter()
            .any(|p| !(p.learning_rate > 0.0 && p.learning_rate.is_finite()))
        {
            return Err(Error::Config("learning rates must be positive".into()));
        }
        if !(self.weight_decay >= 0.0 && self.clip_norm >= 0.0) {
            return Err(Error::Config(
                "weight decay and clip norm must be >= 0".into(),
            ));
        }
        Ok(())
    }
}
