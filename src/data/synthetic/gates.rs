//! Boolean-gate datasets: two modalities, one hidden input bit each, a label that is a
//! Boolean function of the bits.
//!
//! Their partial information decomposition is known exactly (DESIGN.md section 2), which is
//! what makes them the test bed for interaction estimates: AND and OR are 38.3 % redundancy
//! and 61.7 % synergy, XOR is pure synergy, `copy` is pure uniqueness of both modalities,
//! `unique` pure uniqueness of modality 1, `redundant` pure redundancy.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::data::dataset::{Dataset, SampleKind};
use crate::data::matrix::Matrix;

/// A two-input Boolean gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BooleanGate {
    /// `b1 AND b2`.
    And,
    /// `b1 OR b2`.
    Or,
    /// `b1 XOR b2`.
    Xor,
}

impl BooleanGate {
    /// The gate's output as a class: 1 for true, 0 for false.
    pub fn apply(self, b1: bool, b2: bool) -> usize {
        let out = match self {
            BooleanGate::And => b1 && b2,
            BooleanGate::Or => b1 || b2,
            BooleanGate::Xor => b1 != b2,
        };
        usize::from(out)
    }

    /// The gate's name as used in synthetic specs: `and`, `or`, `xor`.
    pub fn name(self) -> &'static str {
        match self {
            BooleanGate::And => "and",
            BooleanGate::Or => "or",
            BooleanGate::Xor => "xor",
        }
    }

    /// The gate with this name, if any.
    pub fn from_name(name: &str) -> Option<BooleanGate> {
        match name {
            "and" => Some(BooleanGate::And),
            "or" => Some(BooleanGate::Or),
            "xor" => Some(BooleanGate::Xor),
            _ => None,
        }
    }
}

/// How the label of a Boolean dataset depends on the two input bits `b1`, `b2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BooleanTask {
    /// Each sample draws one of these gates uniformly, hidden from both modalities, and its
    /// label is `gate(b1, b2)`. One gate gives a plain gate dataset.
    Gates(Vec<BooleanGate>),
    /// The label is both bits, `2 * b1 + b2` (4 classes): each modality is uniquely needed.
    Copy,
    /// The label is `b1`; modality 2 carries an independent, useless bit.
    Unique,
    /// Both modalities carry the same bit, which is the label.
    Redundant,
}

impl BooleanTask {
    /// Number of classes: 4 for [`BooleanTask::Copy`], 2 otherwise.
    pub fn num_classes(&self) -> usize {
        match self {
            BooleanTask::Copy => 4,
            _ => 2,
        }
    }

    /// The gates a sample can follow; empty for `copy`, `unique` and `redundant`.
    pub fn gates(&self) -> &[BooleanGate] {
        match self {
            BooleanTask::Gates(gates) => gates,
            _ => &[],
        }
    }
}

/// A Boolean dataset: the task and how the bits are encoded into features.
///
/// Each modality `m` turns its bit into `x_m = (2 b_m - 1) w_m + noise_std * e`, where `w_m`
/// is a fixed random direction of `features` dimensions (Gaussian, scaled to norm
/// `sqrt(features)`, so each coordinate is about +-1) and `e` is standard Gaussian noise,
/// followed by `extra` pure-noise dimensions of standard deviation `extra_std`. The
/// defaults (8 features, noise 0.3, no extra dimensions) make each bit easy to read, so a
/// small MLP learns every task; raise `noise_std` to make it harder.
#[derive(Debug, Clone, PartialEq)]
pub struct BooleanSpec {
    /// What the label is.
    pub task: BooleanTask,
    /// Informative features per modality (default 8).
    pub features: usize,
    /// Standard deviation of the noise on informative features (default 0.3).
    pub noise_std: f32,
    /// Extra pure-noise features per modality (default 0).
    pub extra: usize,
    /// Standard deviation of the extra features (default 1.0).
    pub extra_std: f32,
}

impl BooleanSpec {
    /// A spec with the default encoding for `task`.
    pub fn new(task: BooleanTask) -> Self {
        BooleanSpec {
            task,
            features: 8,
            noise_std: 0.3,
            extra: 0,
            extra_std: 1.0,
        }
    }

    /// The gates a sample can follow; empty for `copy`, `unique` and `redundant`.
    pub fn gates(&self) -> &[BooleanGate] {
        self.task.gates()
    }

    /// Draws `n` samples. `projection` is the fixed direction `w_m` of each modality.
    pub(crate) fn sample(
        &self,
        n: usize,
        projection: &[Vec<f32>; 2],
        rng: &mut ChaCha8Rng,
    ) -> Dataset {
        let width = self.features + self.extra;
        let mut modalities = [Matrix::zeros(n, width), Matrix::zeros(n, width)];
        let mut labels = Vec::with_capacity(n);
        let mut kinds = Vec::with_capacity(n);

        for i in 0..n {
            // The hidden bits and the label.
            let b1: bool = rng.random();
            let mut b2: bool = rng.random();
            let (label, kind) = match &self.task {
                BooleanTask::Gates(gates) => {
                    let gate = gates[rng.random_range(0..gates.len())];
                    (gate.apply(b1, b2), Some(SampleKind::Gate(gate)))
                }
                BooleanTask::Copy => (2 * usize::from(b1) + usize::from(b2), None),
                BooleanTask::Unique => (usize::from(b1), Some(SampleKind::Uniqueness(0))),
                BooleanTask::Redundant => {
                    b2 = b1;
                    (usize::from(b1), Some(SampleKind::Redundancy))
                }
            };
            labels.push(label);
            kinds.extend(kind);

            // Each bit through its modality's projection, then the noise dimensions.
            for (m, bit) in [b1, b2].into_iter().enumerate() {
                let sign = if bit { 1.0 } else { -1.0 };
                let row = modalities[m].row_mut(i);
                for (j, x) in row.iter_mut().enumerate() {
                    let e: f32 = rng.sample(StandardNormal);
                    *x = if j < self.features {
                        sign * projection[m][j] + self.noise_std * e
                    } else {
                        self.extra_std * e
                    };
                }
            }
        }

        let [m1, m2] = modalities;
        Dataset {
            modalities: vec![m1, m2],
            labels,
            num_classes: self.task.num_classes(),
            sample_kinds: (kinds.len() == n).then_some(kinds),
            feature_names: vec![None, None],
        }
    }

    /// The fixed direction `w_m` of each modality in the dataset generated with `seed`.
    ///
    /// Exposed so that a test or an analysis can read the hidden bits back:
    /// `b_m = (x_m . w_m > 0)` over the informative features.
    pub fn projections(&self, seed: u64) -> [Vec<f32>; 2] {
        let mut rng = super::structure_rng(seed);
        let mut draw = || {
            let w: Vec<f32> = (0..self.features)
                .map(|_| rng.sample(StandardNormal))
                .collect();
            let norm = w.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-6);
            let scale = (self.features as f32).sqrt() / norm;
            w.into_iter().map(|v| v * scale).collect::<Vec<f32>>()
        };
        [draw(), draw()]
    }
}
