//! Shared helpers of the gradient property tests: strided input builders, value domains kept
//! away from kinks, a finite-difference gradient check in f64, and a proptest runner whose
//! case count honours `PROPTEST_CASES`.
//!
//! # The gradient check
//! For an operation `op` and inputs `x_1..x_k`, the check draws a fixed random tensor `w` of
//! the output's shape and compares the gradient of `L = sum(w * op(x))` computed by the tape
//! with central finite differences of `L`:
//!
//! - step: `h = STEP * max(1, |x_j|)`, with `STEP = 1e-6`; the quotient divides by the
//!   difference `(x_j + h) - (x_j - h)` actually represented in f64;
//! - tolerance: `|a - n| <= TOL * max(1, |a|, |n|)` with `TOL = 1e-6`, for every element of
//!   every input, `a` the analytic and `n` the numeric derivative.
//!
//! Each input is a leaf made with `requires_grad`, seen through an optional narrow and an
//! optional transpose, so the gradient also flows through those views; the finite differences
//! perturb the leaf's elements (padding included, whose derivative must be 0).

#![allow(dead_code)]

use dmil::autograd::{discard_graph, no_grad, recorded_ops};
use dmil::tensor::OpKind;
use dmil::Tensor;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Relative finite-difference step.
pub const STEP: f64 = 1e-6;

/// Mixed absolute/relative tolerance: `|a - n| <= TOL * max(1, |a|, |n|)`.
pub const TOL: f64 = 1e-6;

/// Cases per property unless `PROPTEST_CASES` says otherwise.
pub const DEFAULT_CASES: u32 = 64;

/// The number of cases per property: `PROPTEST_CASES` when set, else [`DEFAULT_CASES`].
pub fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

/// Runs `test` on `cases` values of `strategy`, panicking with the shrunk failing value.
pub fn run<S: Strategy>(
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

/// Where random values are drawn: a union of intervals, chosen in proportion to their
/// lengths, or distinct values well apart (for `max`).
#[derive(Clone, Debug)]
pub enum Domain {
    /// Uniform over the union of `[lo, hi)` intervals.
    Intervals(Vec<(f64, f64)>),
    /// Pairwise distinct values in `[-2, 2)`, at least `4 / n` apart for `n` values.
    Distinct,
}

impl Domain {
    /// One interval.
    pub fn range(lo: f64, hi: f64) -> Self {
        Domain::Intervals(vec![(lo, hi)])
    }

    /// `[-hi, -lo) U [lo, hi)`: away from a kink at 0.
    pub fn away_from_zero(lo: f64, hi: f64) -> Self {
        Domain::Intervals(vec![(-hi, -lo), (lo, hi)])
    }

    /// Values in `[-2, 2)` at least `gap` away from both clamp bounds.
    pub fn around_bounds(lo: f64, hi: f64, gap: f64) -> Self {
        Domain::Intervals(vec![
            (-2.0, lo - gap),
            (lo + gap, hi - gap),
            (hi + gap, 2.0),
        ])
    }

    /// Maps draws uniform in `[0, 1)` to values of this domain.
    fn values(&self, u: &[f64]) -> Vec<f64> {
        match self {
            Domain::Intervals(parts) => {
                let total: f64 = parts.iter().map(|(lo, hi)| hi - lo).sum();
                u.iter()
                    .map(|&u| {
                        let mut t = u * total;
                        for &(lo, hi) in parts {
                            if t < hi - lo {
                                return lo + t;
                            }
                            t -= hi - lo;
                        }
                        parts.last().map_or(0.0, |p| p.1 - 1e-3)
                    })
                    .collect()
            }
            Domain::Distinct => {
                let n = u.len();
                let mut order: Vec<usize> = (0..n).collect();
                order.sort_by(|&i, &j| u[i].total_cmp(&u[j]).then(i.cmp(&j)));
                let mut out = vec![0.0; n];
                for (rank, &i) in order.iter().enumerate() {
                    out[i] = -2.0 + 4.0 * (rank as f64 + 0.5) / n as f64;
                }
                out
            }
        }
    }
}

/// How an input is seen by the operation: a leaf of `base_dims()`, narrowed along one axis,
/// then with two axes swapped, ends up with shape `dims`.
#[derive(Clone, Debug)]
pub struct Input {
    /// The shape the operation sees.
    pub dims: Vec<usize>,
    /// Axes swapped by the last view, if any.
    pub swap: Option<(usize, usize)>,
    /// `(axis, before, after)`: extra elements around the narrowed slice (axis counted in the
    /// pre-transpose shape).
    pub pad: Option<(usize, usize, usize)>,
    /// The leaf's elements, row-major in `base_dims()`.
    pub data: Vec<f64>,
}

impl Input {
    /// A contiguous input holding `data`.
    pub fn plain(dims: Vec<usize>, data: Vec<f64>) -> Self {
        Input {
            dims,
            swap: None,
            pad: None,
            data,
        }
    }

    /// The shape before the transpose.
    fn pre_dims(&self) -> Vec<usize> {
        let mut pre = self.dims.clone();
        if let Some((a, b)) = self.swap {
            pre.swap(a, b);
        }
        pre
    }

    /// The shape of the leaf.
    pub fn base_dims(&self) -> Vec<usize> {
        let mut base = self.pre_dims();
        if let Some((axis, before, after)) = self.pad {
            base[axis] += before + after;
        }
        base
    }

    /// The leaf built from `data`, with `requires_grad` when `leaf`.
    pub fn base(&self, data: &[f64], leaf: bool) -> Tensor<f64> {
        let t = Tensor::from_vec(data.to_vec(), self.base_dims()).expect("data fits the base");
        if leaf {
            t.requires_grad()
        } else {
            t
        }
    }

    /// The view the operation sees of a base tensor.
    pub fn view_of(&self, base: &Tensor<f64>) -> Tensor<f64> {
        let mut t = base.clone();
        if let Some((axis, before, _)) = self.pad {
            t = t.narrow(axis as isize, before, self.pre_dims()[axis]);
        }
        if let Some((a, b)) = self.swap {
            t = t.transpose(a as isize, b as isize);
        }
        assert_eq!(t.dims(), self.dims.as_slice(), "view builder");
        t
    }

    /// The view's values as a fresh contiguous tensor.
    pub fn contiguous_copy(&self) -> Tensor<f64> {
        let view = self.view_of(&self.base(&self.data, false));
        Tensor::from_vec(view.to_vec(), self.dims.clone()).expect("same element count")
    }
}

/// An input of shape `dims` with values from `domain`, seen directly, through a narrow of a
/// bigger leaf, through a transpose, or both.
pub fn input(dims: Vec<usize>, domain: Domain) -> impl Strategy<Value = Input> {
    let rank = dims.len();
    let swap = if rank == 0 {
        Just(None).boxed()
    } else {
        prop_oneof![Just(None), (0..rank, 0..rank).prop_map(Some)].boxed()
    };
    let pad = if rank == 0 {
        Just(None).boxed()
    } else {
        prop_oneof![Just(None), (0..rank, 0..3usize, 0..3usize).prop_map(Some)].boxed()
    };
    (swap, pad).prop_flat_map(move |(swap, pad)| {
        let shell = Input {
            dims: dims.clone(),
            swap,
            pad,
            data: Vec::new(),
        };
        let n: usize = shell.base_dims().iter().product();
        let domain = domain.clone();
        proptest::collection::vec(0.0..1.0f64, n).prop_map(move |u| Input {
            data: domain.values(&u),
            ..shell.clone()
        })
    })
}

/// An input that is never contiguous: a transpose of two axes of size at least 2.
pub fn transposed_input(dims: Vec<usize>, domain: Domain) -> impl Strategy<Value = Input> {
    let n: usize = dims.iter().product();
    assert!(dims.len() >= 2 && dims[0] >= 2 && dims[dims.len() - 1] >= 2);
    let swap = Some((0, dims.len() - 1));
    proptest::collection::vec(0.0..1.0f64, n).prop_map(move |u| Input {
        dims: dims.clone(),
        swap,
        pad: None,
        data: domain.values(&u),
    })
}

/// A shape of rank `ranks` with sizes in `sizes`.
pub fn shape(
    ranks: std::ops::RangeInclusive<usize>,
    sizes: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(sizes, ranks)
}

/// Sizes 0..=3, where 0 comes up about one time in ten.
pub fn size() -> impl Strategy<Value = usize> {
    prop_oneof![1 => Just(0usize), 9 => 1..=3usize]
}

/// A shape of rank 0..=3 with sizes from [`size`].
pub fn any_shape() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(size(), 0..=3)
}

/// A shape that broadcasts to `full`: some leading axes dropped and some sizes set to 1.
pub fn broadcast_from(full: Vec<usize>) -> impl Strategy<Value = Vec<usize>> {
    let rank = full.len();
    (0..=rank, proptest::collection::vec(any::<bool>(), rank)).prop_map(move |(drop, ones)| {
        (drop..rank)
            .map(|a| if ones[a] { 1 } else { full[a] })
            .collect()
    })
}

/// Two shapes that broadcast together (either may have fewer axes or size-1 axes).
pub fn broadcast_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    any_shape().prop_flat_map(|full| (broadcast_from(full.clone()), broadcast_from(full)))
}

/// Compares the tape's gradients of `L = sum(w * f(views))` with central finite differences,
/// after checking that evaluating `f` recorded an operation of `kind`. `seed` fixes `w`.
pub fn check_gradients(
    kind: OpKind,
    inputs: &[Input],
    seed: u64,
    f: impl Fn(&[Tensor<f64>]) -> Tensor<f64>,
) -> Result<(), TestCaseError> {
    discard_graph::<f64>();
    let leaves: Vec<Tensor<f64>> = inputs.iter().map(|i| i.base(&i.data, true)).collect();
    let views: Vec<Tensor<f64>> = inputs
        .iter()
        .zip(&leaves)
        .map(|(i, l)| i.view_of(l))
        .collect();

    let before = recorded_ops::<f64>().len();
    let out = f(&views);
    let during = recorded_ops::<f64>().split_off(before);
    prop_assert!(
        during.contains(&kind),
        "expected {kind:?} to be recorded, got {during:?}"
    );

    let w = Tensor::<f64>::rand_uniform(out.shape().clone(), -1.0, 1.0, seed);
    let loss = (&out * &w).sum_all();
    loss.backward()
        .map_err(|e| TestCaseError::fail(format!("backward: {e}")))?;

    let evaluate = |datas: &[Vec<f64>]| -> f64 {
        no_grad(|| {
            let views: Vec<Tensor<f64>> = inputs
                .iter()
                .zip(datas)
                .map(|(i, d)| i.view_of(&i.base(d, false)))
                .collect();
            (&f(&views) * &w).sum_all().item()
        })
    };

    let mut datas: Vec<Vec<f64>> = inputs.iter().map(|i| i.data.clone()).collect();
    for (k, leaf) in leaves.iter().enumerate() {
        let grad = leaf
            .grad()
            .ok_or_else(|| TestCaseError::fail(format!("input {k} got no gradient")))?;
        prop_assert_eq!(grad.dims(), leaf.dims(), "gradient shape of input {}", k);
        let analytic = grad.to_vec();

        for j in 0..datas[k].len() {
            let x = datas[k][j];
            let h = STEP * x.abs().max(1.0);
            datas[k][j] = x + h;
            let plus = evaluate(&datas);
            datas[k][j] = x - h;
            let minus = evaluate(&datas);
            datas[k][j] = x;
            let numeric = (plus - minus) / ((x + h) - (x - h));

            let a = analytic[j];
            let bound = TOL * 1f64.max(a.abs()).max(numeric.abs());
            prop_assert!(
                (a - numeric).abs() <= bound,
                "input {k} element {j} (x = {x}): analytic {a}, numeric {numeric}, \
                 difference {} > {bound}",
                (a - numeric).abs()
            );
        }
    }
    Ok(())
}
