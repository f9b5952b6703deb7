//! Engine behaviour that is not about gradients: element-wise kernels give the same values on
//! strided views as on contiguous copies, shape errors name the op and both shapes, and empty
//! tensors are contiguous.

mod common;

use common::{any_shape, broadcast_pair, cases, input, run, Domain};
use dmil::{Error, Tensor};
use proptest::prelude::*;

type Unary = fn(&Tensor<f64>) -> Tensor<f64>;
type Binary = fn(&Tensor<f64>, &Tensor<f64>) -> Tensor<f64>;

/// Every element-wise function of one tensor, with a domain where it is defined.
fn unary_ops() -> Vec<(&'static str, Unary)> {
    vec![
        ("neg", |x| x.neg()),
        ("add_scalar", |x| x.add_scalar(0.5)),
        ("mul_scalar", |x| x.mul_scalar(-1.5)),
        ("exp", |x| x.exp()),
        ("log", |x| x.abs().log()),
        ("sqrt", |x| x.abs().sqrt()),
        ("powf", |x| x.abs().powf(1.5)),
        ("abs", |x| x.abs()),
        ("relu", |x| x.relu()),
        ("sigmoid", |x| x.sigmoid()),
        ("tanh", |x| x.tanh()),
        ("softplus", |x| x.softplus()),
        ("clamp", |x| x.clamp(-0.5, 0.5)),
    ]
}

fn binary_ops() -> Vec<(&'static str, Binary)> {
    vec![
        ("add", |a, b| a.add(b)),
        ("sub", |a, b| a.sub(b)),
        ("mul", |a, b| a.mul(b)),
        ("div", |a, b| a.div(b)),
        ("where", |a, b| a.where_(&a.relu(), b)),
    ]
}

#[test]
fn unary_ops_on_strided_views_match_contiguous_copies() {
    let strategy = any_shape().prop_flat_map(|dims| input(dims, Domain::range(-2.0, 2.0)));
    run(cases(), strategy, |x| {
        let view = x.view_of(&x.base(&x.data, false));
        let copy = x.contiguous_copy();
        for (name, f) in unary_ops() {
            let (strided, dense) = (f(&view), f(&copy));
            prop_assert_eq!(strided.dims(), dense.dims(), "{}", name);
            let (s, d) = (strided.to_vec(), dense.to_vec());
            let same = s.iter().zip(&d).all(|(a, b)| a.to_bits() == b.to_bits());
            prop_assert!(same, "{}: {:?} != {:?}", name, s, d);
        }
        Ok(())
    });
}

#[test]
fn binary_ops_on_strided_views_match_contiguous_copies() {
    let values = Domain::away_from_zero(0.1, 2.0);
    let strategy = broadcast_pair()
        .prop_flat_map(move |(a, b)| (input(a, values.clone()), input(b, values.clone())));
    run(cases(), strategy, |(a, b)| {
        let (va, vb) = (
            a.view_of(&a.base(&a.data, false)),
            b.view_of(&b.base(&b.data, false)),
        );
        let (ca, cb) = (a.contiguous_copy(), b.contiguous_copy());
        for (name, f) in binary_ops() {
            let (strided, dense) = (f(&va, &vb), f(&ca, &cb));
            prop_assert_eq!(strided.dims(), dense.dims(), "{}", name);
            let (s, d) = (strided.to_vec(), dense.to_vec());
            let same = s.iter().zip(&d).all(|(a, b)| a.to_bits() == b.to_bits());
            prop_assert!(same, "{}: {:?} != {:?}", name, s, d);
        }
        Ok(())
    });
}

#[test]
fn shape_mismatch_errors_name_the_op_and_both_shapes() {
    let a = Tensor::<f32>::ones([2, 3]);
    let b = Tensor::<f32>::ones([4, 5]);

    let err = a.try_add(&b).unwrap_err();
    assert!(
        matches!(err, Error::ShapeMismatch { op: "add", .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.starts_with("add:"), "{message}");
    assert!(
        message.contains("[2, 3]") && message.contains("[4, 5]"),
        "{message}"
    );

    let message = a.try_matmul(&b).unwrap_err().to_string();
    assert!(message.starts_with("matmul:"), "{message}");
    assert!(
        message.contains("[2, 3]") && message.contains("[4, 5]"),
        "{message}"
    );

    // The panicking form carries the same message.
    let panic = std::panic::catch_unwind(|| a.mul(&b)).unwrap_err();
    let text = panic
        .downcast_ref::<String>()
        .expect("a formatted panic message");
    assert!(text.starts_with("mul:") && text.contains("[2, 3]") && text.contains("[4, 5]"));
}

#[test]
fn empty_tensors_are_contiguous_and_assignable() {
    for dims in [
        vec![0],
        vec![2, 0],
        vec![0, 3],
        vec![2, 0, 3],
        vec![3, 2, 0],
    ] {
        let t = Tensor::<f64>::zeros(dims.clone());
        assert!(t.is_contiguous(), "fresh tensor of shape {dims:?}");
        t.assign(&[])
            .expect("assigning no values to an empty tensor");
    }
}

#[test]
fn kernels_accept_empty_views_offset_past_their_storage() {
    // Row 2 of a [3, 0] tensor starts at offset 2 of an empty buffer.
    let x = Tensor::<f64>::zeros([3, 0]).narrow(0, 2, 1);
    assert_eq!(x.dims(), &[1, 0]);
    assert!(x.to_vec().is_empty());
    assert_eq!(x.exp().dims(), &[1, 0]);
    assert_eq!(x.add(&x).dims(), &[1, 0]);
    assert_eq!(x.sum_all().item(), 0.0);
}

#[test]
fn dropped_outputs_lend_their_buffers_to_the_next_outputs_of_their_size() {
    use dmil::tensor::pool::pooled_bytes;

    // Each test runs on a thread of its own, so this pool starts empty.
    let x = Tensor::<f32>::randn([100], 1);
    let before = pooled_bytes::<f32>();
    let y = x.relu();
    assert_eq!(
        y.to_vec(),
        x.to_vec().iter().map(|v| v.max(0.0)).collect::<Vec<_>>()
    );
    drop(y);
    // 100 elements take a buffer of the 128-element class.
    assert_eq!(pooled_bytes::<f32>(), before + 128 * 4);
    let z = &x * 2.0;
    assert_eq!(
        pooled_bytes::<f32>(),
        before,
        "the product reuses the buffer"
    );
    assert_eq!(
        z.to_vec(),
        x.to_vec().iter().map(|v| v * 2.0).collect::<Vec<_>>()
    );
}

#[test]
fn buffers_the_pool_never_lent_go_back_to_the_allocator() {
    use dmil::tensor::pool::pooled_bytes;

    let before = pooled_bytes::<f32>();
    drop(Tensor::from_vec(vec![1.0f32; 1024], [1024]).unwrap());
    assert_eq!(pooled_bytes::<f32>(), before);
}

#[test]
fn large_element_wise_ops_split_across_threads_match_one_element_at_a_time() {
    // Above the parallel threshold (2^16 elements) the kernels split the work into chunks
    // and write straight into the output's spare capacity; an odd length leaves a short
    // last chunk. Every element must come out as the scalar function gives it.
    let n = (1 << 18) + 3;
    let xs: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin() * 3.0).collect();
    let ys: Vec<f64> = (0..n).map(|i| (i as f64 * 0.11).cos() + 0.5).collect();
    let x = Tensor::from_vec(xs.clone(), [n]).unwrap();
    let y = Tensor::from_vec(ys.clone(), [n]).unwrap();

    let sum = x.try_add(&y).unwrap().to_vec();
    let exp = x.exp().to_vec();
    let tanh = x.tanh().to_vec();
    assert_eq!(sum.len(), n);
    for i in 0..n {
        assert_eq!(sum[i], xs[i] + ys[i], "add at {i}");
        assert_eq!(exp[i], xs[i].exp(), "exp at {i}");
        assert_eq!(tanh[i], xs[i].tanh(), "tanh at {i}");
    }

    let xf: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
    let big = Tensor::from_vec(xf.clone(), [n]).unwrap().exp().to_vec();
    for (i, (&got, &v)) in big.iter().zip(&xf).enumerate() {
        assert!((got - v.exp()).abs() <= 5e-7 * v.exp(), "f32 exp at {i}");
    }
}

#[test]
fn outputs_in_recycled_buffers_hold_no_trace_of_the_last_tensor() {
    // Kernels that overwrite every element take a recycled buffer without zeroing it. A
    // longer tensor's buffer serving a shorter one, and the reverse, must both come out
    // exactly as fresh computation gives.
    for n in [5usize, 6, 1000, 1023, (1 << 17) + 1, 1 << 17] {
        for stale in [f32::NAN, 1e30] {
            drop(Tensor::<f32>::full([n], stale).exp());
            let x = Tensor::<f32>::full([n], 0.5);
            let y = x.exp().to_vec();
            assert_eq!(y.len(), n);
            assert!(
                y.iter().all(|&v| (v - 0.5f32.exp()).abs() < 1e-6),
                "length {n}"
            );
            let s = x.sigmoid().to_vec();
            assert!(
                s.iter().all(|&v| (v - 0.622_459_3).abs() < 1e-6),
                "length {n}"
            );
        }
    }
}
