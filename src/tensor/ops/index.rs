//! Joining and selecting: `concat`, `stack`, `index_select` and `where_`.

use smallvec::SmallVec;

use crate::autograd::InputGrads;
use crate::error::{Error, Result};
use crate::tensor::layout::walk;
use crate::tensor::{expect_ok, kernels, pool, Element, Layout, OpKind, Shape, Tensor};

impl<T: Element> Tensor<T> {
    /// Joins tensors along an existing axis; all other sizes must agree.
    ///
    /// Gradient: each input gets its slice of the output gradient.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty list; [`Error::ShapeMismatch`] when ranks or
    /// sizes off `axis` differ; [`Error::InvalidAxis`] for a bad axis.
    pub fn try_concat(tensors: &[&Tensor<T>], axis: isize) -> Result<Tensor<T>> {
        let first = tensors
            .first()
            .ok_or_else(|| Error::argument("concat", "needs at least one tensor"))?;
        let axis = first.axis("concat", axis)?;
        for t in &tensors[1..] {
            let fits = t.rank() == first.rank()
                && (0..first.rank()).all(|a| a == axis || t.dims()[a] == first.dims()[a]);
            if !fits {
                return Err(Error::shapes(
                    "concat",
                    first.dims(),
                    t.dims(),
                    &format!("sizes must agree off axis {axis}"),
                ));
            }
        }

        let mut dims = first.shape().to_vec();
        dims[axis] = tensors.iter().map(|t| t.dims()[axis]).sum();
        let shape = Shape::from(dims);
        let mut out = pool::zeroed(shape.numel());
        let full = Layout::contiguous(shape.clone());
        let mut start = 0;
        let mut sizes = Vec::with_capacity(tensors.len());
        for t in tensors {
            let len = t.dims()[axis];
            let region = full.narrow(axis, start, len);
            kernels::copy_into(&t.storage().read(), t.layout(), &mut out, &region);
            sizes.push((start, len));
            start += len;
        }

        let y = Tensor::from_contiguous(out, shape);
        Ok(y.record(OpKind::Concat, tensors, move |g| {
            sizes
                .iter()
                .map(|&(start, len)| Some(g.view_with(g.layout().narrow(axis, start, len))))
                .collect::<InputGrads<T>>()
        }))
    }

    /// Joins tensors along an existing axis.
    ///
    /// # Panics
    /// See [`Tensor::try_concat`].
    #[track_caller]
    pub fn concat(tensors: &[&Tensor<T>], axis: isize) -> Tensor<T> {
        expect_ok(Self::try_concat(tensors, axis))
    }

    /// Joins tensors of one shape along a new axis `axis` (a size-1 axis inserted in each,
    /// then `concat`).
    ///
    /// # Errors
    /// As [`Tensor::try_concat`], and [`Error::InvalidAxis`] for a bad axis.
    pub fn try_stack(tensors: &[&Tensor<T>], axis: isize) -> Result<Tensor<T>> {
        let expanded = tensors
            .iter()
            .map(|t| t.try_unsqueeze(axis))
            .collect::<Result<Vec<_>>>()?;
        let refs: SmallVec<[&Tensor<T>; 4]> = expanded.iter().collect();
        Self::try_concat(&refs, axis)
    }

    /// Joins tensors of one shape along a new axis.
    ///
    /// # Panics
    /// See [`Tensor::try_stack`].
    #[track_caller]
    pub fn stack(tensors: &[&Tensor<T>], axis: isize) -> Tensor<T> {
        expect_ok(Self::try_stack(tensors, axis))
    }

    /// Picks entries `indices` along `axis`, in that order, repeats allowed: the rows of a
    /// batch, or an embedding lookup.
    ///
    /// Gradient: the output gradient added back at each picked index (repeats accumulate).
    ///
    /// # Errors
    /// [`Error::InvalidAxis`] for a bad axis; [`Error::InvalidArgument`] for an index out of
    /// range, naming it.
    pub fn try_index_select(&self, axis: isize, indices: &[usize]) -> Result<Tensor<T>> {
        let axis = self.axis("index_select", axis)?;
        let size = self.dims()[axis];
        if let Some(&bad) = indices.iter().find(|&&i| i >= size) {
            return Err(Error::argument(
                "index_select",
                format!(
                    "index {bad} is out of range for axis {axis} of shape {}",
                    self.shape()
                ),
            ));
        }

        let mut dims = self.shape().to_vec();
        dims[axis] = indices.len();
        let shape = Shape::from(dims);
        let full = Layout::contiguous(shape.clone());
        let mut out = vec![T::ZERO; shape.numel()];
        {
            let data = self.storage().read();
            for (slot, &index) in indices.iter().enumerate() {
                let src = self.layout().narrow(axis, index, 1);
                let dst = full.narrow(axis, slot, 1);
                kernels::copy_into(&data, &src, &mut out, &dst);
            }
        }

        let y = Tensor::from_contiguous(out, shape);
        let (input_shape, indices) = (self.shape().clone(), indices.to_vec());
        Ok(y.record(OpKind::IndexSelect, &[self], move |g| {
            let mut dx = vec![T::ZERO; input_shape.numel()];
            let target = Layout::contiguous(input_shape.clone());
            let data = g.storage().read();
            for (slot, &index) in indices.iter().enumerate() {
                let src = g.layout().narrow(axis, slot, 1);
                let dst = target.narrow(axis, index, 1);
                walk(
                    src.shape(),
                    [src.strides(), dst.strides()],
                    [src.offset(), dst.offset()],
                    |[i, o]| dx[o] += data[i],
                );
            }
            smallvec::smallvec![Some(Tensor::from_contiguous(dx, input_shape))]
        }))
    }

    /// Picks entries along `axis`.
    ///
    /// # Panics
    /// See [`Tensor::try_index_select`].
    #[track_caller]
    pub fn index_select(&self, axis: isize, indices: &[usize]) -> Tensor<T> {
        expect_ok(self.try_index_select(axis, indices))
    }

    /// `mask ? self : other` element-wise, all three broadcast together; `mask` is true where
    /// it is non-zero. The mask receives no gradient.
    ///
    /// Gradient: `g` where the mask is true to `self`, elsewhere to `other`, each summed back
    /// to its shape.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when the three shapes do not broadcast.
    pub fn try_where_(&self, mask: &Tensor<T>, other: &Tensor<T>) -> Result<Tensor<T>> {
        let y = kernels::zip3(
            "where",
            mask,
            self,
            other,
            |m, a, b| {
                if m != T::ZERO {
                    a
                } else {
                    b
                }
            },
        )?;
        let (mask, sa, sb) = (mask.detach(), self.shape().clone(), other.shape().clone());
        Ok(y.record(OpKind::Where, &[self, other], move |g| {
            let pick = |on: bool| {
                expect_ok(kernels::zip("where", &mask, g, move |m, g| {
                    if (m != T::ZERO) == on {
                        g
                    } else {
                        T::ZERO
                    }
                }))
            };
            smallvec::smallvec![
                Some(pick(true).sum_to_shape(&sa)),
                Some(pick(false).sum_to_shape(&sb))
            ]
        }))
    }

    /// `mask ? self : other` element-wise.
    ///
    /// # Panics
    /// See [`Tensor::try_where_`].
    #[track_caller]
    pub fn where_(&self, mask: &Tensor<T>, other: &Tensor<T>) -> Tensor<T> {
        expect_ok(self.try_where_(mask, other))
    }
}
