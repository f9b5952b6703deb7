//! What the tests of the explicit DMIL step share: small configurations, the random draws the
//! autograd model makes (replayed from the same generators, so the explicit step sees the
//! same eps and dropout masks), and the autograd reference of one step.

#![allow(dead_code)]

use std::collections::HashMap;

use dmil::model::{Dmil, ModelConfig, ModelKind, MultimodalModel, Stage};
use dmil::nn::Module;
use dmil::step::{Backend, StepBatch, StepNoise};
use dmil::tensor::Tensor;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A small DMIL: inputs of 5, 7 (and 4) features, one hidden layer of 6, embedding 8,
/// latent 4, three classes, gate hidden 5, dropout `dropout`.
pub fn small_config(modalities: usize, dropout: f32) -> ModelConfig {
    let widths = [5, 7, 4][..modalities].to_vec();
    let mut config = ModelConfig::new(ModelKind::Dmil, widths, 3);
    config.encoder.hidden = vec![6];
    config.encoder.embedding = 8;
    config.encoder.dropout = dropout;
    config.latent = 4;
    config.gate_hidden = 5;
    config
}

/// One batch and the random numbers the model draws for it, on the host.
pub struct Draws {
    pub rows: usize,
    pub inputs: Vec<Vec<f32>>,
    pub labels: Vec<usize>,
    pub eps_m: Vec<Vec<f32>>,
    pub eps_n: Vec<Vec<f32>>,
    pub eps_r: Vec<f32>,
    pub eps_u: Vec<Vec<f32>>,
    pub masks: Vec<Vec<Vec<f32>>>,
}

/// Replays the random draws of a fresh `Dmil::new(config, seed)` call after call: its noise
/// generator is seeded with `seed * 0x9e3779b97f4a7c15` and each `loss` draws M_m and N_m per
/// modality, then (stages 2 and 3) R and each U_m; each encoder's dropout is seeded with
/// `seed ^ (0x5eed + m)` and draws one uniform per element of each hidden layer whenever the
/// encoder trains (stages 1 and 3).
pub struct Replay {
    noise: ChaCha8Rng,
    dropout: Vec<ChaCha8Rng>,
    data: ChaCha8Rng,
}

impl Replay {
    pub fn new(config: &ModelConfig, seed: u64) -> Replay {
        Replay {
            noise: ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            dropout: (0..config.input_widths.len())
                .map(|m| ChaCha8Rng::seed_from_u64(seed ^ (0x5eed + m as u64)))
                .collect(),
            data: ChaCha8Rng::seed_from_u64(seed + 1000),
        }
    }

    /// Random inputs and labels of `rows` samples, and the draws the model makes for them in
    /// one `loss` call of `stage`. eps of R and U are zeros in stage 1, where none is drawn.
    pub fn next(&mut self, config: &ModelConfig, rows: usize, stage: Stage) -> Draws {
        let (l, modalities) = (config.latent, config.input_widths.len());
        let data = &mut self.data;
        let inputs = config
            .input_widths
            .iter()
            .map(|&w| {
                (0..rows * w)
                    .map(|_| data.random_range(-2.0..2.0))
                    .collect()
            })
            .collect();
        let labels = (0..rows)
            .map(|_| data.random_range(0..config.num_classes))
            .collect();

        let noise = &mut self.noise;
        let mut normal = || Tensor::<f32>::randn_with([rows, l], &mut *noise).to_vec();
        let (mut eps_m, mut eps_n) = (Vec::new(), Vec::new());
        for _ in 0..modalities {
            eps_m.push(normal());
            eps_n.push(normal());
        }
        let (eps_r, eps_u) = if stage == Stage::Decompose {
            (vec![0.0; rows * l], vec![vec![0.0; rows * l]; modalities])
        } else {
            (normal(), (0..modalities).map(|_| normal()).collect())
        };

        let p = config.encoder.dropout;
        let masks = if p > 0.0 && stage != Stage::Interact {
            let hidden = &config.encoder.hidden;
            self.dropout
                .iter_mut()
                .map(|rng| {
                    hidden
                        .iter()
                        .map(|&h| {
                            (0..rows * h)
                                .map(|_| {
                                    if rng.random::<f32>() < p {
                                        0.0
                                    } else {
                                        1.0 / (1.0 - p)
                                    }
                                })
                                .collect()
                        })
                        .collect()
                })
                .collect()
        } else {
            Vec::new()
        };

        Draws {
            rows,
            inputs,
            labels,
            eps_m,
            eps_n,
            eps_r,
            eps_u,
            masks,
        }
    }
}

/// The draws of a fresh model's first `loss` call of `stage`.
pub fn draws(config: &ModelConfig, seed: u64, rows: usize, stage: Stage) -> Draws {
    Replay::new(config, seed).next(config, rows, stage)
}

/// `draws` on a backend.
pub fn batch_on<B: Backend>(b: &B, d: &Draws) -> StepBatch<B> {
    let up = |v: &Vec<f32>| b.upload(v).expect("upload");
    let ups = |v: &Vec<Vec<f32>>| v.iter().map(up).collect::<Vec<_>>();
    let labels: Vec<f32> = d.labels.iter().map(|&y| y as f32).collect();
    StepBatch {
        rows: d.rows,
        inputs: ups(&d.inputs),
        labels: up(&labels),
        noise: StepNoise {
            m: ups(&d.eps_m),
            n: ups(&d.eps_n),
            r: up(&d.eps_r),
            u: ups(&d.eps_u),
            masks: d.masks.iter().map(ups).collect(),
        },
    }
}

/// The inputs of `d` as tensors.
pub fn input_tensors(d: &Draws, config: &ModelConfig) -> Vec<Tensor<f32>> {
    d.inputs
        .iter()
        .zip(&config.input_widths)
        .map(|(x, &w)| Tensor::from_vec(x.clone(), [d.rows, w]).expect("input"))
        .collect()
}

/// Gradients by parameter name.
pub type Gradients = HashMap<String, Vec<f32>>;

/// The autograd model's loss terms and the gradients of its trainable parameters, by name,
/// for one call of `loss` in `stage` (the model must be fresh, so its generators replay
/// `draws`).
pub fn autograd_step(
    model: &Dmil,
    config: &ModelConfig,
    d: &Draws,
    stage: Stage,
) -> (Vec<(&'static str, f32)>, Gradients) {
    model.enter_stage(stage);
    let loss = model
        .loss(&input_tensors(d, config), &d.labels, stage)
        .expect("loss");
    loss.total.backward().expect("backward");
    let grads = model
        .named_parameters()
        .into_iter()
        .filter(|(_, p)| p.needs_grad())
        .filter_map(|(name, p)| p.grad().map(|g| (name, g.to_vec())))
        .collect();
    (loss.terms, grads)
}

/// `|got - want| <= rtol * max(|want|, floor)`.
pub fn close(got: f32, want: f32, rtol: f32, floor: f32) -> bool {
    (got - want).abs() <= rtol * want.abs().max(floor)
}

/// The largest element-wise difference of two vectors relative to the larger of the
/// reference's largest magnitude and `floor`.
pub fn relative_error(got: &[f32], want: &[f32], floor: f32) -> f32 {
    assert_eq!(got.len(), want.len(), "lengths differ");
    let scale = want.iter().fold(floor, |a, w| a.max(w.abs()));
    got.iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs() / scale)
        .fold(0.0, f32::max)
}
