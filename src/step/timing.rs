//! [`time_steps`]: how fast the explicit step trains on a backend, for `dmil bench`.

use std::time::Instant;

use super::backend::Backend;
use super::dmil::{AdamSettings, DmilStep};
use super::fit::NoiseStream;
use crate::error::Result;
use crate::model::{Dmil, ModelConfig, Stage};
use crate::tensor::Tensor;

/// Timings of whole training steps at one batch size.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StepTiming {
    /// Samples per step.
    pub batch: usize,
    /// Timed steps.
    pub steps: usize,
    /// Median wall time of one step (forward, backward, clipping, Adam, reading the loss).
    pub median_us: f64,
    /// Steps per second at the median.
    pub steps_per_second: f64,
}

/// Times `repeats` stage-3 training steps of a fresh DMIL of `config` on one random batch of
/// `batch` samples, after `warmup` untimed ones. Each step ends by reading its loss back, so
/// on a GPU the time covers all the step's queued work.
///
/// # Errors
/// Backend errors; [`crate::Error::Config`] for an unusable configuration.
pub fn time_steps<B: Backend>(
    backend: &B,
    config: &ModelConfig,
    batch: usize,
    warmup: usize,
    repeats: usize,
) -> Result<StepTiming> {
    let model = Dmil::new(config.clone(), 7)?;
    let mut step = DmilStep::new(backend, config, &model)?;
    let inputs: Vec<Tensor<f32>> = config
        .input_widths
        .iter()
        .enumerate()
        .map(|(m, &w)| Tensor::randn([batch, w], 100 + m as u64))
        .collect();
    let labels: Vec<usize> = (0..batch).map(|i| i % config.num_classes).collect();
    let mut noise = NoiseStream::new(7);
    let data = noise.batch(backend, config, &inputs, &labels, Stage::FineTune)?;
    let settings = AdamSettings {
        lr: 1e-3,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 1e-3,
        clip_norm: 5.0,
    };

    for _ in 0..warmup {
        step.train_step(&data, Stage::FineTune, &settings)?;
    }
    let mut samples = Vec::with_capacity(repeats.max(1));
    for _ in 0..repeats.max(1) {
        let started = Instant::now();
        step.train_step(&data, Stage::FineTune, &settings)?;
        samples.push(started.elapsed().as_secs_f64() * 1e6);
    }
    samples.sort_by(f64::total_cmp);
    let median_us = samples[samples.len() / 2];
    Ok(StepTiming {
        batch,
        steps: samples.len(),
        median_us,
        steps_per_second: 1e6 / median_us,
    })
}
