//! Classification metrics on hand-computed cases.

use dmil::train::metrics::{
    accuracy, average_precision, confusion_matrix, macro_f1, mean_average_precision, roc_auc,
    roc_auc_binary, Metrics, MetricsError,
};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn average_precision_with_ties() {
    // Scores 0.9 (+), 0.8 (-), 0.8 (+), 0.3 (-), 0.1 (+); 3 positives.
    // Thresholds: 0.9 -> TP 1 FP 0: P 1,   R 1/3
    //             0.8 -> TP 2 FP 1: P 2/3, R 2/3 (the tie is one threshold)
    //             0.3 -> TP 2 FP 2: P 1/2, R 2/3
    //             0.1 -> TP 3 FP 2: P 3/5, R 1
    // AP = 1/3 * 1 + 1/3 * 2/3 + 0 + 1/3 * 3/5 = 0.7555...
    let scores = [0.9, 0.8, 0.8, 0.3, 0.1];
    let truth = [true, false, true, false, true];
    let expected = 1.0 / 3.0 + (1.0 / 3.0) * (2.0 / 3.0) + (1.0 / 3.0) * (3.0 / 5.0);
    assert!(close(average_precision(&scores, &truth).unwrap(), expected));

    // No positives: undefined.
    assert!(matches!(
        average_precision(&[0.1, 0.2], &[false, false]),
        Err(MetricsError::Undefined { .. })
    ));
}

#[test]
fn map_counts_both_classes_for_two() {
    // Rows (p0, p1), labels 1, 0, 1, 0.
    // Class 1 scores 0.8, 0.4, 0.3, 0.2 with truth +,-,+,-:
    //   0.8 P 1 R 1/2; 0.4 P 1/2 R 1/2; 0.3 P 2/3 R 1; AP1 = 1/2 + 1/2 * 2/3 = 5/6.
    // Class 0 scores 0.2, 0.6, 0.7, 0.8 with truth -,+,-,+:
    //   0.8 P 1 R 1/2; 0.7 P 1/2 R 1/2; 0.6 P 2/3 R 1; AP0 = 5/6.
    let probs = [0.2, 0.8, 0.6, 0.4, 0.7, 0.3, 0.8, 0.2];
    let labels = [1, 0, 1, 0];
    assert!(close(
        mean_average_precision(&probs, &labels, 2).unwrap(),
        5.0 / 6.0
    ));

    // A class without positives is skipped: three classes, class 2 never occurs.
    let probs3 = [0.9, 0.05, 0.05, 0.1, 0.8, 0.1];
    assert!(close(
        mean_average_precision(&probs3, &[0, 1], 3).unwrap(),
        1.0
    ));
}

#[test]
fn auc_ties_count_half() {
    // Positives 0.5, 0.8; negatives 0.5, 0.2. Pairs (pos, neg): (0.5, 0.5) tie = 1/2,
    // (0.5, 0.2) = 1, (0.8, 0.5) = 1, (0.8, 0.2) = 1: AUC = 3.5 / 4.
    let scores = [0.5, 0.8, 0.5, 0.2];
    let truth = [true, true, false, false];
    assert!(close(roc_auc_binary(&scores, &truth).unwrap(), 0.875));

    // All scores equal: every pair ties, AUC 0.5.
    assert!(close(roc_auc_binary(&[0.3; 4], &truth).unwrap(), 0.5));

    // Binary classifier: the class-1 column is used.
    let probs = [0.5, 0.5, 0.2, 0.8, 0.5, 0.5, 0.8, 0.2];
    assert!(close(roc_auc(&probs, &[1, 1, 0, 0], 2).unwrap(), 0.875));
}

#[test]
fn accuracy_f1_and_confusion() {
    // Predictions (arg-max): 0, 1, 1, 2, 2; labels 0, 1, 2, 2, 0.
    let probs = [
        0.7, 0.2, 0.1, //
        0.1, 0.8, 0.1, //
        0.2, 0.5, 0.3, //
        0.1, 0.1, 0.8, //
        0.3, 0.3, 0.4,
    ];
    let labels = [0, 1, 2, 2, 0];
    assert!(close(accuracy(&probs, &labels, 3).unwrap(), 3.0 / 5.0));

    let cm = confusion_matrix(&probs, &labels, 3).unwrap();
    assert_eq!(cm, vec![vec![1, 0, 1], vec![0, 1, 0], vec![0, 1, 1]]);

    // F1 = 2TP / (actual + predicted): class 0: 2/(2+1); class 1: 2/(1+2); class 2: 2/(2+2).
    let f1 = (2.0 / 3.0 + 2.0 / 3.0 + 0.5) / 3.0;
    assert!(close(macro_f1(&probs, &labels, 3).unwrap(), f1));

    // A class neither present nor predicted (class 3) is left out of the mean.
    let probs4: Vec<f32> = probs
        .chunks(3)
        .flat_map(|r| [r[0], r[1], r[2], 0.0])
        .collect();
    assert!(close(macro_f1(&probs4, &labels, 4).unwrap(), f1));

    let m = Metrics::compute(&probs, &labels, 3).unwrap();
    assert!(close(m.accuracy, 0.6) && close(m.macro_f1, f1));
    assert!(m.roc_auc.is_some());
    assert!(serde_json::to_string(&m).unwrap().contains("\"map\""));
}

#[test]
fn bad_shapes_are_errors() {
    assert!(matches!(
        accuracy(&[0.5; 5], &[0, 1], 3),
        Err(MetricsError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        accuracy(&[], &[], 3),
        Err(MetricsError::Empty { .. })
    ));
    assert!(matches!(
        accuracy(&[0.5, 0.5], &[2], 2),
        Err(MetricsError::LabelOutOfRange { .. })
    ));
    assert!(matches!(
        accuracy(&[], &[0], 0),
        Err(MetricsError::NoClasses { .. })
    ));
    assert!(matches!(
        accuracy(&[f32::NAN, 0.5], &[0], 2),
        Err(MetricsError::NonFinite { .. })
    ));

    // A single label value leaves AUC undefined: None in Metrics, an error alone.
    let m = Metrics::compute(&[0.6, 0.4, 0.3, 0.7], &[0, 0], 2).unwrap();
    assert_eq!(m.roc_auc, None);
    assert!(roc_auc(&[0.6, 0.4, 0.3, 0.7], &[0, 0], 2).is_err());
}
