//! `fit_step`: the trainer's schedule with every step run by the explicit DMIL step (here on
//! the CPU backend, as `dmil train --device cuda` runs it on the GPU backend).

use dmil::data::{generate, SyntheticSpec};
use dmil::model::ModelKind;
use dmil::step::{fit_step, CpuBackend};
use dmil::train::{
    prepare, run_with, OptimizerKind, PreparedData, RunResult, Selection, Silent, TrainConfig,
};
use dmil::Result;

fn data(name: &str, seed: u64) -> PreparedData {
    let spec = SyntheticSpec::parse(name).expect("a built-in dataset");
    let splits = generate(&spec, 2000, 400, seed).expect("generated");
    prepare(&splits, Selection::Validation, 0.2, seed).expect("prepared")
}

fn run_step(kind: ModelKind, data: &PreparedData, config: &TrainConfig) -> Result<RunResult> {
    let mut fitter = |model: &dyn dmil::model::MultimodalModel,
                      train: &dmil::train::TensorData,
                      select: &dmil::train::TensorData,
                      config: &TrainConfig,
                      seed: u64,
                      observer: &mut dyn dmil::train::TrainObserver| {
        fit_step(&CpuBackend, model, train, select, config, seed, observer)
    };
    run_with(&mut fitter, kind, data, &|_| {}, config, 1, &mut Silent)
}

/// The default schedule solves XOR and weighs synergy most, as the autograd trainer does
/// (`tests/model_dmil.rs`), though from other random draws.
#[test]
fn the_explicit_step_learns_xor_and_weights_synergy_most() {
    let result =
        run_step(ModelKind::Dmil, &data("xor", 1), &TrainConfig::default()).expect("trains");
    let accuracy = result.test.metrics.accuracy;
    assert!(accuracy > 0.9, "accuracy {accuracy}");
    let w = result.test.interaction_weights().expect("weights");
    let others = [w.redundancy, w.uniqueness[0], w.uniqueness[1]];
    assert!(others.iter().all(|&o| w.synergy > o), "weights {w:?}");
    assert_eq!(result.report.stages.len(), 3);
}

#[test]
fn other_models_and_optimizers_are_refused() {
    let data = data("xor", 2);
    let mut config = TrainConfig::default();
    config.supervised.epochs = 1;
    let err = run_step(ModelKind::Joint, &data, &config)
        .err()
        .expect("joint");
    assert!(err.to_string().contains("DMIL only"), "{err}");

    config.optimizer = OptimizerKind::Sgd;
    let err = run_step(ModelKind::Dmil, &data, &config)
        .err()
        .expect("sgd");
    assert!(err.to_string().contains("Adam only"), "{err}");
}

/// The timer behind `dmil bench --device cuda` works on any backend.
#[test]
fn step_timing_runs_on_the_cpu_backend() {
    let mut config = dmil::model::ModelConfig::new(ModelKind::Dmil, vec![6, 5], 2);
    config.encoder.hidden = vec![8];
    config.encoder.embedding = 8;
    config.latent = 4;
    let timing = dmil::step::time_steps(&CpuBackend, &config, 16, 1, 3).expect("timed");
    assert_eq!((timing.batch, timing.steps), (16, 3));
    assert!(
        timing.median_us > 0.0 && timing.steps_per_second > 0.0,
        "{timing:?}"
    );
}
