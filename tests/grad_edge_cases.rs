//! Named edge cases of the autodiff engine: extreme logits, saturated activations, gradient
//! accumulation, zero-size axes, batched matmul broadcasting, very deep graphs, the scopes
//! that stop gradients, and the sub-gradient conventions at kinks.

use dmil::autograd::{discard_graph, no_grad, recorded_len, recorded_ops};
use dmil::tensor::OpKind;
use dmil::{Element, Error, Tensor};

fn tensor<T: Element>(values: &[f64], dims: &[usize]) -> Tensor<T> {
    let data = values.iter().map(|&v| T::from_f64(v)).collect();
    Tensor::from_vec(data, dims.to_vec()).expect("values fit the shape")
}

fn as_f64<T: Element>(t: &Tensor<T>) -> Vec<f64> {
    t.to_vec().into_iter().map(Element::to_f64).collect()
}

fn grad_of<T: Element>(t: &Tensor<T>) -> Vec<f64> {
    as_f64(&t.grad().expect("the leaf received a gradient"))
}

fn all_finite(values: &[f64]) -> bool {
    values.iter().all(|v| v.is_finite())
}

#[test]
fn softmax_of_huge_logits_is_finite_and_its_gradient_rows_sum_to_zero() {
    let logits = [1e4, -1e4, 0.0, -1e4, -1e4, 1e4, 1e4, 1e4, -1e4];
    let x = tensor::<f32>(&logits, &[3, 3]).requires_grad();
    let y = x.softmax(-1);
    let values = as_f64(&y);
    assert!(all_finite(&values), "softmax values {values:?}");
    for row in values.chunks(3) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-6, "row {row:?}");
    }
    assert_eq!(&values[..3], &[1.0, 0.0, 0.0]);

    // A projection that weighs every entry differently, so the gradient is not trivially 0.
    let w = tensor::<f32>(&[0.3, -1.2, 0.7, 2.0, -0.5, 0.1, 0.9, 0.4, -1.5], &[3, 3]);
    (&y * &w).sum_all().backward().unwrap();
    let g = grad_of(&x);
    assert!(all_finite(&g), "softmax gradient {g:?}");
    for row in g.chunks(3) {
        assert!(row.iter().sum::<f64>().abs() < 1e-6, "gradient row {row:?}");
    }
    // The tied row splits its mass between the two maxima: y = [0.5, 0.5, 0].
    assert!(
        (g[6] - 0.5 * 0.5 * (0.9 - 0.4)).abs() < 1e-6,
        "tied row {g:?}"
    );
}

#[test]
fn log_softmax_of_huge_logits_is_finite() {
    let logits = [1e4, -1e4, 0.0, -1e4, -1e4, 1e4];
    let x = tensor::<f32>(&logits, &[2, 3]).requires_grad();
    let y = x.log_softmax(1);
    let values = as_f64(&y);
    assert!(all_finite(&values), "log_softmax values {values:?}");
    assert_eq!(values, vec![0.0, -2e4, -1e4, -2e4, -2e4, 0.0]);

    let w = tensor::<f32>(&[1.0, 2.0, 3.0, -1.0, 0.5, 0.25], &[2, 3]);
    (&y * &w).sum_all().backward().unwrap();
    let g = grad_of(&x);
    assert!(all_finite(&g), "log_softmax gradient {g:?}");
    // d/dx_j sum_i w_i (x_i - lse) = w_j - p_j sum_i w_i, with p one-hot on the maximum.
    assert_eq!(g, vec![1.0 - 6.0, 2.0, 3.0, -1.0, 0.5, 0.25 + 0.25]);
}

/// softplus and sigmoid at +-100 and +-300: finite values and gradients with the right limits.
fn saturated_activations<T: Element>() {
    let points = [-300.0, -100.0, 100.0, 300.0];
    let x = tensor::<T>(&points, &[4]).requires_grad();

    let sp = x.softplus();
    let values = as_f64(&sp);
    assert!(all_finite(&values), "softplus {values:?}");
    assert!(values[0] >= 0.0 && values[0] < 1e-40);
    assert!(values[1] >= 0.0 && values[1] < 1e-40);
    assert_eq!(&values[2..], &[100.0, 300.0]);
    sp.sum_all().backward().unwrap();
    let g = grad_of(&x);
    assert!(all_finite(&g), "softplus gradient {g:?}");
    assert!(g[0] >= 0.0 && g[0] < 1e-40 && g[1] < 1e-40);
    assert_eq!(&g[2..], &[1.0, 1.0]);

    x.zero_grad();
    let s = x.sigmoid();
    let values = as_f64(&s);
    assert!(all_finite(&values), "sigmoid {values:?}");
    assert!(values[0] < 1e-40 && values[1] < 1e-40);
    assert_eq!(&values[2..], &[1.0, 1.0]);
    s.sum_all().backward().unwrap();
    let g = grad_of(&x);
    assert!(all_finite(&g), "sigmoid gradient {g:?}");
    assert!(g.iter().all(|&v| (0.0..1e-40).contains(&v)), "{g:?}");
}

#[test]
fn softplus_and_sigmoid_saturate_without_overflow_f32() {
    saturated_activations::<f32>();
}

#[test]
fn softplus_and_sigmoid_saturate_without_overflow_f64() {
    saturated_activations::<f64>();
}

/// Binary cross-entropy from logits, `softplus(z) - y z`, at logits of +-100.
fn bce_at_large_logits<T: Element>() {
    let z = tensor::<T>(&[100.0, -100.0, 100.0, -100.0], &[4]).requires_grad();
    let y = tensor::<T>(&[1.0, 0.0, 0.0, 1.0], &[4]);
    let per_example = z.softplus() - &y * &z;
    let values = as_f64(&per_example);
    assert!(all_finite(&values), "losses {values:?}");
    assert!(
        values[0].abs() < 1e-30 && values[1].abs() < 1e-30,
        "{values:?}"
    );
    assert_eq!(&values[2..], &[100.0, 100.0]);

    let loss = per_example.mean_all();
    assert!(loss.item().to_f64().is_finite());
    loss.backward().unwrap();
    let g = grad_of(&z);
    assert!(all_finite(&g), "gradient {g:?}");
    // (sigmoid(z) - y) / 4.
    let expected = [0.0, 0.0, 0.25, -0.25];
    for (g, e) in g.iter().zip(expected) {
        assert!((g - e).abs() < 1e-7, "gradient {g} != {e}");
    }
}

#[test]
fn binary_cross_entropy_from_logits_is_finite_at_100_f32() {
    bce_at_large_logits::<f32>();
}

#[test]
fn binary_cross_entropy_from_logits_is_finite_at_100_f64() {
    bce_at_large_logits::<f64>();
}

#[test]
fn gradients_accumulate_over_backward_calls_until_zero_grad() {
    let x = tensor::<f64>(&[1.0, -2.0, 3.0], &[3]).requires_grad();
    let twice_x = vec![2.0, -4.0, 6.0];

    (&x * &x).sum_all().backward().unwrap();
    assert_eq!(grad_of(&x), twice_x);
    (&x * &x).sum_all().backward().unwrap();
    assert_eq!(grad_of(&x), vec![4.0, -8.0, 12.0]);

    x.zero_grad();
    assert!(x.grad().is_none());
    (&x * &x).sum_all().backward().unwrap();
    assert_eq!(grad_of(&x), twice_x);
}

#[test]
fn matmul_with_zero_size_axes() {
    let a = Tensor::<f64>::ones([0, 3]).requires_grad();
    let b = Tensor::<f64>::ones([3, 4]).requires_grad();
    let y = a.matmul(&b);
    assert_eq!(y.dims(), &[0, 4]);
    y.sum_all().backward().unwrap();
    assert_eq!(a.grad().unwrap().dims(), &[0, 3]);
    assert_eq!(grad_of(&b), vec![0.0; 12]);

    // An empty inner dimension: the product of nothing is a matrix of zeros.
    let a = Tensor::<f64>::ones([2, 0]).requires_grad();
    let b = Tensor::<f64>::ones([0, 4]).requires_grad();
    let y = a.matmul(&b);
    assert_eq!(y.dims(), &[2, 4]);
    assert_eq!(y.to_vec(), vec![0.0; 8]);
    y.sum_all().backward().unwrap();
    assert_eq!(a.grad().unwrap().dims(), &[2, 0]);
    assert_eq!(b.grad().unwrap().dims(), &[0, 4]);

    // An empty batch.
    let a = Tensor::<f64>::ones([0, 2, 3]);
    let b = Tensor::<f64>::ones([3, 4]);
    assert_eq!(a.matmul(&b).dims(), &[0, 2, 4]);
}

#[test]
fn sum_and_broadcast_with_zero_size_axes() {
    let x = Tensor::<f64>::ones([2, 0]).requires_grad();
    assert_eq!(x.sum_all().item(), 0.0);
    assert_eq!(x.sum(&[1], false).to_vec(), vec![0.0, 0.0]);
    assert_eq!(x.sum(&[0], false).dims(), &[0]);
    assert_eq!(x.sum(&[0], true).dims(), &[1, 0]);
    let loss = x.sum(&[1], false).sum_all();
    loss.backward().unwrap();
    assert_eq!(x.grad().unwrap().dims(), &[2, 0]);

    // [1, 3] broadcast against [0, 3] is empty; the [1, 3] input's gradient is all zeros.
    let row = Tensor::<f64>::ones([1, 3]).requires_grad();
    let empty = Tensor::<f64>::ones([0, 3]).requires_grad();
    let y = &row + &empty;
    assert_eq!(y.dims(), &[0, 3]);
    y.sum_all().backward().unwrap();
    assert_eq!(grad_of(&row), vec![0.0; 3]);
    assert_eq!(empty.grad().unwrap().dims(), &[0, 3]);

    let stretched = Tensor::<f64>::ones([3]).broadcast_to([0, 3]);
    assert_eq!(stretched.dims(), &[0, 3]);
    assert!(stretched.to_vec().is_empty());
}

#[test]
fn reshape_and_reductions_of_empty_tensors() {
    let x = Tensor::<f64>::zeros([2, 0, 3]).requires_grad();
    let y = x.reshape([0, 6]);
    assert_eq!(y.dims(), &[0, 6]);
    let s = x.sum(&[0, 2], false);
    assert_eq!(s.dims(), &[0]);
    (y.sum_all() + s.sum_all()).backward().unwrap();
    assert_eq!(x.grad().unwrap().dims(), &[2, 0, 3]);
}

#[test]
fn batched_matmul_broadcast_equals_the_materialized_product() {
    let (b, m, k, n) = (4, 3, 5, 2);
    let a = Tensor::<f64>::randn([1, m, k], 11).requires_grad();
    let bb = Tensor::<f64>::randn([b, k, n], 12).requires_grad();
    let w = Tensor::<f64>::randn([b, m, n], 13);

    let broadcast = a.matmul(&bb);
    (&broadcast * &w).sum_all().backward().unwrap();
    let (ga, gb) = (grad_of(&a), grad_of(&bb));
    assert_eq!(a.grad().unwrap().dims(), &[1, m, k]);
    a.zero_grad();
    bb.zero_grad();

    let materialized = a.broadcast_to([b, m, k]).contiguous().matmul(&bb);
    assert!(materialized.is_contiguous());
    (&materialized * &w).sum_all().backward().unwrap();

    let close = |x: &[f64], y: &[f64]| {
        x.len() == y.len()
            && x.iter()
                .zip(y)
                .all(|(x, y)| (x - y).abs() <= 1e-12 * x.abs().max(1.0))
    };
    assert!(close(&broadcast.to_vec(), &materialized.to_vec()));
    assert!(close(&ga, &grad_of(&a)), "{ga:?} vs {:?}", grad_of(&a));
    assert!(close(&gb, &grad_of(&bb)));
}

#[test]
fn a_very_deep_graph_runs_backward_and_drops() {
    const DEPTH: usize = 100_000;
    discard_graph::<f64>();
    let x = Tensor::<f64>::ones([2]).requires_grad();
    let mut y = x.clone();
    for i in 0..DEPTH {
        y = if i % 2 == 0 {
            y.mul_scalar(1.0)
        } else {
            y.add_scalar(0.5)
        };
    }
    assert_eq!(recorded_len::<f64>(), DEPTH + 1);
    let loss = y.sum_all();
    loss.backward().unwrap();
    assert_eq!(grad_of(&x), vec![1.0, 1.0]);
    drop((y, loss));

    // A deep graph that is dropped without a backward pass.
    let mut y = x.clone();
    for _ in 0..DEPTH {
        y = y.tanh();
    }
    drop(y);
    discard_graph::<f64>();
    assert_eq!(recorded_len::<f64>(), 0);
}

#[test]
fn no_grad_scope_records_nothing() {
    discard_graph::<f32>();
    let x = Tensor::<f32>::ones([2, 2]).requires_grad();
    let y = no_grad(|| (x.exp() * 2.0).matmul(&x).sum_all());
    assert_eq!(recorded_len::<f32>(), 0);
    assert!(recorded_ops::<f32>().is_empty());
    assert!(!y.needs_grad());
    assert!(matches!(y.backward(), Err(Error::Autograd(_))));

    // Recording resumes after the scope.
    let z = x.exp().sum_all();
    assert!(z.needs_grad());
    assert_eq!(
        recorded_ops::<f32>(),
        vec![OpKind::Exp, OpKind::Sum, OpKind::Reshape]
    );
    discard_graph::<f32>();
}

#[test]
fn detach_stops_gradients() {
    let x = tensor::<f64>(&[1.0, 2.0, 3.0], &[3]).requires_grad();
    // d/dx sum(x * c) with c = x held constant is c, not 2x.
    (&x * &x.detach()).sum_all().backward().unwrap();
    assert_eq!(grad_of(&x), vec![1.0, 2.0, 3.0]);
    assert!(!x.exp().detach().needs_grad());
}

#[test]
fn backward_on_a_non_scalar_is_an_error() {
    let x = Tensor::<f64>::ones([2, 3]).requires_grad();
    let y = x.exp();
    let err = y.backward().unwrap_err();
    assert!(matches!(err, Error::InvalidShape { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("backward") && message.contains("[2, 3]"),
        "{message}"
    );
    assert!(x.grad().is_none());
    discard_graph::<f64>();
}

#[test]
fn abs_and_relu_have_gradient_zero_at_zero() {
    let x = tensor::<f64>(&[0.0, -0.0, 2.0, -2.0], &[4]).requires_grad();
    x.abs().sum_all().backward().unwrap();
    assert_eq!(grad_of(&x), vec![0.0, 0.0, 1.0, -1.0]);

    x.zero_grad();
    x.relu().sum_all().backward().unwrap();
    assert_eq!(grad_of(&x), vec![0.0, 0.0, 1.0, 0.0]);
}

#[test]
fn max_sends_the_gradient_of_a_tie_to_the_first_maximum() {
    let x = tensor::<f64>(&[1.0, 3.0, 3.0, 2.0, 2.0, 2.0], &[2, 3]).requires_grad();
    x.max(1, false).sum_all().backward().unwrap();
    assert_eq!(grad_of(&x), vec![0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);

    // Along the first axis, through a transposed view.
    let x = tensor::<f64>(&[5.0, 7.0, 5.0, 7.0, 1.0, 7.0], &[3, 2]).requires_grad();
    x.t().max(-1, true).sum_all().backward().unwrap();
    assert_eq!(grad_of(&x), vec![1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
}

#[test]
fn clamp_has_gradient_one_at_its_bounds() {
    let x = tensor::<f64>(&[-1.0, 1.0, 0.5, 2.0, -2.0], &[5]).requires_grad();
    x.clamp(-1.0, 1.0).sum_all().backward().unwrap();
    assert_eq!(grad_of(&x), vec![1.0, 1.0, 1.0, 0.0, 0.0]);
}

#[test]
fn a_leaf_shared_with_another_thread_gets_that_threads_gradient() {
    let w = tensor::<f64>(&[1.0, 2.0], &[2]).requires_grad();
    // Put `w` on this thread's tape, and leave that graph pending.
    let pending = (&w * 3.0).sum_all();

    let shared = w.clone();
    std::thread::spawn(move || {
        let x = tensor::<f64>(&[5.0, 7.0], &[2]).requires_grad();
        let loss = (&x * 10.0).sum_all() + (&shared * &shared).sum_all();
        loss.backward().unwrap();
        assert_eq!(grad_of(&x), vec![10.0, 10.0], "x received w's gradient");
        assert_eq!(grad_of(&shared), vec![2.0, 4.0]);
    })
    .join()
    .unwrap();

    // The pending graph of this thread is intact.
    w.zero_grad();
    pending.backward().unwrap();
    assert_eq!(grad_of(&w), vec![3.0, 3.0]);
}

#[test]
fn gradients_of_different_leaves_do_not_share_storage() {
    let a = Tensor::<f64>::ones([3]).requires_grad();
    let b = Tensor::<f64>::ones([3]).requires_grad();
    let w = tensor::<f64>(&[1.0, 2.0, 3.0], &[3]);
    // The product hands one contiguous gradient to the sum, which passes it on to both.
    ((&a + &b) * &w).sum_all().backward().unwrap();
    let (ga, gb) = (a.grad().unwrap(), b.grad().unwrap());
    assert!(
        !std::sync::Arc::ptr_eq(ga.storage(), gb.storage()),
        "an in-place update of one gradient (clipping, say) would change the other"
    );
    ga.update_in_place(|g| g.iter_mut().for_each(|v| *v *= 0.5))
        .unwrap();
    assert_eq!(grad_of(&b), vec![1.0, 2.0, 3.0]);
}

#[test]
fn a_held_gradient_keeps_its_values_when_a_later_backward_accumulates() {
    // Gradients accumulate in place only while nothing else holds them.
    let x = tensor::<f64>(&[1.0, 2.0], &[2]).requires_grad();
    (&x * 3.0).sum_all().backward().unwrap();
    let held = x.grad().unwrap();
    (&x * 3.0).sum_all().backward().unwrap();
    assert_eq!(as_f64(&held), vec![3.0, 3.0]);
    assert_eq!(grad_of(&x), vec![6.0, 6.0]);
    drop(held);
    (&x * 3.0).sum_all().backward().unwrap();
    assert_eq!(grad_of(&x), vec![9.0, 9.0]);
}

#[test]
fn a_gradient_reaching_a_node_twice_is_the_sum_of_both() {
    // x feeds two products whose gradients meet at x: the sum is formed in the first one's
    // buffer, which must leave the weights' gradients untouched.
    let x = tensor::<f64>(&[1.0, 2.0, 3.0, 4.0], &[2, 2]).requires_grad();
    let w1 = tensor::<f64>(&[1.0, 0.0, 0.0, 1.0], &[2, 2]).requires_grad();
    let w2 = tensor::<f64>(&[2.0, 1.0, 0.0, 1.0], &[2, 2]);
    let h = &x * 1.0;
    (h.matmul(&w1).sum_all() + h.matmul(&w2).sum_all())
        .backward()
        .unwrap();
    // d/dx of sum(x W) is the row sums of W, broadcast over the rows of x.
    assert_eq!(grad_of(&x), vec![4.0, 2.0, 4.0, 2.0]);
    assert_eq!(grad_of(&w1), vec![4.0, 4.0, 6.0, 6.0]);
    assert!(w2.grad().is_none());
}

#[test]
fn binary_ops_with_one_constant_operand_send_the_other_its_full_gradient() {
    // Backward skips the operand that needs no gradient; the other must not notice.
    let c = tensor::<f64>(&[2.0, 4.0], &[2]);
    let x = tensor::<f64>(&[1.0, -1.0], &[2]).requires_grad();
    type Op = fn(&Tensor<f64>, &Tensor<f64>) -> Tensor<f64>;
    let ops: [(&str, Op, Vec<f64>); 5] = [
        ("x + c", |x, c| x + c, vec![1.0, 1.0]),
        ("c - x", |x, c| c - x, vec![-1.0, -1.0]),
        ("c * x", |x, c| c * x, vec![2.0, 4.0]),
        // d(c/x)/dx = -c / x^2.
        ("c / x", |x, c| c / x, vec![-2.0, -4.0]),
        ("x / c", |x, c| x / c, vec![0.5, 0.25]),
    ];
    for (name, op, expected) in ops {
        x.zero_grad();
        op(&x, &c).sum_all().backward().unwrap();
        assert_eq!(grad_of(&x), expected, "{name}");
        assert!(c.grad().is_none());
    }
}
