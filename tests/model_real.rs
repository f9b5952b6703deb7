//! DMIL on the real ROSMAP data, all three modalities (M = 3), when `../shared/data` is
//! present; skipped with a message on a fresh clone without it.

use std::path::PathBuf;

use dmil::model::ModelKind;
use dmil::train::{prepare, run, DataSource, Selection, Silent, TrainConfig};

fn rosmap() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/rosmap");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: {} is absent (see README: Real data)",
            dir.display()
        );
        None
    }
}

#[test]
fn dmil_learns_rosmap_from_three_modalities() {
    let Some(dir) = rosmap() else { return };
    let splits = DataSource::Dir(dir).load(None, 0).expect("ROSMAP loads");
    assert_eq!(splits.train.num_modalities(), 3);
    let data = prepare(&splits, Selection::Validation, 0.2, 0).expect("prepared");

    let result = run(
        ModelKind::Dmil,
        &data,
        &|_| {},
        &TrainConfig::default(),
        0,
        &mut Silent,
    )
    .unwrap();

    // Logistic regression reaches about 81 % here; a working DMIL is well above chance (56 %
    // of the test samples are in the larger class).
    let m = &result.test.metrics;
    assert!(
        m.accuracy > 0.7 && m.map > 0.8,
        "accuracy {} mAP {}",
        m.accuracy,
        m.map
    );
    let weights = result.test.interaction_weights().expect("weights");
    assert_eq!(weights.uniqueness.len(), 3);
}
