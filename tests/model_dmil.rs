//! Regression tests of DMIL and its baselines on synthetic data with known interactions:
//! DMIL must learn what late fusion cannot (XOR), and its gate must put its weight where the
//! interaction is (synergy for XOR, redundancy when both modalities carry the label).

use dmil::data::{generate, SyntheticSpec};
use dmil::model::{self, ModelConfig, ModelKind, Stage};
use dmil::tensor::Tensor;
use dmil::train::{prepare, run, PreparedData, RunResult, Selection, Silent, TrainConfig};

/// A small, fast training configuration (the defaults with fewer epochs).
fn quick_config() -> TrainConfig {
    let mut config = TrainConfig::default();
    config.decompose.epochs = 15;
    config.interact.epochs = 15;
    config.finetune.epochs = 5;
    config.supervised.epochs = 35;
    config
}

fn synthetic(name: &str, seed: u64) -> PreparedData {
    sized(name, 800, seed)
}

fn sized(name: &str, n_train: usize, seed: u64) -> PreparedData {
    let spec = SyntheticSpec::parse(name).expect("a built-in dataset");
    let splits = generate(&spec, n_train, 400, seed).expect("generated");
    prepare(&splits, Selection::Validation, 0.2, seed).expect("prepared")
}

fn train(kind: ModelKind, data: &PreparedData, seed: u64) -> RunResult {
    run(kind, data, &|_| {}, &quick_config(), seed, &mut Silent).expect("trains")
}

#[test]
fn dmil_solves_xor_where_late_fusion_cannot_and_weights_synergy_most() {
    // The default schedule, as `dmil train` uses it: the gate needs it to settle.
    let data = sized("xor", 2000, 1);
    let full = |kind| {
        run(
            kind,
            &data,
            &|_| {},
            &TrainConfig::default(),
            1,
            &mut Silent,
        )
        .expect("trains")
    };
    let (dmil, joint) = (full(ModelKind::Dmil), full(ModelKind::Joint));

    // Joint adds a function of each modality; XOR is not additive, so it stays near chance.
    assert!(
        dmil.test.metrics.accuracy > 0.9,
        "DMIL accuracy {}",
        dmil.test.metrics.accuracy
    );
    assert!(
        dmil.test.metrics.accuracy > joint.test.metrics.accuracy + 0.2,
        "DMIL {} vs Joint {}",
        dmil.test.metrics.accuracy,
        joint.test.metrics.accuracy
    );

    let w = dmil
        .test
        .interaction_weights()
        .expect("DMIL reports weights");
    let others = [w.redundancy, w.uniqueness[0], w.uniqueness[1]];
    assert!(others.iter().all(|&o| w.synergy > o), "weights {w:?}");
}

#[test]
fn redundancy_gets_the_largest_weight_when_both_modalities_carry_the_label() {
    // Every component can predict a redundant label, so the gate needs the full default
    // schedule to settle on the shared one.
    let data = sized("redundant", 2000, 2);
    let dmil = run(
        ModelKind::Dmil,
        &data,
        &|_| {},
        &TrainConfig::default(),
        2,
        &mut Silent,
    )
    .expect("trains");

    assert!(
        dmil.test.metrics.accuracy > 0.95,
        "accuracy {}",
        dmil.test.metrics.accuracy
    );
    let w = dmil
        .test
        .interaction_weights()
        .expect("DMIL reports weights");
    let others = [w.synergy, w.uniqueness[0], w.uniqueness[1]];
    assert!(others.iter().all(|&o| w.redundancy > o), "weights {w:?}");
}

#[test]
fn every_model_fits_an_easy_gate_dataset() {
    let data = synthetic("and", 3);
    for kind in ModelKind::ALL {
        let result = train(kind, &data, 3);
        // Ensemble's heads are trained apart: each knows only P(y | b_m), which is 1/2 for a
        // 1 bit, so on (1, 1) its averaged logits carry no signal and it is right by chance.
        let floor = if kind == ModelKind::Ensemble {
            0.8
        } else {
            0.95
        };
        assert!(
            result.test.metrics.accuracy > floor,
            "{kind}: accuracy {}",
            result.test.metrics.accuracy
        );
        assert_eq!(result.test.mean_weights.is_some(), kind == ModelKind::Dmil);
    }
}

#[test]
fn dmil_takes_three_modalities_with_pairwise_synergy() {
    let config = ModelConfig::new(ModelKind::Dmil, vec![5, 7, 3], 3);
    let model = model::build(&config, 0).expect("builds");
    let inputs: Vec<Tensor<f32>> = [5, 7, 3]
        .iter()
        .enumerate()
        .map(|(m, &w)| Tensor::randn([6, w], m as u64))
        .collect();
    let labels = vec![0, 1, 2, 0, 1, 2];

    for &stage in model.stages() {
        model.enter_stage(stage);
        let loss = model.loss(&inputs, &labels, stage).expect("loss");
        assert!(loss.total.item().is_finite());
        loss.total.backward().expect("backward");
    }

    let prediction = model.predict(&inputs).expect("predict");
    assert_eq!(prediction.logits.dims(), &[6, 3]);
    let weights = prediction.weights.expect("gate weights");
    assert_eq!(weights.dims(), &[6, 5], "R, U1, U2, U3, S");
    for row in weights.to_vec().chunks(5) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
    let names = model.component_names();
    assert_eq!(
        names,
        [
            "redundancy",
            "uniqueness_1",
            "uniqueness_2",
            "uniqueness_3",
            "synergy"
        ]
    );
}

#[test]
fn stage_two_leaves_stage_one_parameters_unchanged() {
    let data = synthetic("and", 4);
    let config = ModelConfig::new(ModelKind::Dmil, data.widths.clone(), data.num_classes);
    let model = model::build(&config, 4).expect("builds");
    model.enter_stage(Stage::Interact);
    let before: Vec<(String, Vec<f32>)> = model
        .named_parameters()
        .into_iter()
        .map(|(n, t)| (n, t.to_vec()))
        .collect();

    let mut train_config = quick_config();
    train_config.decompose.epochs = 0;
    train_config.finetune.epochs = 0;
    let mut observer = Silent;
    dmil::train::fit(
        model.as_ref(),
        &data.fit,
        &data.select,
        &train_config,
        4,
        &mut observer,
    )
    .expect("fits");

    for ((name, old), (_, new)) in before.iter().zip(model.named_parameters()) {
        let changed = old != &new.to_vec();
        let first_stage = ["encoder", "task", "rest", "z_decoder", "unimodal"]
            .iter()
            .any(|part| name.contains(&format!(".{part}.")));
        assert_eq!(changed, !first_stage, "{name}: changed {changed}");
    }
}

#[test]
fn a_non_finite_loss_names_stage_epoch_step_and_term() {
    let mut data = synthetic("and", 5);
    let poisoned = data.fit.inputs[0]
        .to_vec()
        .iter()
        .map(|_| f32::NAN)
        .collect::<Vec<_>>();
    data.fit.inputs[0] = Tensor::from_vec(poisoned, data.fit.inputs[0].shape().clone()).unwrap();

    let err = run(
        ModelKind::Dmil,
        &data,
        &|_| {},
        &quick_config(),
        5,
        &mut Silent,
    )
    .err()
    .expect("NaN inputs must stop training");
    let message = err.to_string();
    assert!(
        message.contains("stage 1-decompose, epoch 1, step 1"),
        "{message}"
    );
    assert!(
        message.contains("loss term") || message.contains("gradient"),
        "{message}"
    );
}

#[test]
fn refit_trains_a_fresh_model_on_all_training_data() {
    let data = synthetic("and", 6);
    let mut config = quick_config();
    config.refit = true;
    let result = run(ModelKind::Dmil, &data, &|_| {}, &config, 6, &mut Silent).expect("trains");

    assert!(
        result.test.metrics.accuracy > 0.9,
        "accuracy {}",
        result.test.metrics.accuracy
    );
    // The reported history is the selection run's; the kept model saw fit + validation data.
    assert_eq!(result.report.stages.len(), 3);
}
