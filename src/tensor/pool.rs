//! [`BufferPool`]: each thread's stock of element buffers that dropped tensors gave back, so
//! that a training step, which makes the same tensors every time, reuses last step's buffers
//! instead of asking the allocator (and, for large buffers, the kernel) for new ones.
//!
//! Buffers are sorted by capacity into power-of-two classes: a request for `n` elements takes
//! a buffer of capacity `2^ceil(log2 n)`, so any buffer of the class fits, at the price of up
//! to twice the memory of an exact fit. A storage gives its buffer back when it drops, to the
//! pool of the thread that drops it. A thread's pool keeps at most [`MAX_POOLED_BYTES`]; what
//! does not fit goes back to the allocator. Nothing is ever shrunk: a thread that once made
//! many large tensors keeps up to that much memory until it exits.
//!
//! A pooled buffer keeps its last values. `with_capacity` empties it; `scratch` hands it
//! out with those stale (but initialised) values, for kernels that overwrite every element.

use super::Element;

/// The most bytes one thread's pool keeps for one element type.
pub const MAX_POOLED_BYTES: usize = 64 << 20;

/// Number of capacity classes: capacities `2^0` to `2^(CLASSES - 1)` elements.
const CLASSES: usize = usize::BITS as usize;

/// One thread's reusable buffers of element type `T`, by capacity class.
pub struct BufferPool<T> {
    classes: [Vec<Vec<T>>; CLASSES],
    /// Per class, how many buffers this pool handed out and has not had back. A buffer is
    /// kept only while this is positive, so buffers the pool never gave (a `vec!` whose
    /// length happens to be a power of two, made every step by code that does not use the
    /// pool) go back to the allocator instead of piling up here.
    outstanding: [usize; CLASSES],
    bytes: usize,
}

impl<T: Element> BufferPool<T> {
    /// An empty pool.
    pub(crate) fn new() -> Self {
        BufferPool {
            classes: std::array::from_fn(|_| Vec::new()),
            outstanding: [0; CLASSES],
            bytes: 0,
        }
    }

    /// A buffer with room for `n` elements, from the pool when it has one. A pooled buffer
    /// keeps the length and values it had when it came back (stale, but initialised).
    fn take(&mut self, n: usize) -> Vec<T> {
        let class = class_of(n);
        self.outstanding[class] += 1;
        match self.classes[class].pop() {
            Some(buffer) => {
                self.bytes -= buffer.capacity() * size_of::<T>();
                buffer
            }
            None => Vec::with_capacity(1 << class),
        }
    }

    /// Keeps `buffer` for reuse if its capacity is a class size and the pool has room.
    fn give(&mut self, buffer: Vec<T>) {
        let capacity = buffer.capacity();
        let bytes = capacity * size_of::<T>();
        let class = capacity.trailing_zeros() as usize;
        let ours = capacity.is_power_of_two() && self.outstanding[class] > 0;
        if !ours || self.bytes + bytes > MAX_POOLED_BYTES {
            return;
        }
        self.outstanding[class] -= 1;
        self.bytes += bytes;
        self.classes[class].push(buffer);
    }
}

/// The class whose capacity `2^class` is the smallest that holds `n` elements.
fn class_of(n: usize) -> usize {
    n.max(1).next_power_of_two().trailing_zeros() as usize
}

/// An empty buffer with room for `n` elements, from this thread's pool when it has one.
pub(crate) fn with_capacity<T: Element>(n: usize) -> Vec<T> {
    if n == 0 {
        return Vec::new();
    }
    let mut buffer = T::with_pool(|pool| pool.take(n)).unwrap_or_else(|| Vec::with_capacity(n));
    buffer.clear();
    buffer
}

/// A buffer of `n` elements whose values are unspecified (left from an earlier tensor, or
/// zero), for kernels that overwrite every element: a recycled buffer is not zeroed first,
/// which for a large output saves a whole pass over memory.
pub(crate) fn scratch<T: Element>(n: usize) -> Vec<T> {
    if n == 0 {
        return Vec::new();
    }
    let mut buffer = T::with_pool(|pool| pool.take(n)).unwrap_or_else(|| Vec::with_capacity(n));
    if buffer.len() >= n {
        buffer.truncate(n);
    } else {
        buffer.resize(n, T::ZERO);
    }
    buffer
}

/// A buffer of `n` copies of `value`, from this thread's pool when it has one.
pub(crate) fn filled<T: Element>(n: usize, value: T) -> Vec<T> {
    let mut buffer = with_capacity(n);
    buffer.resize(n, value);
    buffer
}

/// A buffer of `n` zeros, from this thread's pool when it has one.
pub(crate) fn zeroed<T: Element>(n: usize) -> Vec<T> {
    filled(n, T::ZERO)
}

/// Hands `buffer` to this thread's pool (or to the allocator when the pool is full, or the
/// thread is exiting and its pool already gone).
pub(crate) fn give_back<T: Element>(buffer: Vec<T>) {
    if buffer.capacity() == 0 {
        return;
    }
    // When the pool is unavailable the closure, and the buffer with it, is simply dropped.
    T::with_pool(move |pool| pool.give(buffer));
}

/// Bytes kept in this thread's pool for element type `T`: for tests and diagnostics.
pub fn pooled_bytes<T: Element>() -> usize {
    T::with_pool(|pool| pool.bytes).unwrap_or(0)
}
