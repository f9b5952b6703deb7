//! What the CUDA test files share: the first GPU or a printed notice that the test is
//! skipped, and seeded random inputs.

#![allow(dead_code)] // Each test file uses its own part of this module.

use dmil::cuda::{CudaError, GpuContext};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The first GPU, or `None` after printing why the test is skipped. Errors other than a
/// missing driver or device fail the test: a GPU that is present must open.
pub fn gpu() -> Option<GpuContext> {
    match GpuContext::open(0) {
        Ok(gpu) => Some(gpu),
        Err(err @ (CudaError::NoDriver | CudaError::NoDevice { .. } | CudaError::Driver(_))) => {
            eprintln!("SKIPPED: no usable GPU ({err})");
            None
        }
        Err(err) => panic!("opening the GPU failed unexpectedly: {err}"),
    }
}

/// `len` values uniform in `lo..hi`, from `seed`.
pub fn random(len: usize, lo: f32, hi: f32, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(lo..hi)).collect()
}
