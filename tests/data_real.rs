//! The real datasets of `../shared/data` load with the shapes their README gives.
//! Each test is skipped, with a message, when its folder is absent.

use std::path::PathBuf;

use dmil::data::{list_modalities, load_dir, Standardizer};

fn shared(name: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(name);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: {} is absent", dir.display());
        None
    }
}

/// Loads `name` with every modality and checks rows, widths and classes.
fn check(name: &str, train: usize, test: usize, widths: &[usize], classes: usize) {
    let Some(dir) = shared(name) else { return };
    let modalities: Vec<usize> = (1..=widths.len()).collect();
    assert_eq!(list_modalities(&dir).unwrap(), modalities);

    let splits = load_dir(&dir, &modalities).unwrap();
    assert_eq!(splits.train.num_samples(), train);
    assert_eq!(splits.test.num_samples(), test);
    assert_eq!(splits.train.modality_widths(), widths);
    assert_eq!(splits.test.modality_widths(), widths);
    assert_eq!(splits.train.num_classes, classes);
    assert_eq!(splits.test.num_classes, classes);
    splits.train.check().unwrap();
    splits.test.check().unwrap();

    // Every class appears in training, and the empty list means "all modalities".
    assert!(splits.train.class_counts().iter().all(|&c| c > 0));
    assert_eq!(load_dir(&dir, &[]).unwrap(), splits);
}

#[test]
fn rosmap_loads() {
    check("rosmap", 245, 106, &[200, 200, 200], 2);
}

#[test]
fn breast_tcga_loads() {
    check("breast_tcga", 150, 70, &[200, 184], 3);
}

#[test]
fn mfeat_loads() {
    check("mfeat", 1600, 400, &[240, 76, 216, 47, 64, 6], 10);
}

#[test]
fn rosmap_paper_modalities_and_feature_names() {
    let Some(dir) = shared("rosmap") else { return };
    let splits = load_dir(&dir, &[1, 2]).unwrap();
    assert_eq!(splits.train.num_modalities(), 2);

    let names = splits.train.feature_names[0]
        .as_ref()
        .expect("rosmap has 1_featname.csv");
    assert_eq!(names.len(), 200);
    assert!(names[0].starts_with("ENSG"));

    // Standardising with training statistics gives training columns of mean 0.
    let mut train = splits.train.clone();
    Standardizer::fit(&train)
        .unwrap()
        .apply(&mut train)
        .unwrap();
    let col0: f64 = (0..train.num_samples())
        .map(|i| train.modalities[0].get(i, 0) as f64)
        .sum();
    assert!((col0 / train.num_samples() as f64).abs() < 1e-4);
}

#[test]
fn a_modality_the_folder_lacks_is_named() {
    let Some(dir) = shared("breast_tcga") else {
        return;
    };
    let err = load_dir(&dir, &[1, 3]).unwrap_err().to_string();
    assert!(err.contains("3_tr.csv"), "{err}");
}
