//! The explicit DMIL step on the CPU backend against the autograd model: same parameters,
//! same eps, same dropout masks; every loss term and every parameter gradient must agree, for
//! each stage and for two and three modalities. Then whole training steps (clipping and Adam
//! included) against the trainer's optimizer.
//!
//! Tolerances: a loss term to 1e-4 relative; a gradient tensor to 1e-4 of its largest
//! magnitude, element by element (the two sides sum in different orders, so elements far
//! smaller than their tensor's largest carry more relative rounding).

mod step_support;

use std::collections::HashMap;

use dmil::model::{Dmil, ModelConfig, MultimodalModel, Stage};
use dmil::nn::Module;
use dmil::optim::{clip_grad_norm, Adam, AdamConfig, Optimizer};
use dmil::step::{AdamSettings, CpuBackend, DmilStep};
use dmil::tensor::Tensor;
use step_support::{autograd_step, batch_on, close, draws, input_tensors, relative_error, Replay};

const STAGES: [Stage; 3] = [Stage::Decompose, Stage::Interact, Stage::FineTune];

/// Compares one step of the CPU backend with the autograd model.
fn compare(config: &ModelConfig, seed: u64, rows: usize, stage: Stage) {
    let model = Dmil::new(config.clone(), seed).expect("model");
    let mut step = DmilStep::new(&CpuBackend, config, &model).expect("step");
    let d = draws(config, seed, rows, stage);
    let (want_terms, want_grads) = autograd_step(&model, config, &d, stage);

    step.forward_backward(&batch_on(&CpuBackend, &d), stage)
        .expect("forward_backward");
    let loss = step.loss(stage).expect("loss");
    let what = format!(
        "{} modalities, stage {}",
        config.input_widths.len(),
        stage.label()
    );

    let names: Vec<&str> = loss.terms.iter().map(|(n, _)| *n).collect();
    let want_names: Vec<&str> = want_terms.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, want_names, "{what}: terms");
    for ((name, got), (_, want)) in loss.terms.iter().zip(&want_terms) {
        assert!(
            close(*got, *want, 1e-4, 1e-6),
            "{what}: {name} {got} vs {want}"
        );
    }

    let got: HashMap<String, Vec<f32>> = step.gradients().expect("grads").into_iter().collect();
    let mut got_names: Vec<&String> = got.keys().collect();
    let mut want_names: Vec<&String> = want_grads.keys().collect();
    got_names.sort();
    want_names.sort();
    assert_eq!(got_names, want_names, "{what}: parameters with a gradient");
    assert!(!got.is_empty(), "{what}: no gradient at all");
    for (name, want) in &want_grads {
        let err = relative_error(&got[name], want, 1e-6);
        assert!(err <= 1e-4, "{what}: gradient of {name} off by {err:e}");
    }
}

#[test]
fn two_modalities_every_stage_matches_autograd() {
    for stage in STAGES {
        compare(&step_support::small_config(2, 0.0), 11, 9, stage);
    }
}

#[test]
fn three_modalities_every_stage_matches_autograd() {
    for stage in STAGES {
        compare(&step_support::small_config(3, 0.0), 12, 9, stage);
    }
}

#[test]
fn dropout_with_the_same_masks_matches_autograd() {
    for modalities in [2, 3] {
        for stage in STAGES {
            compare(&step_support::small_config(modalities, 0.3), 13, 10, stage);
        }
    }
}

#[test]
fn two_hidden_layers_and_other_loss_weights_match_autograd() {
    let mut config = step_support::small_config(2, 0.25);
    config.encoder.hidden = vec![6, 3];
    config.loss.kl = 0.7;
    config.loss.alignment = 1.3;
    config.loss.component = 0.5;
    config.loss.unimodal = 2.0;
    for stage in STAGES {
        compare(&config, 14, 8, stage);
    }
}

#[test]
fn a_zero_weight_skips_its_term_and_its_parameters() {
    let mut config = step_support::small_config(2, 0.0);
    config.loss.unimodal = 0.0;
    config.loss.reconstruction = 0.0;
    for stage in STAGES {
        compare(&config, 15, 7, stage);
    }
}

/// Three training steps per stage (clipping on, weight decay on, a fresh optimizer per stage
/// as the trainer makes) on both sides, from the same draws; parameters must stay within
/// 1e-4 of each tensor's largest magnitude.
#[test]
fn training_steps_match_the_trainer_optimizer() {
    let config = step_support::small_config(2, 0.2);
    let seed = 21;
    let (lr, weight_decay, clip_norm) = (5e-3, 1e-3, 0.5);
    let model = Dmil::new(config.clone(), seed).expect("model");
    let mut step = DmilStep::new(&CpuBackend, &config, &model).expect("step");
    let mut replay = Replay::new(&config, seed);
    let settings = AdamSettings {
        lr,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay,
        clip_norm,
    };

    for stage in STAGES {
        model.enter_stage(stage);
        let params: Vec<Tensor<f32>> = model
            .parameters()
            .into_iter()
            .filter(Tensor::needs_grad)
            .collect();
        let adam = AdamConfig {
            lr,
            weight_decay,
            ..AdamConfig::default()
        };
        let mut optimizer = Adam::new(params.clone(), adam);
        step.reset_optimizer().expect("reset");

        for _ in 0..3 {
            let d = replay.next(&config, 11, stage);
            let loss = model
                .loss(&input_tensors(&d, &config), &d.labels, stage)
                .expect("loss");
            loss.total.backward().expect("backward");
            let norm = clip_grad_norm(&params, clip_norm).expect("clip");
            optimizer.step().expect("adam");
            optimizer.zero_grad();

            let got = step
                .train_step(&batch_on(&CpuBackend, &d), stage, &settings)
                .expect("train step");
            assert!(
                close(got.total, loss.total.item(), 1e-4, 1e-6),
                "{stage:?} loss"
            );
            assert!(close(got.grad_norm, norm, 1e-4, 1e-6), "{stage:?} norm");
            assert!(norm > clip_norm, "the test should exercise clipping");
        }

        let want: HashMap<String, Vec<f32>> = model
            .named_parameters()
            .into_iter()
            .map(|(n, t)| (n, t.to_vec()))
            .collect();
        for (name, value) in step.parameters().expect("params") {
            let err = relative_error(&value, &want[&name], 1e-6);
            assert!(err <= 1e-4, "{stage:?}: parameter {name} off by {err:e}");
        }
    }

    let restored = Dmil::new(config.clone(), 99).expect("other");
    step.download_into(&restored).expect("download");
    let pairs = model
        .named_parameters()
        .into_iter()
        .zip(restored.named_parameters());
    for ((name, a), (_, b)) in pairs {
        assert!(
            relative_error(&b.to_vec(), &a.to_vec(), 1e-6) <= 1e-4,
            "{name} downloaded"
        );
    }
}

#[test]
fn a_batch_that_does_not_fit_is_an_error() {
    let config = step_support::small_config(2, 0.0);
    let model = Dmil::new(config.clone(), 3).expect("model");
    let mut step = DmilStep::new(&CpuBackend, &config, &model).expect("step");
    let mut d = draws(&config, 3, 4, Stage::FineTune);
    d.inputs.pop();
    let err = step
        .forward_backward(&batch_on(&CpuBackend, &d), Stage::FineTune)
        .expect_err("one input missing");
    assert!(
        err.to_string().contains("1 inputs for 2 modalities"),
        "{err}"
    );
}

#[test]
fn a_model_of_another_configuration_is_refused() {
    let config = step_support::small_config(2, 0.0);
    let other = step_support::small_config(3, 0.0);
    let model = Dmil::new(other, 3).expect("model");
    let err = DmilStep::new(&CpuBackend, &config, &model)
        .err()
        .expect("parameters differ");
    assert!(err.to_string().contains("parameter"), "{err}");
}
