//! Vectorised `f32` kernels for the transcendental functions of the hot path, with AVX2+FMA
//! chosen at run time and a portable scalar fallback.
//!
//! The arithmetic operations (add, mul, fused expressions, sums) need no intrinsics: their
//! loops are written so that the compiler vectorises them (see `kernels.rs`). What it
//! cannot vectorise is a call into the C maths library, so `exp` and `sigmoid` are computed
//! here with a polynomial, eight lanes at a time.
//!
//! # Accuracy
//! [`exp`] is within 4 ulp (relative error below 5e-7) of the correctly rounded result for
//! inputs whose result is a normal float, `x` in about [-87.3, 88.7]; below that it flushes
//! towards zero with an absolute error under 1.2e-38; above it gives +inf; NaN stays NaN.
//! [`sigmoid`] inherits that bound plus one division: within 6 ulp. `tests/simd_kernels.rs`
//! checks both on random lengths against the scalar reference.
//!
//! Known shortcoming: only x86_64 with AVX2 and FMA has a vector path; other processors use
//! the scalar functions of the standard library (correct, slower). There is no AVX-512 path:
//! the machine this was written on has no AVX-512 to test it.

#[cfg(target_arch = "x86_64")]
mod avx2;

/// True when this processor runs the AVX2+FMA kernels.
pub fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `dst[i] = e^src[i]`, vectorised where the processor allows.
///
/// # Panics
/// When the slices differ in length.
pub fn exp(src: &[f32], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "exp: slices differ in length");
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: AVX2 and FMA are present, checked just above.
        unsafe { avx2::exp(src, dst) };
        return;
    }
    exp_scalar(src, dst);
}

/// `dst[i] = 1 / (1 + e^-src[i])`, vectorised where the processor allows.
///
/// # Panics
/// When the slices differ in length.
pub fn sigmoid(src: &[f32], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "sigmoid: slices differ in length");
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: AVX2 and FMA are present, checked just above.
        unsafe { avx2::sigmoid(src, dst) };
        return;
    }
    sigmoid_scalar(src, dst);
}

/// The scalar reference of [`exp`]: the standard library's `f32::exp`.
pub fn exp_scalar(src: &[f32], dst: &mut [f32]) {
    dst.iter_mut().zip(src).for_each(|(d, &x)| *d = x.exp());
}

/// The scalar reference of [`sigmoid`], in the overflow-free form of `Tensor::sigmoid`.
pub fn sigmoid_scalar(src: &[f32], dst: &mut [f32]) {
    dst.iter_mut()
        .zip(src)
        .for_each(|(d, &x)| *d = super::ops::sigmoid(x));
}
