//! [`TrainObserver`]: how the trainer reports progress without printing anything itself.

use serde::Serialize;

use crate::model::Stage;

/// One line of training history: how an epoch went.
#[derive(Clone, Debug, Serialize)]
pub struct EpochSummary {
    /// The stage.
    pub stage: Stage,
    /// The epoch within the stage, from 1.
    pub epoch: usize,
    /// Epochs in the stage.
    pub epochs: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f32,
    /// Accuracy on the selection split.
    pub select_accuracy: f64,
    /// mAP on the selection split.
    pub select_map: f64,
    /// True when this epoch became the stage's best so far.
    pub improved: bool,
    /// Wall time of the epoch, including the evaluation.
    pub seconds: f32,
}

/// Receives the trainer's progress. Every method does nothing by default.
pub trait TrainObserver {
    /// A stage begins.
    fn stage_started(&mut self, stage: Stage, epochs: usize, steps_per_epoch: usize) {
        let _ = (stage, epochs, steps_per_epoch);
    }

    /// One optimizer step finished with this batch loss.
    fn step_finished(&mut self, loss: f32) {
        let _ = loss;
    }

    /// An epoch finished.
    fn epoch_finished(&mut self, summary: &EpochSummary) {
        let _ = summary;
    }

    /// A stage finished; its best epoch was restored.
    fn stage_finished(&mut self, stage: Stage, best_epoch: usize) {
        let _ = (stage, best_epoch);
    }
}

/// An observer that ignores everything.
pub struct Silent;

impl TrainObserver for Silent {}
