//! AVX2+FMA bodies of the kernels in [`super`]. Every function here requires both features;
//! the callers check them at run time.

use std::arch::x86_64::*;

/// Lanes per vector.
const LANES: usize = 8;

/// `e^x` in eight lanes: `x = n ln2 + r` with `|r| <= ln2 / 2`, a degree-6 polynomial for
/// `e^r` (the Cephes coefficients), then a scale by `2^n` split in two factors so that
/// neither overflows the exponent field for any `n` in the clamped range.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn exp8(x: __m256) -> __m256 {
    let nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x);
    let clamped = _mm256_min_ps(
        _mm256_max_ps(x, _mm256_set1_ps(-104.0)),
        _mm256_set1_ps(89.0),
    );
    let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
        clamped,
        _mm256_set1_ps(std::f32::consts::LOG2_E),
    ));
    // r = x - n ln2, with ln2 split so that n * LN2_HI is exact.
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693_359_4), clamped);
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.121_944_4e-4), r);

    let mut p = _mm256_set1_ps(1.987_569_1e-4);
    for c in [1.398_2e-3, 8.333_452e-3, 4.166_579_6e-2, 0.166_666_65, 0.5] {
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
    }
    let r2 = _mm256_mul_ps(r, r);
    let y = _mm256_add_ps(_mm256_fmadd_ps(p, r2, r), _mm256_set1_ps(1.0));

    let n = _mm256_cvtps_epi32(n);
    let half = _mm256_srai_epi32::<1>(n);
    let rest = _mm256_sub_epi32(n, half);
    let bias = _mm256_set1_epi32(127);
    let scale =
        |k: __m256i| _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(k, bias)));
    let y = _mm256_mul_ps(_mm256_mul_ps(y, scale(half)), scale(rest));
    _mm256_blendv_ps(y, x, nan)
}

/// `1 / (1 + e^-x)` in eight lanes. Very negative `x` gives `1 / inf = 0`, very positive
/// `1 / (1 + 0) = 1`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn sigmoid8(x: __m256) -> __m256 {
    let one = _mm256_set1_ps(1.0);
    let e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
    _mm256_div_ps(one, _mm256_add_ps(one, e))
}

/// Applies `f` to whole vectors of `src` and to the tail through a zero-padded vector.
///
/// # Safety
/// The processor must support AVX2 and FMA; `src` and `dst` have one length.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn apply(src: &[f32], dst: &mut [f32], f: impl Fn(__m256) -> __m256) {
    debug_assert_eq!(src.len(), dst.len());
    let whole = src.len() / LANES * LANES;
    for (s, d) in src[..whole]
        .chunks_exact(LANES)
        .zip(dst[..whole].chunks_exact_mut(LANES))
    {
        // SAFETY: `s` and `d` hold exactly eight f32 each; unaligned loads and stores.
        unsafe { _mm256_storeu_ps(d.as_mut_ptr(), f(_mm256_loadu_ps(s.as_ptr()))) };
    }
    let tail = src.len() - whole;
    if tail > 0 {
        let mut buf = [0.0f32; LANES];
        buf[..tail].copy_from_slice(&src[whole..]);
        // SAFETY: `buf` holds eight f32.
        unsafe { _mm256_storeu_ps(buf.as_mut_ptr(), f(_mm256_loadu_ps(buf.as_ptr()))) };
        dst[whole..].copy_from_slice(&buf[..tail]);
    }
}

/// See [`super::exp`].
///
/// # Safety
/// The processor must support AVX2 and FMA; the slices have one length.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn exp(src: &[f32], dst: &mut [f32]) {
    // SAFETY: forwarded from this function's contract.
    unsafe { apply(src, dst, |x| exp8(x)) }
}

/// See [`super::sigmoid`].
///
/// # Safety
/// The processor must support AVX2 and FMA; the slices have one length.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn sigmoid(src: &[f32], dst: &mut [f32]) {
    // SAFETY: forwarded from this function's contract.
    unsafe { apply(src, dst, |x| sigmoid8(x)) }
}

/// `ln x` in eight lanes: `x = m 2^e` with `m` in [sqrt(1/2), sqrt(2)), `f = m - 1`, and
/// `ln x = e ln2 + f - f^2 / 2 + f^3 P(f)` with the Cephes polynomial P (ln2 split in two
/// parts as in [`exp8`]). Subnormal inputs are scaled by 2^23 first. Zero gives -inf,
/// negative numbers and NaN give NaN, +inf gives +inf.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn ln8(x: __m256) -> __m256 {
    let tiny = _mm256_cmp_ps::<_CMP_LT_OQ>(x, _mm256_set1_ps(f32::MIN_POSITIVE));
    let scaled = _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(8_388_608.0)), tiny);
    let shift = _mm256_and_ps(tiny, _mm256_set1_ps(23.0));

    // Exponent and mantissa in [1, 2) from the bits, then the mantissa folded into
    // [sqrt(1/2), sqrt(2)) so that f stays small on both sides of 1.
    let bits = _mm256_castps_si256(scaled);
    let biased = _mm256_srli_epi32::<23>(bits);
    let mut e = _mm256_sub_ps(
        _mm256_cvtepi32_ps(_mm256_sub_epi32(biased, _mm256_set1_epi32(127))),
        shift,
    );
    let mantissa_bits = _mm256_and_si256(bits, _mm256_set1_epi32(0x007f_ffff));
    let mantissa = _mm256_castsi256_ps(_mm256_or_si256(
        mantissa_bits,
        _mm256_set1_epi32(0x3f80_0000),
    ));
    let high = _mm256_cmp_ps::<_CMP_GT_OQ>(mantissa, _mm256_set1_ps(std::f32::consts::SQRT_2));
    let m = _mm256_blendv_ps(mantissa, _mm256_mul_ps(mantissa, _mm256_set1_ps(0.5)), high);
    e = _mm256_add_ps(e, _mm256_and_ps(high, _mm256_set1_ps(1.0)));
    let f = _mm256_sub_ps(m, _mm256_set1_ps(1.0));

    let z = _mm256_mul_ps(f, f);
    let mut p = _mm256_set1_ps(7.037_683_6e-2);
    for c in LN_POLY {
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(c));
    }
    let mut y = _mm256_mul_ps(_mm256_mul_ps(p, f), z);
    y = _mm256_fmadd_ps(e, _mm256_set1_ps(-2.121_944_4e-4), y);
    y = _mm256_fnmadd_ps(_mm256_set1_ps(0.5), z, y);
    let r = _mm256_fmadd_ps(e, _mm256_set1_ps(0.693_359_4), _mm256_add_ps(f, y));

    // Zero, negative numbers, +inf and NaN.
    let zero = _mm256_setzero_ps();
    let r = _mm256_blendv_ps(
        r,
        _mm256_set1_ps(f32::NEG_INFINITY),
        _mm256_cmp_ps::<_CMP_EQ_OQ>(x, zero),
    );
    let r = _mm256_blendv_ps(
        r,
        _mm256_set1_ps(f32::NAN),
        _mm256_cmp_ps::<_CMP_LT_OQ>(x, zero),
    );
    let passthrough = _mm256_or_ps(
        _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x),
        _mm256_cmp_ps::<_CMP_EQ_OQ>(x, _mm256_set1_ps(f32::INFINITY)),
    );
    _mm256_blendv_ps(r, x, passthrough)
}

/// The Cephes coefficients of P in [`ln8`] after the leading one, highest degree first.
pub(super) const LN_POLY: [f32; 8] = [
    -1.151_461e-1,
    1.167_699_9e-1,
    -1.242_014_1e-1,
    1.424_932_3e-1,
    -1.666_805_8e-1,
    2.000_071_4e-1,
    -2.499_999_4e-1,
    3.333_333e-1,
];

/// `ln(1 + e^x)` in eight lanes as `max(x, 0) + ln(1 + u)` with `u = e^-|x|`. `ln(1 + u)`
/// is `ln(w) u / (w - 1)` with `w = 1 + u` rounded, which cancels the rounding of `w`, and
/// `u` itself where `w` rounds to 1.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn softplus8(x: __m256) -> __m256 {
    let zero = _mm256_setzero_ps();
    let one = _mm256_set1_ps(1.0);
    let magnitude = _mm256_andnot_ps(_mm256_set1_ps(-0.0), x);
    let u = exp8(_mm256_sub_ps(zero, magnitude));
    let w = _mm256_add_ps(one, u);
    let d = _mm256_sub_ps(w, one);
    let corrected = _mm256_mul_ps(ln8(w), _mm256_div_ps(u, d));
    let log1p = _mm256_blendv_ps(corrected, u, _mm256_cmp_ps::<_CMP_EQ_OQ>(d, zero));
    // max returns its second operand when the first is NaN; the NaN comes through log1p.
    _mm256_add_ps(_mm256_max_ps(x, zero), log1p)
}

/// `tanh x` in eight lanes: below |x| = 0.625 the odd Cephes polynomial
/// `x + x^3 Q(x^2)`, above it `1 - 2 / (e^(2|x|) + 1)` (an infinite exponential gives
/// exactly 1); the sign of `x` is put back on both.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn tanh8(x: __m256) -> __m256 {
    let sign_bit = _mm256_set1_ps(-0.0);
    let magnitude = _mm256_andnot_ps(sign_bit, x);

    let z = _mm256_mul_ps(x, x);
    let mut q = _mm256_set1_ps(TANH_POLY[0]);
    for &c in &TANH_POLY[1..] {
        q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(c));
    }
    let small = _mm256_fmadd_ps(_mm256_mul_ps(q, z), x, x);

    let one = _mm256_set1_ps(1.0);
    let e = exp8(_mm256_add_ps(magnitude, magnitude));
    let large = _mm256_sub_ps(
        one,
        _mm256_div_ps(_mm256_set1_ps(2.0), _mm256_add_ps(e, one)),
    );

    // tanh keeps the sign of x, -0 included (the polynomial would turn -0 into +0).
    let use_small = _mm256_cmp_ps::<_CMP_LT_OQ>(magnitude, _mm256_set1_ps(0.625));
    let r = _mm256_blendv_ps(large, small, use_small);
    _mm256_or_ps(_mm256_andnot_ps(sign_bit, r), _mm256_and_ps(x, sign_bit))
}

/// The Cephes coefficients of Q in [`tanh8`], highest degree first.
pub(super) const TANH_POLY: [f32; 5] = [
    -5.704_988_7e-3,
    2.063_909e-2,
    -5.373_971_6e-2,
    1.333_144_2e-1,
    -3.333_328e-1,
];

/// See [`super::tanh`].
///
/// # Safety
/// The processor must support AVX2 and FMA; the slices have one length.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn tanh(src: &[f32], dst: &mut [f32]) {
    // SAFETY: forwarded from this function's contract.
    unsafe { apply(src, dst, |x| tanh8(x)) }
}

/// See [`super::ln`].
///
/// # Safety
/// The processor must support AVX2 and FMA; the slices have one length.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn ln(src: &[f32], dst: &mut [f32]) {
    // SAFETY: forwarded from this function's contract.
    unsafe { apply(src, dst, |x| ln8(x)) }
}

/// See [`super::softplus`].
///
/// # Safety
/// The processor must support AVX2 and FMA; the slices have one length.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn softplus(src: &[f32], dst: &mut [f32]) {
    // SAFETY: forwarded from this function's contract.
    unsafe { apply(src, dst, |x| softplus8(x)) }
}
