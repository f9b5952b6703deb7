//! Reductions: sums and means over chosen axes, and the maximum over one axis.

use smallvec::smallvec;

use crate::error::{Error, Result};
use crate::tensor::{expect_ok, kernels, Element, OpKind, Shape, Tensor};

impl<T: Element> Tensor<T> {
    /// The shape `self` has after reducing `axes` with `keepdim`, the kept-axes shape, and the
    /// resolved axes.
    fn reduced_shapes(&self, op: &'static str, axes: &[isize]) -> Result<(Shape, Vec<usize>)> {
        let mut resolved = Vec::with_capacity(axes.len());
        for &a in axes {
            let a = self.axis(op, a)?;
            if resolved.contains(&a) {
                return Err(Error::argument(op, format!("axis {a} is listed twice")));
            }
            resolved.push(a);
        }
        let kept: Shape = (0..self.rank())
            .map(|a| {
                if resolved.contains(&a) {
                    1
                } else {
                    self.dims()[a]
                }
            })
            .collect();
        Ok((kept, resolved))
    }

    /// Drops the reduced axes of a keep-dim result unless `keepdim`.
    fn finish_reduction(y: Tensor<T>, axes: &[usize], keepdim: bool) -> Tensor<T> {
        if keepdim {
            return y;
        }
        let dims: Shape = (0..y.rank())
            .filter(|a| !axes.contains(a))
            .map(|a| y.dims()[a])
            .collect();
        y.reshape(dims)
    }

    /// Sum over `axes` (negative axes count from the end); the reduced axes are kept with size
    /// 1 when `keepdim`. An empty `axes` sums nothing and returns a copy-free identity.
    ///
    /// Gradient: the output gradient broadcast back over the reduced axes.
    ///
    /// # Errors
    /// [`Error::InvalidAxis`] or [`Error::InvalidArgument`] for bad or repeated axes.
    pub fn try_sum(&self, axes: &[isize], keepdim: bool) -> Result<Tensor<T>> {
        let (kept, resolved) = self.reduced_shapes("sum", axes)?;
        let y = self.sum_to_shape(&kept);
        let input_shape = self.shape().clone();
        let y = y.record(OpKind::Sum, &[self], move |g| {
            smallvec![Some(expect_ok(g.try_broadcast_to(input_shape)))]
        });
        Ok(Self::finish_reduction(y, &resolved, keepdim))
    }

    /// Sum over `axes`.
    ///
    /// # Panics
    /// For bad axes; see [`Tensor::try_sum`].
    #[track_caller]
    pub fn sum(&self, axes: &[isize], keepdim: bool) -> Tensor<T> {
        expect_ok(self.try_sum(axes, keepdim))
    }

    /// Sum of every element, as a scalar tensor.
    pub fn sum_all(&self) -> Tensor<T> {
        let axes: Vec<isize> = (0..self.rank() as isize).collect();
        self.sum(&axes, false)
    }

    /// Mean over `axes`. The mean over an empty axis is NaN (0 / 0), as in IEEE arithmetic.
    ///
    /// Gradient: the output gradient divided by the count, broadcast back.
    ///
    /// # Errors
    /// [`Error::InvalidAxis`] or [`Error::InvalidArgument`] for bad or repeated axes.
    pub fn try_mean(&self, axes: &[isize], keepdim: bool) -> Result<Tensor<T>> {
        let (kept, resolved) = self.reduced_shapes("mean", axes)?;
        let count: usize = resolved.iter().map(|&a| self.dims()[a]).product();
        let scale = T::ONE / T::from_f64(count as f64);
        let y = kernels::map(&self.sum_to_shape(&kept), |v| v * scale);
        let input_shape = self.shape().clone();
        let y = y.record(OpKind::Mean, &[self], move |g| {
            let g = kernels::map(g, |g| g * scale);
            smallvec![Some(expect_ok(g.try_broadcast_to(input_shape)))]
        });
        Ok(Self::finish_reduction(y, &resolved, keepdim))
    }

    /// Mean over `axes`.
    ///
    /// # Panics
    /// For bad axes; see [`Tensor::try_mean`].
    #[track_caller]
    pub fn mean(&self, axes: &[isize], keepdim: bool) -> Tensor<T> {
        expect_ok(self.try_mean(axes, keepdim))
    }

    /// Mean of every element, as a scalar tensor.
    pub fn mean_all(&self) -> Tensor<T> {
        let axes: Vec<isize> = (0..self.rank() as isize).collect();
        self.mean(&axes, false)
    }

    /// Maximum over one axis.
    ///
    /// Gradient: the whole output gradient goes to the first maximal element of each slice
    /// (the tie convention of this crate); the others get 0.
    ///
    /// # Errors
    /// [`Error::InvalidAxis`] for a bad axis; [`Error::InvalidShape`] when the axis is empty
    /// (the maximum of nothing is undefined).
    pub fn try_max(&self, axis: isize, keepdim: bool) -> Result<Tensor<T>> {
        let axis = self.axis("max", axis)?;
        if self.dims()[axis] == 0 {
            return Err(Error::shape(
                "max",
                self.dims(),
                format!("axis {axis} is empty"),
            ));
        }

        let rows = kernels::rows_along(self, axis);
        let mut values = Vec::with_capacity(rows.values.len() / rows.len);
        let mut winners = Vec::with_capacity(values.capacity());
        for (r, row) in rows.values.chunks_exact(rows.len).enumerate() {
            let (mut best, mut at) = (row[0], 0);
            for (j, &v) in row.iter().enumerate().skip(1) {
                if v > best {
                    (best, at) = (v, j);
                }
            }
            values.push(best);
            winners.push(r * rows.len + at);
        }

        let mut kept = self.shape().to_vec();
        kept[axis] = 1;
        let y = rows.restore(values, &Shape::from(kept));
        let input_shape = self.shape().clone();
        let y = y.record(OpKind::Max, &[self], move |g| {
            let sources = rows.source_indices(&input_shape);
            let g = g.to_vec();
            let mut dx = vec![T::ZERO; input_shape.numel()];
            let order = rows_order(&rows.perm, &input_shape);
            for (r, &w) in winners.iter().enumerate() {
                dx[sources[w]] += g[order[r]];
            }
            smallvec![Some(Tensor::from_contiguous(dx, input_shape))]
        });
        Ok(Self::finish_reduction(y, &[axis], keepdim))
    }

    /// Maximum over one axis.
    ///
    /// # Panics
    /// See [`Tensor::try_max`].
    #[track_caller]
    pub fn max(&self, axis: isize, keepdim: bool) -> Tensor<T> {
        expect_ok(self.try_max(axis, keepdim))
    }
}

/// For each row of [`kernels::rows_along`] (the reduced axis moved last), the row-major index
/// of that row in the keep-dim output.
fn rows_order(perm: &[usize], shape: &Shape) -> Vec<usize> {
    let mut kept = shape.to_vec();
    kept[*perm.last().expect("a reduced axis")] = 1;
    let rows_view = crate::tensor::Layout::contiguous(Shape::from(kept)).permute(perm);
    let mut out = Vec::new();
    crate::tensor::layout::walk(rows_view.shape(), [rows_view.strides()], [0], |[i]| {
        out.push(i)
    });
    out
}
