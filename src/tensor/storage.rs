//! [`Storage`]: the flat buffer that one or more tensor views share.

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::element::Element;
use super::pool;

/// A flat, shared buffer of elements. Views (transposes, slices, broadcasts) share one storage;
/// only optimizers and explicit in-place updates write to it, behind a lock, so tensors can be
/// sent across threads.
#[derive(Debug)]
pub struct Storage<T: Element> {
    data: RwLock<Vec<T>>,
}

impl<T: Element> Storage<T> {
    /// Wraps a buffer.
    pub fn new(data: Vec<T>) -> Self {
        Storage {
            data: RwLock::new(data),
        }
    }

    /// Shared access to the buffer. A poisoned lock (a panic while writing) still yields the
    /// data: element values are plain numbers, so there is no invariant to break.
    pub fn read(&self) -> RwLockReadGuard<'_, Vec<T>> {
        self.data.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Exclusive access to the buffer, for in-place updates.
    pub fn write(&self) -> RwLockWriteGuard<'_, Vec<T>> {
        self.data.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The buffer itself, through exclusive access to the storage: no lock is taken.
    pub fn get_mut(&mut self) -> &mut Vec<T> {
        self.data.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    /// Number of elements in the buffer (not of any one view of it).
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// True when the buffer holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: Element> Drop for Storage<T> {
    /// Gives the buffer to this thread's [`pool`](super::pool) for the next tensor of its size.
    fn drop(&mut self) {
        pool::give_back(std::mem::take(self.get_mut()));
    }
}
