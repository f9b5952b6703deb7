//! Standardisation, stratified splits and mini-batch plans.

use dmil::data::{batches, stratified_split, Dataset, Matrix, Standardizer};

/// A one-modality dataset: column 0 = sample index, column 1 constant 5.
fn dataset(labels: Vec<usize>, num_classes: usize) -> Dataset {
    let n = labels.len();
    let data = (0..n).flat_map(|i| [i as f32, 5.0]).collect();
    Dataset::new(vec![Matrix::new(n, 2, data).unwrap()], labels, num_classes).unwrap()
}

#[test]
fn standardizer_uses_training_statistics_and_survives_constant_features() {
    let train = dataset(vec![0, 1, 0, 1], 2);
    let scaler = Standardizer::fit(&train).unwrap();
    assert_eq!(scaler.means[0], vec![1.5, 5.0]);
    assert_eq!(scaler.stds[0][1], 1.0, "constant feature gets std 1");
    assert!((scaler.stds[0][0] - 1.25f32.sqrt()).abs() < 1e-6);

    let mut test = dataset(vec![1, 0], 2);
    scaler.apply(&mut test).unwrap();
    assert!(test.modalities[0].data.iter().all(|x| x.is_finite()));
    assert_eq!(test.modalities[0].row(0), &[-1.5 / 1.25f32.sqrt(), 0.0]);

    let mut fitted = train.clone();
    scaler.apply(&mut fitted).unwrap();
    let mean: f32 = (0..4).map(|i| fitted.modalities[0].get(i, 0)).sum::<f32>() / 4.0;
    assert!(mean.abs() < 1e-6);
}

#[test]
fn standardizer_rejects_other_widths() {
    let scaler = Standardizer::fit(&dataset(vec![0, 1], 2)).unwrap();
    let mut other = Dataset::new(vec![Matrix::zeros(2, 3)], vec![0, 1], 2).unwrap();
    assert!(scaler.apply(&mut other).is_err());
}

#[test]
fn stratified_split_keeps_class_proportions() {
    // 60 of class 0, 30 of class 1, 10 of class 2.
    let labels: Vec<usize> = (0..100)
        .map(|i| {
            if i < 60 {
                0
            } else if i < 90 {
                1
            } else {
                2
            }
        })
        .collect();
    let data = dataset(labels, 3);
    let (train, validation) = stratified_split(&data, 0.2, 7).unwrap();

    assert_eq!(validation.class_counts(), vec![12, 6, 2]);
    assert_eq!(train.class_counts(), vec![48, 24, 8]);

    // Disjoint and complete: column 0 holds the original index.
    let mut seen: Vec<usize> = train.modalities[0]
        .data
        .chunks(2)
        .chain(validation.modalities[0].data.chunks(2))
        .map(|row| row[0] as usize)
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..100).collect::<Vec<_>>());

    // Seeded: same seed same split, another seed another split.
    assert_eq!(stratified_split(&data, 0.2, 7).unwrap().1, validation);
    assert_ne!(stratified_split(&data, 0.2, 8).unwrap().1, validation);
}

#[test]
fn stratified_split_rejects_bad_fractions() {
    let data = dataset(vec![0, 1, 0, 1], 2);
    for bad in [-0.1, 1.0, f64::NAN] {
        assert!(stratified_split(&data, bad, 0).is_err(), "{bad}");
    }
}

#[test]
fn batches_cover_every_index_once_and_keep_the_last_partial_batch() {
    for shuffle in [None, Some(3)] {
        let plan = batches(10, 4, shuffle).unwrap();
        let sizes: Vec<usize> = plan.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![4, 4, 2]);

        let mut all: Vec<usize> = plan.concat();
        if shuffle.is_some() {
            assert_ne!(all, (0..10).collect::<Vec<_>>(), "shuffled order");
        }
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
    }
    assert_eq!(
        batches(10, 4, Some(3)).unwrap(),
        batches(10, 4, Some(3)).unwrap()
    );
    assert!(batches(0, 4, None).unwrap().is_empty());
    assert!(batches(5, 0, None).is_err());
}
