//! Shared helpers of the `nn_*`, `optim_*` and `checkpoint_*` tests: a central-finite-
//! difference gradient check in f64, and a small model with parameters and buffers.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use dmil::autograd::no_grad;
use dmil::nn::{child_prefix, Activation, BatchNorm1d, Linear, Mlp, Module};
use dmil::{Result, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Step of the central differences, relative to the size of the input.
const STEP: f64 = 1e-6;

/// Largest accepted difference between analytic and numeric derivatives, relative to the
/// larger of them when that exceeds 1, absolute otherwise.
pub const TOLERANCE: f64 = 1e-6;

/// Checks the gradient of the scalar `f(inputs)` with respect to every input against
/// central finite differences, and that each gradient has its input's shape. Inputs that
/// get no gradient count as a zero gradient.
///
/// # Panics
/// On the first derivative out of tolerance, naming the input, element and both values.
pub fn check_gradients(inputs: &[Tensor<f64>], f: impl Fn(&[Tensor<f64>]) -> Tensor<f64>) {
    let leaves: Vec<Tensor<f64>> = inputs.iter().map(Tensor::requires_grad).collect();
    let y = f(&leaves);
    assert_eq!(y.numel(), 1, "the checked function must return a scalar");
    y.backward().expect("backward");

    for (k, (input, leaf)) in inputs.iter().zip(&leaves).enumerate() {
        let analytic = match leaf.grad() {
            Some(g) => {
                assert_eq!(g.dims(), input.dims(), "gradient shape of input {k}");
                g.to_vec()
            }
            None => vec![0.0; input.numel()],
        };

        let base = input.to_vec();
        for j in 0..base.len() {
            let h = STEP * base[j].abs().max(1.0);
            let at = |delta: f64| {
                let mut moved = base.clone();
                moved[j] += delta;
                let mut args = inputs.to_vec();
                args[k] = Tensor::from_vec(moved, input.shape().clone()).unwrap();
                no_grad(|| f(&args).item())
            };
            let numeric = (at(h) - at(-h)) / (2.0 * h);
            let a = analytic[j];
            let scale = a.abs().max(numeric.abs()).max(1.0);
            assert!(
                (a - numeric).abs() <= TOLERANCE * scale,
                "input {k} {:?}, element {j}: analytic {a}, numeric {numeric}",
                input.dims()
            );
        }
    }
}

/// `sum(y * weights)` for fixed weights: reduces a tensor-valued function to a scalar whose
/// gradient checks the whole vector-Jacobian product.
pub fn weighted_sum(y: &Tensor<f64>, weights: &Tensor<f64>) -> Tensor<f64> {
    (y * weights).sum_all()
}

/// An encoder MLP, a BatchNorm over its output and a linear head: parameters named
/// `encoder.0.weight`, ..., `norm.weight`, `head.bias`, and buffers `norm.running_mean`,
/// `norm.running_var`.
pub struct Net {
    pub encoder: Mlp,
    pub norm: BatchNorm1d,
    pub head: Linear,
}

impl Net {
    /// `inputs -> hidden -> hidden` (ReLU after each), BatchNorm, `hidden -> outputs`, with
    /// every initial value drawn from `seed`.
    pub fn new(inputs: usize, hidden: usize, outputs: usize, seed: u64) -> Net {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Net {
            encoder: Mlp::new(&[inputs, hidden, hidden], Activation::Relu, true, &mut rng)
                .expect("valid widths"),
            norm: BatchNorm1d::new(hidden),
            head: Linear::new(hidden, outputs, &mut rng),
        }
    }

    /// Logits for `x` [B, inputs].
    pub fn forward(&self, x: &Tensor<f32>) -> Result<Tensor<f32>> {
        let h = self.encoder.try_forward(x)?;
        let h = self.norm.forward(&h)?;
        self.head.try_forward(&h)
    }
}

impl Module for Net {
    fn visit_parameters(&self, prefix: &str, visit: &mut dyn FnMut(String, &Tensor<f32>)) {
        self.encoder
            .visit_parameters(&child_prefix(prefix, "encoder"), visit);
        self.norm
            .visit_parameters(&child_prefix(prefix, "norm"), visit);
        self.head
            .visit_parameters(&child_prefix(prefix, "head"), visit);
    }

    fn visit_buffers(&self, prefix: &str, visit: &mut dyn FnMut(String, &Tensor<f32>)) {
        self.norm
            .visit_buffers(&child_prefix(prefix, "norm"), visit);
    }

    fn set_training(&self, training: bool) {
        self.norm.set_training(training);
    }
}

/// Every parameter and buffer of `module` with its values, in visiting order.
pub fn snapshot(module: &dyn Module) -> Vec<(String, Vec<f32>)> {
    let mut all = module.named_parameters();
    all.extend(module.named_buffers());
    all.into_iter()
        .map(|(name, t)| (name, t.to_vec()))
        .collect()
}
