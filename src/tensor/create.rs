//! Creating tensors: from data, constant fills, ranges and seeded random draws.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::{Element, Shape, Tensor};
use crate::error::{Error, Result};

impl<T: Element> Tensor<T> {
    /// A tensor of `shape` holding `data` in row-major order.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] when `data.len()` is not the element count of `shape`.
    pub fn from_vec(data: Vec<T>, shape: impl Into<Shape>) -> Result<Tensor<T>> {
        let shape = shape.into();
        if data.len() != shape.numel() {
            return Err(Error::shape(
                "from_vec",
                &shape,
                format!(
                    "{} values cannot fill {} elements",
                    data.len(),
                    shape.numel()
                ),
            ));
        }
        Ok(Tensor::from_contiguous(data, shape))
    }

    /// A tensor of `shape` holding a copy of `data` in row-major order.
    ///
    /// # Errors
    /// As [`Tensor::from_vec`].
    pub fn from_slice(data: &[T], shape: impl Into<Shape>) -> Result<Tensor<T>> {
        Self::from_vec(data.to_vec(), shape)
    }

    /// A zero-axis tensor holding `value`.
    pub fn scalar(value: T) -> Tensor<T> {
        Tensor::from_contiguous(vec![value], Shape::scalar())
    }

    /// A tensor of `shape` filled with `value`.
    pub fn full(shape: impl Into<Shape>, value: T) -> Tensor<T> {
        let shape = shape.into();
        Tensor::from_contiguous(super::pool::filled(shape.numel(), value), shape)
    }

    /// A tensor of `shape` filled with zeros.
    pub fn zeros(shape: impl Into<Shape>) -> Tensor<T> {
        Self::full(shape, T::ZERO)
    }

    /// A tensor of `shape` filled with ones.
    pub fn ones(shape: impl Into<Shape>) -> Tensor<T> {
        Self::full(shape, T::ONE)
    }

    /// Zeros in the shape of `self`.
    pub fn zeros_like(&self) -> Tensor<T> {
        Self::zeros(self.shape().clone())
    }

    /// Ones in the shape of `self`.
    pub fn ones_like(&self) -> Tensor<T> {
        Self::ones(self.shape().clone())
    }

    /// The one-axis tensor `start, start + step, ...` of every value below `end` (above it for a
    /// negative step).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `step` is zero or any bound is not finite.
    pub fn arange(start: T, end: T, step: T) -> Result<Tensor<T>> {
        let (s, e, d) = (start.to_f64(), end.to_f64(), step.to_f64());
        if d == 0.0 || !(s.is_finite() && e.is_finite() && d.is_finite()) {
            return Err(Error::argument(
                "arange",
                format!("needs finite bounds and a non-zero step, got {s}..{e} by {d}"),
            ));
        }
        let count = ((e - s) / d).ceil().max(0.0) as usize;
        let data: Vec<T> = (0..count).map(|i| T::from_f64(s + d * i as f64)).collect();
        Ok(Tensor::from_contiguous(data, Shape::from([count])))
    }

    /// Standard-normal samples drawn from `rng`.
    pub fn randn_with(shape: impl Into<Shape>, rng: &mut impl Rng) -> Tensor<T> {
        let shape = shape.into();
        let data = (0..shape.numel())
            .map(|_| {
                let v: f64 = StandardNormal.sample(rng);
                T::from_f64(v)
            })
            .collect();
        Tensor::from_contiguous(data, shape)
    }

    /// Standard-normal samples from a generator seeded with `seed`: the same seed gives the
    /// same values on every platform (ChaCha8).
    pub fn randn(shape: impl Into<Shape>, seed: u64) -> Tensor<T> {
        Self::randn_with(shape, &mut ChaCha8Rng::seed_from_u64(seed))
    }

    /// Samples uniform in `[low, high)` drawn from `rng`.
    pub fn rand_uniform_with(
        shape: impl Into<Shape>,
        low: T,
        high: T,
        rng: &mut impl Rng,
    ) -> Tensor<T> {
        let shape = shape.into();
        let (lo, width) = (low.to_f64(), high.to_f64() - low.to_f64());
        let data = (0..shape.numel())
            .map(|_| T::from_f64(lo + width * rng.random::<f64>()))
            .collect();
        Tensor::from_contiguous(data, shape)
    }

    /// Samples uniform in `[low, high)` from a generator seeded with `seed`.
    pub fn rand_uniform(shape: impl Into<Shape>, low: T, high: T, seed: u64) -> Tensor<T> {
        Self::rand_uniform_with(shape, low, high, &mut ChaCha8Rng::seed_from_u64(seed))
    }

    /// Copies `values` into this tensor's storage in place, outside the autodiff graph: how
    /// optimizers and checkpoints update parameters.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] when `self` is not contiguous or `values.len()` differs from its
    /// element count.
    pub fn assign(&self, values: &[T]) -> Result<()> {
        self.update(|data| data.copy_from_slice(values), values.len())
    }

    /// Runs `f` on this tensor's elements in place, outside the autodiff graph.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] when `self` is not contiguous.
    pub fn update_in_place(&self, f: impl FnOnce(&mut [T])) -> Result<()> {
        self.update(f, self.numel())
    }

    fn update(&self, f: impl FnOnce(&mut [T]), expected: usize) -> Result<()> {
        let Some(range) = self.layout().contiguous_range() else {
            return Err(Error::shape(
                "assign",
                self.dims(),
                "in-place updates need a contiguous tensor",
            ));
        };
        if expected != self.numel() {
            return Err(Error::shape(
                "assign",
                self.dims(),
                format!("{expected} values cannot fill {} elements", self.numel()),
            ));
        }
        let mut data = self.storage().write();
        f(&mut data[range]);
        Ok(())
    }
}

impl Tensor<f32> {
    /// The same values as `f64`, outside the autodiff graph.
    pub fn to_f64(&self) -> Tensor<f64> {
        let data = self.to_vec().into_iter().map(f64::from).collect();
        Tensor::from_contiguous(data, self.shape().clone())
    }
}

impl Tensor<f64> {
    /// The same values rounded to `f32`, outside the autodiff graph.
    pub fn to_f32(&self) -> Tensor<f32> {
        let data = self.to_vec().into_iter().map(|v| v as f32).collect();
        Tensor::from_contiguous(data, self.shape().clone())
    }
}
