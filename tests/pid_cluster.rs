//! The clustering estimator on continuous encodings of known interactions.

use dmil::pid::{ClusterEstimator, PidError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// `n` samples of two bits a, b with y = rule(a, b); each modality is a 3-d noisy encoding
/// of its bit (bit * 2 - 1 on every axis plus Gaussian noise of sd 0.3).
fn data(n: usize, seed: u64, redundant: bool) -> (Vec<f32>, Vec<f32>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noise = Normal::new(0.0, 0.3).unwrap();
    let (mut x1, mut x2, mut y) = (vec![], vec![], vec![]);
    for _ in 0..n {
        let a = rng.random_range(0..2usize);
        let b = if redundant {
            a
        } else {
            rng.random_range(0..2usize)
        };
        for _ in 0..3 {
            x1.push(a as f32 * 2.0 - 1.0 + noise.sample(&mut rng));
            x2.push(b as f32 * 2.0 - 1.0 + noise.sample(&mut rng));
        }
        y.push(if redundant { a } else { a ^ b });
    }
    (x1, x2, y)
}

fn estimator() -> ClusterEstimator {
    ClusterEstimator {
        clusters: 4,
        pca_components: Some(2),
        seed: 11,
        max_iter: 100,
    }
}

#[test]
fn xor_is_mostly_synergy() {
    let (x1, x2, y) = data(800, 1, false);
    let e = estimator().estimate(&x1, 3, &x2, 3, &y).unwrap();
    println!("xor: {:?}", e.percent);
    assert!(e.percent.synergy > 80.0, "{e:?}");
    assert!(e.clusters_used[0] <= 4 && e.clusters_used[1] <= 4);
}

#[test]
fn copies_are_mostly_redundancy() {
    let (x1, x2, y) = data(800, 2, true);
    let e = estimator().estimate(&x1, 3, &x2, 3, &y).unwrap();
    println!("redundant: {:?}", e.percent);
    assert!(e.percent.redundancy > 80.0, "{e:?}");
}

#[test]
fn same_seed_same_result_and_no_pca_works() {
    let (x1, x2, y) = data(300, 3, false);
    let est = ClusterEstimator {
        pca_components: None,
        ..estimator()
    };
    let a = est.estimate(&x1, 3, &x2, 3, &y).unwrap();
    let b = est.estimate(&x1, 3, &x2, 3, &y).unwrap();
    assert_eq!(a, b);
}

#[test]
fn bad_settings_and_shapes_are_errors() {
    let (x1, x2, y) = data(20, 4, false);
    let zero = ClusterEstimator {
        clusters: 0,
        ..estimator()
    };
    assert!(matches!(
        zero.estimate(&x1, 3, &x2, 3, &y),
        Err(PidError::InvalidArgument { .. })
    ));
    assert!(matches!(
        estimator().estimate(&x1, 3, &x2, 3, &y[..10]),
        Err(PidError::LengthMismatch { .. })
    ));
    assert!(matches!(
        estimator().estimate(&x1, 7, &x2, 3, &y),
        Err(PidError::InvalidArgument { .. })
    ));
    let mut bad = x1.clone();
    bad[5] = f32::NAN;
    assert!(matches!(
        estimator().estimate(&bad, 3, &x2, 3, &y),
        Err(PidError::InvalidEntry { .. })
    ));
}
