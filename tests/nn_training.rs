//! End to end: layers, losses and optimizers training together. Reproducibility bit for bit,
//! a small classification problem learned, and freezing.

mod nn_support;

use dmil::autograd::no_grad;
use dmil::nn::{cross_entropy, Activation, Dropout, Mlp, Module};
use dmil::optim::{Adam, AdamConfig, Optimizer};
use dmil::Tensor;
use nn_support::{snapshot, Net};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// `n` points per class from two Gaussian blobs with unit noise around (-2, -2) (class 0)
/// and (2, 2) (class 1), the classes alternating row by row. The Bayes
/// error is Phi(-2 sqrt 2), about 0.23 %.
fn blobs(n: usize, seed: u64) -> (Tensor<f32>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noise = Normal::new(0.0f32, 1.0).unwrap();
    let (mut x, mut y) = (Vec::with_capacity(4 * n), Vec::with_capacity(2 * n));
    for _ in 0..n {
        for (class, centre) in [(0, -2.0), (1, 2.0)] {
            x.push(centre + noise.sample(&mut rng));
            x.push(centre + noise.sample(&mut rng));
            y.push(class);
        }
    }
    (Tensor::from_vec(x, [2 * n, 2]).unwrap(), y)
}

/// 20 Adam steps of an MLP with dropout on a fixed batch, everything seeded by `seed`;
/// returns every named parameter's values.
fn train_twenty_steps(seed: u64) -> Vec<(String, Vec<f32>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mlp = Mlp::new(&[2, 16, 16, 2], Activation::Relu, false, &mut rng).unwrap();
    let dropout = Dropout::new(0.2, seed).unwrap();
    let (x, y) = blobs(16, seed);
    let mut opt = Adam::new(mlp.parameters(), AdamConfig::default());
    for _ in 0..20 {
        let logits = mlp.forward(&dropout.forward(&x));
        cross_entropy(&logits, &y, None)
            .unwrap()
            .backward()
            .unwrap();
        opt.step().unwrap();
        opt.zero_grad();
    }
    mlp.named_parameters()
        .into_iter()
        .map(|(name, t)| (name, t.to_vec()))
        .collect()
}

#[test]
fn same_seed_gives_the_same_parameters_bit_for_bit() {
    let (a, b) = (train_twenty_steps(7), train_twenty_steps(7));
    assert_eq!(a.len(), 6);
    for ((name, va), (_, vb)) in a.iter().zip(&b) {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(va), bits(vb), "{name}");
    }
    assert_ne!(
        a,
        train_twenty_steps(8),
        "another seed must give other parameters"
    );
}

/// Fraction of `x`'s rows whose largest logit is at the label.
fn accuracy(logits: &Tensor<f32>, labels: &[usize]) -> f64 {
    let classes = logits.dims()[1];
    let values = logits.to_vec();
    let correct = labels
        .iter()
        .enumerate()
        .filter(|&(i, &y)| {
            let row = &values[i * classes..(i + 1) * classes];
            (0..classes).all(|c| row[c] <= row[y])
        })
        .count();
    correct as f64 / labels.len() as f64
}

#[test]
fn an_mlp_learns_two_gaussian_blobs() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mlp = Mlp::new(&[2, 16, 2], Activation::Relu, false, &mut rng).unwrap();
    let (train_x, train_y) = blobs(200, 1);
    let (test_x, test_y) = blobs(200, 2);

    let mut opt = Adam::new(
        mlp.parameters(),
        AdamConfig {
            lr: 0.01,
            ..Default::default()
        },
    );
    let mut first_loss = None;
    let mut last_loss = 0.0;
    for _ in 0..150 {
        let loss = cross_entropy(&mlp.forward(&train_x), &train_y, None).unwrap();
        last_loss = loss.item();
        first_loss.get_or_insert(last_loss);
        loss.backward().unwrap();
        opt.step().unwrap();
        opt.zero_grad();
    }

    let test_accuracy = no_grad(|| accuracy(&mlp.forward(&test_x), &test_y));
    assert!(test_accuracy > 0.95, "test accuracy {test_accuracy}");
    assert!(
        last_loss < 0.5 * first_loss.unwrap(),
        "{first_loss:?} -> {last_loss}"
    );
}

#[test]
fn frozen_parts_stay_fixed_while_the_rest_trains() {
    let net = Net::new(2, 8, 2, 11);
    let (x, y) = blobs(32, 4);
    // One training pass so the running statistics are not at their initial values.
    net.forward(&x).unwrap();

    net.encoder.freeze(true);
    net.norm.freeze(true);
    // A trainer switches the whole model to training mode at the start of each epoch.
    net.set_training(true);

    let frozen_before = {
        let mut all = snapshot(&net.encoder);
        all.extend(snapshot(&net.norm));
        all
    };
    let head_before = snapshot(&net.head);

    let mut opt = Adam::new(
        net.parameters(),
        AdamConfig {
            lr: 0.01,
            ..Default::default()
        },
    );
    for _ in 0..10 {
        let loss = cross_entropy(&net.forward(&x).unwrap(), &y, None).unwrap();
        loss.backward().unwrap();
        opt.step().unwrap();
        opt.zero_grad();
    }

    let frozen_after = {
        let mut all = snapshot(&net.encoder);
        all.extend(snapshot(&net.norm));
        all
    };
    assert_eq!(
        frozen_before, frozen_after,
        "frozen parameters or running stats moved"
    );
    assert_ne!(
        head_before,
        snapshot(&net.head),
        "the head should have trained"
    );
    assert!(net.encoder.parameters().iter().all(|p| p.grad().is_none()));

    // Unfreezing resumes both training and the statistics.
    net.encoder.freeze(false);
    net.norm.freeze(false);
    let loss = cross_entropy(&net.forward(&x).unwrap(), &y, None).unwrap();
    loss.backward().unwrap();
    opt.step().unwrap();
    let mut all = snapshot(&net.encoder);
    all.extend(snapshot(&net.norm));
    assert_ne!(frozen_before, all);
}
