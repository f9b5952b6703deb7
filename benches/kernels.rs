//! Criterion benchmarks of the kernels a training step is made of: matrix products at the
//! shapes of the DMIL benchmark model, and element-wise operations over 1M floats.
//!
//! Run: `cargo bench --bench kernels`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dmil::autograd::no_grad;
use dmil::Tensor;

/// Forward products at batch 64 (the encoder layers) and their transposed-view backward.
fn matmul(c: &mut Criterion) {
    let mut group = c.benchmark_group("matmul");
    for (m, k, n) in [(64, 200, 256), (64, 256, 128), (64, 128, 64)] {
        let a = Tensor::<f32>::randn([m, k], 1);
        let b = Tensor::<f32>::randn([k, n], 2);
        group.throughput(Throughput::Elements((2 * m * k * n) as u64));
        group.bench_function(format!("{m}x{k}x{n}"), |bench| {
            bench.iter(|| no_grad(|| a.matmul(&b)))
        });
        let g = Tensor::<f32>::randn([m, n], 3);
        group.bench_function(format!("{m}x{k}x{n}_weight_grad"), |bench| {
            bench.iter(|| no_grad(|| a.t().matmul(&g)))
        });
    }
    group.finish();
}

/// Element-wise kernels over 1M f32 (4 MB per operand), reported as elements per second.
fn elementwise(c: &mut Criterion) {
    const N: usize = 1 << 20;
    let x = Tensor::<f32>::randn([N], 4);
    let y = Tensor::<f32>::randn([N], 5);
    let mut group = c.benchmark_group("elementwise_1m");
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("add", |b| b.iter(|| no_grad(|| &x + &y)));
    group.bench_function("mul", |b| b.iter(|| no_grad(|| &x * &y)));
    group.bench_function("exp", |b| b.iter(|| no_grad(|| x.exp())));
    group.bench_function("sigmoid", |b| b.iter(|| no_grad(|| x.sigmoid())));
    group.bench_function("softplus", |b| b.iter(|| no_grad(|| x.softplus())));
    group.bench_function("relu", |b| b.iter(|| no_grad(|| x.relu())));
    let rows = x.reshape([1024, 1024]);
    group.bench_function("log_softmax_rows", |b| {
        b.iter(|| no_grad(|| rows.log_softmax(-1)))
    });
    group.bench_function("sum_rows", |b| {
        b.iter(|| no_grad(|| rows.sum(&[-1], false)))
    });
    group.finish();
}

criterion_group!(benches, matmul, elementwise);
criterion_main!(benches);
