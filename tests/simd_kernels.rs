//! The vectorised kernels of `dmil::tensor::simd` against their scalar references, on every
//! instruction set this processor has (AVX-512F, AVX2+FMA), on random lengths (0, 1, and
//! non-multiples of the eight- and sixteen-lane vector widths) and random values.
//!
//! Bounds: `exp` within 4 ulp relative (5e-7) where the result is a normal float, and within
//! 1.2e-38 absolute below; `sigmoid` within 6 ulp relative (7.2e-7).

use dmil::tensor::simd::{self, Isa};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Lengths around the vector width and a few larger ones.
const LENGTHS: [usize; 14] = [0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 1027];

/// Asserts that `got` is within `rel` relative or `abs` absolute error of `want`, element by
/// element, with NaN matching NaN and infinities matching exactly.
fn assert_close(name: &str, input: &[f32], got: &[f32], want: &[f32], rel: f32, abs: f32) {
    for ((&x, &g), &w) in input.iter().zip(got).zip(want) {
        if w.is_nan() {
            assert!(g.is_nan(), "{name}({x}): got {g}, want NaN");
            continue;
        }
        if w.is_infinite() {
            assert_eq!(g, w, "{name}({x})");
            continue;
        }
        let err = (g - w).abs();
        assert!(
            err <= abs || err <= rel * w.abs(),
            "{name}({x}): got {g}, want {w} (relative error {})",
            err / w.abs()
        );
    }
}

/// Random values uniform in `lo..hi`.
fn values(rng: &mut ChaCha8Rng, len: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(lo..hi)).collect()
}

#[test]
fn exp_matches_the_scalar_reference_on_random_lengths() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for &len in &LENGTHS {
        for (lo, hi) in [(-1.0, 1.0), (-20.0, 20.0), (-87.0, 88.5), (-110.0, -80.0)] {
            let x = values(&mut rng, len, lo, hi);
            let (mut got, mut want) = (vec![0.0; len], vec![0.0; len]);
            simd::exp_scalar(&x, &mut want);
            for isa in Isa::available() {
                simd::exp_with(isa, &x, &mut got);
                assert_close(&format!("exp {isa:?}"), &x, &got, &want, 5e-7, 1.2e-38);
            }
        }
    }
}

#[test]
fn exp_handles_special_values() {
    let x = [
        0.0,
        -0.0,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        88.72,
        89.0,
        1000.0,
        -1000.0,
        -87.3,
    ];
    let (mut got, mut want) = ([0.0; 10], [0.0; 10]);
    simd::exp_scalar(&x, &mut want);
    for isa in Isa::available() {
        simd::exp_with(isa, &x, &mut got);
        assert_close(&format!("exp {isa:?}"), &x, &got, &want, 5e-7, 1.2e-38);
        assert_eq!(got[0], 1.0, "{isa:?}");
        assert_eq!(got[4], 0.0, "{isa:?}");
    }
}

#[test]
fn sigmoid_matches_the_scalar_reference_on_random_lengths() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for &len in &LENGTHS {
        for (lo, hi) in [(-1.0, 1.0), (-30.0, 30.0), (-120.0, 120.0)] {
            let x = values(&mut rng, len, lo, hi);
            let (mut got, mut want) = (vec![0.0; len], vec![0.0; len]);
            simd::sigmoid_scalar(&x, &mut want);
            for isa in Isa::available() {
                simd::sigmoid_with(isa, &x, &mut got);
                assert_close(
                    &format!("sigmoid {isa:?}"),
                    &x,
                    &got,
                    &want,
                    7.2e-7,
                    1.2e-38,
                );
            }
        }
    }
    let special = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0];
    for isa in Isa::available() {
        let mut got = [0.0; 4];
        simd::sigmoid_with(isa, &special, &mut got);
        assert!(got[0].is_nan(), "{isa:?}");
        assert_eq!(&got[1..], &[1.0, 0.0, 0.5], "{isa:?}");
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn the_widest_vector_path_is_taken_where_the_processor_has_it() {
    let want = if std::is_x86_feature_detected!("avx512f") {
        Isa::Avx512
    } else if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        Isa::Avx2
    } else {
        Isa::Scalar
    };
    assert_eq!(Isa::best(), want);
    assert!(Isa::available().contains(&Isa::Scalar));
}

#[test]
fn ln_matches_the_scalar_reference_on_random_lengths() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    for &len in &LENGTHS {
        for (lo, hi) in [
            (0.5, 2.0),
            (0.99, 1.01),
            (1e-30, 1e-20),
            (1.0, 3e38),
            (0.0, 1e-38),
        ] {
            let x = values(&mut rng, len, lo, hi);
            let (mut got, mut want) = (vec![0.0; len], vec![0.0; len]);
            simd::ln_scalar(&x, &mut want);
            for isa in Isa::available() {
                simd::ln_with(isa, &x, &mut got);
                assert_close(&format!("ln {isa:?}"), &x, &got, &want, 2e-7, 1e-10);
            }
        }
    }
}

#[test]
fn ln_handles_special_values() {
    let x = [
        0.0,
        -0.0,
        -1.0,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1.0,
        f32::MIN_POSITIVE,
        1e-45,
        f32::MAX,
    ];
    let mut want = [0.0; 10];
    simd::ln_scalar(&x, &mut want);
    for isa in Isa::available() {
        let mut got = [0.0; 10];
        simd::ln_with(isa, &x, &mut got);
        assert_close(&format!("ln {isa:?}"), &x, &got, &want, 2e-7, 0.0);
        assert_eq!(got[0], f32::NEG_INFINITY, "{isa:?}");
        assert_eq!(got[1], f32::NEG_INFINITY, "{isa:?}");
        assert!(got[2].is_nan() && got[5].is_nan(), "{isa:?}");
        assert_eq!(got[6], 0.0, "{isa:?}");
    }
}

#[test]
fn softplus_matches_the_scalar_reference_on_random_lengths() {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    for &len in &LENGTHS {
        for (lo, hi) in [(-1.0, 1.0), (-20.0, 20.0), (-100.0, -30.0), (30.0, 100.0)] {
            let x = values(&mut rng, len, lo, hi);
            let (mut got, mut want) = (vec![0.0; len], vec![0.0; len]);
            simd::softplus_scalar(&x, &mut want);
            for isa in Isa::available() {
                simd::softplus_with(isa, &x, &mut got);
                assert_close(&format!("softplus {isa:?}"), &x, &got, &want, 1e-6, 1.2e-38);
            }
        }
    }
    let special = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.0,
        1e-30,
        -1e-30,
    ];
    let mut want = [0.0; 6];
    simd::softplus_scalar(&special, &mut want);
    for isa in Isa::available() {
        let mut got = [0.0; 6];
        simd::softplus_with(isa, &special, &mut got);
        assert!(got[0].is_nan(), "{isa:?}");
        assert_eq!(&got[1..3], &[f32::INFINITY, 0.0], "{isa:?}");
        assert_close(
            &format!("softplus {isa:?}"),
            &special,
            &got,
            &want,
            1e-6,
            0.0,
        );
    }
}

#[test]
fn tanh_matches_the_scalar_reference_on_random_lengths() {
    let mut rng = ChaCha8Rng::seed_from_u64(19);
    for &len in &LENGTHS {
        for (lo, hi) in [(-0.7, 0.7), (-1e-3, 1e-3), (-5.0, 5.0), (-60.0, 60.0)] {
            let x = values(&mut rng, len, lo, hi);
            let (mut got, mut want) = (vec![0.0; len], vec![0.0; len]);
            simd::tanh_scalar(&x, &mut want);
            for isa in Isa::available() {
                simd::tanh_with(isa, &x, &mut got);
                assert_close(&format!("tanh {isa:?}"), &x, &got, &want, 1e-6, 1e-38);
            }
        }
    }
    let special = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.0,
        -0.0,
        0.625,
        -0.625,
    ];
    let mut want = [0.0; 7];
    simd::tanh_scalar(&special, &mut want);
    for isa in Isa::available() {
        let mut got = [0.0; 7];
        simd::tanh_with(isa, &special, &mut got);
        assert!(got[0].is_nan(), "{isa:?}");
        assert_eq!(&got[1..5], &[1.0, -1.0, 0.0, -0.0], "{isa:?}");
        assert!(
            got[4].is_sign_negative(),
            "{isa:?}: tanh(-0) keeps its sign"
        );
        assert_close(&format!("tanh {isa:?}"), &special, &got, &want, 1e-6, 0.0);
    }
}
