//! [`Layout`]: where a tensor's elements sit in its storage (shape, strides and offset), and the
//! view transformations that only rewrite those three numbers.
//!
//! Element `(i_0, .., i_{r-1})` of a tensor lives at `offset + sum_k i_k * strides[k]` in the
//! storage. Transposes, permutations, slices, broadcasts and (un)squeezes are therefore free:
//! they produce a new layout over the same storage. A broadcast axis has stride 0.

use smallvec::SmallVec;

use super::shape::{Shape, Strides};
use crate::error::{Error, Result};

/// Shape, strides and offset of a view into a storage buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    shape: Shape,
    strides: Strides,
    offset: usize,
}

impl Layout {
    /// The row-major layout of a fresh buffer of `shape`.
    pub fn contiguous(shape: Shape) -> Self {
        let strides = shape.contiguous_strides();
        Layout {
            shape,
            strides,
            offset: 0,
        }
    }

    /// The shape of the view.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The strides of the view, in elements.
    pub fn strides(&self) -> &[usize] {
        &self.strides
    }

    /// Index of the first element in the storage.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// True when the elements are laid out row-major with no gaps, so the view is the storage
    /// slice `offset..offset + numel`. Axes of size 1 may have any stride, and an empty view
    /// (some size 0) is always contiguous: it covers no element.
    pub fn is_contiguous(&self) -> bool {
        if self.shape.numel() == 0 {
            return true;
        }
        let mut expected = 1;
        for axis in (0..self.shape.rank()).rev() {
            let size = self.shape[axis];
            if size != 1 && self.strides[axis] != expected {
                return false;
            }
            expected *= size;
        }
        true
    }

    /// The storage range `offset..offset + numel` when the view is contiguous. An empty view
    /// gets the empty range `0..0`: its offset may point past the end of its storage (a slice
    /// of an empty tensor), and it reads nothing anyway.
    pub fn contiguous_range(&self) -> Option<std::ops::Range<usize>> {
        if self.shape.numel() == 0 {
            return Some(0..0);
        }
        self.is_contiguous()
            .then(|| self.offset..self.offset + self.shape.numel())
    }

    /// The same elements seen with axes `a` and `b` swapped.
    pub fn transpose(&self, a: usize, b: usize) -> Layout {
        let mut out = self.clone();
        out.shape = {
            let mut dims: Vec<usize> = self.shape.to_vec();
            dims.swap(a, b);
            Shape::from(dims)
        };
        out.strides.swap(a, b);
        out
    }

    /// The view with axis `k` of the result taken from axis `dims[k]` of `self`.
    pub fn permute(&self, dims: &[usize]) -> Layout {
        Layout {
            shape: dims.iter().map(|&d| self.shape[d]).collect(),
            strides: dims.iter().map(|&d| self.strides[d]).collect(),
            offset: self.offset,
        }
    }

    /// The view restricted to `start..start + len` along `axis`.
    pub fn narrow(&self, axis: usize, start: usize, len: usize) -> Layout {
        let mut dims = self.shape.to_vec();
        dims[axis] = len;
        Layout {
            shape: Shape::from(dims),
            strides: self.strides.clone(),
            offset: if len == 0 {
                self.offset
            } else {
                self.offset + start * self.strides[axis]
            },
        }
    }

    /// The view broadcast to `target`: new leading axes and stretched size-1 axes get stride 0.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when `self.shape()` does not broadcast to `target`.
    pub fn broadcast_to(&self, target: &Shape) -> Result<Layout> {
        let rank = target.rank();
        if self.shape.rank() > rank {
            return Err(Error::shapes(
                "broadcast_to",
                &self.shape,
                target,
                "target has fewer axes",
            ));
        }
        let lead = rank - self.shape.rank();
        let mut strides: Strides = SmallVec::from_elem(0, rank);
        for axis in 0..self.shape.rank() {
            let (from, to) = (self.shape[axis], target[lead + axis]);
            strides[lead + axis] = if from == to {
                self.strides[axis]
            } else if from == 1 {
                0
            } else {
                return Err(Error::shapes(
                    "broadcast_to",
                    &self.shape,
                    target,
                    "not broadcastable",
                ));
            };
        }
        Ok(Layout {
            shape: target.clone(),
            strides,
            offset: self.offset,
        })
    }

    /// The view with a size-1 axis inserted at `axis`.
    pub fn unsqueeze(&self, axis: usize) -> Layout {
        let mut dims = self.shape.to_vec();
        let mut strides = self.strides.clone();
        let stride = if axis < dims.len() {
            strides[axis] * dims[axis]
        } else {
            1
        };
        dims.insert(axis, 1);
        strides.insert(axis, stride);
        Layout {
            shape: Shape::from(dims),
            strides,
            offset: self.offset,
        }
    }

    /// The view with the size-1 axis `axis` removed.
    pub fn squeeze(&self, axis: usize) -> Layout {
        let mut dims = self.shape.to_vec();
        let mut strides = self.strides.clone();
        dims.remove(axis);
        strides.remove(axis);
        Layout {
            shape: Shape::from(dims),
            strides,
            offset: self.offset,
        }
    }

    /// A contiguous view of the same storage with another shape of equal element count.
    pub fn reshaped(&self, shape: Shape) -> Layout {
        debug_assert!(self.is_contiguous());
        let mut out = Layout::contiguous(shape);
        out.offset = self.offset;
        out
    }
}

/// Calls `visit` with the storage offsets of element `i` of each of `K` views that share one
/// `shape`, for every `i` in row-major order.
///
/// This is the one loop behind every strided kernel: an odometer over the outer axes and a
/// tight loop over the last one, so it never recurses and costs one addition per element and
/// view.
pub(crate) fn walk<const K: usize>(
    shape: &[usize],
    strides: [&[usize]; K],
    offsets: [usize; K],
    mut visit: impl FnMut([usize; K]),
) {
    let numel: usize = shape.iter().product();
    if numel == 0 {
        return;
    }
    if shape.is_empty() {
        visit(offsets);
        return;
    }

    let rank = shape.len();
    let inner = shape[rank - 1];
    let inner_strides: [usize; K] = std::array::from_fn(|k| strides[k][rank - 1]);
    let mut index: SmallVec<[usize; 4]> = SmallVec::from_elem(0, rank - 1);
    let mut base = offsets;

    loop {
        let mut at = base;
        for _ in 0..inner {
            visit(at);
            for k in 0..K {
                at[k] += inner_strides[k];
            }
        }

        // Advance the odometer over the outer axes, last axis fastest.
        let mut axis = rank - 1;
        loop {
            if axis == 0 {
                return;
            }
            axis -= 1;
            index[axis] += 1;
            for k in 0..K {
                base[k] += strides[k][axis];
            }
            if index[axis] < shape[axis] {
                break;
            }
            for k in 0..K {
                base[k] -= strides[k][axis] * shape[axis];
            }
            index[axis] = 0;
        }
    }
}

/// Calls `visit(bases, len, steps)` once per innermost row of `K` views that share one
/// `shape`, in row-major order: `bases[k]` is the storage offset of the row's first element in
/// view `k`, `len` the row length and `steps[k]` the stride along it. Kernels specialise the
/// inner loop on `steps` (1 for a contiguous row, 0 for a broadcast one) so that it vectorises,
/// which [`walk`]'s per-element callback cannot.
pub(crate) fn walk_rows<const K: usize>(
    shape: &[usize],
    strides: [&[usize]; K],
    offsets: [usize; K],
    mut visit: impl FnMut([usize; K], usize, [usize; K]),
) {
    if shape.contains(&0) {
        return;
    }
    if shape.is_empty() {
        visit(offsets, 1, [0; K]);
        return;
    }
    let rank = shape.len();
    let steps: [usize; K] = std::array::from_fn(|k| strides[k][rank - 1]);
    let outer: [&[usize]; K] = std::array::from_fn(|k| &strides[k][..rank - 1]);
    walk(&shape[..rank - 1], outer, offsets, |bases| {
        visit(bases, shape[rank - 1], steps)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_visits_transposed_view_in_logical_order() {
        let layout = Layout::contiguous(Shape::from([2, 3])).transpose(0, 1);
        let mut seen = Vec::new();
        walk(
            layout.shape(),
            [layout.strides()],
            [layout.offset()],
            |[o]| seen.push(o),
        );
        assert_eq!(seen, vec![0, 3, 1, 4, 2, 5]);
    }

    #[test]
    fn broadcast_axes_have_zero_stride() {
        let layout = Layout::contiguous(Shape::from([3, 1]));
        let b = layout.broadcast_to(&Shape::from([2, 3, 4])).unwrap();
        assert_eq!(b.strides(), &[0, 1, 0]);
        assert!(!b.is_contiguous());
    }
}
