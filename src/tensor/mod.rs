//! Tensors: n-dimensional arrays of `f32` or `f64` over shared storage, and every
//! differentiable operation on them.
//!
//! A [`Tensor`] is a cheap handle (one reference count) to a storage buffer, a [`Layout`]
//! (shape, strides, offset) and its place in the autodiff graph. View operations make new
//! layouts over the same storage; every other operation writes a fresh contiguous buffer.
//!
//! # Error model
//! Operations whose success depends on shapes come in two forms: `try_op` returns
//! [`Result`] with an [`Error`] that names the operation and both
//! shapes, and `op` (and the arithmetic operators) panic with that same message. Model code
//! whose shapes are fixed by construction reads like the maths with the panicking form;
//! anything fed by user data uses `try_`. Operations that cannot fail have one form.

mod create;
mod denormals;
mod element;
pub(crate) mod kernels;
mod layout;
pub mod ops;
pub mod pool;
mod shape;
pub mod simd;
mod storage;

use std::fmt;
use std::sync::Arc;

pub use denormals::{flushes_denormals, set_flush_denormals};
pub use element::{DType, Element};
pub use layout::Layout;
pub use ops::OpKind;
pub use shape::{Shape, Strides};
pub use storage::Storage;

use crate::autograd::GradTrack;
use crate::error::{Error, Result};

/// An n-dimensional array of `T` (`f32` by default) that can take part in reverse-mode
/// automatic differentiation.
///
/// Cloning a tensor clones a handle, not the data.
pub struct Tensor<T: Element = f32> {
    inner: Arc<TensorInner<T>>,
}

struct TensorInner<T: Element> {
    storage: Arc<Storage<T>>,
    layout: Layout,
    track: GradTrack<T>,
}

impl<T: Element> Clone for Tensor<T> {
    fn clone(&self) -> Self {
        Tensor {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T: Element> Tensor<T> {
    /// Builds a tensor from its parts.
    pub(crate) fn from_parts(
        storage: Arc<Storage<T>>,
        layout: Layout,
        track: GradTrack<T>,
    ) -> Self {
        Tensor {
            inner: Arc::new(TensorInner {
                storage,
                layout,
                track,
            }),
        }
    }

    /// A fresh contiguous tensor that owns `data`, with no autodiff history.
    ///
    /// # Panics
    /// If `data.len()` differs from the element count of `shape` (an internal invariant of the
    /// kernels that call it; users go through [`Tensor::from_vec`]).
    pub(crate) fn from_contiguous(data: Vec<T>, shape: Shape) -> Self {
        assert_eq!(
            data.len(),
            shape.numel(),
            "buffer length does not match shape {shape}"
        );
        Self::from_parts(
            Arc::new(Storage::new(data)),
            Layout::contiguous(shape),
            GradTrack::None,
        )
    }

    /// A new view of this tensor's storage with another layout and no autodiff history.
    pub(crate) fn view_with(&self, layout: Layout) -> Self {
        Self::from_parts(Arc::clone(&self.inner.storage), layout, GradTrack::None)
    }

    /// The same tensor with another autodiff record, sharing storage and layout.
    pub(crate) fn with_track(&self, track: GradTrack<T>) -> Self {
        Self::from_parts(
            Arc::clone(&self.inner.storage),
            self.inner.layout.clone(),
            track,
        )
    }

    /// This view's elements for writing in place, when this handle is the only one to both the
    /// tensor and its storage (so no other tensor can observe the write) and the view is
    /// contiguous; `None` otherwise.
    pub(crate) fn unique_data_mut(&mut self) -> Option<&mut [T]> {
        let range = self.layout().contiguous_range()?;
        let inner = Arc::get_mut(&mut self.inner)?;
        let storage = Arc::get_mut(&mut inner.storage)?;
        Some(&mut storage.get_mut()[range])
    }

    /// This tensor with another autodiff record: the handle itself is updated when it is the
    /// only one (the fresh output of an operation), else a new handle shares storage and
    /// layout.
    pub(crate) fn into_tracked(mut self, track: GradTrack<T>) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => {
                inner.track = track;
                self
            }
            None => self.with_track(track),
        }
    }

    /// The tensor's place in the autodiff graph.
    pub(crate) fn track(&self) -> &GradTrack<T> {
        &self.inner.track
    }

    /// The shared storage buffer.
    pub fn storage(&self) -> &Arc<Storage<T>> {
        &self.inner.storage
    }

    /// Shape, strides and offset of this view.
    pub fn layout(&self) -> &Layout {
        &self.inner.layout
    }

    /// Sizes of the axes.
    pub fn shape(&self) -> &Shape {
        self.inner.layout.shape()
    }

    /// Sizes of the axes, as a slice.
    pub fn dims(&self) -> &[usize] {
        self.shape().dims()
    }

    /// Number of axes.
    pub fn rank(&self) -> usize {
        self.shape().rank()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape().numel()
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        T::DTYPE
    }

    /// True when the view covers a gap-free, row-major range of its storage.
    pub fn is_contiguous(&self) -> bool {
        self.layout().is_contiguous()
    }

    /// The elements in row-major order of this view's shape, in a buffer of exactly that
    /// length (not one of the pool's, whose capacity is rounded up to a power of two).
    pub fn to_vec(&self) -> Vec<T> {
        kernels::gather_into(self, Vec::with_capacity(self.numel()))
    }

    /// The value of a one-element tensor.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] when the tensor does not hold exactly one element.
    pub fn try_item(&self) -> Result<T> {
        if self.numel() != 1 {
            return Err(Error::shape(
                "item",
                self.dims(),
                "expected exactly one element",
            ));
        }
        let data = self.storage().read();
        Ok(data[self.layout().offset()])
    }

    /// The value of a one-element tensor.
    ///
    /// # Panics
    /// When the tensor does not hold exactly one element.
    pub fn item(&self) -> T {
        self.try_item().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Resolves a possibly negative axis (`-1` is the last) against this tensor's rank.
    ///
    /// # Errors
    /// [`Error::InvalidAxis`] when `axis` is outside `-rank..rank`.
    pub fn axis(&self, op: &'static str, axis: isize) -> Result<usize> {
        let rank = self.rank() as isize;
        let resolved = if axis < 0 { axis + rank } else { axis };
        if resolved < 0 || resolved >= rank {
            return Err(Error::InvalidAxis {
                op,
                axis: axis.unsigned_abs(),
                shape: self.dims().to_vec(),
            });
        }
        Ok(resolved as usize)
    }
}

impl<T: Element> fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 8;
        let values = self.to_vec();
        write!(f, "Tensor<{:?}>{} [", T::DTYPE, self.shape())?;
        for (i, v) in values.iter().take(SHOWN).enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{v}")?;
        }
        if values.len() > SHOWN {
            write!(f, ", ... ({} more)", values.len() - SHOWN)?;
        }
        write!(f, "]")
    }
}

/// Unwraps the result of a `try_` operation in its panicking twin, with the error's message.
#[track_caller]
pub(crate) fn expect_ok<V>(result: Result<V>) -> V {
    result.unwrap_or_else(|e| panic!("{e}"))
}
