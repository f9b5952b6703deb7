//! Gradient clipping by global norm.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::optim::grads::grad_range;
use crate::tensor::{Storage, Tensor};

/// Added to the norm in the scale `max_norm / (norm + EPS)`, as PyTorch does, so a zero
/// gradient never divides by zero. The norm after clipping is therefore a hair below
/// `max_norm` (by a relative 1e-6 / norm).
const EPS: f64 = 1e-6;

/// A gradient buffer and the ranges of it that belong to the parameters being clipped.
type SharedBuffer = (Arc<Storage<f32>>, Vec<Range<usize>>);

/// Scales the gradients of `params`, in place, so that their global L2 norm (over all of
/// them, as if concatenated) is at most `max_norm`, and returns the norm before clipping.
/// Parameters without a gradient are skipped; gradients below the limit are left as they are.
///
/// The norm is accumulated in `f64`. The engine may hand two leaves one shared gradient
/// buffer (the backward pass of `a + b` gives both the same tensor); such a buffer is scaled
/// once, not once per leaf. A shortcoming that follows: a gradient buffer shared with a
/// parameter outside `params` is scaled too.
///
/// # Errors
/// [`Error::InvalidArgument`] unless `max_norm` is finite and positive;
/// [`Error::NonFinite`] when the norm is NaN or infinite (nothing is scaled then).
pub fn clip_grad_norm(params: &[Tensor<f32>], max_norm: f32) -> Result<f32> {
    if !(max_norm.is_finite() && max_norm > 0.0) {
        return Err(Error::argument(
            "clip_grad_norm",
            format!("max_norm must be finite and positive, got {max_norm}"),
        ));
    }

    let mut squares = 0.0f64;
    let mut buffers: HashMap<*const Storage<f32>, SharedBuffer> = HashMap::new();
    for (index, param) in params.iter().enumerate() {
        let Some(grad) = param.grad() else {
            continue;
        };
        let range = grad_range(index, param, &grad)?;
        let storage = grad.storage();
        squares += storage.read()[range.clone()]
            .iter()
            .map(|&g| f64::from(g) * f64::from(g))
            .sum::<f64>();
        buffers
            .entry(Arc::as_ptr(storage))
            .or_insert_with(|| (Arc::clone(storage), Vec::new()))
            .1
            .push(range);
    }

    let norm = squares.sqrt();
    if !norm.is_finite() {
        return Err(Error::NonFinite(format!(
            "the global gradient norm is {norm}"
        )));
    }

    let scale = f64::from(max_norm) / (norm + EPS);
    if scale < 1.0 {
        let scale = scale as f32;
        for (storage, ranges) in buffers.into_values() {
            let mut data = storage.write();
            for range in merge(ranges) {
                data[range].iter_mut().for_each(|g| *g *= scale);
            }
        }
    }
    Ok(norm as f32)
}

/// The union of `ranges` as disjoint ranges, so that no element is visited twice.
fn merge(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_by_key(|r| r.start);
    let mut out: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match out.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => out.push(range),
        }
    }
    out
}
