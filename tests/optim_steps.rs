//! Optimizer steps against hand-computed values, the skipping and non-finite rules, the
//! learning-rate schedules and gradient clipping.
//!
//! Every optimizer test starts from p = [1, -2] and feeds the fixed gradient g = [0.5, 0.25]
//! at each step (the gradient of `sum(p * g)`). The expected values were worked out step by
//! step in python3 (f64) from the update rules written in each test; f32 arithmetic agrees
//! to about 1e-6.

use dmil::optim::{
    clip_grad_norm, Adam, AdamConfig, Cosine, Optimizer, ReduceOnPlateau, Schedule, Sgd, SgdConfig,
    StepDecay,
};
use dmil::{Error, Tensor};

const G: [f32; 2] = [0.5, 0.25];

/// A fresh parameter p = [1, -2].
fn param() -> Tensor<f32> {
    Tensor::from_vec(vec![1.0, -2.0], [2])
        .unwrap()
        .requires_grad()
}

/// Replaces the gradient of `p` with `g`.
fn set_grad(p: &Tensor<f32>, g: &[f32]) {
    p.zero_grad();
    let g = Tensor::from_slice(g, [g.len()]).unwrap();
    (p * &g).sum_all().backward().unwrap();
}

/// Runs one step per row of `expected` with gradient G, checking p after each.
fn check_steps(opt: &mut dyn Optimizer, p: &Tensor<f32>, expected: &[[f64; 2]]) {
    for (step, want) in expected.iter().enumerate() {
        set_grad(p, &G);
        opt.step().unwrap();
        let got = p.to_vec();
        for (a, b) in got.iter().zip(want) {
            assert!(
                (f64::from(*a) - b).abs() <= 2e-6 * b.abs().max(1.0),
                "step {}: got {got:?}, expected {want:?}",
                step + 1
            );
        }
    }
}

#[test]
fn sgd_with_momentum_and_weight_decay() {
    // lr 0.1, mu 0.9, wd 0.01. d = g + wd p; b = d, then b = mu b + d; p -= lr b.
    // 1: d = (0.51, 0.23)          b = (0.51, 0.23)          p = (0.949, -2.023)
    // 2: d = (0.50949, 0.22977)    b = (0.96849, 0.43677)    p = (0.852151, -2.066677)
    // 3: d = (0.50852151, 0.22933323)
    //    b = (1.38016251, 0.62242623)                       p = (0.714134749, -2.128919623)
    let p = param();
    let config = SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        nesterov: false,
        weight_decay: 0.01,
    };
    let mut opt = Sgd::new(vec![p.clone()], config);
    let expected = [
        [0.949, -2.023],
        [0.852151, -2.066677],
        [0.714134749, -2.128919623],
    ];
    check_steps(&mut opt, &p, &expected);
}

#[test]
fn sgd_with_nesterov_momentum() {
    // As above, but p -= lr (d + mu b).
    // 1: d = (0.51, 0.23)        b = (0.51, 0.23)      p = (1 - 0.1 * 0.969, -2 - 0.1 * 0.437)
    //                                                    = (0.9031, -2.0437)
    // 2: d = (0.509031, 0.229563) b = (0.968031, 0.436563)   p = (0.76507411, -2.10594697)
    // 3: d = (0.5076507411, 0.2289405303)
    //    b = (1.3788786411, 0.6218472303)                    p = (0.590209958, -2.184807274)
    let p = param();
    let config = SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        nesterov: true,
        weight_decay: 0.01,
    };
    let mut opt = Sgd::new(vec![p.clone()], config);
    let expected = [
        [0.9031, -2.0437],
        [0.76507411, -2.10594697],
        [0.590209958, -2.184807274],
    ];
    check_steps(&mut opt, &p, &expected);
}

#[test]
fn plain_sgd_without_momentum() {
    // lr 0.5: p -= 0.5 g, twice: (0.75, -2.125), (0.5, -2.25).
    let p = param();
    let config = SgdConfig {
        lr: 0.5,
        momentum: 0.0,
        ..SgdConfig::default()
    };
    let mut opt = Sgd::new(vec![p.clone()], config);
    check_steps(&mut opt, &p, &[[0.75, -2.125], [0.5, -2.25]]);
}

#[test]
fn adam_with_l2_weight_decay() {
    // lr 0.1, betas (0.9, 0.999), eps 1e-8, wd 0.1 added to the gradient: g' = g + 0.1 p.
    // m = 0.9 m + 0.1 g'; v = 0.999 v + 0.001 g'^2;
    // p -= lr / (1 - 0.9^t) * m / (sqrt(v) / sqrt(1 - 0.999^t) + eps).
    // 1: g' = (0.6, 0.05); m / c1 = g', v / c2 = g'^2, so p -= 0.1 * g' / (|g'| + 1e-8):
    //    p = (0.9000000016666666, -2.09999998)
    // 2: g' = (0.5900000002, 0.040000002)  m = (0.113, 0.0085000002)
    //    v = (0.00070774, 0.0000040975)     p = (0.8000473405, -2.198812539)
    // 3: g' = (0.580004734, 0.0301187461)  m = (0.1597004734, 0.0106618748)
    //    v = (0.00104343775, 0.00000500054) p = (0.7001745748, -2.295128687)
    let p = param();
    let config = AdamConfig {
        lr: 0.1,
        weight_decay: 0.1,
        ..AdamConfig::default()
    };
    let mut opt = Adam::new(vec![p.clone()], config);
    let expected = [
        [0.9000000016666666, -2.09999998],
        [0.8000473405, -2.198812539],
        [0.7001745748, -2.295128687],
    ];
    check_steps(&mut opt, &p, &expected);
}

#[test]
fn adamw_decouples_weight_decay() {
    // lr 0.1, wd 0.1: p *= 1 - 0.1 * 0.1 first, then the Adam update with g itself.
    // 1: p = (0.99, -1.98) - 0.1 * sign(g) = (0.890000002, -2.079999996)
    // 2: p = 0.99 p - 0.1 * m_hat / (sqrt(v_hat) + eps), m = (0.095, 0.0475),
    //    v = (0.00049975, 0.0001249375):  p = (0.78110000398, -2.15919999204)
    // 3: m = (0.1355, 0.06775), v = (0.00074925025, 0.0001873125625):
    //    p = (0.67328900594, -2.23760798812)
    let p = param();
    let mut opt = Adam::new(vec![p.clone()], AdamConfig::adamw(0.1, 0.1));
    assert!(opt.config().decoupled_weight_decay);
    let expected = [
        [0.890000002, -2.079999996],
        [0.78110000398, -2.15919999204],
        [0.67328900594, -2.23760798812],
    ];
    check_steps(&mut opt, &p, &expected);
}

#[test]
fn optimizers_skip_parameters_without_gradient() {
    let (used, unused) = (param(), param());
    let mut opts: Vec<Box<dyn Optimizer>> = vec![
        Box::new(Sgd::new(
            vec![used.clone(), unused.clone()],
            SgdConfig::default(),
        )),
        Box::new(Adam::new(
            vec![used.clone(), unused.clone()],
            AdamConfig::default(),
        )),
    ];
    for opt in &mut opts {
        set_grad(&used, &G);
        opt.step().unwrap();
        assert_eq!(unused.to_vec(), [1.0, -2.0]);
        assert_ne!(used.to_vec(), [1.0, -2.0]);
        opt.zero_grad();
        assert!(used.grad().is_none());
    }
}

#[test]
fn non_finite_gradients_change_nothing() {
    let (a, b) = (param(), Tensor::<f32>::zeros([2, 3]).requires_grad());
    let mut opts: Vec<Box<dyn Optimizer>> = vec![
        Box::new(Sgd::new(vec![a.clone(), b.clone()], SgdConfig::default())),
        Box::new(Adam::new(vec![a.clone(), b.clone()], AdamConfig::default())),
    ];
    for opt in &mut opts {
        set_grad(&a, &G);
        b.zero_grad();
        let bad = Tensor::from_vec(vec![1.0, f32::NAN, 0.0, 0.0, f32::INFINITY, 0.0], [2, 3]);
        (&b * &bad.unwrap()).sum_all().backward().unwrap();

        let err = opt.step().unwrap_err();
        assert!(matches!(err, Error::NonFinite(_)), "{err}");
        let message = err.to_string();
        assert!(
            message.contains("parameter 1") && message.contains("[2, 3]"),
            "{message}"
        );
        assert_eq!(
            a.to_vec(),
            [1.0, -2.0],
            "the finite parameter must not move either"
        );
    }
}

#[test]
fn invalid_settings_are_errors_not_panics() {
    let p = param();
    set_grad(&p, &G);
    let bad_sgd = SgdConfig {
        nesterov: true,
        momentum: 0.0,
        ..SgdConfig::default()
    };
    assert!(Sgd::new(vec![p.clone()], bad_sgd).step().is_err());
    let bad_adam = AdamConfig {
        beta1: 1.0,
        ..AdamConfig::default()
    };
    assert!(Adam::new(vec![p.clone()], bad_adam).step().is_err());
    assert_eq!(p.to_vec(), [1.0, -2.0]);
}

#[test]
fn learning_rate_can_be_changed() {
    let p = param();
    let mut opt = Sgd::new(vec![p.clone()], SgdConfig::default());
    assert_eq!(opt.learning_rate(), 0.01);
    opt.set_learning_rate(0.5);
    assert_eq!(opt.learning_rate(), 0.5);
}

// ---- schedules ----

fn close(a: f32, b: f64) -> bool {
    (f64::from(a) - b).abs() <= 1e-6 * b.abs().max(1e-3)
}

#[test]
fn step_decay_values() {
    let mut s = StepDecay {
        step_size: 3,
        gamma: 0.5,
    };
    // 0.1 * 0.5^floor(e / 3).
    let got: Vec<f32> = [0, 2, 3, 5, 6, 9].map(|e| s.next_lr(e, 0.1, None)).to_vec();
    let want = [0.1, 0.1, 0.05, 0.05, 0.025, 0.0125];
    assert!(got.iter().zip(want).all(|(a, b)| close(*a, b)), "{got:?}");
}

#[test]
fn cosine_values() {
    let mut s = Cosine {
        total_epochs: 10,
        min_lr: 0.001,
    };
    // 0.001 + 0.099 (1 + cos(pi e / 10)) / 2: e = 0 -> 0.1; 5 -> 0.0505;
    // 10 -> 0.001; 2 -> 0.001 + 0.099 * 0.9045084972 = 0.0905463412; 20 -> 0.001.
    assert!(close(s.next_lr(0, 0.1, None), 0.1));
    assert!(close(s.next_lr(2, 0.1, None), 0.0905463412));
    assert!(close(s.next_lr(5, 0.1, None), 0.0505));
    assert!(close(s.next_lr(10, 0.1, None), 0.001));
    assert!(close(s.next_lr(20, 0.1, None), 0.001));
}

#[test]
fn plateau_reduces_after_patience() {
    let mut s = ReduceOnPlateau::new(0.5, 2, 0.01, 1e-4).unwrap();
    // Improving, then flat: the third bad epoch in a row (more than patience 2) halves the rate.
    let metrics = [1.0, 0.9, 0.9, 0.95, 0.9];
    let lrs: Vec<f32> = metrics
        .iter()
        .enumerate()
        .map(|(e, &m)| s.next_lr(e, 0.1, Some(m)))
        .collect();
    assert_eq!(lrs, [0.1, 0.1, 0.1, 0.1, 0.05]);
    assert_eq!(s.best(), Some(0.9));

    // Another three bad epochs: 0.025, then the floor min_lr = 0.01 holds.
    let later: Vec<f32> = (5..11).map(|e| s.next_lr(e, 0.1, Some(1.0))).collect();
    assert_eq!(later, [0.05, 0.05, 0.025, 0.025, 0.025, 0.0125]);
    let floor: Vec<f32> = (11..14).map(|e| s.next_lr(e, 0.1, Some(1.0))).collect();
    assert_eq!(floor, [0.0125, 0.0125, 0.01]);

    // No metric: no change, no count.
    assert_eq!(s.next_lr(14, 0.1, None), 0.01);
    assert!(ReduceOnPlateau::new(1.5, 2, 0.0, 1e-4).is_err());
}

// ---- gradient clipping ----

fn global_norm(params: &[Tensor<f32>]) -> f64 {
    params
        .iter()
        .filter_map(Tensor::grad)
        .flat_map(|g| g.to_vec())
        .map(|v| f64::from(v) * f64::from(v))
        .sum::<f64>()
        .sqrt()
}

#[test]
fn clipping_scales_to_max_norm() {
    let (a, b) = (param(), Tensor::<f32>::zeros([3]).requires_grad());
    set_grad(&a, &[3.0, 0.0]);
    set_grad(&b, &[0.0, 4.0, 12.0]);
    let params = [a.clone(), b.clone()];
    // sqrt(9 + 16 + 144) = 13.
    let before = clip_grad_norm(&params, 1.0).unwrap();
    assert!((before - 13.0).abs() < 1e-5);
    assert!((global_norm(&params) - 1.0).abs() < 1e-5);
    let ga = a.grad().unwrap().to_vec();
    assert!((ga[0] - 3.0 / 13.0).abs() < 1e-6, "{ga:?}");
}

#[test]
fn clipping_below_the_limit_changes_nothing() {
    let p = param();
    set_grad(&p, &[0.3, 0.4]);
    let norm = clip_grad_norm(std::slice::from_ref(&p), 1.0).unwrap();
    assert!((norm - 0.5).abs() < 1e-6);
    assert_eq!(p.grad().unwrap().to_vec(), [0.3, 0.4]);
}

#[test]
fn clipping_scales_a_shared_gradient_buffer_once() {
    // The backward pass of `2 (a + b)` hands a and b one buffer (checked with Arc::ptr_eq
    // on the engine of commit ab05246); each gradient must still end up scaled exactly once.
    let (a, b) = (param(), param());
    ((&a + &b) * 2.0).sum_all().backward().unwrap();
    let params = [a.clone(), b.clone()];
    // Each gradient is (2, 2): norm sqrt(16) = 4.
    let norm = clip_grad_norm(&params, 2.0).unwrap();
    assert!((norm - 4.0).abs() < 1e-6);
    for p in &params {
        let g = p.grad().unwrap().to_vec();
        assert!(g.iter().all(|v| (v - 1.0).abs() < 1e-5), "{g:?}");
    }
}

#[test]
fn clipping_rejects_bad_limits_and_non_finite_norms() {
    let p = param();
    set_grad(&p, &[f32::NAN, 1.0]);
    assert!(matches!(
        clip_grad_norm(std::slice::from_ref(&p), 1.0),
        Err(Error::NonFinite(_))
    ));
    assert!(clip_grad_norm(std::slice::from_ref(&p), 0.0).is_err());
    assert!(clip_grad_norm(std::slice::from_ref(&p), f32::NAN).is_err());
}
