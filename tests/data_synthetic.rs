//! Synthetic datasets: parsing, determinism, labels that follow their definition, mixture
//! fractions, and the CSV round trip.

use dmil::data::synthetic::{BooleanTask, DEFAULT_SPEC};
use dmil::data::{
    generate, load_dir, write_dir, BooleanGate, DataError, Dataset, SampleKind, SyntheticSpec,
};

/// The hidden bits of sample `i`, read back through the dataset's fixed projections.
fn bits(spec: &SyntheticSpec, data: &Dataset, seed: u64, i: usize) -> (bool, bool) {
    let SyntheticSpec::Boolean(boolean) = spec else {
        panic!("not a Boolean spec")
    };
    let w = boolean.projections(seed);
    let bit = |m: usize| {
        let x = data.modalities[m].row(i);
        w[m].iter().zip(x).map(|(a, b)| a * b).sum::<f32>() > 0.0
    };
    (bit(0), bit(1))
}

#[test]
fn gate_labels_follow_the_gate_definitions() {
    for name in ["and", "or", "xor", "and+xor", "or+xor", "and+or+xor"] {
        let spec = SyntheticSpec::parse(name).unwrap();
        let splits = generate(&spec, 400, 100, 11).unwrap();
        let data = &splits.train;
        let kinds = data.sample_kinds.as_ref().expect("gate per sample");

        let mut used = Vec::new();
        for (i, &kind) in kinds.iter().enumerate() {
            let SampleKind::Gate(gate) = kind else {
                panic!("{name}: {kind:?}")
            };
            let (b1, b2) = bits(&spec, data, 11, i);
            assert_eq!(data.labels[i], gate.apply(b1, b2), "{name} sample {i}");
            if !used.contains(&gate) {
                used.push(gate);
            }
        }

        // Every gate of the name is used, and only those.
        used.sort_by_key(|g| g.name());
        let mut expected = spec.gates().to_vec();
        expected.sort_by_key(|g| g.name());
        assert_eq!(used, expected, "{name}");
    }
}

#[test]
fn gate_truth_tables() {
    use BooleanGate::*;
    let table = |g: BooleanGate| {
        [(false, false), (false, true), (true, false), (true, true)].map(|(a, b)| g.apply(a, b))
    };
    assert_eq!(table(And), [0, 0, 0, 1]);
    assert_eq!(table(Or), [0, 1, 1, 1]);
    assert_eq!(table(Xor), [0, 1, 1, 0]);
}

#[test]
fn copy_unique_and_redundant_labels() {
    let seed = 5;
    for name in ["copy", "unique", "redundant"] {
        let spec = SyntheticSpec::parse(name).unwrap();
        let data = generate(&spec, 300, 10, seed).unwrap().train;
        for i in 0..data.num_samples() {
            let (b1, b2) = bits(&spec, &data, seed, i);
            let expected = match name {
                "copy" => 2 * usize::from(b1) + usize::from(b2),
                "unique" => usize::from(b1),
                _ => {
                    assert_eq!(b1, b2, "redundant: both modalities carry one bit");
                    usize::from(b1)
                }
            };
            assert_eq!(data.labels[i], expected, "{name} sample {i}");
        }
        assert_eq!(data.num_classes, if name == "copy" { 4 } else { 2 });
    }
}

#[test]
fn generation_is_deterministic_per_seed() {
    for name in ["and+xor", "mix:r=0.5,u1=0.2,s=0.3,c=3", "copy"] {
        let spec = SyntheticSpec::parse(name).unwrap();
        let a = generate(&spec, 50, 20, 42).unwrap();
        assert_eq!(a, generate(&spec, 50, 20, 42).unwrap(), "{name}");
        assert_ne!(a, generate(&spec, 50, 20, 43).unwrap(), "{name}");
    }
}

#[test]
fn mix_fractions_are_respected() {
    let spec = SyntheticSpec::parse("mix:r=0.5,u1=0.2,u2=0.1,s=0.2,c=4,d=4").unwrap();
    let splits = generate(&spec, 20_000, 100, 1).unwrap();
    let data = &splits.train;
    assert_eq!(data.modality_widths(), vec![12, 12]);
    assert_eq!(data.num_classes, 4);

    let kinds = data.sample_kinds.as_ref().unwrap();
    let share =
        |kind: SampleKind| kinds.iter().filter(|&&k| k == kind).count() as f64 / kinds.len() as f64;
    let expected = [
        (SampleKind::Redundancy, 0.5),
        (SampleKind::Uniqueness(0), 0.2),
        (SampleKind::Uniqueness(1), 0.1),
        (SampleKind::Synergy, 0.2),
    ];
    for (kind, fraction) in expected {
        assert!(
            (share(kind) - fraction).abs() < 0.02,
            "{kind:?}: {}",
            share(kind)
        );
    }
    assert!(data
        .class_counts()
        .iter()
        .all(|&c| (c as f64 / 20_000.0 - 0.25).abs() < 0.02));
}

#[test]
fn mix_blocks_of_inactive_types_are_noise() {
    // With noise 0, a unique-to-modality-1 sample's U block is one of C fixed codes, so two
    // such samples of the same label have identical U blocks; a redundancy sample's U block
    // is Gaussian noise, different every time.
    let spec = SyntheticSpec::parse("mix:r=0.5,u1=0.5,noise=0,d=4").unwrap();
    let data = generate(&spec, 400, 1, 3).unwrap().train;
    let kinds = data.sample_kinds.as_ref().unwrap();
    let u_block = |i: usize| data.modalities[0].row(i)[4..8].to_vec();

    let of = |kind: SampleKind, label: usize| {
        (0..400)
            .filter(|&i| kinds[i] == kind && data.labels[i] == label)
            .collect::<Vec<_>>()
    };
    let unique = of(SampleKind::Uniqueness(0), 1);
    assert!(unique.len() > 10);
    assert!(unique.iter().all(|&i| u_block(i) == u_block(unique[0])));
    let redundant = of(SampleKind::Redundancy, 1);
    assert_ne!(u_block(redundant[0]), u_block(redundant[1]));
}

#[test]
fn specs_that_cannot_be_used_are_rejected_with_the_spec_named() {
    let bad = [
        "nand",
        "and+and",
        "xor:d=0",
        "xor:noise=-1",
        "xor:colour=red",
        "xor:d",
        "mix:r=0.5,u1=0.4",
        "mix:r=1.5,s=-0.5",
        "mix:r=0.5,r=0.5",
        "mix:r=1,c=1",
        "mix:",
        "",
    ];
    for spec in bad {
        match SyntheticSpec::parse(spec) {
            Err(DataError::Spec { spec: named, .. }) => assert_eq!(named, spec),
            other => panic!("{spec:?} gave {other:?}"),
        }
    }
    let spec = SyntheticSpec::parse("mix:r=0.75,u1=0.25").unwrap();
    assert_eq!(spec.num_classes(), 2);
    let SyntheticSpec::Boolean(b) = SyntheticSpec::parse(DEFAULT_SPEC).unwrap() else {
        panic!("default is Boolean")
    };
    assert_eq!(b.task, BooleanTask::Gates(vec![BooleanGate::Xor]));
    assert!(generate(&spec, 0, 5, 0).is_err());
}

#[test]
fn boolean_options_shape_the_features() {
    let spec = SyntheticSpec::parse("xor:d=3,extra=5,noise=0.1").unwrap();
    let data = generate(&spec, 20, 5, 0).unwrap();
    assert_eq!(data.train.modality_widths(), vec![8, 8]);
    assert_eq!(data.test.num_samples(), 5);
}

#[test]
fn written_datasets_load_back_identically() {
    let dir = tempfile::tempdir().unwrap();
    let spec = SyntheticSpec::parse("mix:r=0.3,u2=0.3,s=0.4,c=3").unwrap();
    let mut splits = generate(&spec, 64, 32, 9).unwrap();
    splits.train.feature_names[1] = Some((0..24).map(|j| format!("f{j}")).collect());
    splits.test.feature_names = splits.train.feature_names.clone();
    write_dir(&splits, dir.path()).unwrap();

    let loaded = load_dir(dir.path(), &[1, 2]).unwrap();
    for (a, b) in [(&loaded.train, &splits.train), (&loaded.test, &splits.test)] {
        assert_eq!(a.modalities, b.modalities);
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.feature_names, b.feature_names);
        assert_eq!(a.sample_kinds, None, "the layout keeps no sample kinds");
    }

    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    assert_eq!(names.len(), 7);
}
