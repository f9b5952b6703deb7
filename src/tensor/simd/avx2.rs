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
