//! Shared helpers of the `nn_*` tests: a central-finite-difference gradient check in f64.

use dmil::autograd::no_grad;
use dmil::Tensor;

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
