//! Vectorised `f32` kernels for the transcendental functions of the hot path, with AVX-512F or
//! AVX2+FMA chosen at run time and a portable scalar fallback.
//!
//! The arithmetic operations (add, mul, fused expressions, sums) need no intrinsics: their
//! loops are written so that the compiler vectorises them (see `kernels.rs`). What it
//! cannot vectorise is a call into the C maths library, so `exp`, `sigmoid`, `ln`, `tanh`
//! and `softplus` are computed here with polynomials, eight or sixteen lanes at a time.
//!
//! # Accuracy
//! [`exp`] is within 4 ulp (relative error below 5e-7) of the correctly rounded result for
//! inputs whose result is a normal float, `x` in about [-87.3, 88.7]; below that it flushes
//! towards zero with an absolute error under 1.2e-38; above it gives +inf; NaN stays NaN.
//! [`sigmoid`] inherits that bound plus one division: within 6 ulp. [`ln`] is within 2e-7
//! relative (subnormal inputs included); [`tanh`] and [`softplus`] within 1e-6 relative.
//! Zero, negative, infinite and NaN inputs give what the standard library gives.
//! `tests/simd_kernels.rs` checks all five on random lengths against the scalar reference.
//!
//! Three instruction sets, chosen at run time ([`Isa::best`]): AVX-512F (sixteen lanes),
//! AVX2+FMA (eight lanes) and the portable scalar functions of the standard library. The
//! `*_with` functions take the set explicitly, so tests check every path the processor has.
//!
//! Known shortcoming: only x86_64 has vector paths; other processors use the scalar
//! functions (correct, slower).

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

use std::sync::OnceLock;

/// An instruction set the kernels can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// The standard library's scalar functions; every processor.
    Scalar,
    /// AVX2 with FMA, eight lanes.
    Avx2,
    /// AVX-512F, sixteen lanes.
    Avx512,
}

impl Isa {
    /// Whether this processor runs kernels of this set.
    pub fn is_available(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            match self {
                Isa::Scalar => true,
                Isa::Avx2 => {
                    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
                }
                Isa::Avx512 => std::is_x86_feature_detected!("avx512f"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Isa::Scalar
        }
    }

    /// The widest set this processor runs, detected once.
    pub fn best() -> Isa {
        static BEST: OnceLock<Isa> = OnceLock::new();
        *BEST.get_or_init(|| {
            [Isa::Avx512, Isa::Avx2]
                .into_iter()
                .find(|isa| isa.is_available())
                .unwrap_or(Isa::Scalar)
        })
    }

    /// Every set this processor runs, widest first.
    pub fn available() -> Vec<Isa> {
        [Isa::Avx512, Isa::Avx2, Isa::Scalar]
            .into_iter()
            .filter(|isa| isa.is_available())
            .collect()
    }
}

/// True when this processor runs the AVX2+FMA kernels.
pub fn has_avx2_fma() -> bool {
    Isa::Avx2.is_available()
}

/// Runs kernel `$kernel` of the module of instruction set `$isa` when the processor has it,
/// else `$scalar`.
macro_rules! dispatch {
    ($isa:expr, $src:expr, $dst:expr, $kernel:ident, $scalar:expr) => {{
        let (src, dst): (&[f32], &mut [f32]) = ($src, $dst);
        assert_eq!(
            src.len(),
            dst.len(),
            concat!(stringify!($kernel), ": slices differ in length")
        );
        #[cfg(target_arch = "x86_64")]
        if $isa.is_available() {
            match $isa {
                // SAFETY: AVX-512F is present, checked just above.
                Isa::Avx512 => return unsafe { avx512::$kernel(src, dst) },
                // SAFETY: AVX2 and FMA are present, checked just above.
                Isa::Avx2 => return unsafe { avx2::$kernel(src, dst) },
                Isa::Scalar => {}
            }
        }
        $scalar(src, dst)
    }};
}

/// `dst[i] = e^src[i]` on the widest instruction set the processor has.
///
/// # Panics
/// When the slices differ in length.
pub fn exp(src: &[f32], dst: &mut [f32]) {
    exp_with(Isa::best(), src, dst);
}

/// `dst[i] = 1 / (1 + e^-src[i])` on the widest instruction set the processor has.
///
/// # Panics
/// When the slices differ in length.
pub fn sigmoid(src: &[f32], dst: &mut [f32]) {
    sigmoid_with(Isa::best(), src, dst);
}

/// `dst[i] = ln src[i]` on the widest instruction set the processor has.
///
/// # Panics
/// When the slices differ in length.
pub fn ln(src: &[f32], dst: &mut [f32]) {
    ln_with(Isa::best(), src, dst);
}

/// `dst[i] = ln(1 + e^src[i])` on the widest instruction set the processor has.
///
/// # Panics
/// When the slices differ in length.
pub fn softplus(src: &[f32], dst: &mut [f32]) {
    softplus_with(Isa::best(), src, dst);
}

/// `dst[i] = tanh src[i]` on the widest instruction set the processor has.
///
/// # Panics
/// When the slices differ in length.
pub fn tanh(src: &[f32], dst: &mut [f32]) {
    tanh_with(Isa::best(), src, dst);
}

/// [`exp`] on the instruction set `isa`, or the scalar path where the processor lacks it.
///
/// # Panics
/// When the slices differ in length.
pub fn exp_with(isa: Isa, src: &[f32], dst: &mut [f32]) {
    dispatch!(isa, src, dst, exp, exp_scalar)
}

/// [`sigmoid`] on the instruction set `isa`, or the scalar path where the processor lacks it.
///
/// # Panics
/// When the slices differ in length.
pub fn sigmoid_with(isa: Isa, src: &[f32], dst: &mut [f32]) {
    dispatch!(isa, src, dst, sigmoid, sigmoid_scalar)
}

/// [`ln`] on the instruction set `isa`, or the scalar path where the processor lacks it.
///
/// # Panics
/// When the slices differ in length.
pub fn ln_with(isa: Isa, src: &[f32], dst: &mut [f32]) {
    dispatch!(isa, src, dst, ln, ln_scalar)
}

/// [`softplus`] on the instruction set `isa`, or the scalar path where the processor lacks
/// it.
///
/// # Panics
/// When the slices differ in length.
pub fn softplus_with(isa: Isa, src: &[f32], dst: &mut [f32]) {
    dispatch!(isa, src, dst, softplus, softplus_scalar)
}

/// [`tanh`] on the instruction set `isa`, or the scalar path where the processor lacks it.
///
/// # Panics
/// When the slices differ in length.
pub fn tanh_with(isa: Isa, src: &[f32], dst: &mut [f32]) {
    dispatch!(isa, src, dst, tanh, tanh_scalar)
}

/// The scalar reference of [`tanh`]: the standard library's `f32::tanh`.
pub fn tanh_scalar(src: &[f32], dst: &mut [f32]) {
    dst.iter_mut().zip(src).for_each(|(d, &x)| *d = x.tanh());
}

/// The scalar reference of [`ln`]: the standard library's `f32::ln`.
pub fn ln_scalar(src: &[f32], dst: &mut [f32]) {
    dst.iter_mut().zip(src).for_each(|(d, &x)| *d = x.ln());
}

/// The scalar reference of [`softplus`], in the overflow-free form of `Tensor::softplus`.
pub fn softplus_scalar(src: &[f32], dst: &mut [f32]) {
    dst.iter_mut()
        .zip(src)
        .for_each(|(d, &x)| *d = super::ops::softplus(x));
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
