//! Element-wise arithmetic of two tensors with numpy broadcasting, and the one helper that
//! sums a gradient back to the shape of a broadcast input.

use smallvec::smallvec;

use crate::error::Result;
use crate::tensor::layout::walk_rows;
use crate::tensor::{expect_ok, kernels, pool, Element, Layout, OpKind, Shape, Tensor};

impl<T: Element> Tensor<T> {
    /// Sums `self` over the axes along which a tensor of `shape` was broadcast to reach
    /// `self`'s shape, giving a tensor of `shape`. This is the gradient of `broadcast_to`, and
    /// every broadcasting operation's backward uses it. Not recorded.
    ///
    /// # Panics
    /// When `shape` does not broadcast to `self.shape()` (an internal invariant of backward).
    pub fn sum_to_shape(&self, shape: &Shape) -> Tensor<T> {
        if self.shape() == shape {
            return self.detach();
        }

        let target = Layout::contiguous(shape.clone());
        let spread = target
            .broadcast_to(self.shape())
            .unwrap_or_else(|e| panic!("sum_to_shape: {e}"));
        let mut out = pool::zeroed(shape.numel());
        let data = self.storage().read();
        let src = self.layout();
        walk_rows(
            self.dims(),
            [src.strides(), spread.strides()],
            [src.offset(), 0],
            |[i, o], len, steps| match steps {
                [1, 1] => {
                    let rows = out[o..o + len].iter_mut().zip(&data[i..i + len]);
                    rows.for_each(|(o, &v)| *o += v);
                }
                [1, 0] => out[o] += kernels::sum_slice(&data[i..i + len]),
                [si, so] => (0..len).for_each(|t| out[o + t * so] += data[i + t * si]),
            },
        );
        Tensor::from_contiguous(out, shape.clone())
    }

    /// `self + rhs`, broadcasting.
    ///
    /// # Errors
    /// [`crate::Error::ShapeMismatch`] when the shapes do not broadcast.
    pub fn try_add(&self, rhs: &Tensor<T>) -> Result<Tensor<T>> {
        let y = kernels::zip("add", self, rhs, |a, b| a + b)?;
        let (sa, sb) = (self.shape().clone(), rhs.shape().clone());
        let [need_a, need_b] = Tensor::grads_needed([self, rhs]);
        Ok(y.record(OpKind::Add, &[self, rhs], move |g| {
            smallvec![
                need_a.then(|| g.sum_to_shape(&sa)),
                need_b.then(|| g.sum_to_shape(&sb))
            ]
        }))
    }

    /// `self - rhs`, broadcasting.
    ///
    /// # Errors
    /// [`crate::Error::ShapeMismatch`] when the shapes do not broadcast.
    pub fn try_sub(&self, rhs: &Tensor<T>) -> Result<Tensor<T>> {
        let y = kernels::zip("sub", self, rhs, |a, b| a - b)?;
        let (sa, sb) = (self.shape().clone(), rhs.shape().clone());
        let [need_a, need_b] = Tensor::grads_needed([self, rhs]);
        Ok(y.record(OpKind::Sub, &[self, rhs], move |g| {
            let db = need_b.then(|| kernels::map(g, |g| -g).sum_to_shape(&sb));
            smallvec![need_a.then(|| g.sum_to_shape(&sa)), db]
        }))
    }

    /// `self * rhs` element-wise, broadcasting.
    ///
    /// # Errors
    /// [`crate::Error::ShapeMismatch`] when the shapes do not broadcast.
    pub fn try_mul(&self, rhs: &Tensor<T>) -> Result<Tensor<T>> {
        let y = kernels::zip("mul", self, rhs, |a, b| a * b)?;
        let (a, b) = (self.clone(), rhs.clone());
        let [need_a, need_b] = Tensor::grads_needed([self, rhs]);
        Ok(y.record(OpKind::Mul, &[self, rhs], move |g| {
            let da = need_a.then(|| {
                expect_ok(kernels::zip("mul", g, &b, |g, b| g * b)).sum_to_shape(a.shape())
            });
            let db = need_b.then(|| {
                expect_ok(kernels::zip("mul", g, &a, |g, a| g * a)).sum_to_shape(b.shape())
            });
            smallvec![da, db]
        }))
    }

    /// `self / rhs` element-wise, broadcasting.
    ///
    /// # Errors
    /// [`crate::Error::ShapeMismatch`] when the shapes do not broadcast.
    pub fn try_div(&self, rhs: &Tensor<T>) -> Result<Tensor<T>> {
        let y = kernels::zip("div", self, rhs, |a, b| a / b)?;
        let (a, b, out) = (self.clone(), rhs.clone(), y.clone());
        let [need_a, need_b] = Tensor::grads_needed([self, rhs]);
        Ok(y.record(OpKind::Div, &[self, rhs], move |g| {
            // d(a/b)/da = 1/b; d(a/b)/db = -a/b^2 = -y/b.
            let da = need_a.then(|| {
                expect_ok(kernels::zip("div", g, &b, |g, b| g / b)).sum_to_shape(a.shape())
            });
            let db = need_b.then(|| {
                let gy = expect_ok(kernels::zip("div", g, &out, |g, y| g * y));
                expect_ok(kernels::zip("div", &gy, &b, |gy, b| -gy / b)).sum_to_shape(b.shape())
            });
            smallvec![da, db]
        }))
    }

    /// `self + rhs`, broadcasting.
    ///
    /// # Panics
    /// When the shapes do not broadcast; see [`Tensor::try_add`].
    #[track_caller]
    pub fn add(&self, rhs: &Tensor<T>) -> Tensor<T> {
        expect_ok(self.try_add(rhs))
    }

    /// `self - rhs`, broadcasting.
    ///
    /// # Panics
    /// When the shapes do not broadcast; see [`Tensor::try_sub`].
    #[track_caller]
    pub fn sub(&self, rhs: &Tensor<T>) -> Tensor<T> {
        expect_ok(self.try_sub(rhs))
    }

    /// `self * rhs` element-wise, broadcasting.
    ///
    /// # Panics
    /// When the shapes do not broadcast; see [`Tensor::try_mul`].
    #[track_caller]
    pub fn mul(&self, rhs: &Tensor<T>) -> Tensor<T> {
        expect_ok(self.try_mul(rhs))
    }

    /// `self / rhs` element-wise, broadcasting.
    ///
    /// # Panics
    /// When the shapes do not broadcast; see [`Tensor::try_div`].
    #[track_caller]
    pub fn div(&self, rhs: &Tensor<T>) -> Tensor<T> {
        expect_ok(self.try_div(rhs))
    }
}
