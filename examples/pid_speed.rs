//! Times the exact BROJA solver on random joint tables.
//!
//! Run with `cargo run --release --no-default-features --example pid_speed`.

use std::time::Instant;

use dmil::pid::{ExactPid, JointDistribution};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() -> Result<(), dmil::pid::PidError> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let solver = ExactPid::default();

    for &(n1, n2, ny) in &[
        (8, 8, 4),
        (16, 16, 6),
        (32, 32, 10),
        (32, 32, 10),
        (48, 40, 12),
        (32, 32, 16),
    ] {
        let p = JointDistribution::from_fn(n1, n2, ny, |_, _, _| rng.random::<f64>())?;

        let start = Instant::now();
        let result = solver.solve(&p);
        let elapsed = start.elapsed();

        println!(
            "{n1:>2} x {n2:>2} x {ny:>2}: {:>8.2} ms, {:>6} iterations, gap {:.1e} bits, \
             R {:.4} U1 {:.4} U2 {:.4} S {:.4}",
            elapsed.as_secs_f64() * 1e3,
            result.iterations,
            result.gap,
            result.bits.redundancy,
            result.bits.uniqueness[0],
            result.bits.uniqueness[1],
            result.bits.synergy,
        );
    }
    Ok(())
}
