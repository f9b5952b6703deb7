//! [`evaluate`]: a model's predictions, metrics and mean gate weights on a dataset.

use super::metrics::Metrics;
use super::tensor_data::TensorData;
use crate::autograd::no_grad;
use crate::error::{Error, Result};
use crate::model::MultimodalModel;
use crate::tensor::Tensor;

/// What a model does on a dataset.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// Accuracy, mAP, macro-F1 and ROC AUC.
    pub metrics: Metrics,
    /// Softmax probabilities, `samples x classes`, row-major.
    pub probabilities: Vec<f32>,
    /// The arg-max class of each sample.
    pub predictions: Vec<usize>,
    /// Gate weights, `samples x components`, row-major (DMIL only).
    pub weights: Option<Vec<f32>>,
    /// The mean of each component's gate weight over the samples (DMIL only): the learned
    /// interaction proportions (the paper's Table 4).
    pub mean_weights: Option<Vec<f32>>,
}

/// DMIL's mean gate weights by component: the learned interaction proportions.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct InteractionWeights {
    /// Weight of the shared component R.
    pub redundancy: f32,
    /// Weight of each unique component U_m.
    pub uniqueness: Vec<f32>,
    /// Weight of the synergy component S.
    pub synergy: f32,
}

impl InteractionWeights {
    /// Reads weights in DMIL's component order: R, U_1..U_M, S.
    ///
    /// # Panics
    /// When fewer than three weights are given (DMIL always has at least R, two U and S).
    pub fn from_ordered(weights: &[f32]) -> Self {
        assert!(weights.len() >= 3, "DMIL has at least three components");
        InteractionWeights {
            redundancy: weights[0],
            uniqueness: weights[1..weights.len() - 1].to_vec(),
            synergy: weights[weights.len() - 1],
        }
    }
}

impl Evaluation {
    /// The mean gate weights by component, for DMIL.
    pub fn interaction_weights(&self) -> Option<InteractionWeights> {
        self.mean_weights
            .as_deref()
            .map(InteractionWeights::from_ordered)
    }
}

/// What a model predicts for a set of samples, without labels to score it against.
#[derive(Clone, Debug)]
pub struct Predictions {
    /// Softmax probabilities, `samples x classes`, row-major.
    pub probabilities: Vec<f32>,
    /// The arg-max class of each sample.
    pub predictions: Vec<usize>,
    /// Gate weights, `samples x components`, row-major (DMIL only).
    pub weights: Option<Vec<f32>>,
}

/// Predicts the rows of `inputs` (one `[samples, width]` tensor per modality) in evaluation
/// mode (means instead of samples, no dropout) without recording a graph, in batches of
/// `batch_size`. Leaves the model in evaluation mode.
///
/// # Errors
/// Shape errors when `inputs` do not fit the model; [`Error::NonFinite`] when a prediction is
/// NaN.
pub fn predict(
    model: &dyn MultimodalModel,
    inputs: &[Tensor<f32>],
    batch_size: usize,
) -> Result<Predictions> {
    model.set_training(false);
    let classes = model.config().num_classes;
    let samples = inputs
        .first()
        .map_or(0, |x| x.dims().first().copied().unwrap_or(0));
    let mut probabilities = Vec::with_capacity(samples * classes);
    let mut weights: Option<Vec<f32>> = None;

    no_grad(|| -> Result<()> {
        let all: Vec<usize> = (0..samples).collect();
        for chunk in all.chunks(batch_size.max(1)) {
            let batch = inputs
                .iter()
                .map(|x| x.try_index_select(0, chunk))
                .collect::<Result<Vec<_>>>()?;
            let prediction = model.predict(&batch)?;
            probabilities.extend(prediction.logits.softmax(-1).to_vec());
            if let Some(w) = prediction.weights {
                weights.get_or_insert_with(Vec::new).extend(w.to_vec());
            }
        }
        Ok(())
    })?;

    if probabilities.iter().any(|p| !p.is_finite()) {
        return Err(Error::NonFinite(
            "the model predicted NaN probabilities".into(),
        ));
    }
    let predictions = probabilities
        .chunks_exact(classes)
        .map(|row| (0..classes).fold(0, |best, c| if row[c] > row[best] { c } else { best }))
        .collect();
    Ok(Predictions {
        probabilities,
        predictions,
        weights,
    })
}

/// Predicts `data` as [`predict`] does and scores the predictions against its labels.
///
/// # Errors
/// As [`predict`], and [`Error::Metrics`] when a label is out of the model's classes.
pub fn evaluate(
    model: &dyn MultimodalModel,
    data: &TensorData,
    batch_size: usize,
) -> Result<Evaluation> {
    let Predictions {
        probabilities,
        predictions,
        weights,
    } = predict(model, &data.inputs, batch_size)?;
    let classes = model.config().num_classes;
    let metrics = Metrics::compute(&probabilities, &data.labels, classes)?;
    let mean_weights = weights.as_ref().map(|w| {
        let k = w.len() / data.len().max(1);
        (0..k)
            .map(|j| w.iter().skip(j).step_by(k.max(1)).sum::<f32>() / data.len() as f32)
            .collect()
    });
    Ok(Evaluation {
        metrics,
        probabilities,
        predictions,
        weights,
        mean_weights,
    })
}
