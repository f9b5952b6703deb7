//! [`Leaf`]: the gradient slot of a tensor created with `requires_grad`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::tensor::{kernels, Element, Tensor};

/// Where a leaf's gradient accumulates across backward passes, and where the leaf sits on the
/// current tape, so that every use of one leaf in a graph shares one node.
pub(crate) struct Leaf<T: Element> {
    grad: Mutex<Option<Tensor<T>>>,
    /// `generation << 32 | (position + 1)` of the leaf's node on its thread's tape; 0 when the
    /// leaf has no node yet.
    slot: AtomicU64,
    /// Cleared by `freeze`: the leaf then behaves as a constant.
    enabled: AtomicBool,
}

impl<T: Element> Leaf<T> {
    pub(crate) fn new() -> Self {
        Leaf {
            grad: Mutex::new(None),
            slot: AtomicU64::new(0),
            enabled: AtomicBool::new(true),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    pub(crate) fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    /// The leaf's position on the tape of `generation`, if it has one there.
    pub(crate) fn position(&self, generation: u32) -> Option<usize> {
        let slot = self.slot.load(Ordering::Relaxed);
        let (slot_gen, pos) = ((slot >> 32) as u32, (slot & 0xffff_ffff) as usize);
        (pos != 0 && slot_gen == generation).then(|| pos - 1)
    }

    pub(crate) fn set_position(&self, generation: u32, position: usize) {
        let packed = ((generation as u64) << 32) | (position as u64 + 1);
        self.slot.store(packed, Ordering::Relaxed);
    }

    /// The accumulated gradient.
    pub(crate) fn grad(&self) -> Option<Tensor<T>> {
        self.grad
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Adds `g` to the accumulated gradient, in place when nothing else holds the sum. The
    /// first gradient is kept only if `g` is its buffer's only handle, else copied into a
    /// buffer of its own: `g` may share its storage with the gradient of another leaf (an
    /// `add` hands one tensor to both inputs), and a gradient updated in place must not
    /// change another.
    pub(crate) fn accumulate(&self, g: Tensor<T>) {
        let mut slot = self.grad.lock().unwrap_or_else(PoisonError::into_inner);
        *slot = Some(match slot.take() {
            Some(sum) => kernels::accumulate(sum, &g),
            None => kernels::into_owned(g),
        });
    }

    /// Forgets the accumulated gradient.
    pub(crate) fn zero(&self) {
        *self.grad.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}
