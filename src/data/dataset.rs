//! A multimodal dataset: one matrix per modality, a label per sample, and what is known about
//! how each sample was made.

use super::error::DataError;
use super::matrix::Matrix;
use super::synthetic::BooleanGate;

/// How one synthetic sample relates its modalities to its label.
///
/// Recorded per sample by the synthetic generators so that estimates of interaction
/// proportions can be checked against the truth. Real data has no such record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleKind {
    /// A Boolean-gate sample whose label is `gate(b1, b2)`.
    Gate(BooleanGate),
    /// Both modalities carry the label (redundancy).
    Redundancy,
    /// Only the modality with this 0-based index carries the label (uniqueness).
    Uniqueness(usize),
    /// Only the modalities together determine the label (synergy).
    Synergy,
}

/// Samples of several modalities with one class label each.
///
/// Invariants (checked by [`Dataset::new`] and kept by every method): at least one modality,
/// every modality has `labels.len()` rows, every label is `< num_classes`, and the optional
/// per-sample and per-feature records have matching lengths.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// One `samples x features` matrix per modality.
    pub modalities: Vec<Matrix>,
    /// The class of each sample, in `0..num_classes`.
    pub labels: Vec<usize>,
    /// Number of classes. It may exceed `max(labels) + 1` when a split lacks some class.
    pub num_classes: usize,
    /// For synthetic data, the gate or interaction type that made each sample.
    pub sample_kinds: Option<Vec<SampleKind>>,
    /// For each modality, the names of its columns where the source gave them.
    pub feature_names: Vec<Option<Vec<String>>>,
}

/// A fixed split of one dataset into training and test samples.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSplits {
    /// Samples to fit on (and to carve validation data from).
    pub train: Dataset,
    /// Held-out samples, for the final evaluation only.
    pub test: Dataset,
}

impl Dataset {
    /// Builds a dataset without sample kinds or feature names, checking the invariants.
    ///
    /// # Errors
    ///
    /// [`DataError::InvalidArgument`] when there is no modality, the row counts differ from
    /// the number of labels, or a label is `>= num_classes`.
    pub fn new(
        modalities: Vec<Matrix>,
        labels: Vec<usize>,
        num_classes: usize,
    ) -> Result<Self, DataError> {
        let feature_names = vec![None; modalities.len()];
        let dataset = Dataset {
            modalities,
            labels,
            num_classes,
            sample_kinds: None,
            feature_names,
        };
        dataset.check()?;
        Ok(dataset)
    }

    /// Checks the invariants listed on [`Dataset`].
    ///
    /// # Errors
    ///
    /// [`DataError::InvalidArgument`] naming the first broken invariant.
    pub fn check(&self) -> Result<(), DataError> {
        let op = "dataset";
        if self.modalities.is_empty() {
            return Err(DataError::argument(
                op,
                "a dataset needs at least one modality",
            ));
        }

        let n = self.labels.len();
        for (m, matrix) in self.modalities.iter().enumerate() {
            if matrix.rows != n || matrix.data.len() != matrix.rows * matrix.cols {
                let reason = format!(
                    "modality {} has {} rows ({} values, {} columns) but there are {n} labels",
                    m + 1,
                    matrix.rows,
                    matrix.data.len(),
                    matrix.cols
                );
                return Err(DataError::argument(op, reason));
            }
        }

        if let Some(&bad) = self.labels.iter().find(|&&y| y >= self.num_classes) {
            let reason = format!(
                "label {bad} is not below num_classes = {}",
                self.num_classes
            );
            return Err(DataError::argument(op, reason));
        }

        if let Some(kinds) = &self.sample_kinds {
            if kinds.len() != n {
                let reason = format!("{} sample kinds for {n} samples", kinds.len());
                return Err(DataError::argument(op, reason));
            }
        }

        if self.feature_names.len() != self.modalities.len() {
            let reason = format!(
                "{} feature-name lists for {} modalities",
                self.feature_names.len(),
                self.modalities.len()
            );
            return Err(DataError::argument(op, reason));
        }
        for (m, names) in self.feature_names.iter().enumerate() {
            let cols = self.modalities[m].cols;
            if let Some(names) = names.as_ref().filter(|names| names.len() != cols) {
                let reason = format!(
                    "modality {} has {cols} columns but {} names",
                    m + 1,
                    names.len()
                );
                return Err(DataError::argument(op, reason));
            }
        }
        Ok(())
    }

    /// Number of samples.
    pub fn num_samples(&self) -> usize {
        self.labels.len()
    }

    /// Number of modalities.
    pub fn num_modalities(&self) -> usize {
        self.modalities.len()
    }

    /// Number of features of each modality, in order.
    pub fn modality_widths(&self) -> Vec<usize> {
        self.modalities.iter().map(|m| m.cols).collect()
    }

    /// How many samples each class has, indexed by class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_classes];
        for &y in &self.labels {
            counts[y] += 1;
        }
        counts
    }

    /// A new dataset holding the samples listed in `indices`, in that order.
    ///
    /// `num_classes` and the feature names are kept, so a subset that lacks a class still
    /// has the full set of classes.
    ///
    /// # Errors
    ///
    /// [`DataError::InvalidArgument`] when an index is `>= num_samples()`.
    pub fn subset(&self, indices: &[usize]) -> Result<Dataset, DataError> {
        let n = self.num_samples();
        if let Some(&bad) = indices.iter().find(|&&i| i >= n) {
            let reason = format!("index {bad} is out of range for {n} samples");
            return Err(DataError::argument("subset of samples", reason));
        }

        let modalities = self
            .modalities
            .iter()
            .map(|m| m.select_rows(indices))
            .collect();
        let labels = indices.iter().map(|&i| self.labels[i]).collect();
        let sample_kinds = self
            .sample_kinds
            .as_ref()
            .map(|kinds| indices.iter().map(|&i| kinds[i]).collect());

        Ok(Dataset {
            modalities,
            labels,
            num_classes: self.num_classes,
            sample_kinds,
            feature_names: self.feature_names.clone(),
        })
    }

    /// A new dataset keeping only the modalities listed (0-based), in that order.
    ///
    /// # Errors
    ///
    /// [`DataError::InvalidArgument`] when the list is empty or an index is out of range.
    pub fn select_modalities(&self, which: &[usize]) -> Result<Dataset, DataError> {
        let op = "the choice of modalities";
        if which.is_empty() {
            return Err(DataError::argument(op, "select at least one modality"));
        }
        if let Some(&bad) = which.iter().find(|&&m| m >= self.num_modalities()) {
            let reason = format!("modality index {bad} (0-based) but only {} modalities", {
                self.num_modalities()
            });
            return Err(DataError::argument(op, reason));
        }

        let mut out = self.clone();
        out.modalities = which.iter().map(|&m| self.modalities[m].clone()).collect();
        out.feature_names = which
            .iter()
            .map(|&m| self.feature_names[m].clone())
            .collect();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Dataset {
        let m = Matrix::new(3, 2, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        Dataset::new(vec![m], vec![0, 1, 1], 2).unwrap()
    }

    #[test]
    fn subset_takes_rows_in_the_given_order() {
        let data = tiny();
        let sub = data.subset(&[2, 0]).unwrap();
        assert_eq!(sub.modalities[0].data, vec![4.0, 5.0, 0.0, 1.0]);
        assert_eq!(sub.labels, vec![1, 0]);
        assert_eq!(sub.num_classes, 2);
        assert!(data.subset(&[3]).is_err());
    }

    #[test]
    fn broken_invariants_are_reported() {
        let m = Matrix::zeros(2, 2);
        assert!(Dataset::new(vec![m.clone()], vec![0, 1, 0], 2).is_err());
        assert!(Dataset::new(vec![m], vec![0, 2], 2).is_err());
        assert!(Dataset::new(vec![], vec![], 2).is_err());
        assert!(Matrix::new(2, 2, vec![0.0; 3]).is_err());
    }
}
