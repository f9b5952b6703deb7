//! Per-feature standardisation, fitted on training data only.

use super::dataset::Dataset;
use super::error::DataError;
use super::matrix::Matrix;

/// Subtracts each feature's training mean and divides by its training standard deviation:
/// `x' = (x - mean_j) / std_j`, per modality and column `j`.
///
/// Fit it on the training split only and apply the same transform to validation and test
/// data, so no statistic of held-out data leaks into training. A feature whose standard
/// deviation is zero (or below `1e-8`), such as a constant column, gets `std_j = 1`: it is
/// centred but not scaled, and never becomes NaN. The standard deviation is the population
/// one (divided by `n`), accumulated in `f64`.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    /// Per modality, the mean of each feature.
    pub means: Vec<Vec<f32>>,
    /// Per modality, the standard deviation used for each feature (1 where it was zero).
    pub stds: Vec<Vec<f32>>,
}

impl Standardizer {
    /// Computes the mean and standard deviation of every feature of `train`.
    ///
    /// # Errors
    ///
    /// [`DataError::InvalidArgument`] when `train` has no samples.
    pub fn fit(train: &Dataset) -> Result<Self, DataError> {
        let n = train.num_samples();
        if n == 0 {
            return Err(DataError::argument(
                "standardisation",
                "no training samples",
            ));
        }

        let mut means = Vec::with_capacity(train.num_modalities());
        let mut stds = Vec::with_capacity(train.num_modalities());
        for matrix in &train.modalities {
            let mut sum = vec![0.0f64; matrix.cols];
            let mut sum_sq = vec![0.0f64; matrix.cols];
            for i in 0..matrix.rows {
                for (j, &x) in matrix.row(i).iter().enumerate() {
                    sum[j] += x as f64;
                    sum_sq[j] += (x as f64) * (x as f64);
                }
            }

            let mean: Vec<f64> = sum.iter().map(|s| s / n as f64).collect();
            let std = sum_sq.iter().zip(&mean).map(|(sq, m)| {
                let var = (sq / n as f64 - m * m).max(0.0);
                let sd = var.sqrt();
                if sd < 1e-8 {
                    1.0
                } else {
                    sd as f32
                }
            });
            stds.push(std.collect());
            means.push(mean.iter().map(|&m| m as f32).collect());
        }
        Ok(Standardizer { means, stds })
    }

    /// Standardises `data` in place with the fitted statistics.
    ///
    /// # Errors
    ///
    /// [`DataError::InvalidArgument`] when `data`'s modality widths differ from the ones the
    /// standardizer was fitted on.
    pub fn apply(&self, data: &mut Dataset) -> Result<(), DataError> {
        self.apply_to(&mut data.modalities)
    }

    /// Standardises one matrix per modality in place, as [`Standardizer::apply`] does for a
    /// dataset (for features without labels).
    ///
    /// # Errors
    ///
    /// As [`Standardizer::apply`].
    pub fn apply_to(&self, modalities: &mut [Matrix]) -> Result<(), DataError> {
        let widths: Vec<usize> = modalities.iter().map(|m| m.cols).collect();
        let fitted: Vec<usize> = self.means.iter().map(Vec::len).collect();
        let scales: Vec<usize> = self.stds.iter().map(Vec::len).collect();
        if scales != fitted
            || self
                .stds
                .iter()
                .flatten()
                .any(|s| !(s.is_finite() && *s > 0.0))
        {
            let reason = format!(
                "means of widths {fitted:?} and standard deviations of widths {scales:?} \
                 (all finite and positive) are needed"
            );
            return Err(DataError::argument("standardisation statistics", reason));
        }
        if widths != fitted {
            let reason = format!("fitted on modality widths {fitted:?}, applied to {widths:?}");
            return Err(DataError::argument("standardisation statistics", reason));
        }

        for (m, matrix) in modalities.iter_mut().enumerate() {
            let (mean, std) = (&self.means[m], &self.stds[m]);
            for i in 0..matrix.rows {
                for (j, x) in matrix.row_mut(i).iter_mut().enumerate() {
                    *x = (*x - mean[j]) / std[j];
                }
            }
        }
        Ok(())
    }
}
