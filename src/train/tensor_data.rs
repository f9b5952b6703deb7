//! [`TensorData`]: a dataset as engine tensors, ready to be cut into batches.

use crate::data::Dataset;
use crate::error::Result;
use crate::tensor::Tensor;

/// One `[samples, width]` tensor per modality and a label per sample.
#[derive(Clone)]
pub struct TensorData {
    /// The modalities.
    pub inputs: Vec<Tensor<f32>>,
    /// The class of each sample.
    pub labels: Vec<usize>,
    /// Number of classes.
    pub num_classes: usize,
}

impl TensorData {
    /// Converts a dataset (its matrices are copied once).
    ///
    /// # Errors
    /// Never in practice: the dataset's matrices are consistent by construction; a shape
    /// error is passed on if one were not.
    pub fn from_dataset(data: &Dataset) -> Result<Self> {
        let inputs = data
            .modalities
            .iter()
            .map(|m| Tensor::from_slice(&m.data, [m.rows, m.cols]))
            .collect::<Result<Vec<_>>>()?;
        Ok(TensorData {
            inputs,
            labels: data.labels.clone(),
            num_classes: data.num_classes,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there is no sample.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The samples of `self` followed by those of `other`.
    ///
    /// # Errors
    /// [`crate::Error::ShapeMismatch`] when the modalities' widths differ.
    pub fn concat(&self, other: &TensorData) -> Result<TensorData> {
        let inputs = self
            .inputs
            .iter()
            .zip(&other.inputs)
            .map(|(a, b)| Tensor::try_concat(&[a, b], 0))
            .collect::<Result<Vec<_>>>()?;
        let labels = self.labels.iter().chain(&other.labels).copied().collect();
        Ok(TensorData {
            inputs,
            labels,
            num_classes: self.num_classes.max(other.num_classes),
        })
    }

    /// The rows `indices` of every modality, and their labels.
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] for an index out of range.
    pub fn batch(&self, indices: &[usize]) -> Result<(Vec<Tensor<f32>>, Vec<usize>)> {
        let inputs = self
            .inputs
            .iter()
            .map(|x| x.try_index_select(0, indices))
            .collect::<Result<Vec<_>>>()?;
        let labels = indices.iter().map(|&i| self.labels[i]).collect();
        Ok((inputs, labels))
    }
}
