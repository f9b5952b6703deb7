//! Gradient property tests: for every operation the tape records (every [`OpKind`]) and for
//! the composites built on them (`stack`, `sum_all`, `mean_all`, the arithmetic operators),
//! the analytic gradient of a random projection is compared with central finite differences
//! in f64 on random shapes, broadcast pairs, size-0 and size-1 axes and strided views. The
//! step and tolerance are documented in `common/mod.rs`.
//!
//! `checker` matches [`OpKind`] exhaustively, so a new kind without a gradient check does not
//! compile; the same list generates one test per kind.

mod common;

use common::{
    any_shape, broadcast_from, broadcast_pair, cases, check_gradients, input, run, shape, size,
    transposed_input, Domain, Input,
};
use dmil::tensor::OpKind;
use dmil::Tensor;
use proptest::prelude::*;

/// Runs a kind's gradient property with the given number of cases.
type Checker = fn(u32);

/// Values for ops that are smooth everywhere.
fn smooth() -> Domain {
    Domain::range(-2.0, 2.0)
}

/// Values for `log`, `sqrt` and `powf`: positive and away from 0.
fn positive() -> Domain {
    Domain::range(0.1, 3.0)
}

/// A property over one input of a shape from `shapes`, with a parameter from `params`.
fn unary<P: std::fmt::Debug + Clone + 'static>(
    kind: OpKind,
    cases: u32,
    shapes: impl Strategy<Value = Vec<usize>> + 'static,
    domain: Domain,
    params: impl Strategy<Value = P> + 'static,
    f: impl Fn(&Tensor<f64>, &P) -> Tensor<f64>,
) {
    let strategy = (shapes, params, any::<u64>())
        .prop_flat_map(move |(dims, p, seed)| (input(dims, domain.clone()), Just(p), Just(seed)));
    run(cases, strategy, |(x, p, seed)| {
        check_gradients(kind, &[x], seed, |v| f(&v[0], &p))
    });
}

/// A property over two inputs whose shapes broadcast together.
fn binary(
    kind: OpKind,
    cases: u32,
    lhs: Domain,
    rhs: Domain,
    f: fn(&Tensor<f64>, &Tensor<f64>) -> Tensor<f64>,
) {
    let strategy = (broadcast_pair(), any::<u64>()).prop_flat_map(move |((a, b), seed)| {
        (input(a, lhs.clone()), input(b, rhs.clone()), Just(seed))
    });
    run(cases, strategy, |(a, b, seed)| {
        check_gradients(kind, &[a, b], seed, |v| f(&v[0], &v[1]))
    });
}

/// A property for element-wise functions without parameter.
fn elementwise(kind: OpKind, cases: u32, domain: Domain, f: fn(&Tensor<f64>) -> Tensor<f64>) {
    unary(kind, cases, any_shape(), domain, Just(()), move |x, _| f(x));
}

/// A shape of rank 1..=3 with an axis of it (as given, possibly negative) whose size is at
/// least `min_axis_size`.
fn shape_and_axis(min_axis_size: usize) -> impl Strategy<Value = (Vec<usize>, isize)> {
    proptest::collection::vec(size(), 1..=3)
        .prop_flat_map(|dims| {
            let rank = dims.len();
            (Just(dims), 0..rank, any::<bool>())
        })
        .prop_filter("the axis is too small", move |(dims, axis, _)| {
            dims[*axis] >= min_axis_size
        })
        .prop_map(|(dims, axis, negative)| {
            let rank = dims.len() as isize;
            let axis = axis as isize;
            (dims, if negative { axis - rank } else { axis })
        })
}

/// A shape with a list of distinct axes to reduce (some negative) and `keepdim`.
fn reduction() -> impl Strategy<Value = (Vec<usize>, Vec<isize>, bool)> {
    any_shape().prop_flat_map(|dims| {
        let rank = dims.len();
        let axes =
            proptest::sample::subsequence((0..rank).collect::<Vec<_>>(), 0..=rank).prop_shuffle();
        (
            Just(dims),
            axes,
            proptest::collection::vec(any::<bool>(), rank),
            any::<bool>(),
        )
            .prop_map(move |(dims, axes, negative, keepdim)| {
                let axes = axes
                    .iter()
                    .map(|&a| {
                        if negative[a] {
                            a as isize - rank as isize
                        } else {
                            a as isize
                        }
                    })
                    .collect();
                (dims, axes, keepdim)
            })
    })
}

fn add(cases: u32) {
    binary(OpKind::Add, cases, smooth(), smooth(), |a, b| a.add(b));
}

fn sub(cases: u32) {
    binary(OpKind::Sub, cases, smooth(), smooth(), |a, b| a.sub(b));
}

fn mul(cases: u32) {
    binary(OpKind::Mul, cases, smooth(), smooth(), |a, b| a.mul(b));
}

fn div(cases: u32) {
    let away = Domain::away_from_zero(0.5, 2.0);
    binary(OpKind::Div, cases, smooth(), away, |a, b| a.div(b));
}

fn neg(cases: u32) {
    elementwise(OpKind::Neg, cases, smooth(), |x| x.neg());
}

fn add_scalar(cases: u32) {
    unary(
        OpKind::AddScalar,
        cases,
        any_shape(),
        smooth(),
        -3.0..3.0f64,
        |x, &c| x.add_scalar(c),
    );
}

fn mul_scalar(cases: u32) {
    unary(
        OpKind::MulScalar,
        cases,
        any_shape(),
        smooth(),
        -3.0..3.0f64,
        |x, &c| x.mul_scalar(c),
    );
}

fn exp(cases: u32) {
    elementwise(OpKind::Exp, cases, smooth(), |x| x.exp());
}

fn log(cases: u32) {
    elementwise(OpKind::Log, cases, positive(), |x| x.log());
}

fn sqrt(cases: u32) {
    elementwise(OpKind::Sqrt, cases, positive(), |x| x.sqrt());
}

fn powf(cases: u32) {
    unary(
        OpKind::Powf,
        cases,
        any_shape(),
        positive(),
        -2.0..3.0f64,
        |x, &p| x.powf(p),
    );
}

fn abs(cases: u32) {
    elementwise(OpKind::Abs, cases, Domain::away_from_zero(0.1, 2.0), |x| {
        x.abs()
    });
}

fn relu(cases: u32) {
    elementwise(OpKind::Relu, cases, Domain::away_from_zero(0.1, 2.0), |x| {
        x.relu()
    });
}

fn sigmoid(cases: u32) {
    elementwise(OpKind::Sigmoid, cases, Domain::range(-4.0, 4.0), |x| {
        x.sigmoid()
    });
}

fn tanh(cases: u32) {
    elementwise(OpKind::Tanh, cases, Domain::range(-3.0, 3.0), |x| x.tanh());
}

fn softplus(cases: u32) {
    elementwise(OpKind::Softplus, cases, Domain::range(-4.0, 4.0), |x| {
        x.softplus()
    });
}

fn clamp(cases: u32) {
    let strategy = (any_shape(), -1.0..-0.2f64, 0.2..1.0f64, any::<u64>()).prop_flat_map(
        |(dims, lo, hi, seed)| {
            let domain = Domain::around_bounds(lo, hi, 0.05);
            (input(dims, domain), Just((lo, hi)), Just(seed))
        },
    );
    run(cases, strategy, |(x, (lo, hi), seed)| {
        check_gradients(OpKind::Clamp, &[x], seed, |v| v[0].clamp(lo, hi))
    });
}

fn reparameterize(cases: u32) {
    let strategy = (any_shape(), any::<u64>()).prop_flat_map(|(dims, seed)| {
        (
            input(dims.clone(), smooth()),
            input(dims.clone(), smooth()),
            input(dims, smooth()),
            Just(seed),
        )
    });
    run(cases, strategy, |(mean, logvar, eps, seed)| {
        let inputs = [mean, logvar, eps];
        check_gradients(OpKind::Reparameterize, &inputs, seed, |v| {
            v[0].reparameterize(&v[1], &v[2])
        })?;

        // The fused sample equals the chain it replaces, bit for bit.
        let v: Vec<Tensor<f64>> = inputs
            .iter()
            .map(|i| i.view_of(&i.base(&i.data, false)))
            .collect();
        let chain = &v[0] + &((&v[1] * 0.5).exp() * &v[2]);
        prop_assert_eq!(v[0].reparameterize(&v[1], &v[2]).to_vec(), chain.to_vec());
        Ok(())
    });
}

/// The KL terms with the log-variances clamped to random bounds, values kept away from them
/// (the gradient has a kink there).
fn kl_standard_normal(cases: u32) {
    let strategy = (any_shape(), -1.0..-0.2f64, 0.2..1.0f64, any::<u64>()).prop_flat_map(
        |(dims, lo, hi, seed)| {
            let logvar = Domain::around_bounds(lo, hi, 0.05);
            (
                input(dims.clone(), smooth()),
                input(dims, logvar),
                Just((lo, hi)),
                Just(seed),
            )
        },
    );
    run(cases, strategy, |(mu, logvar, bounds, seed)| {
        let inputs = [mu, logvar];
        check_gradients(OpKind::KlStandardNormal, &inputs, seed, |v| {
            v[0].kl_standard_normal_terms(&v[1], bounds)
        })?;

        let v: Vec<Tensor<f64>> = inputs
            .iter()
            .map(|i| i.view_of(&i.base(&i.data, false)))
            .collect();
        let l = v[1].clamp(bounds.0, bounds.1);
        let chain = ((l.exp() + &v[0] * &v[0]) - &l)
            .add_scalar(-1.0)
            .mul_scalar(0.5);
        let fused = v[0].kl_standard_normal_terms(&v[1], bounds);
        prop_assert_eq!(fused.to_vec(), chain.to_vec());
        Ok(())
    });
}

/// The KL terms between two Gaussians, log-variances clamped as in `kl_standard_normal`.
fn kl_gaussians(cases: u32) {
    let strategy = (any_shape(), -1.0..-0.2f64, 0.2..1.0f64, any::<u64>()).prop_flat_map(
        |(dims, lo, hi, seed)| {
            let logvar = Domain::around_bounds(lo, hi, 0.05);
            (
                input(dims.clone(), smooth()),
                input(dims.clone(), logvar.clone()),
                input(dims.clone(), smooth()),
                input(dims, logvar),
                Just((lo, hi)),
                Just(seed),
            )
        },
    );
    run(cases, strategy, |(mu_q, lv_q, mu_p, lv_p, bounds, seed)| {
        let inputs = [mu_q, lv_q, mu_p, lv_p];
        check_gradients(OpKind::KlGaussians, &inputs, seed, |v| {
            v[0].kl_gaussians_terms(&v[1], &v[2], &v[3], bounds)
        })?;

        let v: Vec<Tensor<f64>> = inputs
            .iter()
            .map(|i| i.view_of(&i.base(&i.data, false)))
            .collect();
        let (a, b) = (
            v[1].clamp(bounds.0, bounds.1),
            v[3].clamp(bounds.0, bounds.1),
        );
        let diff = &v[0] - &v[2];
        let ratio = (&a - &b).exp();
        let mean_term = (&diff * &diff) * b.neg().exp();
        let chain = (((&b - &a) + ratio) + mean_term)
            .add_scalar(-1.0)
            .mul_scalar(0.5);
        let fused = v[0].kl_gaussians_terms(&v[1], &v[2], &v[3], bounds);
        prop_assert_eq!(fused.to_vec(), chain.to_vec());
        Ok(())
    });
}

fn matmul(cases: u32) {
    let batches = proptest::collection::vec(size(), 0..=2)
        .prop_flat_map(|full| (broadcast_from(full.clone()), broadcast_from(full)));
    let strategy = (batches, size(), size(), size(), any::<u64>()).prop_flat_map(
        |((ba, bb), m, k, n, seed)| {
            let a: Vec<usize> = ba.iter().copied().chain([m, k]).collect();
            let b: Vec<usize> = bb.iter().copied().chain([k, n]).collect();
            (input(a, smooth()), input(b, smooth()), Just(seed))
        },
    );
    run(cases, strategy, |(a, b, seed)| {
        check_gradients(OpKind::Matmul, &[a, b], seed, |v| v[0].matmul(&v[1]))
    });
}

/// `x W^T + b` with and without bias; every operand may come as a strided view (transposed
/// or padded), and sizes include 0 and 1. The values are also held to the unfused product.
fn linear(cases: u32) {
    let strategy = (size(), size(), size(), any::<bool>(), any::<u64>()).prop_flat_map(
        |(m, k, n, with_bias, seed)| {
            (
                input(vec![m, k], smooth()),
                input(vec![n, k], smooth()),
                input(vec![n], smooth()),
                Just(with_bias),
                Just(seed),
            )
        },
    );
    run(cases, strategy, |(x, w, b, with_bias, seed)| {
        let inputs = if with_bias { vec![x, w, b] } else { vec![x, w] };
        let fused = |v: &[Tensor<f64>]| v[0].linear(&v[1], v.get(2));
        check_gradients(OpKind::Linear, &inputs, seed, fused)?;

        let views: Vec<Tensor<f64>> = inputs
            .iter()
            .map(|i| i.view_of(&i.base(&i.data, false)))
            .collect();
        let unfused = views[0].matmul(&views[1].t());
        let unfused = match views.get(2) {
            Some(b) => unfused + b,
            None => unfused,
        };
        let (got, want) = (fused(&views).to_vec(), unfused.to_vec());
        prop_assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            prop_assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()), "{} vs {}", g, w);
        }
        Ok(())
    });
}

fn sum(cases: u32) {
    let strategy = (reduction(), any::<u64>()).prop_flat_map(|((dims, axes, keep), seed)| {
        (input(dims, smooth()), Just((axes, keep)), Just(seed))
    });
    run(cases, strategy, |(x, (axes, keep), seed)| {
        check_gradients(OpKind::Sum, &[x], seed, |v| v[0].sum(&axes, keep))
    });
}

fn mean(cases: u32) {
    let nonempty = reduction().prop_filter("the mean over an empty axis is NaN", |(d, axes, _)| {
        axes.iter()
            .all(|&a| d[a.rem_euclid(d.len() as isize) as usize] > 0)
    });
    let strategy = (nonempty, any::<u64>()).prop_flat_map(|((dims, axes, keep), seed)| {
        (input(dims, smooth()), Just((axes, keep)), Just(seed))
    });
    run(cases, strategy, |(x, (axes, keep), seed)| {
        check_gradients(OpKind::Mean, &[x], seed, |v| v[0].mean(&axes, keep))
    });
}

/// A property of a function along one axis of one input.
fn along_axis(
    kind: OpKind,
    cases: u32,
    min_axis_size: usize,
    domain: Domain,
    f: fn(&Tensor<f64>, isize, bool) -> Tensor<f64>,
) {
    let strategy = (shape_and_axis(min_axis_size), any::<bool>(), any::<u64>()).prop_flat_map(
        move |((dims, axis), keep, seed)| {
            (input(dims, domain.clone()), Just((axis, keep)), Just(seed))
        },
    );
    run(cases, strategy, |(x, (axis, keep), seed)| {
        check_gradients(kind, &[x], seed, |v| f(&v[0], axis, keep))
    });
}

fn max(cases: u32) {
    along_axis(OpKind::Max, cases, 1, Domain::Distinct, |x, a, k| {
        x.max(a, k)
    });
}

fn logsumexp(cases: u32) {
    let d = Domain::range(-3.0, 3.0);
    along_axis(OpKind::LogSumExp, cases, 1, d, |x, a, k| x.logsumexp(a, k));
}

fn softmax(cases: u32) {
    let d = Domain::range(-3.0, 3.0);
    along_axis(OpKind::Softmax, cases, 0, d, |x, a, _| x.softmax(a));
}

fn log_softmax(cases: u32) {
    let d = Domain::range(-3.0, 3.0);
    along_axis(OpKind::LogSoftmax, cases, 0, d, |x, a, _| x.log_softmax(a));
}

/// A weighted, scaled sum of one log-softmax entry per row, over strided views too, and its
/// value against the chain it replaces (`log_softmax`, a picking product, a sum).
fn picked_log_softmax(cases: u32) {
    let rows = (1..=3usize, 1..=3usize).prop_flat_map(|(b, c)| {
        let picks = proptest::collection::vec((0..c, 0.0..2.0f64), b);
        (
            input(vec![b, c], smooth()),
            picks,
            -2.0..2.0f64,
            any::<u64>(),
        )
    });
    run(cases, rows, |(x, picks, scale, seed)| {
        check_gradients(
            OpKind::PickedLogSoftmax,
            std::slice::from_ref(&x),
            seed,
            |v| v[0].picked_log_softmax(&picks, scale),
        )?;

        let v = x.view_of(&x.base(&x.data, false));
        let [b, c] = *v.dims() else { unreachable!() };
        let mut picker = vec![0.0; b * c];
        for (i, &(y, w)) in picks.iter().enumerate() {
            picker[i * c + y] = w;
        }
        let picker = Tensor::from_vec(picker, [b, c]).unwrap();
        let chain = (v.log_softmax(-1) * picker)
            .sum_all()
            .mul_scalar(scale)
            .item();
        let fused = v.picked_log_softmax(&picks, scale).item();
        prop_assert!(
            (fused - chain).abs() <= 1e-12 * (1.0 + chain.abs()),
            "{} vs {}",
            fused,
            chain
        );
        Ok(())
    });
}

fn concat(cases: u32) {
    let strategy = (
        shape_and_axis(0),
        proptest::collection::vec(size(), 1..=3),
        any::<u64>(),
    )
        .prop_flat_map(|((dims, axis), sizes, seed)| {
            let rank = dims.len() as isize;
            let resolved = axis.rem_euclid(rank) as usize;
            let inputs: Vec<_> = sizes
                .iter()
                .map(|&s| {
                    let mut d = dims.clone();
                    d[resolved] = s;
                    input(d, smooth())
                })
                .collect();
            (inputs, Just(axis), Just(seed))
        });
    run(cases, strategy, |(xs, axis, seed)| {
        check_gradients(OpKind::Concat, &xs, seed, |v| {
            let refs: Vec<&Tensor<f64>> = v.iter().collect();
            Tensor::concat(&refs, axis)
        })
    });
}

fn index_select(cases: u32) {
    let strategy = (shape_and_axis(1), any::<u64>()).prop_flat_map(|((dims, axis), seed)| {
        let size = dims[axis.rem_euclid(dims.len() as isize) as usize];
        let indices = proptest::collection::vec(0..size, 0..=4);
        (input(dims, smooth()), Just(axis), indices, Just(seed))
    });
    run(cases, strategy, |(x, axis, indices, seed)| {
        check_gradients(OpKind::IndexSelect, &[x], seed, |v| {
            v[0].index_select(axis, &indices)
        })
    });
}

fn where_(cases: u32) {
    let shapes = any_shape().prop_flat_map(|full| {
        (
            broadcast_from(full.clone()),
            broadcast_from(full.clone()),
            broadcast_from(full),
        )
    });
    let strategy = (shapes, any::<u64>()).prop_flat_map(|((m, a, b), seed)| {
        let n: usize = m.iter().product();
        let mask = proptest::collection::vec(any::<bool>(), n);
        let mask = mask.prop_map(move |bits| {
            let values = bits.iter().map(|&b| if b { 1.0 } else { 0.0 }).collect();
            Input::plain(m.clone(), values)
        });
        (mask, input(a, smooth()), input(b, smooth()), Just(seed))
    });
    run(cases, strategy, |(mask, a, b, seed)| {
        let mask = mask.contiguous_copy();
        check_gradients(OpKind::Where, &[a, b], seed, |v| v[0].where_(&mask, &v[1]))
    });
}

fn transpose(cases: u32) {
    let axes = proptest::collection::vec(size(), 1..=3).prop_flat_map(|dims| {
        let rank = dims.len() as isize;
        (Just(dims), -rank..rank, -rank..rank)
    });
    let strategy = (axes, any::<u64>())
        .prop_flat_map(|((dims, a, b), seed)| (input(dims, smooth()), Just((a, b)), Just(seed)));
    run(cases, strategy, |(x, (a, b), seed)| {
        check_gradients(OpKind::Transpose, &[x], seed, |v| v[0].transpose(a, b))
    });
}

fn permute(cases: u32) {
    let strategy = (any_shape(), any::<u64>()).prop_flat_map(|(dims, seed)| {
        let order = Just((0..dims.len()).collect::<Vec<_>>()).prop_shuffle();
        (input(dims, smooth()), order, Just(seed))
    });
    run(cases, strategy, |(x, order, seed)| {
        check_gradients(OpKind::Permute, &[x], seed, |v| v[0].permute(&order))
    });
}

fn reshape(cases: u32) {
    let strategy = (any_shape(), any::<u64>()).prop_flat_map(|(dims, seed)| {
        // Another shape of the same elements: the sizes shuffled, with size-1 axes inserted.
        let target = (
            Just(dims.clone()).prop_shuffle(),
            0..=2usize,
            any::<usize>(),
        )
            .prop_map(|(mut t, ones, at)| {
                for _ in 0..ones {
                    let at = at % (t.len() + 1);
                    t.insert(at, 1);
                }
                t
            });
        (input(dims, smooth()), target, Just(seed))
    });
    run(cases, strategy, |(x, target, seed)| {
        check_gradients(OpKind::Reshape, &[x], seed, |v| {
            v[0].reshape(target.clone())
        })
    });
}

fn narrow(cases: u32) {
    let ranges = shape_and_axis(0).prop_flat_map(|(dims, axis)| {
        let size = dims[axis.rem_euclid(dims.len() as isize) as usize];
        (Just(dims), Just(axis), 0..=size).prop_flat_map(move |(dims, axis, start)| {
            (Just(dims), Just(axis), Just(start), 0..=size - start)
        })
    });
    let strategy = (ranges, any::<u64>()).prop_flat_map(|((dims, axis, start, len), seed)| {
        (input(dims, smooth()), Just((axis, start, len)), Just(seed))
    });
    run(cases, strategy, |(x, (axis, start, len), seed)| {
        check_gradients(OpKind::Narrow, &[x], seed, |v| {
            v[0].narrow(axis, start, len)
        })
    });
}

fn broadcast_to(cases: u32) {
    let shapes = any_shape().prop_flat_map(|full| (broadcast_from(full.clone()), Just(full)));
    let strategy = (shapes, any::<u64>())
        .prop_flat_map(|((from, to), seed)| (input(from, smooth()), Just(to), Just(seed)));
    run(cases, strategy, |(x, to, seed)| {
        check_gradients(OpKind::BroadcastTo, &[x], seed, |v| {
            v[0].broadcast_to(to.clone())
        })
    });
}

fn squeeze(cases: u32) {
    let shapes = (shape(0..=2, 0..=3), any::<usize>(), any::<bool>()).prop_map(
        |(mut dims, at, negative)| {
            let at = at % (dims.len() + 1);
            dims.insert(at, 1);
            let axis = if negative {
                at as isize - dims.len() as isize
            } else {
                at as isize
            };
            (dims, axis)
        },
    );
    let strategy = (shapes, any::<u64>())
        .prop_flat_map(|((dims, axis), seed)| (input(dims, smooth()), Just(axis), Just(seed)));
    run(cases, strategy, |(x, axis, seed)| {
        check_gradients(OpKind::Squeeze, &[x], seed, |v| v[0].squeeze(axis))
    });
}

fn unsqueeze(cases: u32) {
    let shapes = any_shape().prop_flat_map(|dims| {
        let rank = dims.len() as isize;
        (Just(dims), -(rank + 1)..=rank)
    });
    let strategy = (shapes, any::<u64>())
        .prop_flat_map(|((dims, axis), seed)| (input(dims, smooth()), Just(axis), Just(seed)));
    run(cases, strategy, |(x, axis, seed)| {
        check_gradients(OpKind::Unsqueeze, &[x], seed, |v| v[0].unsqueeze(axis))
    });
}

fn contiguous(cases: u32) {
    // `contiguous` of a contiguous tensor is the tensor itself and records nothing, so the
    // input is always a transpose.
    let shapes = (2..=3usize, shape(0..=1, 1..=3), 2..=3usize)
        .prop_map(|(first, middle, last)| [vec![first], middle, vec![last]].concat());
    let strategy = (shapes, any::<u64>())
        .prop_flat_map(|(dims, seed)| (transposed_input(dims, smooth()), Just(seed)));
    run(cases, strategy, |(x, seed)| {
        check_gradients(OpKind::Contiguous, &[x], seed, |v| v[0].contiguous())
    });
}

/// Declares the exhaustive `checker` match and one test per kind from one list, so neither can
/// miss a kind the other has.
macro_rules! checkers {
    ($($kind:ident => $check:ident),* $(,)?) => {
        /// The gradient property of `kind`.
        fn checker(kind: OpKind) -> Checker {
            match kind {
                $(OpKind::$kind => $check,)*
            }
        }

        mod per_kind {
            $(
                #[test]
                fn $check() {
                    super::$check(super::cases());
                }
            )*
        }
    };
}

checkers! {
    Add => add,
    Sub => sub,
    Mul => mul,
    Div => div,
    Neg => neg,
    AddScalar => add_scalar,
    MulScalar => mul_scalar,
    Exp => exp,
    Log => log,
    Sqrt => sqrt,
    Powf => powf,
    Abs => abs,
    Relu => relu,
    Sigmoid => sigmoid,
    Tanh => tanh,
    Softplus => softplus,
    Clamp => clamp,
    Reparameterize => reparameterize,
    KlStandardNormal => kl_standard_normal,
    KlGaussians => kl_gaussians,
    Matmul => matmul,
    Linear => linear,
    Sum => sum,
    Mean => mean,
    Max => max,
    LogSumExp => logsumexp,
    Softmax => softmax,
    LogSoftmax => log_softmax,
    PickedLogSoftmax => picked_log_softmax,
    Concat => concat,
    IndexSelect => index_select,
    Where => where_,
    Transpose => transpose,
    Permute => permute,
    Reshape => reshape,
    Narrow => narrow,
    BroadcastTo => broadcast_to,
    Squeeze => squeeze,
    Unsqueeze => unsqueeze,
    Contiguous => contiguous,
}

#[test]
fn every_op_kind_has_a_gradient_check() {
    for kind in OpKind::ALL {
        checker(kind)(2);
    }
}

#[test]
fn stack() {
    let shapes = any_shape().prop_flat_map(|dims| {
        let rank = dims.len() as isize;
        (Just(dims), 1..=3usize, -(rank + 1)..=rank)
    });
    let strategy = (shapes, any::<u64>()).prop_flat_map(|((dims, count, axis), seed)| {
        let inputs = proptest::collection::vec(input(dims, smooth()), count);
        (inputs, Just(axis), Just(seed))
    });
    run(cases(), strategy, |(xs, axis, seed)| {
        check_gradients(OpKind::Concat, &xs, seed, |v| {
            let refs: Vec<&Tensor<f64>> = v.iter().collect();
            Tensor::stack(&refs, axis)
        })
    });
}

#[test]
fn sum_all() {
    let strategy = (any_shape(), any::<u64>())
        .prop_flat_map(|(dims, seed)| (input(dims, smooth()), Just(seed)));
    run(cases(), strategy, |(x, seed)| {
        check_gradients(OpKind::Sum, &[x], seed, |v| v[0].sum_all())
    });
}

#[test]
fn mean_all() {
    // Sizes from 1: the mean of no element is NaN.
    let strategy = (shape(0..=3, 1..=3), any::<u64>())
        .prop_flat_map(|(dims, seed)| (input(dims, smooth()), Just(seed)));
    run(cases(), strategy, |(x, seed)| {
        check_gradients(OpKind::Mean, &[x], seed, |v| v[0].mean_all())
    });
}

#[test]
fn tensor_operators() {
    let away = Domain::away_from_zero(0.5, 2.0);
    binary(OpKind::Add, cases(), smooth(), smooth(), |a, b| a + b);
    binary(OpKind::Sub, cases(), smooth(), smooth(), |a, b| a - b);
    binary(OpKind::Mul, cases(), smooth(), smooth(), |a, b| a * b);
    binary(OpKind::Div, cases(), smooth(), away, |a, b| a / b);
    elementwise(OpKind::Neg, cases(), smooth(), |x| -x);
}

#[test]
fn scalar_operators() {
    let c = -3.0..3.0f64;
    let away = prop_oneof![-3.0..-0.5f64, 0.5..3.0f64];
    let shapes = any_shape;
    unary(
        OpKind::AddScalar,
        cases(),
        shapes(),
        smooth(),
        c.clone(),
        |x, &c| x + c,
    );
    unary(
        OpKind::AddScalar,
        cases(),
        shapes(),
        smooth(),
        c.clone(),
        |x, &c| x - c,
    );
    unary(
        OpKind::MulScalar,
        cases(),
        shapes(),
        smooth(),
        c,
        |x, &c| x * c,
    );
    unary(
        OpKind::MulScalar,
        cases(),
        shapes(),
        smooth(),
        away,
        |x, &c| x / c,
    );
}

/// The check itself must fail on a wrong gradient: `x * detach(x)` has tape gradient `x`
/// where the finite differences see `2x`, and `relu` exactly at its kink has tape gradient 0
/// where central differences see 1/2.
#[test]
fn the_gradient_check_rejects_wrong_gradients() {
    let x = Input::plain(vec![2], vec![0.5, -1.5]);
    let result = check_gradients(OpKind::Mul, &[x], 7, |v| &v[0] * &v[0].detach());
    assert!(result.is_err(), "a detached factor went unnoticed");

    let x = Input::plain(vec![3], vec![0.0, 0.0, 0.0]);
    let result = check_gradients(OpKind::Relu, &[x], 7, |v| v[0].relu());
    assert!(result.is_err(), "a kink went unnoticed");

    // And it fails when the claimed kind was not recorded.
    let x = Input::plain(vec![3], vec![0.3, 0.2, 0.1]);
    let result = check_gradients(OpKind::Exp, &[x], 7, |v| v[0].tanh());
    assert!(result.is_err(), "a missing Exp went unnoticed");
}

/// One input used several times in one graph: gradients of every use add up, and kernels
/// whose operands share a storage read it correctly.
#[test]
fn inputs_used_several_times() {
    let square = (1..=3usize, 1..=3usize, any::<u64>())
        .prop_flat_map(|(m, k, seed)| (input(vec![m, k], smooth()), Just(seed)));
    run(cases(), square, |(x, seed)| {
        check_gradients(OpKind::Matmul, &[x], seed, |v| {
            let x = &v[0];
            let gram = x.matmul(&x.t());
            let joined = Tensor::concat(&[x, x], 0).sum(&[0], true);
            gram + (x * x).sum_all() + (x / &x.exp()).sum_all() + joined.sum_all()
        })
    });
}
