//! [`fit_step`]: the trainer's stage-by-stage fit of DMIL, with every training step run by
//! [`DmilStep`] on a [`Backend`] instead of the autograd model.
//!
//! It follows [`crate::train::fit`] decision for decision: the same stages, learning rates,
//! batch order, Adam settings, clipping and model selection (each epoch's parameters are
//! copied back into the CPU model, which is evaluated on the selection split; the best epoch
//! is restored at the end of each stage, and the next stage starts from it). What differs is
//! the randomness: eps and dropout masks are drawn by the backend's generator
//! ([`Backend::fill_normal`], [`Backend::fill_dropout_mask`]), so a run is reproducible on
//! one backend but does not repeat the CPU trainer's draws.
//!
//! Known costs: each batch is gathered on the host and uploaded (inputs and labels), and each
//! epoch ends with a download of every parameter for the CPU evaluation.

use std::time::Instant;

use super::backend::Backend;
use super::dmil::{AdamSettings, DmilStep, StepBatch, StepNoise};
use crate::error::{Error, Result};
use crate::model::{ModelConfig, ModelKind, MultimodalModel, Stage};
use crate::optim::AdamConfig;
use crate::tensor::Tensor;
use crate::train::{
    epoch_batches, locate_non_finite, FitReport, OptimizerKind, StageReport, StageSelection,
    TensorData, TrainConfig, TrainObserver,
};

/// Draws eps and dropout masks from one stream of the backend's generator, advancing the
/// stream's offset past every fill.
pub struct NoiseStream {
    seed: u64,
    offset: u64,
}

impl NoiseStream {
    /// A stream for the run seeded `seed`.
    pub fn new(seed: u64) -> Self {
        NoiseStream {
            seed: seed.wrapping_mul(0xd1b5_4a32_d192_ed03) ^ 0x5eed,
            offset: 0,
        }
    }

    /// The next `(seed, offset)` for a fill of `len` numbers.
    fn next(&mut self, len: usize) -> (u64, u64) {
        let at = self.offset;
        self.offset = self.offset.wrapping_add(len as u64);
        (self.seed, at)
    }

    fn normal<B: Backend>(&mut self, b: &B, len: usize) -> Result<B::Buf> {
        let mut buf = b.zeros(len)?;
        let (seed, offset) = self.next(len);
        b.fill_normal(&mut buf, seed, offset)?;
        Ok(buf)
    }

    /// One batch on the backend: `inputs` and `labels` uploaded, eps and (in stages that train
    /// the encoders) dropout masks drawn.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when a label is not below the class count (a GPU kernel
    /// would read out of bounds); [`Error::Config`] for inputs that do not fit `config`;
    /// backend errors.
    pub fn batch<B: Backend>(
        &mut self,
        b: &B,
        config: &ModelConfig,
        inputs: &[Tensor<f32>],
        labels: &[usize],
        stage: Stage,
    ) -> Result<StepBatch<B>> {
        let rows = labels.len();
        if let Some(&bad) = labels.iter().find(|&&y| y >= config.num_classes) {
            return Err(Error::argument(
                "dmil step",
                format!(
                    "label {bad} is out of range for {} classes",
                    config.num_classes
                ),
            ));
        }
        let given = crate::model::check_inputs(config, inputs)?;
        if given != rows {
            return Err(Error::Config(format!(
                "DMIL step: {rows} labels for a batch of {given}"
            )));
        }
        let modalities = inputs.len();
        let latent = rows * config.latent;

        let inputs = inputs
            .iter()
            .map(|x| b.upload(&x.to_vec()))
            .collect::<Result<Vec<_>>>()?;
        let labels: Vec<f32> = labels.iter().map(|&y| y as f32).collect();
        let (mut m, mut n) = (Vec::new(), Vec::new());
        for _ in 0..modalities {
            m.push(self.normal(b, latent)?);
            n.push(self.normal(b, latent)?);
        }
        let r = self.normal(b, latent)?;
        let u = (0..modalities)
            .map(|_| self.normal(b, latent))
            .collect::<Result<Vec<_>>>()?;

        let p = config.encoder.dropout;
        let mut masks = Vec::new();
        if p > 0.0 && stage != Stage::Interact {
            for _ in 0..modalities {
                let mut layers = Vec::with_capacity(config.encoder.hidden.len());
                for &h in &config.encoder.hidden {
                    let mut mask = b.zeros(rows * h)?;
                    let (seed, offset) = self.next(rows * h);
                    b.fill_dropout_mask(&mut mask, p, seed, offset)?;
                    layers.push(mask);
                }
                masks.push(layers);
            }
        }

        Ok(StepBatch {
            rows,
            inputs,
            labels: b.upload(&labels)?,
            noise: StepNoise { m, n, r, u, masks },
        })
    }
}

/// Trains `model` (a DMIL) on `train` as [`crate::train::fit`] does, with each step run by
/// [`DmilStep`] on `backend`; the trained parameters end in `model`.
///
/// # Errors
/// [`Error::Config`] for a model other than DMIL, an optimizer other than Adam (the only one
/// the explicit step implements), an unusable configuration or empty data;
/// [`Error::NonFinite`] naming the stage, epoch, step and term when a loss or the gradient
/// norm is NaN or infinite; backend errors.
pub fn fit_step<B: Backend>(
    backend: &B,
    model: &dyn MultimodalModel,
    train: &TensorData,
    select: &TensorData,
    config: &TrainConfig,
    seed: u64,
    observer: &mut dyn TrainObserver,
) -> Result<FitReport> {
    config.validate()?;
    if model.kind() != ModelKind::Dmil {
        return Err(Error::Config(format!(
            "the explicit training step trains DMIL only, not {}",
            model.kind()
        )));
    }
    if config.optimizer != OptimizerKind::Adam {
        return Err(Error::Config(
            "the explicit training step implements Adam only; use --optimizer adam".into(),
        ));
    }
    if train.is_empty() || select.is_empty() {
        return Err(Error::Config(
            "training and selection data must not be empty".into(),
        ));
    }

    // As the trainer does: subnormal moments would slow the CPU backend (and the evaluation).
    crate::tensor::set_flush_denormals();
    let mut step = DmilStep::new(backend, model.config(), model)?;
    let mut noise = NoiseStream::new(seed);
    let mut stages = Vec::new();
    for &stage in model.stages() {
        let data = StageData {
            train,
            select,
            config,
            seed,
        };
        stages.push(fit_stage(
            &mut step, &mut noise, model, &data, stage, observer,
        )?);
    }
    Ok(FitReport { stages })
}

/// What every stage reads.
struct StageData<'a> {
    train: &'a TensorData,
    select: &'a TensorData,
    config: &'a TrainConfig,
    seed: u64,
}

/// One stage, as the trainer's: fresh optimizer, `epochs` passes, the best epoch restored.
fn fit_stage<B: Backend>(
    step: &mut DmilStep<'_, B>,
    noise: &mut NoiseStream,
    model: &dyn MultimodalModel,
    data: &StageData<'_>,
    stage: Stage,
    observer: &mut dyn TrainObserver,
) -> Result<StageReport> {
    let config = data.config;
    let plan = config.plan(stage);
    model.enter_stage(stage);
    step.upload_from(model)?;
    let adam = AdamConfig::default();
    let settings = AdamSettings {
        lr: plan.learning_rate,
        beta1: adam.beta1,
        beta2: adam.beta2,
        eps: adam.eps,
        weight_decay: config.weight_decay,
        clip_norm: config.clip_norm,
    };

    let steps = data.train.len().div_ceil(config.batch_size);
    observer.stage_started(stage, plan.epochs, steps);
    let mut selection = StageSelection::start(model, data.select, config, stage, plan.epochs)?;

    for epoch in 1..=plan.epochs {
        let started = Instant::now();
        let order = epoch_batches(data.train.len(), config.batch_size, data.seed, epoch)?;
        let mut total = 0.0;
        for (index, indices) in order.iter().enumerate() {
            let (inputs, labels) = data.train.batch(indices)?;
            let batch = noise.batch(step.backend(), model.config(), &inputs, &labels, stage)?;
            let loss = step
                .train_step(&batch, stage, &settings)
                .map_err(|e| locate_non_finite(e, stage, epoch, index + 1))?;
            total += loss.total;
            observer.step_finished(loss.total);
        }

        step.download_into(model)?;
        let train_loss = total / order.len().max(1) as f32;
        selection.end_epoch(model, epoch, train_loss, started, observer)?;
    }

    selection.finish(model, observer)
}
