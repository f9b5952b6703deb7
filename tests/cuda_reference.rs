//! The CPU side of the CUDA backend, which needs no GPU: the Philox generator against its
//! published known-answer values, the normals it makes, and every reference gradient against
//! central finite differences of the reference forward.

#![cfg(feature = "cuda")]

mod gpu_support;

use dmil::cuda::philox::{fill_standard_normal, philox4x32_10};
use dmil::cuda::reference::{self as r, Gaussian, Reduction};
use gpu_support::random;

/// Checks `grads[k][i]` against the central difference of `loss` in `inputs[k][i]`.
///
/// f32 with a step of 1e-2: truncation and rounding errors are both near 1e-4 for inputs of
/// order one, so the tolerance is 2e-3, relative above one.
fn check_gradients(loss: impl Fn(&[Vec<f32>]) -> f64, inputs: &[Vec<f32>], grads: &[Vec<f32>]) {
    const STEP: f32 = 1e-2;

    for (k, grad) in grads.iter().enumerate() {
        for i in 0..inputs[k].len() {
            let mut moved = inputs.to_vec();
            moved[k][i] = inputs[k][i] + STEP;
            let up = loss(&moved);
            moved[k][i] = inputs[k][i] - STEP;
            let down = loss(&moved);

            let numeric = (up - down) / (2.0 * f64::from(STEP));
            let analytic = f64::from(grad[i]);
            let tolerance = 2e-3 * analytic.abs().max(1.0);
            assert!(
                (numeric - analytic).abs() <= tolerance,
                "input {k}, element {i}: analytic {analytic}, numeric {numeric}"
            );
        }
    }
}

/// `sum(w * y)`, the loss whose gradient with respect to `y` is `w`.
fn dot(w: &[f32], y: &[f32]) -> f64 {
    assert_eq!(w.len(), y.len());
    w.iter()
        .zip(y)
        .map(|(a, b)| f64::from(*a) * f64::from(*b))
        .sum()
}

#[test]
fn philox_matches_the_published_known_answers() {
    // Known-answer vectors of Philox-4x32-10 from the Random123 distribution.
    assert_eq!(
        philox4x32_10([0; 4], [0; 2]),
        [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]
    );
    assert_eq!(
        philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
        [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
    );
    assert_eq!(
        philox4x32_10(
            [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
            [0xa409_3822, 0x299f_31d0]
        ),
        [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
    );
}

#[test]
fn normals_are_standard_and_offsets_continue_the_stream() {
    let mut all = vec![0.0; 200_003];
    fill_standard_normal(&mut all, 7, 0);

    let n = all.len() as f64;
    let mean = all.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let var = all
        .iter()
        .map(|&x| (f64::from(x) - mean).powi(2))
        .sum::<f64>()
        / n;
    assert!(mean.abs() < 0.01, "mean {mean}");
    assert!((var - 1.0).abs() < 0.01, "variance {var}");

    let mut tail = vec![0.0; 1001];
    fill_standard_normal(&mut tail, 7, 5);
    assert_eq!(tail[..], all[5..1006]);

    let mut other = vec![0.0; 1001];
    fill_standard_normal(&mut other, 8, 5);
    assert_ne!(tail, other);
}

#[test]
fn reparameterize_gradients_match_finite_differences() {
    let n = 23;
    let inputs = vec![
        random(n, -1.0, 1.0, 1),
        random(n, -2.0, 1.0, 2),
        random(n, -2.0, 2.0, 3),
    ];
    let dz = random(n, -1.0, 1.0, 4);

    let (dmu, dlogvar) = r::reparameterize_backward(&dz, &inputs[1], &inputs[2]);
    let loss = |x: &[Vec<f32>]| dot(&dz, &r::reparameterize(&x[0], &x[1], &x[2]));
    check_gradients(loss, &inputs, &[dmu, dlogvar]);
}

#[test]
fn kl_std_is_zero_at_the_prior_and_its_gradients_match() {
    let zeros = vec![0.0; 12];
    assert_eq!(
        r::kl_std(&zeros, &zeros, 4, Reduction::PerRow),
        vec![0.0; 3]
    );
    assert_eq!(
        r::kl_std(&[1.0, 0.0], &[0.0, 1.0], 2, Reduction::Sum),
        vec![0.5 * (1.0 + 1.0f32.exp() - 2.0)]
    );

    let cols = 5;
    let inputs = vec![random(15, -1.0, 1.0, 5), random(15, -1.5, 1.0, 6)];
    for reduction in [Reduction::PerRow, Reduction::Sum] {
        let out_len = if reduction == Reduction::Sum { 1 } else { 3 };
        let g = random(out_len, 0.5, 1.5, 7);

        let (dmu, dlogvar) = r::kl_std_backward(&g, &inputs[0], &inputs[1], cols, reduction);
        let loss = |x: &[Vec<f32>]| dot(&g, &r::kl_std(&x[0], &x[1], cols, reduction));
        check_gradients(loss, &inputs, &[dmu, dlogvar]);
    }
}

#[test]
fn kl_pair_is_zero_between_equals_and_its_gradients_match() {
    let mu = random(8, -1.0, 1.0, 8);
    let lv = random(8, -1.0, 1.0, 9);
    let same = Gaussian {
        mu: &mu,
        logvar: &lv,
    };
    for value in r::kl_pair(same, same, 4, Reduction::PerRow) {
        assert!(value.abs() < 1e-6, "KL(q || q) = {value}");
    }

    let cols = 3;
    let inputs: Vec<Vec<f32>> = (0..4).map(|k| random(12, -1.0, 1.0, 10 + k)).collect();
    for reduction in [Reduction::PerRow, Reduction::Sum] {
        let out_len = if reduction == Reduction::Sum { 1 } else { 4 };
        let g = random(out_len, 0.5, 1.5, 20);

        let q = Gaussian {
            mu: &inputs[0],
            logvar: &inputs[1],
        };
        let p = Gaussian {
            mu: &inputs[2],
            logvar: &inputs[3],
        };
        let (a, b, c, d) = r::kl_pair_backward(&g, q, p, cols, reduction);
        let loss = |x: &[Vec<f32>]| {
            let q = Gaussian {
                mu: &x[0],
                logvar: &x[1],
            };
            let p = Gaussian {
                mu: &x[2],
                logvar: &x[3],
            };
            dot(&g, &r::kl_pair(q, p, cols, reduction))
        };
        check_gradients(loss, &inputs, &[a, b, c, d]);
    }
}

#[test]
fn synergy_features_lay_out_a_b_and_their_product() {
    let a = [1.0, 2.0, 3.0, 4.0];
    let b = [5.0, 6.0, 7.0, 8.0];
    let s = r::synergy_features(&a, &b, 2);
    assert_eq!(
        s,
        [1.0, 2.0, 5.0, 6.0, 5.0, 12.0, 3.0, 4.0, 7.0, 8.0, 21.0, 32.0]
    );
    assert_eq!(r::product(&a, &b), [5.0, 12.0, 21.0, 32.0]);
}

#[test]
fn synergy_gradients_match_finite_differences() {
    let cols = 3;
    let inputs = vec![random(9, -1.0, 1.0, 30), random(9, -1.0, 1.0, 31)];

    let dp = random(9, -1.0, 1.0, 32);
    let (da, db) = r::product_backward(&dp, &inputs[0], &inputs[1]);
    let loss = |x: &[Vec<f32>]| dot(&dp, &r::product(&x[0], &x[1]));
    check_gradients(loss, &inputs, &[da, db]);

    let ds = random(27, -1.0, 1.0, 33);
    let (da, db) = r::synergy_features_backward(&ds, &inputs[0], &inputs[1], cols);
    let loss = |x: &[Vec<f32>]| dot(&ds, &r::synergy_features(&x[0], &x[1], cols));
    check_gradients(loss, &inputs, &[da, db]);
}
