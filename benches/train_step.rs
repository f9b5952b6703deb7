//! Criterion benchmark of one DMIL and one Joint training step at batch 64 (forward, every
//! loss term, backward, Adam), in the configuration `dmil bench` uses.

use criterion::{criterion_group, criterion_main, Criterion};

use dmil::model::{self, ModelConfig, ModelKind, MultimodalModel};
use dmil::optim::{Adam, AdamConfig, Optimizer};
use dmil::tensor::Tensor;

/// A model of `kind` with two modalities of 200 features, encoders 200 -> 256 -> 128, latent 64.
fn bench_model(kind: ModelKind) -> Box<dyn MultimodalModel> {
    model::build(&ModelConfig::benchmark(kind), 7).expect("the benchmark configuration is valid")
}

/// Times forward, loss, backward and Adam for `kind`.
fn step(c: &mut Criterion, name: &str, kind: ModelKind) {
    dmil::tensor::set_flush_denormals();
    let model = bench_model(kind);
    let stage = *model.stages().last().expect("every model has a stage");
    model.enter_stage(stage);
    let mut adam = Adam::new(model.parameters(), AdamConfig::default());
    let inputs: Vec<Tensor<f32>> = (0..2).map(|m| Tensor::randn([64, 200], 100 + m)).collect();
    let labels: Vec<usize> = (0..64).map(|i| i % 2).collect();
    c.bench_function(name, |b| {
        b.iter(|| {
            let loss = model.loss(&inputs, &labels, stage).expect("loss");
            loss.total.backward().expect("backward");
            adam.step().expect("adam");
            adam.zero_grad();
        })
    });
}

fn train_steps(c: &mut Criterion) {
    step(c, "dmil_train_step", ModelKind::Dmil);
    step(c, "joint_train_step", ModelKind::Joint);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = train_steps
}
criterion_main!(benches);
