//! Property tests: the gradients of the losses, of the reparameterized sample and of
//! training-mode batch normalisation against central finite differences in f64.

mod nn_support;

use dmil::nn::{batch_norm_train, cross_entropy, kl_gaussians, kl_standard_normal, mse, Reduction};
use dmil::Tensor;
use nn_support::{check_gradients, weighted_sum};
use proptest::prelude::*;

/// Values of a tensor of `dims`, each in `lo..hi`.
fn tensor(dims: Vec<usize>, lo: f64, hi: f64) -> impl Strategy<Value = Tensor<f64>> {
    let n: usize = dims.iter().product();
    prop::collection::vec(lo..hi, n).prop_map(move |v| Tensor::from_vec(v, dims.clone()).unwrap())
}

/// A shape of rank 1 to 3 with sizes 1 to 4.
fn shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..5, 1..4)
}

/// Any reduction.
fn reduction() -> impl Strategy<Value = Reduction> {
    prop_oneof![
        Just(Reduction::Mean),
        Just(Reduction::Sum),
        Just(Reduction::BatchMean)
    ]
}

/// Logits [B, C] in -5..5 with B labels below C.
fn classification() -> impl Strategy<Value = (Tensor<f64>, Vec<usize>)> {
    (1usize..6, 1usize..6).prop_flat_map(|(b, c)| {
        (
            tensor(vec![b, c], -5.0, 5.0),
            prop::collection::vec(0..c, b),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn cross_entropy_gradient((logits, labels) in classification()) {
        check_gradients(&[logits], |x| cross_entropy(&x[0], &labels, None).unwrap());
    }

    #[test]
    fn weighted_cross_entropy_gradient(
        (logits, labels, weights) in classification().prop_flat_map(|(logits, labels)| {
            let c = logits.dims()[1];
            (Just(logits), Just(labels), prop::collection::vec(0.1f64..3.0, c))
        })
    ) {
        check_gradients(&[logits], |x| {
            cross_entropy(&x[0], &labels, Some(&weights)).unwrap()
        });
    }

    #[test]
    fn mse_gradient(
        (pred, target) in shape().prop_flat_map(|s| {
            (tensor(s.clone(), -3.0, 3.0), tensor(s, -3.0, 3.0))
        }),
        reduction in reduction(),
    ) {
        check_gradients(&[pred, target], |x| mse(&x[0], &x[1], reduction).unwrap());
    }

    #[test]
    fn kl_standard_normal_gradient(
        (mu, logvar) in shape().prop_flat_map(|s| {
            (tensor(s.clone(), -3.0, 3.0), tensor(s, -4.0, 4.0))
        }),
        reduction in reduction(),
    ) {
        check_gradients(&[mu, logvar], |x| {
            kl_standard_normal(&x[0], &x[1], reduction).unwrap()
        });
    }

    #[test]
    fn kl_gaussians_gradient(
        inputs in shape().prop_flat_map(|s| {
            (
                tensor(s.clone(), -3.0, 3.0),
                tensor(s.clone(), -4.0, 4.0),
                tensor(s.clone(), -3.0, 3.0),
                tensor(s, -4.0, 4.0),
            )
        }),
        reduction in reduction(),
    ) {
        let (mu_q, lv_q, mu_p, lv_p) = inputs;
        check_gradients(&[mu_q, lv_q, mu_p, lv_p], |x| {
            kl_gaussians(&x[0], &x[1], &x[2], &x[3], reduction).unwrap()
        });
    }

    /// `mu + exp(logvar / 2) * eps` with a fixed noise draw, as the Gaussian heads sample.
    #[test]
    fn reparameterized_sample_gradient(
        (mu, logvar, eps, weights) in shape().prop_flat_map(|s| {
            (
                tensor(s.clone(), -3.0, 3.0),
                tensor(s.clone(), -4.0, 4.0),
                tensor(s.clone(), -2.0, 2.0),
                tensor(s, -1.0, 1.0),
            )
        })
    ) {
        check_gradients(&[mu, logvar], |x| {
            let sample = &x[0] + &((&x[1] * 0.5).exp() * &eps);
            weighted_sum(&sample, &weights)
        });
    }

    #[test]
    fn batch_norm_train_gradient(
        (x, weight, bias, out_weights) in (2usize..6, 1usize..4).prop_flat_map(|(b, f)| {
            (
                tensor(vec![b, f], -3.0, 3.0),
                tensor(vec![f], 0.5, 2.0),
                tensor(vec![f], -1.0, 1.0),
                tensor(vec![b, f], -1.0, 1.0),
            )
        })
    ) {
        // Keep away from nearly constant columns, where 1 / std explodes and finite
        // differences lose their precision.
        let spread_ok = (0..x.dims()[1]).all(|j| {
            let column: Vec<f64> = x.narrow(1, j, 1).to_vec();
            let mean = column.iter().sum::<f64>() / column.len() as f64;
            column.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / column.len() as f64 > 0.1
        });
        prop_assume!(spread_ok);

        check_gradients(&[x, weight, bias], |t| {
            let y = batch_norm_train(&t[0], &t[1], &t[2], 1e-5).unwrap();
            weighted_sum(&y, &out_weights)
        });
    }
}

#[test]
fn gradient_check_catches_a_wrong_gradient() {
    // The checker itself must be able to fail: detach cuts the gradient of one path, so the
    // analytic gradient (x) differs from the true one (2x).
    let x = Tensor::<f64>::from_vec(vec![1.5, -0.5], [2]).unwrap();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        check_gradients(&[x], |t| (&t[0] * &t[0].detach()).sum_all());
    }));
    assert!(outcome.is_err());
}
