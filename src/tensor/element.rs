//! [`Element`]: the floating-point types a tensor can hold (f32 for training, f64 for tight
//! gradient checks), with the scalar maths and the matrix product each one needs.

use std::cell::RefCell;
use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

use super::pool::BufferPool;
use crate::autograd::Tape;

/// Names the element type of a tensor at run time, for checkpoints and messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit IEEE float.
    F32,
    /// 64-bit IEEE float.
    F64,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 => 8,
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point element type: `f32` or `f64`. The trait is sealed; its methods are the
/// scalar operations the kernels are written in.
pub trait Element:
    sealed::Sealed
    + Copy
    + Send
    + Sync
    + 'static
    + Default
    + PartialOrd
    + Debug
    + Display
    + Sum
    + bytemuck::Pod
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
{
    /// The run-time tag of this type.
    const DTYPE: DType;
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;
    /// Largest finite value.
    const MAX: Self;
    /// Smallest (most negative) finite value.
    const MIN: Self;

    /// Converts from f64, rounding to the nearest representable value.
    fn from_f64(v: f64) -> Self;
    /// Converts to f64 exactly.
    fn to_f64(self) -> f64;
    /// e^self.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// self^p.
    fn powf(self, p: Self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// ln(1 + self), accurate near 0.
    fn ln_1p(self) -> Self;
    /// The larger of two values (NaN-propagating behaviour is not guaranteed).
    fn max(self, other: Self) -> Self;
    /// The smaller of two values.
    fn min(self, other: Self) -> Self;
    /// Neither NaN nor infinite.
    fn is_finite(self) -> bool;

    /// `c <- alpha * a @ b + beta * c` for row/column strides given in elements.
    ///
    /// # Safety
    /// The pointers must address `m x k`, `k x n` and `m x n` matrices with the given strides,
    /// valid for reads (a, b) and writes (c), with `c` not aliasing `a` or `b`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        a_strides: [isize; 2],
        b: *const Self,
        b_strides: [isize; 2],
        beta: Self,
        c: *mut Self,
        c_strides: [isize; 2],
    );

    /// `dst[i] = e^src[i]` over two slices of one length; vectorised for `f32` (see
    /// [`crate::tensor::simd`]).
    fn exp_slice(src: &[Self], dst: &mut [Self]);

    /// `dst[i] = sigmoid(src[i])` over two slices of one length; vectorised for `f32`.
    fn sigmoid_slice(src: &[Self], dst: &mut [Self]);

    /// `dst[i] = ln src[i]` over two slices of one length; vectorised for `f32`.
    fn ln_slice(src: &[Self], dst: &mut [Self]);

    /// `dst[i] = tanh src[i]` over two slices of one length; vectorised for `f32`.
    fn tanh_slice(src: &[Self], dst: &mut [Self]);

    /// `dst[i] = ln(1 + e^src[i])` over two slices of one length; vectorised for `f32`.
    fn softplus_slice(src: &[Self], dst: &mut [Self]);

    /// Runs `f` on this thread's tape for this element type.
    fn with_tape<R>(f: impl FnOnce(&mut Tape<Self>) -> R) -> R;

    /// Runs `f` on this thread's buffer pool for this element type; `None` (and `f` dropped
    /// unused) when the pool is unavailable: the thread is exiting, or the pool is already
    /// in use further up this thread's stack.
    fn with_pool<R>(f: impl FnOnce(&mut BufferPool<Self>) -> R) -> Option<R>;
}

thread_local! {
    static TAPE_F32: RefCell<Tape<f32>> = RefCell::new(Tape::new());
    static TAPE_F64: RefCell<Tape<f64>> = RefCell::new(Tape::new());
    static POOL_F32: RefCell<BufferPool<f32>> = RefCell::new(BufferPool::new());
    static POOL_F64: RefCell<BufferPool<f64>> = RefCell::new(BufferPool::new());
}

macro_rules! impl_element {
    (
        $t:ty,
        $dtype:expr,
        $gemm:path,
        $tape:ident,
        $pool:ident,
        $exp:path,
        $sigmoid:path,
        $ln:path,
        $tanh:path,
        $softplus:path
    ) => {
        impl Element for $t {
            const DTYPE: DType = $dtype;
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const MAX: Self = <$t>::MAX;
            const MIN: Self = <$t>::MIN;

            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn powf(self, p: Self) -> Self {
                <$t>::powf(self, p)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            #[inline(always)]
            fn ln_1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                <$t>::max(self, other)
            }
            #[inline(always)]
            fn min(self, other: Self) -> Self {
                <$t>::min(self, other)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }

            unsafe fn gemm(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                a: *const Self,
                a_strides: [isize; 2],
                b: *const Self,
                b_strides: [isize; 2],
                beta: Self,
                c: *mut Self,
                c_strides: [isize; 2],
            ) {
                // SAFETY: forwarded from this function's contract.
                unsafe {
                    $gemm(
                        m,
                        k,
                        n,
                        alpha,
                        a,
                        a_strides[0],
                        a_strides[1],
                        b,
                        b_strides[0],
                        b_strides[1],
                        beta,
                        c,
                        c_strides[0],
                        c_strides[1],
                    )
                }
            }

            fn exp_slice(src: &[Self], dst: &mut [Self]) {
                $exp(src, dst)
            }

            fn sigmoid_slice(src: &[Self], dst: &mut [Self]) {
                $sigmoid(src, dst)
            }

            fn ln_slice(src: &[Self], dst: &mut [Self]) {
                $ln(src, dst)
            }

            fn tanh_slice(src: &[Self], dst: &mut [Self]) {
                $tanh(src, dst)
            }

            fn softplus_slice(src: &[Self], dst: &mut [Self]) {
                $softplus(src, dst)
            }

            fn with_tape<R>(f: impl FnOnce(&mut Tape<Self>) -> R) -> R {
                $tape.with(|tape| f(&mut tape.borrow_mut()))
            }

            fn with_pool<R>(f: impl FnOnce(&mut BufferPool<Self>) -> R) -> Option<R> {
                $pool
                    .try_with(|pool| pool.try_borrow_mut().ok().map(|mut pool| f(&mut pool)))
                    .ok()
                    .flatten()
            }
        }
    };
}

impl_element!(
    f32,
    DType::F32,
    matrixmultiply::sgemm,
    TAPE_F32,
    POOL_F32,
    super::simd::exp,
    super::simd::sigmoid,
    super::simd::ln,
    super::simd::tanh,
    super::simd::softplus
);
impl_element!(
    f64,
    DType::F64,
    matrixmultiply::dgemm,
    TAPE_F64,
    POOL_F64,
    exp_scalar,
    sigmoid_scalar,
    ln_scalar,
    tanh_scalar,
    softplus_scalar
);

/// `dst[i] = e^src[i]`, one element at a time.
fn exp_scalar<T: Element>(src: &[T], dst: &mut [T]) {
    dst.iter_mut().zip(src).for_each(|(d, &x)| *d = x.exp());
}

/// `dst[i] = sigmoid(src[i])`, one element at a time.
fn sigmoid_scalar<T: Element>(src: &[T], dst: &mut [T]) {
    dst.iter_mut()
        .zip(src)
        .for_each(|(d, &x)| *d = super::ops::sigmoid(x));
}

/// `dst[i] = ln src[i]`, one element at a time.
fn ln_scalar<T: Element>(src: &[T], dst: &mut [T]) {
    dst.iter_mut().zip(src).for_each(|(d, &x)| *d = x.ln());
}

/// `dst[i] = tanh src[i]`, one element at a time.
fn tanh_scalar<T: Element>(src: &[T], dst: &mut [T]) {
    dst.iter_mut().zip(src).for_each(|(d, &x)| *d = x.tanh());
}

/// `dst[i] = softplus(src[i])`, one element at a time.
fn softplus_scalar<T: Element>(src: &[T], dst: &mut [T]) {
    dst.iter_mut()
        .zip(src)
        .for_each(|(d, &x)| *d = super::ops::softplus(x));
}
