//! The clustering estimator of Liang et al. (2023) for continuous features: discretise each
//! modality by clustering, then take the exact PID of the empirical distribution of
//! (cluster of modality 1, cluster of modality 2, label).

use serde::{Deserialize, Serialize};

use super::exact::decompose;
use super::features::{check_matrix, pca, standardise};
use super::kmeans::kmeans;
use super::report::{PidBits, PidPercent};
use super::{JointDistribution, PidError};

/// Settings of the clustering estimator.
///
/// Each modality goes through: standardisation of every feature, an optional PCA to
/// `pca_components` dimensions, and k-means with `clusters` centres (k-means++ seeding and
/// Lloyd iterations, at most `max_iter`). Modality 1 clusters with `seed` and modality 2 with
/// `seed + 1`, so a given seed always gives the same result.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClusterEstimator {
    /// Clusters per modality. Default 20.
    pub clusters: usize,
    /// Principal components kept before clustering; `None` clusters the standardised features
    /// directly. Default `None`.
    pub pca_components: Option<usize>,
    /// Seed of the k-means++ draws. Default 0.
    pub seed: u64,
    /// Most Lloyd iterations per modality. Default 300.
    pub max_iter: usize,
}

impl Default for ClusterEstimator {
    fn default() -> Self {
        Self {
            clusters: 20,
            pca_components: None,
            seed: 0,
            max_iter: 300,
        }
    }
}

/// What the clustering estimator found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterEstimate {
    /// The decomposition in bits.
    pub bits: PidBits,
    /// The decomposition in percent of I(X1, X2; Y).
    pub percent: PidPercent,
    /// Non-empty clusters per modality (at most `clusters`, and at most the sample count).
    pub clusters_used: [usize; 2],
    /// Whether the exact solver met its tolerance.
    pub converged: bool,
}

impl ClusterEstimator {
    /// Estimates the PID of `(x1, x2; labels)` from f32 features: `x1` is `n x d1` and `x2`
    /// is `n x d2`, row-major, with one label per row.
    ///
    /// # Errors
    ///
    /// As [`ClusterEstimator::estimate_f64`].
    pub fn estimate(
        &self,
        x1: &[f32],
        d1: usize,
        x2: &[f32],
        d2: usize,
        labels: &[usize],
    ) -> Result<ClusterEstimate, PidError> {
        let widen = |x: &[f32]| x.iter().map(|&v| f64::from(v)).collect::<Vec<f64>>();
        self.estimate_f64(&widen(x1), d1, &widen(x2), d2, labels)
    }

    /// Estimates the PID of `(x1, x2; labels)` from f64 features; see
    /// [`ClusterEstimator::estimate`].
    ///
    /// # Errors
    ///
    /// [`PidError::InvalidArgument`] for zero clusters, zero PCA components, zero
    /// `max_iter`, or a width that is zero or does not divide its matrix;
    /// [`PidError::Empty`] for no samples; [`PidError::LengthMismatch`] if the two matrices
    /// and the labels do not have the same number of rows; [`PidError::InvalidEntry`] for a
    /// non-finite feature.
    pub fn estimate_f64(
        &self,
        x1: &[f64],
        d1: usize,
        x2: &[f64],
        d2: usize,
        labels: &[usize],
    ) -> Result<ClusterEstimate, PidError> {
        if self.clusters == 0 || self.max_iter == 0 || self.pca_components == Some(0) {
            return Err(PidError::InvalidArgument {
                what: "clustering estimator",
                reason: format!(
                    "clusters ({}), pca_components ({:?}) and max_iter ({}) must be at least 1",
                    self.clusters, self.pca_components, self.max_iter
                ),
            });
        }

        let n1 = check_matrix(x1, d1, "clustering estimator, modality 1")?;
        let n2 = check_matrix(x2, d2, "clustering estimator, modality 2")?;
        if n1 != n2 || n1 != labels.len() {
            return Err(PidError::LengthMismatch {
                what: "clustering estimator",
                details: format!("x1 {n1} rows, x2 {n2} rows, {} labels", labels.len()),
            });
        }

        let (c1, used1) = self.discretise(x1, d1, self.seed)?;
        let (c2, used2) = self.discretise(x2, d2, self.seed.wrapping_add(1))?;

        let p = JointDistribution::from_samples(&c1, &c2, labels)?;
        let result = decompose(&p);
        Ok(ClusterEstimate {
            bits: result.bits,
            percent: result.percent,
            clusters_used: [used1, used2],
            converged: result.converged,
        })
    }

    /// Standardise, optionally project, cluster; returns the cluster of each row, renumbered
    /// `0..used` in order of first appearance, and `used`.
    fn discretise(&self, x: &[f64], d: usize, seed: u64) -> Result<(Vec<usize>, usize), PidError> {
        let mut data = standardise(x, d)?;
        let mut width = d;
        if let Some(k) = self.pca_components {
            let fitted = pca(&data, d, k)?;
            data = fitted.project(&data)?;
            width = fitted.k();
        }

        let fit = kmeans(&data, width, self.clusters, seed, self.max_iter)?;

        let mut renumber = vec![usize::MAX; fit.k];
        let mut used = 0;
        let mut labels = Vec::with_capacity(fit.assignments.len());
        for &c in &fit.assignments {
            if renumber[c] == usize::MAX {
                renumber[c] = used;
                used += 1;
            }
            labels.push(renumber[c]);
        }
        Ok((labels, used))
    }
}
