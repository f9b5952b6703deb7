//! [`fit`]: trains a model stage by stage, keeping the best epoch of each stage on the
//! selection split and starting the next stage from it.

use std::time::Instant;

use serde::Serialize;

use super::config::{OptimizerKind, TrainConfig};
use super::observer::{EpochSummary, TrainObserver};
use super::selection::{epoch_batches, locate_non_finite, StageSelection};
use super::tensor_data::TensorData;
use crate::error::{Error, Result};
use crate::model::{Loss, MultimodalModel, Stage};
use crate::optim::{clip_grad_norm, Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use crate::tensor::Tensor;

/// How one stage went.
#[derive(Clone, Debug, Serialize)]
pub struct StageReport {
    /// The stage.
    pub stage: Stage,
    /// The epoch (from 1; 0 for the stage's starting point) whose parameters were kept.
    pub best_epoch: usize,
    /// Its selection score on the selection split.
    pub best_score: f64,
    /// Every epoch.
    pub epochs: Vec<EpochSummary>,
}

/// How a whole fit went.
#[derive(Clone, Debug, Serialize)]
pub struct FitReport {
    /// One report per stage, in order.
    pub stages: Vec<StageReport>,
}

/// Trains `model` on `train`, choosing the best epoch of each stage on `select` by
/// `config.selection_metric` (a later epoch must beat the best strictly; the stage's starting
/// point counts as epoch 0). Batches are shuffled from `seed` and the epoch.
///
/// # Errors
/// [`Error::Config`] for an unusable configuration or empty data; [`Error::NonFinite`] naming
/// the stage, epoch, step and loss term when a loss becomes NaN or infinite; shape errors when
/// the data does not fit the model.
pub fn fit(
    model: &dyn MultimodalModel,
    train: &TensorData,
    select: &TensorData,
    config: &TrainConfig,
    seed: u64,
    observer: &mut dyn TrainObserver,
) -> Result<FitReport> {
    config.validate()?;
    // Subnormal moments and gradients late in a run would otherwise slow every step.
    crate::tensor::set_flush_denormals();
    if train.is_empty() || select.is_empty() {
        return Err(Error::Config(
            "training and selection data must not be empty".into(),
        ));
    }

    let mut stages = Vec::new();
    for &stage in model.stages() {
        stages.push(fit_stage(
            model, train, select, config, seed, stage, observer,
        )?);
    }
    Ok(FitReport { stages })
}

/// One stage: fresh optimizer over the stage's trainable parameters, `epochs` passes, the best
/// epoch restored at the end.
fn fit_stage(
    model: &dyn MultimodalModel,
    train: &TensorData,
    select: &TensorData,
    config: &TrainConfig,
    seed: u64,
    stage: Stage,
    observer: &mut dyn TrainObserver,
) -> Result<StageReport> {
    let plan = config.plan(stage);
    model.enter_stage(stage);
    let params: Vec<Tensor<f32>> = model
        .parameters()
        .into_iter()
        .filter(Tensor::needs_grad)
        .collect();
    let mut optimizer = make_optimizer(config, plan.learning_rate, params.clone());

    let steps = train.len().div_ceil(config.batch_size);
    observer.stage_started(stage, plan.epochs, steps);
    let mut selection = StageSelection::start(model, select, config, stage, plan.epochs)?;

    for epoch in 1..=plan.epochs {
        let started = Instant::now();
        model.enter_stage(stage);
        let order = epoch_batches(train.len(), config.batch_size, seed, epoch)?;
        let mut total = 0.0;
        for (step, indices) in order.iter().enumerate() {
            let (inputs, labels) = train.batch(indices)?;
            let loss = model.loss(&inputs, &labels, stage)?;
            check_finite(&loss, stage, epoch, step + 1)?;
            loss.total.backward()?;

            let at = |e: Error| locate_non_finite(e, stage, epoch, step + 1);
            if config.clip_norm > 0.0 {
                clip_grad_norm(&params, config.clip_norm).map_err(at)?;
            }
            optimizer.step().map_err(at)?;
            optimizer.zero_grad();
            let value = loss.total.item();
            total += value;
            observer.step_finished(value);
        }

        let train_loss = total / order.len().max(1) as f32;
        selection.end_epoch(model, epoch, train_loss, started, observer)?;
    }

    selection.finish(model, observer)
}

/// The optimizer `config` asks for over `params`.
fn make_optimizer(config: &TrainConfig, lr: f32, params: Vec<Tensor<f32>>) -> Box<dyn Optimizer> {
    match config.optimizer {
        OptimizerKind::Sgd => Box::new(Sgd::new(
            params,
            SgdConfig {
                lr,
                momentum: config.momentum,
                nesterov: false,
                weight_decay: config.weight_decay,
            },
        )),
        OptimizerKind::Adam => Box::new(Adam::new(
            params,
            AdamConfig {
                lr,
                weight_decay: config.weight_decay,
                ..AdamConfig::default()
            },
        )),
    }
}

/// Fails with the stage, epoch, step and the first bad term when a loss is not finite.
fn check_finite(loss: &Loss, stage: Stage, epoch: usize, step: usize) -> Result<()> {
    let bad = loss.terms.iter().find(|(_, v)| !v.is_finite());
    let total = loss.total.item();
    if bad.is_none() && total.is_finite() {
        return Ok(());
    }
    let (term, value) = bad.copied().unwrap_or(("total", total));
    Err(Error::NonFinite(format!(
        "stage {}, epoch {epoch}, step {step}: loss term {term} is {value}",
        stage.label()
    )))
}
