//! The CUDA backend of the explicit DMIL step against the CPU backend: every primitive on
//! random inputs, then whole steps for each stage with two and three modalities, then
//! training steps with Adam. Each test prints a notice and returns when no GPU is usable.
//!
//! These tests have never run: they were written on a machine without a GPU. Tolerances:
//! 1e-4 of each output's largest magnitude (the device's `expf`, fused multiply-adds, cuBLAS
//! and atomic sums round differently from the CPU loops).

#![cfg(feature = "cuda")]

mod gpu_support;
mod step_support;

use std::collections::HashMap;

use dmil::cuda::CudaBackend;
use dmil::model::{Dmil, Stage};
use dmil::step::{AdamArgs, AdamSettings, Backend, CpuBackend, DmilStep, Gemm};
use gpu_support::{gpu, random};
use step_support::{batch_on, close, relative_error, Replay};

/// The CUDA backend on the first GPU, or `None` after printing why the test is skipped.
fn cuda() -> Option<CudaBackend> {
    gpu().map(|gpu| CudaBackend::new(gpu).expect("cuBLAS on a machine with a GPU"))
}

/// Runs every primitive of [`Backend`] on fixed random inputs and returns each output by name
/// (outputs that accumulate start from non-zero values, so accumulation is checked too).
/// Shapes are odd on purpose: 37 rows, 13 and 5 columns.
fn every_primitive<B: Backend>(b: &B) -> Vec<(String, Vec<f32>)> {
    let (rows, cols, k, classes) = (37, 13, 4, 5);
    let n = rows * cols;
    let up = |v: Vec<f32>| b.upload(&v).expect("upload");
    let down = |x: &B::Buf| b.download(x).expect("download");
    let mut out = Vec::new();

    for (i, (ta, tb)) in [(false, false), (true, false), (false, true), (true, true)]
        .into_iter()
        .enumerate()
    {
        let (m, nn, kk) = (rows, 11, cols);
        let a = up(random(m * kk, -1.0, 1.0, 1 + i as u64));
        let bm = up(random(kk * nn, -1.0, 1.0, 11 + i as u64));
        let mut c = up(random(m * nn, -1.0, 1.0, 21 + i as u64));
        let shape = Gemm {
            m,
            n: nn,
            k: kk,
            trans_a: ta,
            trans_b: tb,
            beta: 1.0,
        };
        b.gemm(shape, &a, &bm, &mut c).expect("gemm");
        out.push((format!("gemm ta={ta} tb={tb}"), down(&c)));
    }

    let mut x = up(random(n, -1.0, 1.0, 30));
    b.add_bias(&mut x, &up(random(cols, -1.0, 1.0, 31)))
        .expect("bias");
    out.push(("add_bias".into(), down(&x)));
    let mut sums = up(random(cols, -1.0, 1.0, 32));
    b.add_column_sums(&x, &mut sums).expect("sums");
    out.push(("add_column_sums".into(), down(&sums)));
    b.relu(&mut x).expect("relu");
    out.push(("relu".into(), down(&x)));
    let mut dy = up(random(n, -1.0, 1.0, 33));
    b.relu_backward(&x, &mut dy).expect("relu_backward");
    out.push(("relu_backward".into(), down(&dy)));
    b.mul_assign(&mut dy, &up(random(n, 0.0, 2.0, 34)))
        .expect("mul");
    out.push(("mul_assign".into(), down(&dy)));

    let mut wide = up(random(rows * 3 * cols, -1.0, 1.0, 35));
    b.put_columns(&x, &mut wide, 3 * cols, cols).expect("put");
    out.push(("put_columns".into(), down(&wide)));
    let mut block = up(random(n, -1.0, 1.0, 36));
    b.add_columns(&wide, 3 * cols, 2 * cols, &mut block)
        .expect("add_columns");
    out.push(("add_columns".into(), down(&block)));

    let (pa, pb) = (random(n, -1.0, 1.0, 37), random(n, -1.0, 1.0, 38));
    let (pa, pb) = (up(pa), up(pb));
    let mut prod = up(vec![0.0; n]);
    b.product(&pa, &pb, &mut prod).expect("product");
    out.push(("product".into(), down(&prod)));
    let (mut da, mut db) = (up(random(n, -1.0, 1.0, 39)), up(random(n, -1.0, 1.0, 40)));
    b.product_backward(&prod, &pa, &pb, &mut da, &mut db)
        .expect("product_backward");
    out.push(("product_backward a".into(), down(&da)));
    out.push(("product_backward b".into(), down(&db)));

    let mu = up(random(n, -2.0, 2.0, 41));
    let lv = up(random(n, -3.0, 3.0, 42));
    let eps = up(random(n, -2.0, 2.0, 43));
    let mut z = up(vec![0.0; n]);
    b.reparameterize(&mu, &lv, &eps, &mut z)
        .expect("reparameterize");
    out.push(("reparameterize".into(), down(&z)));
    let (mut dmu, mut dlv) = (up(random(n, -1.0, 1.0, 44)), up(random(n, -1.0, 1.0, 45)));
    b.reparameterize_backward(&z, &lv, &eps, &mut dmu, &mut dlv)
        .expect("reparam bwd");
    out.push(("reparameterize_backward mu".into(), down(&dmu)));
    out.push(("reparameterize_backward logvar".into(), down(&dlv)));

    let mut stats = up(vec![0.5; 9]);
    let logits = up(random(rows * classes, -3.0, 3.0, 46));
    let labels: Vec<f32> = (0..rows).map(|r| (r % classes) as f32).collect();
    let mut dlogits = up(vec![0.0; rows * classes]);
    let labels = up(labels);
    b.cross_entropy(&logits, &labels, classes, 0.3, &mut stats, 1, &mut dlogits)
        .expect("ce");
    out.push(("cross_entropy grad".into(), down(&dlogits)));

    // Log-variances past the clamp of +-30 included.
    let mut wild = random(n, -3.0, 3.0, 47);
    wild[0] = 40.0;
    wild[1] = -45.0;
    let wild = up(wild);
    b.kl_standard_normal(&mu, &wild, 0.7, &mut stats, 2, &mut dmu, &mut dlv)
        .expect("kl");
    out.push(("kl_standard_normal mu".into(), down(&dmu)));
    out.push(("kl_standard_normal logvar".into(), down(&dlv)));
    let (mut g1, mut g2) = (up(random(n, -1.0, 1.0, 48)), up(random(n, -1.0, 1.0, 49)));
    let (mut g3, mut g4) = (up(random(n, -1.0, 1.0, 50)), up(random(n, -1.0, 1.0, 51)));
    b.kl_gaussians(
        [&mu, &lv],
        [&z, &wild],
        0.9,
        &mut stats,
        3,
        [&mut g1, &mut g2, &mut g3, &mut g4],
    )
    .expect("kl pair");
    for (name, g) in [("mq", &g1), ("lq", &g2), ("mp", &g3), ("lp", &g4)] {
        out.push((format!("kl_gaussians {name}"), down(g)));
    }
    let mut dpred = up(vec![0.0; n]);
    b.mse(&z, &mu, 0.4, &mut stats, 4, &mut dpred).expect("mse");
    out.push(("mse grad".into(), down(&dpred)));

    let gate_logits = up(random(rows * k, -2.0, 2.0, 52));
    let stacked = up(random(rows * k * classes, -2.0, 2.0, 53));
    let (mut weights, mut gated) = (up(vec![0.0; rows * k]), up(vec![0.0; rows * classes]));
    b.gate(&gate_logits, &stacked, classes, &mut weights, &mut gated)
        .expect("gate");
    out.push(("gate weights".into(), down(&weights)));
    out.push(("gate logits".into(), down(&gated)));
    let (mut dstacked, mut dgate) = (up(vec![0.0; rows * k * classes]), up(vec![0.0; rows * k]));
    b.gate_backward(
        &dlogits,
        &weights,
        &stacked,
        classes,
        &mut dstacked,
        &mut dgate,
    )
    .expect("gate backward");
    out.push(("gate_backward stacked".into(), down(&dstacked)));
    out.push(("gate_backward gate".into(), down(&dgate)));

    b.sum_squares(&dpred, &mut stats, 8).expect("sum_squares");
    out.push(("stats".into(), down(&stats)));
    let mut p = up(random(n, -1.0, 1.0, 54));
    let (mut m, mut v) = (up(random(n, -0.1, 0.1, 55)), up(random(n, 0.0, 0.1, 56)));
    let args = AdamArgs {
        step_size: 1e-2,
        root_correction2: 0.3,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 1e-2,
        max_norm: 0.05,
        norm_slot: 8,
        loss_slots: 8,
    };
    b.adam(&mut p, &dpred, &mut m, &mut v, &stats, args)
        .expect("adam");
    out.push(("adam p".into(), down(&p)));
    out.push(("adam m".into(), down(&m)));
    out.push(("adam v".into(), down(&v)));
    out
}

#[test]
fn every_primitive_matches_the_cpu_backend() {
    let Some(gpu) = cuda() else { return };
    let want = every_primitive(&CpuBackend);
    let got = every_primitive(&gpu);
    for ((name, g), (_, w)) in got.iter().zip(&want) {
        let err = relative_error(g, w, 1e-6);
        assert!(err <= 1e-4, "{name}: off by {err:e}");
    }
}

#[test]
fn whole_steps_match_the_cpu_backend() {
    if cuda().is_none() {
        return;
    }
    for modalities in [2, 3] {
        let config = step_support::small_config(modalities, 0.3);
        for stage in [Stage::Decompose, Stage::Interact, Stage::FineTune] {
            let model = Dmil::new(config.clone(), 5).expect("model");
            let d = Replay::new(&config, 5).next(&config, 33, stage);
            let mut cpu = DmilStep::new(&CpuBackend, &config, &model).expect("cpu");
            let backend = cuda().expect("the GPU opened a moment ago");
            let mut dev = DmilStep::new(&backend, &config, &model).expect("gpu");
            cpu.forward_backward(&batch_on(&CpuBackend, &d), stage)
                .expect("cpu step");
            let batch = batch_on(dev.backend(), &d);
            dev.forward_backward(&batch, stage).expect("gpu step");

            let (want, got) = (cpu.loss(stage).expect("cpu"), dev.loss(stage).expect("gpu"));
            for ((name, g), (_, w)) in got.terms.iter().zip(&want.terms) {
                assert!(close(*g, *w, 1e-4, 1e-6), "{stage:?} {name}: {g} vs {w}");
            }
            let want: HashMap<String, Vec<f32>> = cpu.gradients().expect("g").into_iter().collect();
            let got = dev.gradients().expect("gradients");
            assert_eq!(
                got.len(),
                want.len(),
                "{stage:?}: parameters with a gradient"
            );
            for (name, g) in got {
                let err = relative_error(&g, &want[&name], 1e-6);
                assert!(err <= 1e-4, "{stage:?}: gradient of {name} off by {err:e}");
            }
        }
    }
}

#[test]
fn training_steps_match_the_cpu_backend() {
    let Some(gpu) = cuda() else { return };
    let config = step_support::small_config(2, 0.2);
    let model = Dmil::new(config.clone(), 8).expect("model");
    let mut cpu = DmilStep::new(&CpuBackend, &config, &model).expect("cpu");
    let mut dev = DmilStep::new(&gpu, &config, &model).expect("gpu");
    let mut replay = Replay::new(&config, 8);
    let settings = AdamSettings {
        lr: 5e-3,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 1e-3,
        clip_norm: 0.5,
    };
    for stage in [Stage::Decompose, Stage::Interact, Stage::FineTune] {
        cpu.reset_optimizer().expect("reset");
        dev.reset_optimizer().expect("reset");
        for _ in 0..3 {
            let d = replay.next(&config, 40, stage);
            let want = cpu
                .train_step(&batch_on(&CpuBackend, &d), stage, &settings)
                .expect("cpu");
            let batch = batch_on(dev.backend(), &d);
            let got = dev.train_step(&batch, stage, &settings).expect("gpu");
            assert!(close(got.total, want.total, 1e-4, 1e-6), "{stage:?} loss");
        }
    }
    let want: HashMap<String, Vec<f32>> = cpu.parameters().expect("p").into_iter().collect();
    for (name, value) in dev.parameters().expect("parameters") {
        let err = relative_error(&value, &want[&name], 1e-6);
        assert!(err <= 1e-4, "parameter {name} off by {err:e}");
    }
}

/// The driver above runs on the CPU backend too (so a failure on a GPU is the backend's, not
/// the driver's), and every output is finite.
#[test]
fn the_primitive_driver_runs_on_the_cpu_backend() {
    let outputs = every_primitive(&CpuBackend);
    assert_eq!(outputs.len(), 33);
    for (name, values) in outputs {
        assert!(!values.is_empty(), "{name} is empty");
        assert!(values.iter().all(|v| v.is_finite()), "{name} is not finite");
    }
}

/// The bandwidth benchmark of `dmil bench --device cuda` runs every kernel, on a small size.
#[test]
fn the_kernel_benchmark_covers_every_kernel() {
    let Some(gpu) = cuda() else { return };
    let timings = dmil::cuda::bench::kernel_bandwidths(&gpu, 1 << 16, 2).expect("benchmark");
    assert_eq!(timings.len(), 26);
    for t in timings {
        assert!(t.mean_us > 0.0 && t.gb_per_s > 0.0, "{t:?}");
    }
}
