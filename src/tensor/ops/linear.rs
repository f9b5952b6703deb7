//! The affine map `y = x W^T + b` as one operation: the product and the bias in one pass
//! over the output, and a backward that writes each gradient directly in its operand's shape.
//!
//! Written as `x.matmul(&w.t()) + b` it records three operations (a transpose, a product and a
//! broadcast sum), allocates an output for each, and its backward transposes and reduces
//! again; a batch-64 model spends more time on that bookkeeping than on the arithmetic of its
//! smaller layers.

use std::sync::Arc;

use smallvec::smallvec;

use crate::error::{Error, Result};
use crate::tensor::layout::walk_rows;
use crate::tensor::{pool, Element, OpKind, Shape, Tensor};

/// Row and column strides of a two-axis view, as `matrixmultiply` wants them.
fn strides_of<T: Element>(t: &Tensor<T>) -> [isize; 2] {
    let s = t.layout().strides();
    [s[0] as isize, s[1] as isize]
}

/// Runs `f` on the storages of three tensors, read-locking each distinct storage once: a
/// thread that read-locks one lock twice may deadlock when a writer waits in between.
fn with_data<T: Element, R>(ts: [&Tensor<T>; 3], f: impl FnOnce([&[T]; 3]) -> R) -> R {
    let same = |i: usize, j: usize| Arc::ptr_eq(ts[i].storage(), ts[j].storage());
    let g0 = ts[0].storage().read();
    let g1 = (!same(1, 0)).then(|| ts[1].storage().read());
    let g2 = (!same(2, 0) && !same(2, 1)).then(|| ts[2].storage().read());
    let d0: &[T] = &g0;
    let d1: &[T] = g1.as_deref().map_or(d0, |v| v);
    let d2: &[T] = match &g2 {
        Some(v) => v,
        None if same(2, 1) => d1,
        None => d0,
    };
    f([d0, d1, d2])
}

/// `c = a @ b + beta * c` for an `m x k` by `k x n` product into a contiguous `m x n` buffer,
/// with `a` and `b` read through their offsets and strides; nothing to do when a side is 0.
#[allow(clippy::too_many_arguments)]
fn gemm_into<T: Element>(
    [m, k, n]: [usize; 3],
    a: &[T],
    a_at: (usize, [isize; 2]),
    b: &[T],
    b_at: (usize, [isize; 2]),
    beta: T,
    c: &mut [T],
) {
    assert_eq!(c.len(), m * n, "output buffer of the wrong size");
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    // SAFETY: the offsets and strides come from the layouts of `m x k` and `k x n` views of
    // `a` and `b` (checked when the views were made), so every element they address lies in
    // those slices; `c` is a separate, exclusively borrowed `m x n` row-major buffer.
    unsafe {
        T::gemm(
            m,
            k,
            n,
            T::ONE,
            a.as_ptr().add(a_at.0),
            a_at.1,
            b.as_ptr().add(b_at.0),
            b_at.1,
            beta,
            c.as_mut_ptr(),
            [n as isize, 1],
        );
    }
}

impl<T: Element> Tensor<T> {
    /// The affine map `x W^T + b` of a batch of rows `x: [m, k]`, weights `W: [n, k]` and an
    /// optional bias `b: [n]`, giving `[m, n]`: a linear layer in one recorded operation.
    /// Any of the three may be a strided view; the output is contiguous.
    ///
    /// Gradients, for the output gradient `G: [m, n]`: `dx = G W`, `dW = G^T x` and
    /// `db = sum over rows of G`. Only the operands that need one get a gradient.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless `x` and `W` have two axes with equal second sizes and
    /// `b`, when given, has the shape `[n]`.
    pub fn try_linear(&self, weight: &Tensor<T>, bias: Option<&Tensor<T>>) -> Result<Tensor<T>> {
        let (x, w) = (self, weight);
        if x.rank() != 2 || w.rank() != 2 || x.dims()[1] != w.dims()[1] {
            return Err(Error::shapes(
                "linear",
                x.dims(),
                w.dims(),
                "needs x [m, k] and weights [n, k]",
            ));
        }
        let (m, k, n) = (x.dims()[0], x.dims()[1], w.dims()[0]);
        if let Some(b) = bias {
            if b.dims() != [n] {
                return Err(Error::shapes(
                    "linear",
                    w.dims(),
                    b.dims(),
                    "the bias must have one value per output, [n]",
                ));
            }
        }

        // Each output row starts as the bias, and the product is accumulated onto it.
        let mut out = pool::with_capacity(m * n);
        let b_or_x = bias.unwrap_or(x);
        with_data([x, w, b_or_x], |[dx, dw, db]| {
            match bias {
                Some(b) => {
                    let (offset, step) = (b.layout().offset(), b.layout().strides()[0]);
                    let row = (0..n).map(|j| db[offset + j * step]);
                    out.extend(row);
                    for _ in 1..m {
                        out.extend_from_within(0..n);
                    }
                    out.truncate(m * n);
                }
                None => out.resize(m * n, T::ZERO),
            }
            let w_t = (w.layout().offset(), {
                let [r, c] = strides_of(w);
                [c, r]
            });
            let beta = if bias.is_some() { T::ONE } else { T::ZERO };
            let x_at = (x.layout().offset(), strides_of(x));
            gemm_into([m, k, n], dx, x_at, dw, w_t, beta, &mut out);
        });
        let y = Tensor::from_contiguous(out, Shape::from([m, n]));

        let (xc, wc) = (x.clone(), w.clone());
        let inputs: &[&Tensor<T>] = match bias {
            Some(b) => &[x, w, b],
            None => &[x, w],
        };
        let [need_x, need_w, need_b] = Tensor::grads_needed([x, w, b_or_x]);
        let need_b = need_b && bias.is_some();
        Ok(y.record(OpKind::Linear, inputs, move |g| {
            let g_at = (g.layout().offset(), strides_of(g));
            let g_t = (g_at.0, [g_at.1[1], g_at.1[0]]);
            with_data([g, &xc, &wc], |[dg, dx, dw]| {
                let grad_x = need_x.then(|| {
                    let mut out = pool::zeroed(m * k);
                    let w_at = (wc.layout().offset(), strides_of(&wc));
                    gemm_into([m, n, k], dg, g_at, dw, w_at, T::ZERO, &mut out);
                    Tensor::from_contiguous(out, Shape::from([m, k]))
                });
                let grad_w = need_w.then(|| {
                    let mut out = pool::zeroed(n * k);
                    let x_at = (xc.layout().offset(), strides_of(&xc));
                    gemm_into([n, m, k], dg, g_t, dx, x_at, T::ZERO, &mut out);
                    Tensor::from_contiguous(out, Shape::from([n, k]))
                });
                let grad_b = need_b.then(|| {
                    let mut out = pool::zeroed(n);
                    let layout = g.layout();
                    walk_rows(
                        &[m, n],
                        [layout.strides()],
                        [layout.offset()],
                        |[i], len, [step]| match step {
                            1 => out
                                .iter_mut()
                                .zip(&dg[i..i + len])
                                .for_each(|(o, &v)| *o += v),
                            _ => (0..len).for_each(|j| out[j] += dg[i + j * step]),
                        },
                    );
                    Tensor::from_contiguous(out, Shape::from([n]))
                });
                // Without a bias the third entry is `None` and the tape, which pairs
                // gradients with the two recorded inputs, never reads it.
                smallvec![grad_x, grad_w, grad_b]
            })
        }))
    }

    /// `x W^T + b`; see [`Tensor::try_linear`].
    ///
    /// # Panics
    /// When the shapes do not fit.
    #[track_caller]
    pub fn linear(&self, weight: &Tensor<T>, bias: Option<&Tensor<T>>) -> Tensor<T> {
        crate::tensor::expect_ok(self.try_linear(weight, bias))
    }
}
