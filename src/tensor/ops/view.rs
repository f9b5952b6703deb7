//! Operations that change how elements are seen, not the elements: transposes, permutations,
//! reshapes, slices, broadcasts and (un)squeezes. All but `contiguous` (and `reshape` of a
//! non-contiguous tensor) share the input's storage. Each backward undoes the view.

use smallvec::smallvec;

use crate::error::{Error, Result};
use crate::tensor::{expect_ok, kernels, Element, OpKind, Shape, Tensor};

impl<T: Element> Tensor<T> {
    /// Swaps axes `a` and `b` (negative axes count from the end). A view.
    ///
    /// # Errors
    /// [`Error::InvalidAxis`] for an axis out of range.
    pub fn try_transpose(&self, a: isize, b: isize) -> Result<Tensor<T>> {
        let (a, b) = (self.axis("transpose", a)?, self.axis("transpose", b)?);
        let y = self.view_with(self.layout().transpose(a, b));
        Ok(y.record(OpKind::Transpose, &[self], move |g| {
            smallvec![Some(g.view_with(g.layout().transpose(a, b)))]
        }))
    }

    /// Swaps axes `a` and `b`. A view.
    ///
    /// # Panics
    /// For an axis out of range; see [`Tensor::try_transpose`].
    #[track_caller]
    pub fn transpose(&self, a: isize, b: isize) -> Tensor<T> {
        expect_ok(self.try_transpose(a, b))
    }

    /// The matrix transpose: swaps the last two axes. A view.
    ///
    /// # Panics
    /// When the tensor has fewer than two axes.
    #[track_caller]
    pub fn t(&self) -> Tensor<T> {
        self.transpose(-2, -1)
    }

    /// Reorders axes: axis `k` of the result is axis `dims[k]` of `self`. A view.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `dims` is a permutation of `0..rank`.
    pub fn try_permute(&self, dims: &[usize]) -> Result<Tensor<T>> {
        let mut seen = vec![false; self.rank()];
        let valid = dims.len() == self.rank()
            && dims
                .iter()
                .all(|&d| d < seen.len() && !std::mem::replace(&mut seen[d], true));
        if !valid {
            return Err(Error::argument(
                "permute",
                format!(
                    "{dims:?} is not a permutation of the axes of {}",
                    self.shape()
                ),
            ));
        }
        let mut inverse = vec![0; dims.len()];
        for (k, &d) in dims.iter().enumerate() {
            inverse[d] = k;
        }
        let y = self.view_with(self.layout().permute(dims));
        Ok(y.record(OpKind::Permute, &[self], move |g| {
            smallvec![Some(g.view_with(g.layout().permute(&inverse)))]
        }))
    }

    /// Reorders axes. A view.
    ///
    /// # Panics
    /// Unless `dims` is a permutation of the axes; see [`Tensor::try_permute`].
    #[track_caller]
    pub fn permute(&self, dims: &[usize]) -> Tensor<T> {
        expect_ok(self.try_permute(dims))
    }

    /// The same elements, in row-major order, with another shape of equal element count. A
    /// view when `self` is contiguous, else a copy.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when the element counts differ.
    pub fn try_reshape(&self, shape: impl Into<Shape>) -> Result<Tensor<T>> {
        let shape = shape.into();
        if shape.numel() != self.numel() {
            return Err(Error::shapes(
                "reshape",
                self.dims(),
                &shape,
                "element counts differ",
            ));
        }
        let source = kernels::contiguous(self);
        let y = source.view_with(source.layout().reshaped(shape));
        let original = self.shape().clone();
        Ok(y.record(OpKind::Reshape, &[self], move |g| {
            let g = kernels::contiguous(g);
            smallvec![Some(g.view_with(g.layout().reshaped(original)))]
        }))
    }

    /// Another shape of the same elements.
    ///
    /// # Panics
    /// When the element counts differ; see [`Tensor::try_reshape`].
    #[track_caller]
    pub fn reshape(&self, shape: impl Into<Shape>) -> Tensor<T> {
        expect_ok(self.try_reshape(shape))
    }

    /// Elements `start..start + len` along `axis`. A view.
    ///
    /// # Errors
    /// [`Error::InvalidAxis`] or [`Error::InvalidArgument`] when the range does not fit.
    pub fn try_narrow(&self, axis: isize, start: usize, len: usize) -> Result<Tensor<T>> {
        let axis = self.axis("narrow", axis)?;
        let size = self.dims()[axis];
        if start.checked_add(len).is_none_or(|end| end > size) {
            return Err(Error::argument(
                "narrow",
                format!(
                    "range {start}..{} is outside axis {axis} of size {size} (shape {})",
                    start.saturating_add(len),
                    self.shape()
                ),
            ));
        }
        let y = self.view_with(self.layout().narrow(axis, start, len));
        let full = self.shape().clone();
        Ok(y.record(OpKind::Narrow, &[self], move |g| {
            smallvec![Some(kernels::pad_into(g, &full, axis, start))]
        }))
    }

    /// Elements `start..start + len` along `axis`. A view.
    ///
    /// # Panics
    /// When the range does not fit; see [`Tensor::try_narrow`].
    #[track_caller]
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Tensor<T> {
        expect_ok(self.try_narrow(axis, start, len))
    }

    /// Stretches size-1 axes and adds leading axes to reach `shape`, numpy-style. A view with
    /// stride 0 along stretched axes; its gradient is summed back by
    /// [`Tensor::sum_to_shape`].
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when `self` does not broadcast to `shape`.
    pub fn try_broadcast_to(&self, shape: impl Into<Shape>) -> Result<Tensor<T>> {
        let shape = shape.into();
        let y = self.view_with(self.layout().broadcast_to(&shape)?);
        let original = self.shape().clone();
        Ok(y.record(OpKind::BroadcastTo, &[self], move |g| {
            smallvec![Some(g.sum_to_shape(&original))]
        }))
    }

    /// Broadcasts to `shape`. A view.
    ///
    /// # Panics
    /// When `self` does not broadcast to `shape`; see [`Tensor::try_broadcast_to`].
    #[track_caller]
    pub fn broadcast_to(&self, shape: impl Into<Shape>) -> Tensor<T> {
        expect_ok(self.try_broadcast_to(shape))
    }

    /// Removes axis `axis`, which must have size 1. A view.
    ///
    /// # Errors
    /// [`Error::InvalidAxis`] or [`Error::InvalidShape`] when the axis is out of range or not
    /// of size 1.
    pub fn try_squeeze(&self, axis: isize) -> Result<Tensor<T>> {
        let axis = self.axis("squeeze", axis)?;
        if self.dims()[axis] != 1 {
            return Err(Error::shape(
                "squeeze",
                self.dims(),
                format!("axis {axis} is not 1"),
            ));
        }
        let y = self.view_with(self.layout().squeeze(axis));
        Ok(y.record(OpKind::Squeeze, &[self], move |g| {
            smallvec![Some(g.view_with(g.layout().unsqueeze(axis)))]
        }))
    }

    /// Removes a size-1 axis. A view.
    ///
    /// # Panics
    /// See [`Tensor::try_squeeze`].
    #[track_caller]
    pub fn squeeze(&self, axis: isize) -> Tensor<T> {
        expect_ok(self.try_squeeze(axis))
    }

    /// Inserts a size-1 axis so that it becomes axis `axis` of the result (`-1`: last). A
    /// view.
    ///
    /// # Errors
    /// [`Error::InvalidAxis`] when `axis` is outside `-(rank+1)..=rank`.
    pub fn try_unsqueeze(&self, axis: isize) -> Result<Tensor<T>> {
        let rank = self.rank() as isize;
        let resolved = if axis < 0 { axis + rank + 1 } else { axis };
        if !(0..=rank).contains(&resolved) {
            return Err(Error::InvalidAxis {
                op: "unsqueeze",
                axis: axis.unsigned_abs(),
                shape: self.dims().to_vec(),
            });
        }
        let axis = resolved as usize;
        let y = self.view_with(self.layout().unsqueeze(axis));
        Ok(y.record(OpKind::Unsqueeze, &[self], move |g| {
            smallvec![Some(g.view_with(g.layout().squeeze(axis)))]
        }))
    }

    /// Inserts a size-1 axis. A view.
    ///
    /// # Panics
    /// See [`Tensor::try_unsqueeze`].
    #[track_caller]
    pub fn unsqueeze(&self, axis: isize) -> Tensor<T> {
        expect_ok(self.try_unsqueeze(axis))
    }

    /// A row-major, gap-free tensor of the same values: `self` when it already is one, else a
    /// copy.
    pub fn contiguous(&self) -> Tensor<T> {
        if self.is_contiguous() {
            return self.clone();
        }
        let y = kernels::contiguous(self);
        y.record(OpKind::Contiguous, &[self], |g| smallvec![Some(g.detach())])
    }
}
