//! Trains a 2-8-1 multilayer perceptron on XOR with the engine alone: no layers module, just
//! tensors, autodiff and a hand-written gradient step. The loss should fall to near zero.
//!
//! Run: `cargo run --release --example xor`

use dmil::autograd::no_grad;
use dmil::Tensor;

fn main() -> dmil::Result<()> {
    let inputs = Tensor::<f32>::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.], [4, 2])?;
    let targets = Tensor::<f32>::from_vec(vec![0., 1., 1., 0.], [4, 1])?;

    let w1 = (Tensor::randn([2, 8], 1) * 0.9).requires_grad();
    let b1 = Tensor::zeros([8]).requires_grad();
    let w2 = (Tensor::randn([8, 1], 2) * 0.5).requires_grad();
    let b2 = Tensor::zeros([1]).requires_grad();
    let params = [&w1, &b1, &w2, &b2];
    let learning_rate = 0.5;

    for step in 0..=2000 {
        let hidden = (inputs.matmul(&w1) + &b1).tanh();
        let logits = hidden.matmul(&w2) + &b2;

        // Binary cross-entropy from logits: softplus(z) - y z, stable for any z.
        let loss = (logits.softplus() - &targets * &logits).mean_all();
        loss.backward()?;

        no_grad(|| -> dmil::Result<()> {
            for p in params {
                let grad = p.grad().expect("every parameter takes part in the loss");
                let updated = p - &(grad * learning_rate);
                p.assign(&updated.to_vec())?;
                p.zero_grad();
            }
            Ok(())
        })?;

        if step % 250 == 0 {
            println!("step {step:>4}  loss {:.6}", loss.item());
        }
    }

    let predictions = no_grad(|| ((inputs.matmul(&w1) + &b1).tanh().matmul(&w2) + &b2).sigmoid());
    println!("predictions for 00, 01, 10, 11: {:?}", predictions.to_vec());
    Ok(())
}
