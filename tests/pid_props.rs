//! Properties of the exact PID on random tables.

use dmil::pid::{decompose, mutual_information, ExactPid, JointDistribution};
use proptest::prelude::*;

/// A random table of sizes 1..6 each; about a quarter of the cells are zero.
fn table() -> impl Strategy<Value = JointDistribution> {
    (1usize..6, 1usize..6, 1usize..6).prop_flat_map(|(n1, n2, ny)| {
        let cell = prop_oneof![1 => Just(0.0), 3 => 0.01f64..1.0];
        proptest::collection::vec(cell, n1 * n2 * ny).prop_filter_map("all zero", move |v| {
            JointDistribution::new(n1, n2, ny, v).ok()
        })
    })
}

/// I_q(X1, X2; Y) in bits.
fn objective(q: &[f64], n1: usize, n2: usize, ny: usize) -> f64 {
    mutual_information(q, n1 * n2, ny)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn swapping_sources_swaps_uniqueness(p in table()) {
        let a = decompose(&p).bits;
        let b = decompose(&p.swap_sources()).bits;
        prop_assert!((a.uniqueness[0] - b.uniqueness[1]).abs() < 1e-6, "{a:?} {b:?}");
        prop_assert!((a.uniqueness[1] - b.uniqueness[0]).abs() < 1e-6, "{a:?} {b:?}");
        prop_assert!((a.redundancy - b.redundancy).abs() < 1e-6);
        prop_assert!((a.synergy - b.synergy).abs() < 1e-6);
    }

    #[test]
    fn parts_add_up_and_are_non_negative(p in table()) {
        let b = decompose(&p).bits;
        prop_assert!((p.mi_x1_y() - b.redundancy - b.uniqueness[0]).abs() < 1e-6, "{b:?}");
        prop_assert!((p.mi_x2_y() - b.redundancy - b.uniqueness[1]).abs() < 1e-6, "{b:?}");
        let sum = b.redundancy + b.uniqueness[0] + b.uniqueness[1] + b.synergy;
        prop_assert!((p.mi_joint() - sum).abs() < 1e-6, "{b:?}");
        for v in [b.redundancy, b.uniqueness[0], b.uniqueness[1], b.synergy] {
            prop_assert!(v >= -1e-9);
        }
    }

    #[test]
    fn optimum_is_feasible_and_no_worse_than_other_feasible_points(p in table()) {
        let r = ExactPid::default().solve(&p);
        let (n1, n2, ny) = p.dims();
        let q = &r.optimum;
        prop_assert!(r.converged, "{r:?}");

        for (a, b) in q.marginal_x1_y().iter().zip(p.marginal_x1_y()) {
            prop_assert!((a - b).abs() < 1e-9);
        }
        for (a, b) in q.marginal_x2_y().iter().zip(p.marginal_x2_y()) {
            prop_assert!((a - b).abs() < 1e-9);
        }

        // Two other points of the polytope: p itself and p(x1, y) p(x2, y) / p(y).
        let (p1, p2, py) = (p.marginal_x1_y(), p.marginal_x2_y(), p.marginal_y());
        let mut product = vec![0.0; n1 * n2 * ny];
        for (x1, x2, y, _) in p.cells() {
            if py[y] > 0.0 {
                product[(x1 * n2 + x2) * ny + y] = p1[x1 * ny + y] * p2[x2 * ny + y] / py[y];
            }
        }
        let best = objective(q.as_slice(), n1, n2, ny);
        prop_assert!(best <= objective(p.as_slice(), n1, n2, ny) + 1e-9);
        prop_assert!(best <= objective(&product, n1, n2, ny) + 1e-9);
    }
}

#[test]
fn large_random_table_solves() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let p = JointDistribution::from_fn(32, 32, 10, |_, _, _| rng.random::<f64>()).unwrap();

    let start = std::time::Instant::now();
    let r = decompose(&p);
    println!(
        "32 x 32 x 10 (test profile): {:?}, {} Newton steps",
        start.elapsed(),
        r.iterations
    );

    assert!(r.converged, "{r:?}");
    let b = r.bits;
    let sum = b.redundancy + b.uniqueness[0] + b.uniqueness[1] + b.synergy;
    assert!((sum - p.mi_joint()).abs() < 1e-9);
}

/// Thousands of sparse random tables, drawn more widely than the proptest strategy (sizes 1
/// to 6, cells from 0.001, up to 60 % of them zero): each solve stays far inside its step
/// budget, its parts add up, and the source-swapped twin agrees.
///
/// Known shortcoming: the agreement is asserted to 1e-4 bits, not the 1e-6 of the property
/// tests, because on a few of these tables it is only about 2e-5 (seeds 1 to 7, 3000 tables
/// each: worst 2.1e-5). With the solver as it was before its primal-dual Hessian, this seed
/// gave 4.8e-2 bits on one table and ran to the 1000-step budget on another.
#[test]
fn sparse_random_tables_stay_consistent_and_fast() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);

    for _ in 0..3000 {
        let dims: [usize; 3] = std::array::from_fn(|_| rng.random_range(1..7));
        let zero = rng.random_range(0.0..0.6);
        let cells: Vec<f64> = (0..dims.iter().product())
            .map(|_| match rng.random::<f64>() < zero {
                true => 0.0,
                false => rng.random_range(0.001..1.0),
            })
            .collect();
        let Ok(p) = JointDistribution::new(dims[0], dims[1], dims[2], cells) else {
            continue;
        };

        let a = decompose(&p);
        let b = decompose(&p.swap_sources());
        assert!(a.iterations <= 100, "{dims:?}: {} steps", a.iterations);
        let (x, y) = (a.bits, b.bits);
        let sum = x.redundancy + x.uniqueness[0] + x.uniqueness[1] + x.synergy;
        assert!((sum - p.mi_joint()).abs() < 1e-6, "{dims:?}: {x:?}");
        for (u, v) in [
            (x.uniqueness[0], y.uniqueness[1]),
            (x.uniqueness[1], y.uniqueness[0]),
            (x.redundancy, y.redundancy),
            (x.synergy, y.synergy),
        ] {
            assert!((u - v).abs() < 1e-4, "{dims:?}: {x:?} vs swapped {y:?}");
        }
    }
}
