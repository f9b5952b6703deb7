//! [`StageSelection`]: model selection within one training stage, shared by every trainer
//! (the autograd [`fit`](super::fit) and the explicit step's `fit_step`).
//!
//! A stage starts by scoring its starting point on the selection split (epoch 0), so a stage
//! never ends worse on that split than it began. After each epoch the model is scored again;
//! a later epoch must beat the best strictly (or every epoch is kept with
//! `keep_last_epoch`), and the best epoch's parameters are restored when the stage ends.

use std::time::Instant;

use super::config::TrainConfig;
use super::evaluate::evaluate;
use super::observer::{EpochSummary, TrainObserver};
use super::snapshot::Snapshot;
use super::tensor_data::TensorData;
use super::trainer::StageReport;
use crate::data::batches;
use crate::error::{Error, Result};
use crate::model::{MultimodalModel, Stage};

/// The best epoch of one stage so far, its parameters, and every epoch's summary.
pub struct StageSelection<'a> {
    stage: Stage,
    epochs: usize,
    select: &'a TensorData,
    config: &'a TrainConfig,
    best: Snapshot,
    best_epoch: usize,
    best_score: f64,
    history: Vec<EpochSummary>,
}

impl<'a> StageSelection<'a> {
    /// Starts `stage` (of `epochs` epochs) from `model` as it is now: its parameters are the
    /// first candidate, scored on `select`.
    ///
    /// # Errors
    /// As [`evaluate`].
    pub fn start(
        model: &dyn MultimodalModel,
        select: &'a TensorData,
        config: &'a TrainConfig,
        stage: Stage,
        epochs: usize,
    ) -> Result<Self> {
        let start = evaluate(model, select, config.batch_size)?;
        let best_score = (config.selection_metric).score(start.metrics.accuracy, start.metrics.map);
        Ok(StageSelection {
            stage,
            epochs,
            select,
            config,
            best: Snapshot::take(model),
            best_epoch: 0,
            best_score,
            history: Vec::with_capacity(epochs),
        })
    }

    /// Scores `model` after `epoch` (whose mean training loss was `train_loss` and which began
    /// at `started`), keeps its parameters if it is the best so far, and reports the epoch to
    /// `observer`.
    ///
    /// # Errors
    /// As [`evaluate`].
    pub fn end_epoch(
        &mut self,
        model: &dyn MultimodalModel,
        epoch: usize,
        train_loss: f32,
        started: Instant,
        observer: &mut dyn TrainObserver,
    ) -> Result<()> {
        let evaluation = evaluate(model, self.select, self.config.batch_size)?;
        let metrics = &evaluation.metrics;
        let score = (self.config.selection_metric).score(metrics.accuracy, metrics.map);
        let improved = score > self.best_score || self.config.keep_last_epoch;
        if improved {
            (self.best_score, self.best_epoch) = (score, epoch);
            self.best = Snapshot::take(model);
        }

        let summary = EpochSummary {
            stage: self.stage,
            epoch,
            epochs: self.epochs,
            train_loss,
            select_accuracy: metrics.accuracy,
            select_map: metrics.map,
            improved,
            seconds: started.elapsed().as_secs_f32(),
        };
        observer.epoch_finished(&summary);
        self.history.push(summary);
        Ok(())
    }

    /// Restores the best epoch's parameters into `model` and ends the stage.
    ///
    /// # Errors
    /// As [`Snapshot::restore`].
    pub fn finish(
        self,
        model: &dyn MultimodalModel,
        observer: &mut dyn TrainObserver,
    ) -> Result<StageReport> {
        self.best.restore(model)?;
        observer.stage_finished(self.stage, self.best_epoch);
        Ok(StageReport {
            stage: self.stage,
            best_epoch: self.best_epoch,
            best_score: self.best_score,
            epochs: self.history,
        })
    }
}

/// The batches of `epoch` over `len` samples: shuffled from the run's `seed` and the epoch, so
/// every trainer visits the same samples in the same order.
///
/// # Errors
/// [`Error::Config`] for a batch size of zero.
pub fn epoch_batches(
    len: usize,
    batch_size: usize,
    seed: u64,
    epoch: usize,
) -> Result<Vec<Vec<usize>>> {
    let shuffle = seed.wrapping_mul(1000).wrapping_add(epoch as u64);
    batches(len, batch_size, Some(shuffle)).map_err(|e| Error::Config(e.to_string()))
}

/// Adds where training stood to a [`Error::NonFinite`] error (other errors pass unchanged).
pub fn locate_non_finite(error: Error, stage: Stage, epoch: usize, step: usize) -> Error {
    match error {
        Error::NonFinite(what) => Error::NonFinite(format!(
            "stage {}, epoch {epoch}, step {step}: {what}",
            stage.label()
        )),
        other => other,
    }
}
