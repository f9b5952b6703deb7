//! CPU kernels: the loops every operation is written with.
//!
//! Each kernel reads any strided view (transposed, sliced, broadcast) and writes a fresh
//! contiguous buffer. Contiguous inputs take a flat fast path that the compiler vectorises;
//! everything else goes through [`walk`](super::layout::walk). Kernels record nothing on the
//! tape: the differentiable operations in [`ops`](super::ops) call them and record.

use std::sync::Arc;

use super::layout::{walk, walk_rows};
use super::pool;
use super::{Element, Layout, Shape, Tensor};
use crate::error::Result;

/// Below this many elements a kernel stays on the calling thread: handing work to other
/// threads costs more than it saves on the small tensors of a batch-64 model.
#[cfg(feature = "rayon")]
pub(crate) const PARALLEL_MIN_ELEMENTS: usize = 1 << 16;

/// Elements per parallel task.
#[cfg(feature = "rayon")]
const PARALLEL_CHUNK: usize = 1 << 14;

/// The elements of `x` in row-major order of its shape, in a buffer from the pool (for a
/// tensor or a temporary).
pub(crate) fn gather<T: Element>(x: &Tensor<T>) -> Vec<T> {
    gather_into(x, pool::with_capacity(x.numel()))
}

/// The elements of `x` in row-major order of its shape, appended to `out`.
pub(crate) fn gather_into<T: Element>(x: &Tensor<T>, mut out: Vec<T>) -> Vec<T> {
    let data = x.storage().read();
    let layout = x.layout();
    if let Some(range) = layout.contiguous_range() {
        out.extend_from_slice(&data[range]);
        return out;
    }
    walk_rows(
        layout.shape(),
        [layout.strides()],
        [layout.offset()],
        |[i], len, [step]| match step {
            1 => out.extend_from_slice(&data[i..i + len]),
            _ => out.extend((0..len).map(|t| data[i + t * step])),
        },
    );
    out
}

/// Copies the view `src` of `data` into the view `dst` of `out`; the two views share a shape.
pub(crate) fn copy_into<T: Element>(data: &[T], src: &Layout, out: &mut [T], dst: &Layout) {
    walk_rows(
        src.shape(),
        [src.strides(), dst.strides()],
        [src.offset(), dst.offset()],
        |[i, o], len, steps| match steps {
            [1, 1] => out[o..o + len].copy_from_slice(&data[i..i + len]),
            [si, so] => (0..len).for_each(|t| out[o + t * so] = data[i + t * si]),
        },
    );
}

/// Sum of a slice in eight independent lanes, so that the compiler vectorises it (a plain
/// `iter().sum()` must keep IEEE left-to-right order and cannot). The order of additions, and
/// so the rounding, therefore differs from a sequential sum.
pub(crate) fn sum_slice<T: Element>(xs: &[T]) -> T {
    let mut lanes = [T::ZERO; 8];
    let chunks = xs.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (l, &v) in lanes.iter_mut().zip(chunk) {
            *l += v;
        }
    }
    let mut total = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    for &v in tail {
        total += v;
    }
    total
}

/// `x` itself when it is contiguous, else a contiguous copy; never recorded.
pub(crate) fn contiguous<T: Element>(x: &Tensor<T>) -> Tensor<T> {
    if x.is_contiguous() {
        return x.detach();
    }
    Tensor::from_contiguous(gather(x), x.shape().clone())
}

/// A contiguous tensor of `x`'s shape filled with `value`.
pub(crate) fn full_like<T: Element>(x: &Tensor<T>, value: T) -> Tensor<T> {
    Tensor::from_contiguous(pool::filled(x.numel(), value), x.shape().clone())
}

/// Applies `f` to every element of `x`.
pub(crate) fn map<T: Element>(x: &Tensor<T>, f: impl Fn(T) -> T + Sync) -> Tensor<T> {
    let data = x.storage().read();
    let layout = x.layout();
    let out = match layout.contiguous_range() {
        Some(range) => map_slice(&data[range], f),
        None => {
            let mut out = pool::with_capacity(x.numel());
            walk(
                layout.shape(),
                [layout.strides()],
                [layout.offset()],
                |[i]| out.push(f(data[i])),
            );
            out
        }
    };
    Tensor::from_contiguous(out, x.shape().clone())
}

/// Applies a slice kernel (`T::exp_slice`, `T::sigmoid_slice`) to every element of `x`,
/// copying a strided view to a contiguous buffer first.
pub(crate) fn map_slices<T: Element>(x: &Tensor<T>, f: fn(&[T], &mut [T])) -> Tensor<T> {
    let mut out = pool::scratch(x.numel());
    {
        let data = x.storage().read();
        match x.layout().contiguous_range() {
            Some(range) => apply_slices(&data[range], &mut out, f),
            None => {
                drop(data);
                apply_slices(&gather(x), &mut out, f);
            }
        }
    }
    Tensor::from_contiguous(out, x.shape().clone())
}

/// `f(src, dst)`, split into parallel chunks when the slices are large.
fn apply_slices<T: Element>(src: &[T], dst: &mut [T], f: fn(&[T], &mut [T])) {
    #[cfg(feature = "rayon")]
    if src.len() >= PARALLEL_MIN_ELEMENTS {
        use rayon::prelude::*;
        dst.par_chunks_mut(PARALLEL_CHUNK)
            .zip(src.par_chunks(PARALLEL_CHUNK))
            .for_each(|(d, s)| f(s, d));
        return;
    }
    f(src, dst);
}

/// `f` over a flat slice, in parallel chunks when the slice is large.
fn map_slice<T: Element>(src: &[T], f: impl Fn(T) -> T + Sync) -> Vec<T> {
    #[cfg(feature = "rayon")]
    if src.len() >= PARALLEL_MIN_ELEMENTS {
        use rayon::prelude::*;
        // Written straight into the buffer's spare capacity: no zeroing pass first.
        let mut out = pool::with_capacity(src.len());
        src.par_iter()
            .with_min_len(PARALLEL_CHUNK)
            .map(|&v| f(v))
            .collect_into_vec(&mut out);
        return out;
    }
    let mut out = pool::with_capacity(src.len());
    out.extend(src.iter().map(|&v| f(v)));
    out
}

/// Applies `f` element-wise to `a` and `b` broadcast to a common shape.
///
/// # Errors
/// [`crate::Error::ShapeMismatch`] naming `op` when the shapes do not broadcast.
pub(crate) fn zip<T: Element>(
    op: &'static str,
    a: &Tensor<T>,
    b: &Tensor<T>,
    f: impl Fn(T, T) -> T + Sync,
) -> Result<Tensor<T>> {
    let shape = Shape::broadcast(op, a.dims(), b.dims())?;
    let (la, lb) = (
        a.layout().broadcast_to(&shape)?,
        b.layout().broadcast_to(&shape)?,
    );
    let da = a.storage().read();
    let out = if Arc::ptr_eq(a.storage(), b.storage()) {
        zip_layouts(&da, &la, &da, &lb, &shape, f)
    } else {
        let db = b.storage().read();
        zip_layouts(&da, &la, &db, &lb, &shape, f)
    };
    Ok(Tensor::from_contiguous(out, shape))
}

/// The loop behind [`zip`]: flat when both views are contiguous, strided otherwise.
fn zip_layouts<T: Element>(
    da: &[T],
    la: &Layout,
    db: &[T],
    lb: &Layout,
    shape: &Shape,
    f: impl Fn(T, T) -> T + Sync,
) -> Vec<T> {
    if let (Some(ra), Some(rb)) = (la.contiguous_range(), lb.contiguous_range()) {
        let (sa, sb) = (&da[ra], &db[rb]);
        #[cfg(feature = "rayon")]
        if sa.len() >= PARALLEL_MIN_ELEMENTS {
            use rayon::prelude::*;
            // Written straight into the buffer's spare capacity: no zeroing pass first.
            let mut out = pool::with_capacity(sa.len());
            sa.par_iter()
                .zip(sb)
                .with_min_len(PARALLEL_CHUNK)
                .map(|(&x, &y)| f(x, y))
                .collect_into_vec(&mut out);
            return out;
        }
        let mut out = pool::with_capacity(sa.len());
        out.extend(sa.iter().zip(sb).map(|(&x, &y)| f(x, y)));
        return out;
    }

    let mut out = pool::with_capacity(shape.numel());
    walk_rows(
        shape,
        [la.strides(), lb.strides()],
        [la.offset(), lb.offset()],
        |[i, j], len, steps| match steps {
            [1, 1] => out.extend(
                da[i..i + len]
                    .iter()
                    .zip(&db[j..j + len])
                    .map(|(&x, &y)| f(x, y)),
            ),
            [1, 0] => out.extend(da[i..i + len].iter().map(|&x| f(x, db[j]))),
            [0, 1] => out.extend(db[j..j + len].iter().map(|&y| f(da[i], y))),
            [si, sj] => out.extend((0..len).map(|t| f(da[i + t * si], db[j + t * sj]))),
        },
    );
    out
}

/// Applies `f` element-wise to three tensors broadcast to a common shape.
///
/// # Errors
/// [`crate::Error::ShapeMismatch`] naming `op` when the shapes do not broadcast.
pub(crate) fn zip3<T: Element>(
    op: &'static str,
    a: &Tensor<T>,
    b: &Tensor<T>,
    c: &Tensor<T>,
    f: impl Fn(T, T, T) -> T,
) -> Result<Tensor<T>> {
    let ab = Shape::broadcast(op, a.dims(), b.dims())?;
    let shape = Shape::broadcast(op, &ab, c.dims())?;
    let la = a.layout().broadcast_to(&shape)?;
    let lb = b.layout().broadcast_to(&shape)?;
    let lc = c.layout().broadcast_to(&shape)?;
    let ga = a.storage().read();
    let gb = (!Arc::ptr_eq(a.storage(), b.storage())).then(|| b.storage().read());
    let gc = (!Arc::ptr_eq(a.storage(), c.storage()) && !Arc::ptr_eq(b.storage(), c.storage()))
        .then(|| c.storage().read());
    let va: &[T] = &ga;
    let vb: &[T] = gb.as_deref().map_or(va, |v| v);
    let vc: &[T] = match &gc {
        Some(v) => v,
        None if Arc::ptr_eq(b.storage(), c.storage()) => vb,
        None => va,
    };
    if let (Some(ra), Some(rb), Some(rc)) = (
        la.contiguous_range(),
        lb.contiguous_range(),
        lc.contiguous_range(),
    ) {
        let out = va[ra]
            .iter()
            .zip(&vb[rb])
            .zip(&vc[rc])
            .map(|((&x, &y), &z)| f(x, y, z));
        let mut buffer = pool::with_capacity(shape.numel());
        buffer.extend(out);
        return Ok(Tensor::from_contiguous(buffer, shape));
    }

    let mut out = pool::with_capacity(shape.numel());
    walk_rows(
        &shape,
        [la.strides(), lb.strides(), lc.strides()],
        [la.offset(), lb.offset(), lc.offset()],
        |[i, j, k], len, steps| match steps {
            [1, 1, 1] => {
                let rows = va[i..i + len].iter().zip(&vb[j..j + len]);
                out.extend(rows.zip(&vc[k..k + len]).map(|((&x, &y), &z)| f(x, y, z)));
            }
            [1, 1, 0] => {
                let z = vc[k];
                let rows = va[i..i + len].iter().zip(&vb[j..j + len]);
                out.extend(rows.map(|(&x, &y)| f(x, y, z)));
            }
            [si, sj, sk] => {
                out.extend((0..len).map(|t| f(va[i + t * si], vb[j + t * sj], vc[k + t * sk])))
            }
        },
    );
    Ok(Tensor::from_contiguous(out, shape))
}

/// `a + b` for two tensors of one shape; used to accumulate gradients.
///
/// # Panics
/// When the shapes differ: gradients of one tensor always share its shape.
pub(crate) fn add_same_shape<T: Element>(a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
    assert_eq!(
        a.shape(),
        b.shape(),
        "gradient shapes differ during accumulation"
    );
    super::expect_ok(zip("accumulate", a, b, |x, y| x + y))
}

/// `sum + g` for two tensors of one shape, written into `sum`'s own buffer when `sum` is its
/// only handle and `g` is contiguous (the common case when gradients accumulate), else into a
/// fresh buffer.
///
/// # Panics
/// When the shapes differ: gradients of one tensor always share its shape.
pub(crate) fn accumulate<T: Element>(mut sum: Tensor<T>, g: &Tensor<T>) -> Tensor<T> {
    assert_eq!(
        sum.shape(),
        g.shape(),
        "gradient shapes differ during accumulation"
    );
    if let Some(range) = g.layout().contiguous_range() {
        if let Some(dst) = sum.unique_data_mut() {
            let src = g.storage().read();
            dst.iter_mut().zip(&src[range]).for_each(|(d, &s)| *d += s);
            drop(src);
            return sum;
        }
    }
    add_same_shape(&sum, g)
}

/// `g` itself when it is contiguous and its only handle, else a contiguous copy that shares
/// nothing: a gradient kept across steps and updated in place must not share a buffer with
/// another tensor.
pub(crate) fn into_owned<T: Element>(mut g: Tensor<T>) -> Tensor<T> {
    if g.unique_data_mut().is_some() {
        return g;
    }
    Tensor::from_contiguous(gather(&g), g.shape().clone())
}

/// A zero tensor of `full` shape with `g` written into the slice `start..start + g.dims()[axis]`
/// along `axis`: the gradient of a narrow.
pub(crate) fn pad_into<T: Element>(
    g: &Tensor<T>,
    full: &Shape,
    axis: usize,
    start: usize,
) -> Tensor<T> {
    let mut out = pool::zeroed(full.numel());
    let region = Layout::contiguous(full.clone()).narrow(axis, start, g.dims()[axis]);
    copy_into(&g.storage().read(), g.layout(), &mut out, &region);
    Tensor::from_contiguous(out, full.clone())
}

/// The elements of `x` with `axis` moved last, as one contiguous buffer of `rows x len`
/// (`len` the size of `axis`), together with the row-major flat index in `x` of each element
/// of that buffer. Reductions and softmaxes along any axis are written on these rows.
pub(crate) fn rows_along<T: Element>(x: &Tensor<T>, axis: usize) -> AxisRows<T> {
    let rank = x.rank();
    let perm: Vec<usize> = (0..rank).filter(|&a| a != axis).chain([axis]).collect();
    let moved = x.view_with(x.layout().permute(&perm));
    let len = x.dims()[axis];
    AxisRows {
        values: gather(&moved),
        len,
        perm,
    }
}

/// See [`rows_along`].
pub(crate) struct AxisRows<T> {
    /// The elements, `axis` last, row-major.
    pub(crate) values: Vec<T>,
    /// Size of the reduced axis: the length of one row.
    pub(crate) len: usize,
    /// The permutation that moved the axis last.
    pub(crate) perm: Vec<usize>,
}

impl<T: Element> AxisRows<T> {
    /// Row-major flat index in the original tensor of each element of `values`.
    pub(crate) fn source_indices(&self, shape: &Shape) -> Vec<usize> {
        let moved = Layout::contiguous(shape.clone()).permute(&self.perm);
        let mut out = Vec::with_capacity(shape.numel());
        walk(moved.shape(), [moved.strides()], [0], |[i]| out.push(i));
        out
    }

    /// Puts a buffer laid out like `values` (axis last) back in the original axis order, as a
    /// tensor of `shape`.
    pub(crate) fn restore(&self, data: Vec<T>, shape: &Shape) -> Tensor<T> {
        let moved_shape: Shape = self.perm.iter().map(|&a| shape[a]).collect();
        let moved = Tensor::from_contiguous(data, moved_shape);
        if self.perm.last() == Some(&(shape.rank() - 1)) {
            return moved;
        }
        let mut inverse = vec![0; self.perm.len()];
        for (k, &a) in self.perm.iter().enumerate() {
            inverse[a] = k;
        }
        contiguous(&moved.view_with(moved.layout().permute(&inverse)))
    }
}
