//! [`Shape`]: the extent of a tensor along each axis, and numpy-style broadcasting.

use std::fmt;
use std::ops::Deref;

use smallvec::SmallVec;

use crate::error::{Error, Result};

/// Sizes of a tensor's axes, outermost first. Most tensors here have at most four axes, so the
/// sizes live inline without a heap allocation.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Shape(SmallVec<[usize; 4]>);

impl Shape {
    /// The shape of a scalar: no axes, one element.
    pub fn scalar() -> Self {
        Shape(SmallVec::new())
    }

    /// Number of axes.
    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// Number of elements: the product of the sizes (1 for a scalar, 0 if any size is 0).
    pub fn numel(&self) -> usize {
        self.0.iter().product()
    }

    /// Row-major (C-order) strides of a contiguous tensor of this shape, in elements.
    pub fn contiguous_strides(&self) -> Strides {
        let mut strides: Strides = SmallVec::from_elem(0, self.rank());
        let mut step = 1;
        for axis in (0..self.rank()).rev() {
            strides[axis] = step;
            step *= self.0[axis].max(1);
        }
        strides
    }

    /// The sizes as a slice.
    pub fn dims(&self) -> &[usize] {
        &self.0
    }

    /// The broadcast of two shapes under numpy's rules: align from the last axis; two sizes fit
    /// when they are equal or one of them is 1.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] naming `op` when some pair of sizes fits neither way.
    pub fn broadcast(op: &'static str, lhs: &[usize], rhs: &[usize]) -> Result<Shape> {
        let rank = lhs.len().max(rhs.len());
        let mut out: SmallVec<[usize; 4]> = SmallVec::from_elem(0, rank);
        for i in 0..rank {
            let a = dim_from_end(lhs, rank - 1 - i);
            let b = dim_from_end(rhs, rank - 1 - i);
            out[i] = match (a, b) {
                (a, b) if a == b => a,
                (1, b) => b,
                (a, 1) => a,
                _ => return Err(Error::shapes(op, lhs, rhs, "not broadcastable")),
            };
        }
        Ok(Shape(out))
    }
}

/// The size of axis `rank - 1 - from_end` counted from the last axis, or 1 beyond the front,
/// which is how broadcasting pads the shorter shape.
fn dim_from_end(dims: &[usize], from_end: usize) -> usize {
    if from_end < dims.len() {
        dims[dims.len() - 1 - from_end]
    } else {
        1
    }
}

/// Element strides, one per axis.
pub type Strides = SmallVec<[usize; 4]>;

impl Deref for Shape {
    type Target = [usize];

    fn deref(&self) -> &[usize] {
        &self.0
    }
}

impl From<&[usize]> for Shape {
    fn from(dims: &[usize]) -> Self {
        Shape(SmallVec::from_slice(dims))
    }
}

impl From<Vec<usize>> for Shape {
    fn from(dims: Vec<usize>) -> Self {
        Shape(SmallVec::from_vec(dims))
    }
}

impl From<&Vec<usize>> for Shape {
    fn from(dims: &Vec<usize>) -> Self {
        Shape::from(dims.as_slice())
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(dims: [usize; N]) -> Self {
        Shape(SmallVec::from_slice(&dims))
    }
}

impl From<&Shape> for Shape {
    fn from(shape: &Shape) -> Self {
        shape.clone()
    }
}

impl FromIterator<usize> for Shape {
    fn from_iter<I: IntoIterator<Item = usize>>(iter: I) -> Self {
        Shape(iter.into_iter().collect())
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{d}")?;
        }
        write!(f, "]")
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_follows_numpy() {
        let s = Shape::broadcast("t", &[3, 1, 5], &[4, 1]).unwrap();
        assert_eq!(s.dims(), &[3, 4, 5]);
        let s = Shape::broadcast("t", &[0, 1], &[1, 7]).unwrap();
        assert_eq!(s.dims(), &[0, 7]);
        assert!(Shape::broadcast("t", &[2, 3], &[3, 2]).is_err());
    }

    #[test]
    fn contiguous_strides_are_row_major() {
        assert_eq!(
            Shape::from([2, 3, 4]).contiguous_strides().as_slice(),
            &[12, 4, 1]
        );
        assert_eq!(Shape::scalar().numel(), 1);
    }
}
