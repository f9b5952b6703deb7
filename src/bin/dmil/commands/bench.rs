//! `dmil bench`: times, on this machine, the DMIL and Joint training steps and inference at
//! batch 64 on ROSMAP-shaped random data (two modalities of 200 features, encoders
//! 200 -> 256 -> 128, latent 64), and single-precision matrix products, so the figures
//! compare like for like with PyTorch's on the same model; also the bandwidth of element-wise
//! kernels against a plain copy, and whether a 2000-step run slows down (subnormals).

use std::time::Instant;

use serde_json::{json, Map, Value};

use dmil::autograd::no_grad;
use dmil::model::{self, ModelConfig, ModelKind, MultimodalModel, Stage};
use dmil::optim::{Adam, AdamConfig, Optimizer};
use dmil::tensor::Tensor;
use dmil::Result;

use crate::alloc::allocations;
use crate::cli::BenchArgs;
use crate::output::print_json;

const BATCH: usize = 64;
/// The input width of each modality in [`ModelConfig::benchmark`].
const FEATURES: usize = 200;
const WARMUP: usize = 10;

/// Median, minimum and maximum of repeated timings, in microseconds.
struct Timing {
    median_us: f64,
    min_us: f64,
    max_us: f64,
    allocations_per_call: f64,
}

/// Times `f` `repeats` times after a warm-up.
fn time(repeats: usize, mut f: impl FnMut() -> Result<()>) -> Result<Timing> {
    for _ in 0..WARMUP {
        f()?;
    }
    let mut samples = Vec::with_capacity(repeats);
    let before = allocations();
    for _ in 0..repeats {
        let started = Instant::now();
        f()?;
        samples.push(started.elapsed().as_secs_f64() * 1e6);
    }
    let allocations_per_call = (allocations() - before) as f64 / repeats.max(1) as f64;
    samples.sort_by(f64::total_cmp);
    Ok(Timing {
        median_us: samples[samples.len() / 2],
        min_us: samples[0],
        max_us: samples[samples.len() - 1],
        allocations_per_call,
    })
}

/// A model of `kind` in the benchmark's configuration.
fn bench_model(kind: ModelKind) -> Result<Box<dyn MultimodalModel>> {
    model::build(&ModelConfig::benchmark(kind), 7)
}

/// Random inputs and labels of one batch.
fn batch() -> (Vec<Tensor<f32>>, Vec<usize>) {
    batch_of(BATCH)
}

/// Random inputs and labels of `rows` samples.
fn batch_of(rows: usize) -> (Vec<Tensor<f32>>, Vec<usize>) {
    let inputs = (0..2)
        .map(|m| Tensor::randn([rows, FEATURES], 100 + m))
        .collect();
    let labels = (0..rows).map(|i| i % 2).collect();
    (inputs, labels)
}

/// One full training step: forward, every loss term, backward, Adam.
fn train_step(model: &dyn MultimodalModel, repeats: usize) -> Result<Timing> {
    train_step_at(model, BATCH, repeats)
}

/// [`train_step`] at `rows` samples a batch.
fn train_step_at(model: &dyn MultimodalModel, rows: usize, repeats: usize) -> Result<Timing> {
    // The last stage trains everything: fine-tuning for DMIL, the only stage for baselines.
    let stage = *model.stages().last().expect("every model has a stage");
    model.enter_stage(stage);
    let mut adam = Adam::new(model.parameters(), AdamConfig::default());
    let (inputs, labels) = batch_of(rows);
    time(repeats, || {
        let loss = model.loss(&inputs, &labels, stage)?;
        loss.total.backward()?;
        adam.step()?;
        adam.zero_grad();
        Ok(())
    })
}

/// One batch of evaluation-mode prediction.
fn inference(model: &dyn MultimodalModel, repeats: usize) -> Result<Timing> {
    model.set_training(false);
    let (inputs, _) = batch();
    time(repeats, || no_grad(|| model.predict(&inputs).map(|_| ())))
}

/// GFLOP/s of an `m x k` by `k x n` single-precision product.
fn sgemm(m: usize, k: usize, n: usize, repeats: usize) -> Result<f64> {
    let a = Tensor::<f32>::randn([m, k], 1);
    let b = Tensor::<f32>::randn([k, n], 2);
    let t = time(repeats * 10, || {
        a.try_matmul(&b)?;
        Ok(())
    })?;
    Ok(2.0 * (m * k * n) as f64 / (t.median_us * 1e3))
}

/// Steps of the long run, and how many steps each end of it averages.
const LONG_RUN_STEPS: usize = 2000;
const LONG_RUN_WINDOW: usize = 100;

/// Median step time (ms) of the first and of the last [`LONG_RUN_WINDOW`] steps of a
/// [`LONG_RUN_STEPS`]-step DMIL run on one batch: a slowdown at the end would come from
/// subnormal numbers as moments and gradients decay.
fn long_run(model: &dyn MultimodalModel) -> Result<(f64, f64)> {
    model.enter_stage(Stage::FineTune);
    let mut adam = Adam::new(model.parameters(), AdamConfig::default());
    let (inputs, labels) = batch();
    let mut samples = Vec::with_capacity(LONG_RUN_STEPS);
    for _ in 0..LONG_RUN_STEPS {
        let started = Instant::now();
        let loss = model.loss(&inputs, &labels, Stage::FineTune)?;
        loss.total.backward()?;
        adam.step()?;
        adam.zero_grad();
        samples.push(started.elapsed().as_secs_f64() * 1e3);
    }
    // Medians, like every other figure here: on a shared host one preempted step in a
    // window would otherwise move a mean by several per cent.
    let median = |s: &[f64]| {
        let mut sorted = s.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted[sorted.len() / 2]
    };
    Ok((
        median(&samples[..LONG_RUN_WINDOW]),
        median(&samples[LONG_RUN_STEPS - LONG_RUN_WINDOW..]),
    ))
}

/// GB/s of element-wise work over 1M f32, counting the bytes read and written: a plain copy
/// into a fresh buffer, `a + b` and `exp(a)` (each also into a fresh buffer).
fn elementwise(repeats: usize) -> Result<[(&'static str, f64); 3]> {
    const N: usize = 1 << 20;
    let a = Tensor::<f32>::randn([N], 3);
    let b = Tensor::<f32>::randn([N], 4);
    let gbs = |bytes: usize, t: Timing| bytes as f64 / (t.median_us * 1e3);
    let copy = time(repeats, || {
        std::hint::black_box(a.to_vec());
        Ok(())
    })?;
    let add = time(repeats, || {
        std::hint::black_box(a.try_add(&b)?);
        Ok(())
    })?;
    let exp = time(repeats, || {
        std::hint::black_box(no_grad(|| a.exp()));
        Ok(())
    })?;
    Ok([
        ("copy_1m", gbs(8 * N, copy)),
        ("elementwise_1m", gbs(12 * N, add)),
        ("exp_1m", gbs(8 * N, exp)),
    ])
}

/// Runs `dmil bench`.
pub fn run(args: BenchArgs) -> Result<()> {
    let engine = super::engine(args.device)?;
    #[cfg(feature = "cuda")]
    if let super::Engine::Cuda(backend) = &engine {
        return run_cuda(backend, &args);
    }
    // The CPU measurements follow; `engine` was opened only to report a missing GPU.
    let _ = engine;
    let repeats = args.repeats;
    dmil::tensor::set_flush_denormals();
    let dmil = bench_model(ModelKind::Dmil)?;
    let joint = bench_model(ModelKind::Joint)?;

    let timings = [
        ("dmil_train_step", train_step(dmil.as_ref(), repeats)?),
        ("dmil_infer", inference(dmil.as_ref(), repeats)?),
        ("joint_train_step", train_step(joint.as_ref(), repeats)?),
        ("joint_infer", inference(joint.as_ref(), repeats)?),
    ];
    let shapes = [
        (64, 200, 256),
        (64, 256, 128),
        (64, 128, 64),
        (256, 256, 256),
    ];
    let mut gemms = Vec::new();
    for (m, k, n) in shapes {
        gemms.push((format!("sgemm_{m}x{k}x{n}"), sgemm(m, k, n, repeats)?));
    }
    let bandwidth = elementwise(repeats)?;
    let (first, last) = long_run(bench_model(ModelKind::Dmil)?.as_ref())?;

    if args.json {
        let mut out = Map::new();
        for (name, t) in &timings {
            out.insert(
                name.to_string(),
                json!({"median_us": t.median_us, "min_us": t.min_us, "max_us": t.max_us,
                       "allocations": t.allocations_per_call}),
            );
        }
        for (name, gflops) in &gemms {
            out.insert(name.clone(), json!({ "gflops": gflops }));
        }
        for (name, gbs) in &bandwidth {
            out.insert(name.to_string(), json!({ "gb_per_s": gbs }));
        }
        out.insert(
            "long_run".into(),
            json!({"steps": LONG_RUN_STEPS, "first_100_ms": first, "last_100_ms": last,
                   "ratio": last / first}),
        );
        out.insert("threads".into(), json!(threads()));
        out.insert(
            "flush_denormals".into(),
            json!(dmil::tensor::flushes_denormals()),
        );
        print_json(&Value::Object(out));
        return Ok(());
    }

    outln!(
        "batch {BATCH}, 2 modalities x {FEATURES} features, {} threads",
        threads()
    );
    outln!(
        "{:<18} {:>10} {:>10} {:>10} {:>12}",
        "measurement",
        "median",
        "min",
        "max",
        "allocs/call"
    );
    for (name, t) in &timings {
        outln!(
            "{name:<18} {:>8.3}ms {:>8.3}ms {:>8.3}ms {:>12.0}",
            t.median_us / 1e3,
            t.min_us / 1e3,
            t.max_us / 1e3,
            t.allocations_per_call
        );
    }
    for (name, gflops) in &gemms {
        outln!("{name:<18} {gflops:>8.1} GFLOP/s");
    }
    for (name, gbs) in &bandwidth {
        outln!("{name:<18} {gbs:>8.1} GB/s");
    }
    outln!(
        "long_run           steps 1-{LONG_RUN_WINDOW}: {first:.3}ms, steps {}-{LONG_RUN_STEPS}: \
         {last:.3}ms ({:+.1} %)",
        LONG_RUN_STEPS - LONG_RUN_WINDOW + 1,
        (last / first - 1.0) * 100.0
    );
    Ok(())
}

/// Threads rayon may use (1 without the `rayon` feature).
fn threads() -> usize {
    #[cfg(feature = "rayon")]
    {
        rayon::current_num_threads()
    }
    #[cfg(not(feature = "rayon"))]
    {
        1
    }
}

/// Batch sizes of the GPU step timings.
#[cfg(feature = "cuda")]
const GPU_BATCHES: [usize; 2] = [64, 4096];

/// Elements per input of the kernel bandwidth measurements.
#[cfg(feature = "cuda")]
const KERNEL_ELEMENTS: usize = 1 << 26;

/// `dmil bench --device cuda`: DMIL's explicit step on the GPU at batch 64 and 4096, the CPU
/// autograd step at the same sizes, and every custom kernel's bandwidth on 64M elements.
#[cfg(feature = "cuda")]
fn run_cuda(backend: &dmil::cuda::CudaBackend, args: &BenchArgs) -> Result<()> {
    let repeats = args.repeats;
    let config = bench_model(ModelKind::Dmil)?.config().clone();
    let mut steps = Vec::new();
    for rows in GPU_BATCHES {
        let gpu = dmil::step::time_steps(backend, &config, rows, WARMUP, repeats)?;
        // The CPU at batch 4096 takes long: a tenth of the repetitions there.
        let cpu_repeats = if rows > BATCH {
            (repeats / 10).max(3)
        } else {
            repeats
        };
        let cpu = train_step_at(bench_model(ModelKind::Dmil)?.as_ref(), rows, cpu_repeats)?;
        steps.push((gpu, cpu.median_us));
    }
    let kernels = dmil::cuda::bench::kernel_bandwidths(backend, KERNEL_ELEMENTS, repeats)?;

    if args.json {
        let steps: Vec<Value> = steps
            .iter()
            .map(|(gpu, cpu_us)| {
                json!({"batch": gpu.batch, "gpu_median_us": gpu.median_us,
                       "gpu_steps_per_second": gpu.steps_per_second,
                       "cpu_median_us": cpu_us, "cpu_steps_per_second": 1e6 / cpu_us})
            })
            .collect();
        print_json(&json!({
            "device": backend.gpu().name().unwrap_or_default(),
            "dmil_train_step": steps,
            "kernels": kernels,
        }));
        return Ok(());
    }
    outln!("device: {}", backend.gpu().name().unwrap_or_default());
    outln!("DMIL training step (stage 3, explicit step on the GPU; autograd on the CPU):");
    for (gpu, cpu_us) in &steps {
        outln!(
            "  batch {:>5}: GPU {:>10.1} us ({:>8.1} steps/s)   CPU {:>10.1} us ({:>8.1} steps/s)",
            gpu.batch,
            gpu.median_us,
            gpu.steps_per_second,
            cpu_us,
            1e6 / cpu_us
        );
    }
    outln!("custom kernels on {} elements:", KERNEL_ELEMENTS);
    for k in &kernels {
        outln!(
            "  {:<48} {:>9.1} us {:>8.1} GB/s",
            k.kernel,
            k.mean_us,
            k.gb_per_s
        );
    }
    Ok(())
}
