//! Datasets built from predefined interactions (the paper's supplementary B.4): each sample
//! shows exactly one of redundancy, uniqueness of modality 1 or 2, or synergy.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::random_net::RandomNet;
use crate::data::dataset::{Dataset, SampleKind};
use crate::data::matrix::Matrix;

/// Hidden width of the fixed encoder networks.
const HIDDEN: usize = 16;

/// Fractions of samples of each interaction type, and how they are encoded.
///
/// Each of the two modalities has three blocks of `block` features, one per interaction
/// family: `[R | U | S]`. A sample first draws its type with the given fractions and its
/// label `y` uniformly in `0..classes`, then fills the blocks of its type:
///
/// - redundancy: `R_1 = f_1R(y)` and `R_2 = f_2R(y)`: either modality alone gives `y`;
/// - uniqueness of modality 1 (`u1`): `U_1 = f_1U(y)`; modality 2 holds only noise;
///   `u2` the other way round;
/// - synergy: `z1` uniform in `0..C`, `z2 = (y - z1) mod C`, `S_1 = f_1S(z1)`,
///   `S_2 = f_2S(z2)`: each modality alone is independent of `y`, both together fix it.
///
/// `f` are fixed random tanh networks (one per modality and block) applied to one-hot codes,
/// plus Gaussian noise of `noise_std`; every block the type does not use is standard
/// Gaussian noise (the networks' outputs have about the same spread), so each sample carries
/// one type of interaction only.
#[derive(Debug, Clone, PartialEq)]
pub struct MixSpec {
    /// Fraction of redundancy samples (key `r`).
    pub redundancy: f64,
    /// Fraction of samples unique to modality 1 (key `u1`).
    pub unique1: f64,
    /// Fraction of samples unique to modality 2 (key `u2`).
    pub unique2: f64,
    /// Fraction of synergy samples (key `s`).
    pub synergy: f64,
    /// Number of classes (key `c`, default 2).
    pub classes: usize,
    /// Features per block (key `d`, default 8); each modality has `3 * block` features.
    pub block: usize,
    /// Noise on active blocks (key `noise`, default 0.1).
    pub noise_std: f32,
}

impl MixSpec {
    /// The fractions in the order redundancy, u1, u2, synergy.
    pub fn fractions(&self) -> [f64; 4] {
        [self.redundancy, self.unique1, self.unique2, self.synergy]
    }

    /// The six fixed networks of the dataset generated with `seed`, indexed
    /// `[modality][block]` with blocks in the order R, U, S.
    pub fn networks(&self, seed: u64) -> Vec<Vec<RandomNet>> {
        let mut rng = super::structure_rng(seed);
        let mut net = || RandomNet::new(self.classes, HIDDEN, self.block, &mut rng);
        (0..2).map(|_| (0..3).map(|_| net()).collect()).collect()
    }

    /// Draws one interaction type with the spec's fractions.
    fn draw_kind(&self, rng: &mut ChaCha8Rng) -> SampleKind {
        let kinds = [
            SampleKind::Redundancy,
            SampleKind::Uniqueness(0),
            SampleKind::Uniqueness(1),
            SampleKind::Synergy,
        ];
        let u: f64 = rng.random();
        let mut cumulative = 0.0;
        for (kind, fraction) in kinds.iter().zip(self.fractions()) {
            cumulative += fraction;
            if u < cumulative {
                return *kind;
            }
        }
        // Rounding can leave `u` just above the sum: take the last type with a share.
        let last = self.fractions().iter().rposition(|&f| f > 0.0).unwrap_or(0);
        kinds[last]
    }

    /// Draws `n` samples with the fixed networks `nets`.
    pub(crate) fn sample(
        &self,
        n: usize,
        nets: &[Vec<RandomNet>],
        rng: &mut ChaCha8Rng,
    ) -> Dataset {
        let width = 3 * self.block;
        let mut modalities = [Matrix::zeros(n, width), Matrix::zeros(n, width)];
        let mut labels = Vec::with_capacity(n);
        let mut kinds = Vec::with_capacity(n);

        for i in 0..n {
            // Type, label, and the code each (modality, block) encodes, if any.
            let kind = self.draw_kind(rng);
            let y = rng.random_range(0..self.classes);
            let mut codes = [[None; 3]; 2];
            match kind {
                SampleKind::Redundancy => codes = [[Some(y), None, None], [Some(y), None, None]],
                SampleKind::Uniqueness(m) => codes[m][1] = Some(y),
                _ => {
                    let z1 = rng.random_range(0..self.classes);
                    let z2 = (y + self.classes - z1) % self.classes;
                    codes = [[None, None, Some(z1)], [None, None, Some(z2)]];
                }
            }
            labels.push(y);
            kinds.push(kind);

            // Fill each block: network output plus small noise, or pure noise.
            for (m, modality) in modalities.iter_mut().enumerate() {
                let row = modality.row_mut(i);
                for (b, block) in row.chunks_exact_mut(self.block).enumerate() {
                    let std = match codes[m][b] {
                        Some(code) => {
                            nets[m][b].forward_one_hot(code, block);
                            self.noise_std
                        }
                        None => 1.0,
                    };
                    for x in block.iter_mut() {
                        *x += std * rng.sample::<f32, _>(StandardNormal);
                    }
                }
            }
        }

        let [m1, m2] = modalities;
        Dataset {
            modalities: vec![m1, m2],
            labels,
            num_classes: self.classes,
            sample_kinds: Some(kinds),
            feature_names: vec![None, None],
        }
    }
}
