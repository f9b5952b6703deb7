//! Matrix products through `matrixmultiply`, with the strides of each view passed through so
//! that transposed inputs are never copied.

use smallvec::smallvec;

use crate::error::{Error, Result};
use crate::tensor::layout::walk;
use crate::tensor::{expect_ok, pool, Element, Layout, OpKind, Shape, Tensor};

/// Shapes of a (batched) matrix product: broadcast batch axes, then `m x k` times `k x n`.
struct ProductShape {
    batch: Shape,
    m: usize,
    k: usize,
    n: usize,
}

impl ProductShape {
    fn of(a: &[usize], b: &[usize]) -> Result<Self> {
        if a.len() < 2 || b.len() < 2 {
            return Err(Error::shapes(
                "matmul",
                a,
                b,
                "both operands need at least 2 axes",
            ));
        }
        let (ra, rb) = (a.len(), b.len());
        let (m, k, k2, n) = (a[ra - 2], a[ra - 1], b[rb - 2], b[rb - 1]);
        if k != k2 {
            return Err(Error::shapes("matmul", a, b, "inner dimensions differ"));
        }
        let batch = Shape::broadcast("matmul", &a[..ra - 2], &b[..rb - 2])?;
        Ok(ProductShape { batch, m, k, n })
    }

    fn full(&self, rows: usize, cols: usize) -> Shape {
        self.batch.iter().copied().chain([rows, cols]).collect()
    }
}

/// The two innermost strides of a layout as `matrixmultiply` wants them.
fn matrix_strides(layout: &Layout) -> [isize; 2] {
    let s = layout.strides();
    [s[s.len() - 2] as isize, s[s.len() - 1] as isize]
}

/// `c += alpha * a @ b` for every batch entry, writing a contiguous `c` of shape
/// `batch x m x n`, where `beta` scales what `c` held before.
fn batched_gemm<T: Element>(a: &Tensor<T>, b: &Tensor<T>, dims: &ProductShape, c: &mut [T]) {
    let (m, k, n) = (dims.m, dims.k, dims.n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c.iter_mut().for_each(|v| *v = T::ZERO);
        return;
    }

    let la = a
        .layout()
        .broadcast_to(&dims.full(m, k))
        .expect("checked by ProductShape");
    let lb = b
        .layout()
        .broadcast_to(&dims.full(k, n))
        .expect("checked by ProductShape");
    let (sa, sb) = (matrix_strides(&la), matrix_strides(&lb));
    let rank = dims.batch.rank();
    let guard_a = a.storage().read();
    let guard_b = (!std::sync::Arc::ptr_eq(a.storage(), b.storage())).then(|| b.storage().read());
    let da: &[T] = &guard_a;
    let db: &[T] = guard_b.as_deref().map_or(da, |v| v);

    let mut batch_index = 0;
    walk(
        &dims.batch,
        [&la.strides()[..rank], &lb.strides()[..rank]],
        [la.offset(), lb.offset()],
        |[oa, ob]| {
            let out = &mut c[batch_index * m * n..(batch_index + 1) * m * n];
            // SAFETY: `oa` and `ob` address the first element of an `m x k` and a `k x n`
            // matrix inside their storages with the strides passed (the layouts were checked
            // when the views were made); `out` is a separate, exclusively borrowed buffer of
            // `m x n`, row-major.
            unsafe {
                T::gemm(
                    m,
                    k,
                    n,
                    T::ONE,
                    da.as_ptr().add(oa),
                    sa,
                    db.as_ptr().add(ob),
                    sb,
                    T::ZERO,
                    out.as_mut_ptr(),
                    [n as isize, 1],
                );
            }
            batch_index += 1;
        },
    );
}

impl<T: Element> Tensor<T> {
    /// The matrix product of the last two axes, `[.., m, k] x [.., k, n] -> [.., m, n]`, with
    /// the leading (batch) axes broadcast numpy-style.
    ///
    /// Gradients: `dA = g B^T` and `dB = A^T g`, each summed back over broadcast batch axes.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when either operand has fewer than two axes, the inner sizes
    /// differ, or the batch axes do not broadcast.
    pub fn try_matmul(&self, rhs: &Tensor<T>) -> Result<Tensor<T>> {
        let dims = ProductShape::of(self.dims(), rhs.dims())?;
        let shape = dims.full(dims.m, dims.n);
        let mut out = pool::zeroed(shape.numel());
        batched_gemm(self, rhs, &dims, &mut out);
        let y = Tensor::from_contiguous(out, shape);

        // Only the operands that need a gradient get one: the input of a first layer needs
        // none, and its product would cost as much as the weight's.
        let (a, b) = (self.clone(), rhs.clone());
        let [need_a, need_b] = Tensor::grads_needed([self, rhs]);
        Ok(y.record(OpKind::Matmul, &[self, rhs], move |g| {
            // A gradient is computed in the memory order of its operand: for a transposed
            // view (the `W^T` of a linear layer) as the transpose of a contiguous product, so
            // that undoing the view yields a contiguous gradient instead of a strided copy.
            let flat = g.rank() == 2;
            let da = need_a.then(|| {
                if flat && is_transposed_matrix(&a) {
                    b.matmul(&g.t()).t()
                } else {
                    g.matmul(&b.t()).sum_to_shape(a.shape())
                }
            });
            let db = need_b.then(|| {
                if flat && is_transposed_matrix(&b) {
                    g.t().matmul(&a).t()
                } else {
                    a.t().matmul(g).sum_to_shape(b.shape())
                }
            });
            smallvec![da, db]
        }))
    }

    /// The (batched) matrix product.
    ///
    /// # Panics
    /// When the shapes do not fit; see [`Tensor::try_matmul`].
    #[track_caller]
    pub fn matmul(&self, rhs: &Tensor<T>) -> Tensor<T> {
        expect_ok(self.try_matmul(rhs))
    }
}

/// True for a two-axis view whose transpose is contiguous (and which is not contiguous
/// itself): the layout of `W^T` for a row-major `W`.
fn is_transposed_matrix<T: Element>(t: &Tensor<T>) -> bool {
    let l = t.layout();
    t.rank() == 2 && !l.is_contiguous() && l.transpose(0, 1).is_contiguous()
}
