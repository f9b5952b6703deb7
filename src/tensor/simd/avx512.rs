//! AVX-512F bodies of the kernels in [`super`], sixteen lanes at a time. Every function here
//! requires AVX-512F; the callers check it at run time.
//!
//! The arithmetic is that of the AVX2 bodies (same range reduction, same polynomial), with
//! two instructions AVX2 lacks: `vscalefps` multiplies by `2^n` without building the
//! exponent bits by hand (and rounds results below the normal range correctly instead of
//! flushing them), and masked loads and stores handle the tail without a copy.

use std::arch::x86_64::*;

/// Lanes per vector.
const LANES: usize = 16;

/// `e^x` in sixteen lanes: `x = n ln2 + r` with `|r| <= ln2 / 2`, the degree-6 polynomial of
/// the AVX2 body for `e^r`, then `e^r * 2^n` by `vscalefps`.
#[inline]
#[target_feature(enable = "avx512f")]
fn exp16(x: __m512) -> __m512 {
    let clamped = _mm512_min_ps(
        _mm512_max_ps(x, _mm512_set1_ps(-104.0)),
        _mm512_set1_ps(89.0),
    );
    let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
        _mm512_mul_ps(clamped, _mm512_set1_ps(std::f32::consts::LOG2_E)),
    );
    // r = x - n ln2, with ln2 split so that n * LN2_HI is exact.
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693_359_4), clamped);
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.121_944_4e-4), r);

    let mut p = _mm512_set1_ps(1.987_569_1e-4);
    for c in [1.398_2e-3, 8.333_452e-3, 4.166_579_6e-2, 0.166_666_65, 0.5] {
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
    }
    let r2 = _mm512_mul_ps(r, r);
    let y = _mm512_add_ps(_mm512_fmadd_ps(p, r2, r), _mm512_set1_ps(1.0));

    // The clamp turned NaN into a bound; put it back.
    let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(x, x);
    _mm512_mask_blend_ps(nan, _mm512_scalef_ps(y, n), x)
}

/// `1 / (1 + e^-x)` in sixteen lanes. Very negative `x` gives `1 / inf = 0`, very positive
/// `1 / (1 + 0) = 1`.
#[inline]
#[target_feature(enable = "avx512f")]
fn sigmoid16(x: __m512) -> __m512 {
    let one = _mm512_set1_ps(1.0);
    let e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), x));
    _mm512_div_ps(one, _mm512_add_ps(one, e))
}

/// Applies `f` to whole vectors of `src` and to the tail through masked loads and stores.
///
/// # Safety
/// The processor must support AVX-512F; `src` and `dst` have one length.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn apply(src: &[f32], dst: &mut [f32], f: impl Fn(__m512) -> __m512) {
    debug_assert_eq!(src.len(), dst.len());
    let whole = src.len() / LANES * LANES;
    for (s, d) in src[..whole]
        .chunks_exact(LANES)
        .zip(dst[..whole].chunks_exact_mut(LANES))
    {
        // SAFETY: `s` and `d` hold exactly sixteen f32 each; unaligned loads and stores.
        unsafe { _mm512_storeu_ps(d.as_mut_ptr(), f(_mm512_loadu_ps(s.as_ptr()))) };
    }

    let tail = src.len() - whole;
    if tail > 0 {
        let mask: __mmask16 = (1u16 << tail) - 1;
        // SAFETY: the mask covers only the `tail` elements both slices hold past `whole`;
        // masked-off lanes are neither read nor written.
        unsafe {
            let v = _mm512_maskz_loadu_ps(mask, src.as_ptr().add(whole));
            _mm512_mask_storeu_ps(dst.as_mut_ptr().add(whole), mask, f(v));
        }
    }
}

/// See [`super::exp`].
///
/// # Safety
/// The processor must support AVX-512F; the slices have one length.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn exp(src: &[f32], dst: &mut [f32]) {
    // SAFETY: forwarded from this function's contract.
    unsafe { apply(src, dst, |x| exp16(x)) }
}

/// See [`super::sigmoid`].
///
/// # Safety
/// The processor must support AVX-512F; the slices have one length.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn sigmoid(src: &[f32], dst: &mut [f32]) {
    // SAFETY: forwarded from this function's contract.
    unsafe { apply(src, dst, |x| sigmoid16(x)) }
}

/// `ln x` in sixteen lanes, the arithmetic of the AVX2 body, with `vgetexpps` and
/// `vgetmantps` splitting `x` into exponent and mantissa (subnormals included).
#[inline]
#[target_feature(enable = "avx512f")]
fn ln16(x: __m512) -> __m512 {
    let mut e = _mm512_getexp_ps(x);
    let mantissa = _mm512_getmant_ps::<_MM_MANT_NORM_1_2, _MM_MANT_SIGN_ZERO>(x);
    let high = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(mantissa, _mm512_set1_ps(std::f32::consts::SQRT_2));
    let m = _mm512_mask_mul_ps(mantissa, high, mantissa, _mm512_set1_ps(0.5));
    e = _mm512_mask_add_ps(e, high, e, _mm512_set1_ps(1.0));
    let f = _mm512_sub_ps(m, _mm512_set1_ps(1.0));

    let z = _mm512_mul_ps(f, f);
    let mut p = _mm512_set1_ps(7.037_683_6e-2);
    for c in super::avx2::LN_POLY {
        p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(c));
    }
    let mut y = _mm512_mul_ps(_mm512_mul_ps(p, f), z);
    y = _mm512_fmadd_ps(e, _mm512_set1_ps(-2.121_944_4e-4), y);
    y = _mm512_fnmadd_ps(_mm512_set1_ps(0.5), z, y);
    let r = _mm512_fmadd_ps(e, _mm512_set1_ps(0.693_359_4), _mm512_add_ps(f, y));

    // Zero, negative numbers, +inf and NaN.
    let zero = _mm512_setzero_ps();
    let r = _mm512_mask_blend_ps(
        _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(x, zero),
        r,
        _mm512_set1_ps(f32::NEG_INFINITY),
    );
    let r = _mm512_mask_blend_ps(
        _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, zero),
        r,
        _mm512_set1_ps(f32::NAN),
    );
    let passthrough = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(x, x)
        | _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(x, _mm512_set1_ps(f32::INFINITY));
    _mm512_mask_blend_ps(passthrough, r, x)
}

/// `ln(1 + e^x)` in sixteen lanes, as the AVX2 body computes it.
#[inline]
#[target_feature(enable = "avx512f")]
fn softplus16(x: __m512) -> __m512 {
    let zero = _mm512_setzero_ps();
    let one = _mm512_set1_ps(1.0);
    let magnitude = _mm512_abs_ps(x);
    let u = exp16(_mm512_sub_ps(zero, magnitude));
    let w = _mm512_add_ps(one, u);
    let d = _mm512_sub_ps(w, one);
    let corrected = _mm512_mul_ps(ln16(w), _mm512_div_ps(u, d));
    let log1p = _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_EQ_OQ>(d, zero), corrected, u);
    // max returns its second operand when the first is NaN; the NaN comes through log1p.
    _mm512_add_ps(_mm512_max_ps(x, zero), log1p)
}

/// `tanh x` in sixteen lanes, as the AVX2 body computes it.
#[inline]
#[target_feature(enable = "avx512f")]
fn tanh16(x: __m512) -> __m512 {
    let magnitude = _mm512_abs_ps(x);

    let z = _mm512_mul_ps(x, x);
    let mut q = _mm512_set1_ps(super::avx2::TANH_POLY[0]);
    for &c in &super::avx2::TANH_POLY[1..] {
        q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(c));
    }
    let small = _mm512_fmadd_ps(_mm512_mul_ps(q, z), x, x);

    let one = _mm512_set1_ps(1.0);
    let e = exp16(_mm512_add_ps(magnitude, magnitude));
    let large = _mm512_sub_ps(
        one,
        _mm512_div_ps(_mm512_set1_ps(2.0), _mm512_add_ps(e, one)),
    );

    // tanh keeps the sign of x, -0 included (the polynomial would turn -0 into +0).
    let use_small = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(magnitude, _mm512_set1_ps(0.625));
    let r = _mm512_abs_ps(_mm512_mask_blend_ps(use_small, large, small));
    let sign = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(i32::MIN));
    _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(r), sign))
}

/// See [`super::tanh`].
///
/// # Safety
/// The processor must support AVX-512F; the slices have one length.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn tanh(src: &[f32], dst: &mut [f32]) {
    // SAFETY: forwarded from this function's contract.
    unsafe { apply(src, dst, |x| tanh16(x)) }
}

/// See [`super::ln`].
///
/// # Safety
/// The processor must support AVX-512F; the slices have one length.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn ln(src: &[f32], dst: &mut [f32]) {
    // SAFETY: forwarded from this function's contract.
    unsafe { apply(src, dst, |x| ln16(x)) }
}

/// See [`super::softplus`].
///
/// # Safety
/// The processor must support AVX-512F; the slices have one length.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn softplus(src: &[f32], dst: &mut [f32]) {
    // SAFETY: forwarded from this function's contract.
    unsafe { apply(src, dst, |x| softplus16(x)) }
}
