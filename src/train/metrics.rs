//! Classification metrics on predicted class probabilities.
//!
//! Every function takes `probs`, a row-major `n x num_classes` matrix of scores (softmax
//! probabilities or any scores where larger means more likely), and `labels`, the true class
//! of each row. The predicted class of a row is its arg-max, the lowest index on ties.
//! Everything is computed in f64; ties between scores are exact f32 equality.

use serde::Serialize;

/// Errors of the metric functions: inputs that do not describe a classification result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// No samples.
    #[error("{metric}: no samples")]
    Empty {
        /// The metric asked for.
        metric: &'static str,
    },

    /// Zero classes.
    #[error("{metric}: num_classes must be at least 1")]
    NoClasses {
        /// The metric asked for.
        metric: &'static str,
    },

    /// A score matrix whose length is not `labels.len() * num_classes`, or score and truth
    /// lists of different lengths.
    #[error("{metric}: {got} scores do not match {n} samples x {num_classes} classes")]
    ShapeMismatch {
        /// The metric asked for.
        metric: &'static str,
        /// Length of the score slice.
        got: usize,
        /// Number of samples (labels).
        n: usize,
        /// Number of classes.
        num_classes: usize,
    },

    /// A label outside `0..num_classes`.
    #[error("{metric}: label {label} of sample {index} is not below num_classes {num_classes}")]
    LabelOutOfRange {
        /// The metric asked for.
        metric: &'static str,
        /// The sample.
        index: usize,
        /// Its label.
        label: usize,
        /// Number of classes.
        num_classes: usize,
    },

    /// A NaN or infinite score.
    #[error("{metric}: score {index} is {value}, not finite")]
    NonFinite {
        /// The metric asked for.
        metric: &'static str,
        /// Position in the score slice.
        index: usize,
        /// The value.
        value: f32,
    },

    /// A metric that is undefined for the truth given: average precision without any
    /// positive sample, ROC AUC without both a positive and a negative.
    #[error("{metric}: undefined here ({reason})")]
    Undefined {
        /// The metric asked for.
        metric: &'static str,
        /// Why.
        reason: &'static str,
    },
}

/// The four headline metrics of a classifier on one dataset.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Metrics {
    /// Fraction of rows whose arg-max is the label; see [`accuracy`].
    pub accuracy: f64,
    /// Mean average precision over classes; see [`mean_average_precision`].
    pub map: f64,
    /// Macro-averaged F1 of the arg-max predictions; see [`macro_f1`].
    pub macro_f1: f64,
    /// ROC AUC (see [`roc_auc`]), or `None` when no class has both positive and negative
    /// samples, so it is undefined.
    pub roc_auc: Option<f64>,
}

impl Metrics {
    /// Computes all four metrics.
    ///
    /// # Errors
    ///
    /// As [`accuracy`]: empty input, zero classes, a shape mismatch, a label out of range or
    /// a non-finite score.
    pub fn compute(
        probs: &[f32],
        labels: &[usize],
        num_classes: usize,
    ) -> Result<Self, MetricsError> {
        Ok(Self {
            accuracy: accuracy(probs, labels, num_classes)?,
            map: mean_average_precision(probs, labels, num_classes)?,
            macro_f1: macro_f1(probs, labels, num_classes)?,
            roc_auc: match roc_auc(probs, labels, num_classes) {
                Ok(v) => Some(v),
                Err(MetricsError::Undefined { .. }) => None,
                Err(e) => return Err(e),
            },
        })
    }
}

/// The arg-max class of each row (the lowest index on ties).
///
/// # Errors
///
/// As [`accuracy`].
pub fn predictions(
    probs: &[f32],
    labels: &[usize],
    num_classes: usize,
) -> Result<Vec<usize>, MetricsError> {
    check(probs, labels, num_classes, "predictions")?;
    Ok(argmax_rows(probs, num_classes))
}

/// Fraction of samples whose arg-max class equals the label.
///
/// # Errors
///
/// [`MetricsError::Empty`] for no labels, [`MetricsError::NoClasses`] for zero classes,
/// [`MetricsError::ShapeMismatch`] if `probs.len() != labels.len() * num_classes`,
/// [`MetricsError::LabelOutOfRange`] and [`MetricsError::NonFinite`].
pub fn accuracy(probs: &[f32], labels: &[usize], num_classes: usize) -> Result<f64, MetricsError> {
    check(probs, labels, num_classes, "accuracy")?;

    let correct = argmax_rows(probs, num_classes)
        .iter()
        .zip(labels)
        .filter(|(p, l)| p == l)
        .count();
    Ok(correct as f64 / labels.len() as f64)
}

/// The confusion matrix: entry `[t][p]` counts samples of true class `t` predicted as `p`.
///
/// # Errors
///
/// As [`accuracy`].
pub fn confusion_matrix(
    probs: &[f32],
    labels: &[usize],
    num_classes: usize,
) -> Result<Vec<Vec<usize>>, MetricsError> {
    check(probs, labels, num_classes, "confusion_matrix")?;

    let mut matrix = vec![vec![0; num_classes]; num_classes];
    for (&p, &t) in argmax_rows(probs, num_classes).iter().zip(labels) {
        matrix[t][p] += 1;
    }
    Ok(matrix)
}

/// Average precision of `scores` against the binary truth `positive`, as scikit-learn's
/// `average_precision_score`.
///
/// Thresholds are the distinct scores in decreasing order; tied scores form one threshold.
/// With precision P_n and recall R_n of "score >= threshold n" and R_0 = 0,
/// `AP = sum_n (R_n - R_{n-1}) P_n`: no interpolation.
///
/// # Errors
///
/// [`MetricsError::Empty`], [`MetricsError::ShapeMismatch`] if the lengths differ,
/// [`MetricsError::NonFinite`], and [`MetricsError::Undefined`] if no sample is positive.
pub fn average_precision(scores: &[f32], positive: &[bool]) -> Result<f64, MetricsError> {
    let metric = "average_precision";
    check_binary(scores, positive, metric)?;

    let total_pos = positive.iter().filter(|&&t| t).count();
    if total_pos == 0 {
        return Err(MetricsError::Undefined {
            metric,
            reason: "no positive sample",
        });
    }

    let order = descending(scores);
    let (mut tp, mut fp, mut ap, mut last_recall) = (0usize, 0usize, 0.0, 0.0);
    let mut k = 0;
    while k < order.len() {
        // One threshold: take every sample tied at this score.
        let threshold = scores[order[k]];
        while k < order.len() && scores[order[k]] == threshold {
            if positive[order[k]] {
                tp += 1;
            } else {
                fp += 1;
            }
            k += 1;
        }

        let recall = tp as f64 / total_pos as f64;
        let precision = tp as f64 / (tp + fp) as f64;
        ap += (recall - last_recall) * precision;
        last_recall = recall;
    }
    Ok(ap)
}

/// Mean over classes of the [`average_precision`] of that class's score column against
/// one-vs-rest truth. Classes without a positive sample are skipped. For two classes both
/// count (as in the DMIL paper's code), unlike scikit-learn's binary convention that scores
/// only class 1.
///
/// # Errors
///
/// As [`accuracy`].
pub fn mean_average_precision(
    probs: &[f32],
    labels: &[usize],
    num_classes: usize,
) -> Result<f64, MetricsError> {
    check(probs, labels, num_classes, "mean_average_precision")?;

    let mut sum = 0.0;
    let mut count = 0;
    for c in 0..num_classes {
        let truth: Vec<bool> = labels.iter().map(|&l| l == c).collect();
        if !truth.contains(&true) {
            continue;
        }
        sum += average_precision(&column(probs, num_classes, c), &truth)?;
        count += 1;
    }
    Ok(sum / count as f64)
}

/// Macro-averaged F1 of the arg-max predictions, as scikit-learn's
/// `f1_score(average='macro')`.
///
/// Per class, `F1 = 2 TP / (2 TP + FP + FN)`. The mean runs over the classes that occur in
/// the labels or in the predictions: a class that is never seen nor predicted is left out
/// rather than counted as 0 or 1.
///
/// # Errors
///
/// As [`accuracy`].
pub fn macro_f1(probs: &[f32], labels: &[usize], num_classes: usize) -> Result<f64, MetricsError> {
    let matrix = confusion_matrix(probs, labels, num_classes)?;

    let mut sum = 0.0;
    let mut count = 0;
    for c in 0..num_classes {
        let tp = matrix[c][c];
        let actual: usize = matrix[c].iter().sum();
        let predicted: usize = matrix.iter().map(|row| row[c]).sum();
        if actual == 0 && predicted == 0 {
            continue;
        }

        // 2 TP + FP + FN = actual + predicted.
        sum += 2.0 * tp as f64 / (actual + predicted) as f64;
        count += 1;
    }
    Ok(sum / count as f64)
}

/// Area under the ROC curve of `scores` against the binary truth `positive`.
///
/// Computed by the Mann-Whitney formula `(sum of positive ranks - P (P + 1) / 2) / (P N)`,
/// ranks ascending with tied scores sharing their average rank, so a positive-negative pair
/// with equal scores counts one half.
///
/// # Errors
///
/// [`MetricsError::Empty`], [`MetricsError::ShapeMismatch`] if the lengths differ,
/// [`MetricsError::NonFinite`], and [`MetricsError::Undefined`] unless there is at least one
/// positive and one negative.
pub fn roc_auc_binary(scores: &[f32], positive: &[bool]) -> Result<f64, MetricsError> {
    let metric = "roc_auc_binary";
    check_binary(scores, positive, metric)?;

    let pos = positive.iter().filter(|&&t| t).count();
    let neg = positive.len() - pos;
    if pos == 0 || neg == 0 {
        return Err(MetricsError::Undefined {
            metric,
            reason: "needs both positive and negative samples",
        });
    }

    let mut order = descending(scores);
    order.reverse();
    let mut rank_sum = 0.0;
    let mut k = 0;
    while k < order.len() {
        // Samples k..end tie; they share the mean of ranks k + 1 ..= end.
        let mut end = k;
        while end < order.len() && scores[order[end]] == scores[order[k]] {
            end += 1;
        }
        let mean_rank = (k + 1 + end) as f64 / 2.0;
        rank_sum += mean_rank * order[k..end].iter().filter(|&&i| positive[i]).count() as f64;
        k = end;
    }

    let (p, n) = (pos as f64, neg as f64);
    Ok((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// ROC AUC of a classifier. For two classes, that of the class-1 score against "label is 1";
/// otherwise the macro one-vs-rest mean over the classes that have both positive and
/// negative samples (scikit-learn instead refuses labels that miss a class).
///
/// # Errors
///
/// As [`accuracy`], and [`MetricsError::Undefined`] if no class has both positives and
/// negatives (all labels equal).
pub fn roc_auc(probs: &[f32], labels: &[usize], num_classes: usize) -> Result<f64, MetricsError> {
    check(probs, labels, num_classes, "roc_auc")?;

    if num_classes == 2 {
        let truth: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
        return roc_auc_binary(&column(probs, 2, 1), &truth);
    }

    let mut sum = 0.0;
    let mut count = 0;
    for c in 0..num_classes {
        let truth: Vec<bool> = labels.iter().map(|&l| l == c).collect();
        match roc_auc_binary(&column(probs, num_classes, c), &truth) {
            Ok(v) => {
                sum += v;
                count += 1;
            }
            Err(MetricsError::Undefined { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    if count == 0 {
        return Err(MetricsError::Undefined {
            metric: "roc_auc",
            reason: "no class has both positive and negative samples",
        });
    }
    Ok(sum / count as f64)
}

/// Validates an `n x num_classes` score matrix against `n` labels.
fn check(
    probs: &[f32],
    labels: &[usize],
    num_classes: usize,
    metric: &'static str,
) -> Result<(), MetricsError> {
    if num_classes == 0 {
        return Err(MetricsError::NoClasses { metric });
    }
    if labels.is_empty() {
        return Err(MetricsError::Empty { metric });
    }
    if probs.len() != labels.len() * num_classes {
        return Err(MetricsError::ShapeMismatch {
            metric,
            got: probs.len(),
            n: labels.len(),
            num_classes,
        });
    }
    if let Some((index, &label)) = labels.iter().enumerate().find(|(_, &l)| l >= num_classes) {
        return Err(MetricsError::LabelOutOfRange {
            metric,
            index,
            label,
            num_classes,
        });
    }
    check_finite(probs, metric)
}

/// Validates a score list against a truth list of the same length.
fn check_binary(scores: &[f32], truth: &[bool], metric: &'static str) -> Result<(), MetricsError> {
    if truth.is_empty() {
        return Err(MetricsError::Empty { metric });
    }
    if scores.len() != truth.len() {
        return Err(MetricsError::ShapeMismatch {
            metric,
            got: scores.len(),
            n: truth.len(),
            num_classes: 1,
        });
    }
    check_finite(scores, metric)
}

/// Rejects NaN and infinite scores, which have no place in a ranking.
fn check_finite(scores: &[f32], metric: &'static str) -> Result<(), MetricsError> {
    match scores.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(MetricsError::NonFinite {
            metric,
            index,
            value: scores[index],
        }),
        None => Ok(()),
    }
}

/// Arg-max of each row, the lowest index on ties.
fn argmax_rows(probs: &[f32], num_classes: usize) -> Vec<usize> {
    probs
        .chunks(num_classes)
        .map(|row| {
            let mut best = 0;
            for (c, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = c;
                }
            }
            best
        })
        .collect()
}

/// Column `c` of a row-major matrix with `num_classes` columns.
fn column(probs: &[f32], num_classes: usize, c: usize) -> Vec<f32> {
    probs.chunks(num_classes).map(|row| row[c]).collect()
}

/// Sample indices sorted by decreasing score (stable).
fn descending(scores: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    order
}
