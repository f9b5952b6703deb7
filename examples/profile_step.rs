//! Runs DMIL training steps in a loop (for `perf record`): `cargo run --release --example
//! profile_step -- [steps] [dmil|joint|infer]`. With `WINDOWS=1` it also prints the median
//! of every 250 steps, to tell a slowdown late in a run from a noisy host.

use dmil::autograd::no_grad;
use dmil::model::{self, ModelConfig, ModelKind};
use dmil::optim::{Adam, AdamConfig, Optimizer};
use dmil::tensor::Tensor;

fn main() {
    let mut args = std::env::args().skip(1);
    let steps: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2000);
    let what = args.next().unwrap_or_else(|| "dmil".into());
    dmil::tensor::set_flush_denormals();
    let kind = if what == "joint" {
        ModelKind::Joint
    } else {
        ModelKind::Dmil
    };
    let model = model::build(&ModelConfig::benchmark(kind), 7).expect("valid configuration");
    let stage = *model.stages().last().expect("a stage");
    model.enter_stage(stage);
    let mut adam = Adam::new(model.parameters(), AdamConfig::default());
    let inputs: Vec<Tensor<f32>> = (0..2).map(|m| Tensor::randn([64, 200], 100 + m)).collect();
    let labels: Vec<usize> = (0..64).map(|i| i % 2).collect();
    let mut samples = Vec::with_capacity(steps);
    for _ in 0..steps {
        let started = std::time::Instant::now();
        if what == "infer" {
            no_grad(|| model.predict(&inputs).expect("predict"));
            samples.push(started.elapsed().as_secs_f64() * 1e3);
            continue;
        }
        let loss = model.loss(&inputs, &labels, stage).expect("loss");
        if std::env::var_os("COUNT_OPS").is_some() {
            let mut counts = std::collections::BTreeMap::new();
            for k in dmil::autograd::recorded_ops::<f32>() {
                *counts.entry(format!("{k:?}")).or_insert(0) += 1;
            }
            println!("{counts:?}");
        }
        loss.total.backward().expect("backward");
        adam.step().expect("adam");
        adam.zero_grad();
        samples.push(started.elapsed().as_secs_f64() * 1e3);
    }
    if std::env::var_os("WINDOWS").is_some() {
        for (i, w) in samples.chunks(250).enumerate() {
            let mut w = w.to_vec();
            w.sort_by(f64::total_cmp);
            println!("steps {}..: median {:.3}", i * 250, w[w.len() / 2]);
        }
    }
    samples.sort_by(f64::total_cmp);
    println!(
        "{what}: median {:.3} ms, 10th percentile {:.3} ms, min {:.3} ms",
        samples[steps / 2],
        samples[steps / 10],
        samples[0]
    );
}
