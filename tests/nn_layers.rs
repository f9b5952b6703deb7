//! Values, errors and edge cases of the losses, Dropout and BatchNorm1d.

use dmil::nn::{
    cross_entropy, kl_gaussians, kl_standard_normal, mse, BatchNorm1d, Dropout, Module, Reduction,
    LOGVAR_RANGE,
};
use dmil::{Error, Tensor};

fn t32(values: &[f32], dims: &[usize]) -> Tensor<f32> {
    Tensor::from_slice(values, dims.to_vec()).unwrap()
}

fn t64(values: &[f64], dims: &[usize]) -> Tensor<f64> {
    Tensor::from_slice(values, dims.to_vec()).unwrap()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

fn all_finite(t: &Tensor<f32>) -> bool {
    t.to_vec().iter().all(|v| v.is_finite())
}

// ---- losses: values worked out in python3 with the math module ----

#[test]
fn cross_entropy_matches_hand_computed_values() {
    let logits = t64(&[1.0, 2.0, 3.0, 1.0, 0.0, 0.0], &[2, 3]);
    // l0 = ln(e + e^2 + e^3) - 3 = 0.40760596444438013, l1 = ln(e + 2) - 1 = 0.5514447139320509.
    let plain = cross_entropy(&logits, &[2, 0], None).unwrap().item();
    assert!(close(plain, 0.4795253391882155, 1e-12), "{plain}");

    // Weights [2, 1, 0.5]: (0.5 l0 + 2 l1) / (0.5 + 2) = 0.5226769640345167.
    let weighted = cross_entropy(&logits, &[2, 0], Some(&[2.0, 1.0, 0.5]))
        .unwrap()
        .item();
    assert!(close(weighted, 0.5226769640345167, 1e-12), "{weighted}");
}

#[test]
fn cross_entropy_is_finite_for_huge_logits() {
    let logits = t32(&[1e4, -1e4, 0.0, -1e4, 1e4, 0.0], &[2, 3]).requires_grad();
    let loss = cross_entropy(&logits, &[1, 0], None).unwrap();
    assert!(loss.item().is_finite());
    assert!((loss.item() - 2e4).abs() < 1.0);
    loss.backward().unwrap();
    assert!(all_finite(&logits.grad().unwrap()));
}

#[test]
fn cross_entropy_rejects_bad_inputs() {
    let logits = t32(&[0.0; 6], &[2, 3]);
    let out_of_range = cross_entropy(&logits, &[0, 3], None).unwrap_err();
    assert!(
        out_of_range.to_string().contains("label 3"),
        "{out_of_range}"
    );
    assert!(matches!(
        cross_entropy(&logits, &[0], None),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        cross_entropy(&t32(&[0.0; 6], &[6]), &[0; 6], None),
        Err(Error::InvalidShape { .. })
    ));
    assert!(cross_entropy(&logits, &[0, 1], Some(&[1.0, 2.0])).is_err());
    assert!(cross_entropy(&logits, &[0, 1], Some(&[1.0, f32::NAN, 1.0])).is_err());
    assert!(cross_entropy(&logits, &[0, 0], Some(&[0.0, 1.0, 1.0])).is_err());
}

#[test]
fn mse_reductions_and_shape_check() {
    let pred = t64(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let target = t64(&[0.0, 0.0, 1.0, 1.0], &[2, 2]);
    // Squares 1, 4, 4, 9: sum 18, mean 4.5, batch-mean 18 / 2 = 9.
    assert_eq!(mse(&pred, &target, Reduction::Sum).unwrap().item(), 18.0);
    assert_eq!(mse(&pred, &target, Reduction::Mean).unwrap().item(), 4.5);
    assert_eq!(
        mse(&pred, &target, Reduction::BatchMean).unwrap().item(),
        9.0
    );

    let column = t64(&[0.0, 0.0], &[2, 1]);
    let err = mse(&pred, &column, Reduction::Mean).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
    assert!(mse(&t64(&[], &[0]), &t64(&[], &[0]), Reduction::BatchMean).is_err());
}

#[test]
fn kl_losses_match_hand_computed_values() {
    let mu = t64(&[0.5, -1.0], &[1, 2]);
    let logvar = t64(&[0.2, -0.3], &[1, 2]);
    // 0.5 (e^0.2 + 0.25 - 1 - 0.2) = 0.13570137908008492,
    // 0.5 (e^-0.3 + 1 - 1 + 0.3) = 0.5204091103408589.
    let sum = kl_standard_normal(&mu, &logvar, Reduction::Sum)
        .unwrap()
        .item();
    assert!(close(sum, 0.6561104894209439, 1e-12), "{sum}");

    // KL(N(0.5, e^0.2) || N(-0.25, e^0.7)) = 0.1929299465476506.
    let q = (t64(&[0.5], &[1]), t64(&[0.2], &[1]));
    let p = (t64(&[-0.25], &[1]), t64(&[0.7], &[1]));
    let kl = kl_gaussians(&q.0, &q.1, &p.0, &p.1, Reduction::Mean)
        .unwrap()
        .item();
    assert!(close(kl, 0.1929299465476506, 1e-12), "{kl}");

    // A distribution has no divergence from itself.
    let zero = kl_gaussians(&q.0, &q.1, &q.0, &q.1, Reduction::Sum)
        .unwrap()
        .item();
    assert!(zero.abs() < 1e-15);
}

#[test]
fn kl_standard_normal_is_finite_for_log_variances_of_plus_minus_50() {
    let mu = t32(&[0.5, -2.0, 1.0, 0.0], &[2, 2]).requires_grad();
    let logvar = t32(&[50.0, -50.0, 0.0, 50.0], &[2, 2]).requires_grad();
    for reduction in [Reduction::Mean, Reduction::Sum, Reduction::BatchMean] {
        let loss = kl_standard_normal(&mu, &logvar, reduction).unwrap();
        assert!(loss.item().is_finite(), "{reduction:?}: {}", loss.item());
        loss.backward().unwrap();
        assert!(all_finite(&mu.grad().unwrap()));
        assert!(all_finite(&logvar.grad().unwrap()));
        mu.zero_grad();
        logvar.zero_grad();
    }

    // The value at +-50 is the value at the bounds of LOGVAR_RANGE.
    let (lo, hi) = (LOGVAR_RANGE.0 as f32, LOGVAR_RANGE.1 as f32);
    let clamped = t32(&[hi, lo, 0.0, hi], &[2, 2]);
    let a = kl_standard_normal(&mu, &logvar, Reduction::Sum)
        .unwrap()
        .item();
    let b = kl_standard_normal(&mu, &clamped, Reduction::Sum)
        .unwrap()
        .item();
    assert_eq!(a, b);
}

#[test]
fn kl_gaussians_is_finite_for_log_variances_of_plus_minus_50() {
    let mu_q = t32(&[0.5, -2.0, 1.0, 3.0], &[2, 2]).requires_grad();
    let mu_p = t32(&[-0.5, 2.0, 1.0, -3.0], &[2, 2]).requires_grad();
    let lv_q = t32(&[50.0, -50.0, 50.0, -50.0], &[2, 2]).requires_grad();
    let lv_p = t32(&[-50.0, 50.0, 50.0, -50.0], &[2, 2]).requires_grad();
    for reduction in [Reduction::Mean, Reduction::Sum, Reduction::BatchMean] {
        let loss = kl_gaussians(&mu_q, &lv_q, &mu_p, &lv_p, reduction).unwrap();
        assert!(loss.item().is_finite(), "{reduction:?}: {}", loss.item());
        loss.backward().unwrap();
        for t in [&mu_q, &lv_q, &mu_p, &lv_p] {
            assert!(all_finite(&t.grad().unwrap()), "{reduction:?}");
            t.zero_grad();
        }
    }
}

#[test]
fn kl_losses_check_shapes() {
    let a = t32(&[0.0; 4], &[2, 2]);
    let b = t32(&[0.0; 2], &[2]);
    assert!(matches!(
        kl_standard_normal(&a, &b, Reduction::Mean),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(kl_gaussians(&a, &a, &a, &b, Reduction::Mean).is_err());
}

// ---- Dropout ----

#[test]
fn dropout_scales_kept_values_and_drops_about_p() {
    let dropout = Dropout::new(0.25, 7).unwrap();
    let x = Tensor::<f32>::ones([100, 100]);
    let y = dropout.forward(&x).to_vec();
    let zeros = y.iter().filter(|&&v| v == 0.0).count();
    assert!((2300..2700).contains(&zeros), "{zeros} zeros of 10000");
    assert!(y.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6));
    let mean = y.iter().sum::<f32>() / y.len() as f32;
    assert!((mean - 1.0).abs() < 0.05, "{mean}");
}

#[test]
fn dropout_is_reproducible_and_identity_in_eval() {
    let x = Tensor::<f32>::randn([8, 16], 3);
    let (a, b) = (
        Dropout::new(0.5, 11).unwrap(),
        Dropout::new(0.5, 11).unwrap(),
    );
    let first = a.forward(&x).to_vec();
    assert_eq!(first, b.forward(&x).to_vec());
    assert_ne!(first, a.forward(&x).to_vec(), "each call draws a new mask");

    a.set_training(false);
    assert_eq!(a.forward(&x).to_vec(), x.to_vec());
    assert!(a.named_parameters().is_empty());
}

#[test]
fn dropout_drops_what_one_uniform_draw_per_element_drops() {
    use rand::{Rng, SeedableRng};

    // The mask is drawn in bulk; it must drop exactly the elements whose uniform draw from
    // the same seeded stream, one per element in order, falls below p.
    for (p, seed, len) in [
        (0.5f32, 3u64, 1000usize),
        (0.1, 9, 77),
        (0.3, 1, 1),
        (0.9, 4, 513),
    ] {
        let dropout = Dropout::new(p, seed).unwrap();
        let y = dropout.forward(&Tensor::<f32>::ones([len])).to_vec();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        for (i, v) in y.iter().enumerate() {
            let dropped = rng.random::<f32>() < p;
            assert_eq!(*v == 0.0, dropped, "element {i} of {len} at p = {p}");
        }
    }
}

#[test]
fn dropout_gradient_is_the_mask() {
    let dropout = Dropout::new(0.5, 5).unwrap();
    let x = Tensor::<f32>::full([4, 8], 2.0).requires_grad();
    let y = dropout.forward(&x);
    y.sum_all().backward().unwrap();
    let grad = x.grad().unwrap().to_vec();
    for (g, v) in grad.iter().zip(y.to_vec()) {
        // y = 2 * mask, and dy/dx = mask.
        assert_eq!(*g, v / 2.0);
    }
}

#[test]
fn dropout_rejects_bad_probabilities() {
    for p in [-0.1, 1.0, f32::NAN] {
        assert!(matches!(
            Dropout::new(p, 0),
            Err(Error::InvalidArgument { .. })
        ));
    }
    assert!(Dropout::new(0.0, 0).is_ok());
}

// ---- BatchNorm1d ----

#[test]
fn batchnorm_training_normalises_and_updates_running_statistics() {
    let bn = BatchNorm1d::new(2);
    // Columns (1, 3) and (2, 6): means 2 and 4, biased variances 1 and 4, unbiased 2 and 8.
    let x = t32(&[1.0, 2.0, 3.0, 6.0], &[2, 2]);
    let y = bn.forward(&x).unwrap().to_vec();
    let s1 = 1.0 / (1.0f32 + 1e-5).sqrt();
    let s2 = 2.0 / (4.0f32 + 1e-5).sqrt();
    let expected = [-s1, -s2, s1, s2];
    for (a, b) in y.iter().zip(expected) {
        assert!((a - b).abs() < 1e-6, "{y:?}");
    }

    // running_mean = 0.9 * 0 + 0.1 * (2, 4); running_var = 0.9 * 1 + 0.1 * (2, 8).
    let mean = bn.running_mean().to_vec();
    let var = bn.running_var().to_vec();
    assert!(
        (mean[0] - 0.2).abs() < 1e-6 && (mean[1] - 0.4).abs() < 1e-6,
        "{mean:?}"
    );
    assert!(
        (var[0] - 1.1).abs() < 1e-6 && (var[1] - 1.7).abs() < 1e-6,
        "{var:?}"
    );
}

#[test]
fn batchnorm_eval_uses_running_statistics() {
    let bn = BatchNorm1d::new(2);
    bn.forward(&t32(&[1.0, 2.0, 3.0, 6.0], &[2, 2])).unwrap();
    bn.set_training(false);
    let before = (bn.running_mean().to_vec(), bn.running_var().to_vec());

    // One sample is fine in evaluation: (x - 0.2) / sqrt(1.1 + eps), (x - 0.4) / sqrt(1.7 + eps).
    let y = bn.forward(&t32(&[1.2, 0.4], &[1, 2])).unwrap().to_vec();
    assert!((y[0] - 1.0 / (1.1f32 + 1e-5).sqrt()).abs() < 1e-5, "{y:?}");
    assert!(y[1].abs() < 1e-6);
    assert_eq!(
        before,
        (bn.running_mean().to_vec(), bn.running_var().to_vec())
    );
}

#[test]
fn batchnorm_names_and_errors() {
    let bn = BatchNorm1d::new(3);
    let params: Vec<String> = bn.named_parameters().into_iter().map(|(n, _)| n).collect();
    let buffers: Vec<String> = bn.named_buffers().into_iter().map(|(n, _)| n).collect();
    assert_eq!(params, ["weight", "bias"]);
    assert_eq!(buffers, ["running_mean", "running_var"]);

    let wrong_width = bn.forward(&Tensor::zeros([4, 2])).unwrap_err();
    assert!(
        wrong_width.to_string().contains("[batch, 3]"),
        "{wrong_width}"
    );
    assert!(matches!(
        bn.forward(&Tensor::zeros([1, 3])),
        Err(Error::InvalidShape { .. })
    ));
    assert!(BatchNorm1d::with_options(3, 1.5, 1e-5).is_err());
    assert!(BatchNorm1d::with_options(3, 0.1, 0.0).is_err());
}

#[test]
fn frozen_batchnorm_keeps_running_statistics_even_in_training_mode() {
    let bn = BatchNorm1d::new(2);
    let x = t32(&[1.0, 2.0, 3.0, 6.0, -1.0, 0.5], &[3, 2]);
    bn.freeze(true);
    // A parent switching the whole model back to training must not thaw the statistics.
    bn.set_training(true);
    assert!(!bn.uses_batch_statistics());
    bn.forward(&x).unwrap();
    assert_eq!(bn.running_mean().to_vec(), [0.0, 0.0]);
    assert_eq!(bn.running_var().to_vec(), [1.0, 1.0]);

    bn.freeze(false);
    bn.forward(&x).unwrap();
    assert_ne!(bn.running_mean().to_vec(), [0.0, 0.0]);
}
