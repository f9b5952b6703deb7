//! Every kernel on the GPU against its CPU reference, forward and backward, on random inputs.
//!
//! Without a CUDA driver or device each test prints a notice and returns. Sizes are picked to
//! take both the float4 path (rows of 64) and the scalar path (rows of 7, lengths that are not
//! multiples of 4). Comparisons use tolerances: the device's `expf`, `logf` and fused
//! multiply-adds round differently from the CPU.

#![cfg(feature = "cuda")]

mod gpu_support;

use dmil::cuda::kernels::{self as k, Gaussian, GaussianGrad, KlLayout};
use dmil::cuda::philox::fill_standard_normal;
use dmil::cuda::reference::{self as r, Reduction};
use dmil::cuda::{driver_available, CudaError, CudaSlice, GpuContext};
use gpu_support::{gpu, random};

/// (rows, cols) of the test inputs: one vectorisable shape, one that is not.
const SHAPES: [(usize, usize); 2] = [(1000, 64), (333, 7)];

/// Asserts `|got - want| <= atol + rtol |want|` element by element.
fn assert_close(what: &str, got: &[f32], want: &[f32], rtol: f32, atol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= atol + rtol * w.abs(),
            "{what}[{i}]: got {g}, want {w}"
        );
    }
}

fn up(gpu: &GpuContext, host: &[f32]) -> CudaSlice<f32> {
    gpu.upload(host).expect("upload")
}

fn down(gpu: &GpuContext, device: &CudaSlice<f32>) -> Vec<f32> {
    gpu.download(device).expect("download")
}

#[test]
fn opening_without_a_driver_is_an_ordinary_error() {
    if driver_available() {
        let count = dmil::cuda::device_count().unwrap_or(0);
        match GpuContext::open(count) {
            Err(CudaError::NoDevice { ordinal, .. }) => assert_eq!(ordinal, count),
            other => panic!("expected NoDevice for ordinal {count}, got {other:?}"),
        }
        return;
    }

    eprintln!("no CUDA driver here: checking the NoDriver error");
    let err = GpuContext::open(0).expect_err("no driver, yet a device opened");
    assert!(matches!(err, CudaError::NoDriver), "{err:?}");
    assert_eq!(
        err.to_string(),
        "no CUDA driver found (libcuda.so); use --device cpu"
    );
}

#[test]
fn reparameterize_matches_reference() {
    let Some(gpu) = gpu() else { return };

    for (rows, cols) in SHAPES {
        let n = rows * cols;
        let (mu, lv, eps, dz) = (
            random(n, -1.0, 1.0, 1),
            random(n, -3.0, 2.0, 2),
            random(n, -3.0, 3.0, 3),
            random(n, -1.0, 1.0, 4),
        );
        let (d_mu, d_lv, d_eps, d_dz) =
            (up(&gpu, &mu), up(&gpu, &lv), up(&gpu, &eps), up(&gpu, &dz));

        let mut z = gpu.zeros(n).unwrap();
        k::reparameterize(&gpu, &d_mu, &d_lv, &d_eps, &mut z).unwrap();
        assert_close(
            "z",
            &down(&gpu, &z),
            &r::reparameterize(&mu, &lv, &eps),
            1e-5,
            1e-6,
        );

        let (mut dmu, mut dlv) = (gpu.zeros(n).unwrap(), gpu.zeros(n).unwrap());
        k::reparameterize_backward(&gpu, &d_dz, &d_lv, &d_eps, &mut dmu, &mut dlv).unwrap();
        let (want_dmu, want_dlv) = r::reparameterize_backward(&dz, &lv, &eps);
        assert_close("dmu", &down(&gpu, &dmu), &want_dmu, 1e-6, 0.0);
        assert_close("dlogvar", &down(&gpu, &dlv), &want_dlv, 1e-5, 1e-6);
    }
}

#[test]
fn standard_normal_matches_the_cpu_generator() {
    let Some(gpu) = gpu() else { return };

    for (len, seed, offset) in [(100_003, 42, 0), (4097, 42, 5), (10, u64::MAX, 1 << 40)] {
        let mut out = gpu.zeros(len).unwrap();
        k::standard_normal(&gpu, &mut out, seed, offset).unwrap();

        let mut want = vec![0.0; len];
        fill_standard_normal(&mut want, seed, offset);
        assert_close("eps", &down(&gpu, &out), &want, 1e-5, 2e-6);
    }
}

#[test]
fn kl_std_matches_reference() {
    let Some(gpu) = gpu() else { return };

    for (rows, cols) in SHAPES {
        let n = rows * cols;
        let (mu, lv) = (random(n, -1.0, 1.0, 5), random(n, -2.0, 1.0, 6));
        let (d_mu, d_lv) = (up(&gpu, &mu), up(&gpu, &lv));
        let x = Gaussian {
            mu: &d_mu,
            logvar: &d_lv,
        };

        for (reduction, out_len) in [(Reduction::PerRow, rows), (Reduction::Sum, 1)] {
            let layout = KlLayout { cols, reduction };
            let mut out = gpu.zeros(out_len).unwrap();
            k::kl_std(&gpu, x, layout, &mut out).unwrap();
            let want = r::kl_std(&mu, &lv, cols, reduction);
            assert_close("kl_std", &down(&gpu, &out), &want, 1e-4, 1e-5);

            let g = random(out_len, 0.5, 1.5, 7);
            let d_g = up(&gpu, &g);
            let (mut dmu, mut dlv) = (gpu.zeros(n).unwrap(), gpu.zeros(n).unwrap());
            let dx = GaussianGrad {
                mu: &mut dmu,
                logvar: &mut dlv,
            };
            k::kl_std_backward(&gpu, &d_g, x, layout, dx).unwrap();
            let (want_dmu, want_dlv) = r::kl_std_backward(&g, &mu, &lv, cols, reduction);
            assert_close("kl_std dmu", &down(&gpu, &dmu), &want_dmu, 1e-5, 1e-6);
            assert_close("kl_std dlogvar", &down(&gpu, &dlv), &want_dlv, 1e-5, 1e-6);
        }
    }
}

#[test]
fn kl_pair_matches_reference() {
    let Some(gpu) = gpu() else { return };

    for (rows, cols) in SHAPES {
        let n = rows * cols;
        let host: Vec<Vec<f32>> = (0..4).map(|s| random(n, -1.5, 1.5, 10 + s)).collect();
        let dev: Vec<CudaSlice<f32>> = host.iter().map(|h| up(&gpu, h)).collect();
        let q = Gaussian {
            mu: &dev[0],
            logvar: &dev[1],
        };
        let p = Gaussian {
            mu: &dev[2],
            logvar: &dev[3],
        };
        let hq = r::Gaussian {
            mu: &host[0],
            logvar: &host[1],
        };
        let hp = r::Gaussian {
            mu: &host[2],
            logvar: &host[3],
        };

        for (reduction, out_len) in [(Reduction::PerRow, rows), (Reduction::Sum, 1)] {
            let layout = KlLayout { cols, reduction };
            let mut out = gpu.zeros(out_len).unwrap();
            k::kl_pair(&gpu, q, p, layout, &mut out).unwrap();
            let want = r::kl_pair(hq, hp, cols, reduction);
            assert_close("kl_pair", &down(&gpu, &out), &want, 1e-4, 1e-5);

            let g = random(out_len, 0.5, 1.5, 20);
            let d_g = up(&gpu, &g);
            let mut grads: Vec<CudaSlice<f32>> = (0..4).map(|_| gpu.zeros(n).unwrap()).collect();
            let [a, b, c, d] = &mut grads[..] else {
                unreachable!("four buffers")
            };
            let dq = GaussianGrad { mu: a, logvar: b };
            let dp = GaussianGrad { mu: c, logvar: d };
            k::kl_pair_backward(&gpu, &d_g, q, p, layout, dq, dp).unwrap();

            let want = r::kl_pair_backward(&g, hq, hp, cols, reduction);
            let names = ["dmu_q", "dlogvar_q", "dmu_p", "dlogvar_p"];
            for ((name, got), want) in names
                .iter()
                .zip(&grads)
                .zip([want.0, want.1, want.2, want.3])
            {
                assert_close(name, &down(&gpu, got), &want, 1e-4, 1e-5);
            }
        }
    }
}

#[test]
fn synergy_matches_reference() {
    let Some(gpu) = gpu() else { return };

    for (rows, cols) in SHAPES {
        let n = rows * cols;
        let (a, b) = (random(n, -2.0, 2.0, 30), random(n, -2.0, 2.0, 31));
        let (d_a, d_b) = (up(&gpu, &a), up(&gpu, &b));

        let mut p = gpu.zeros(n).unwrap();
        k::product(&gpu, &d_a, &d_b, &mut p).unwrap();
        assert_close("p", &down(&gpu, &p), &r::product(&a, &b), 1e-6, 0.0);

        let dp = random(n, -1.0, 1.0, 32);
        let (mut da, mut db) = (gpu.zeros(n).unwrap(), gpu.zeros(n).unwrap());
        k::product_backward(&gpu, &up(&gpu, &dp), &d_a, &d_b, &mut da, &mut db).unwrap();
        let (want_da, want_db) = r::product_backward(&dp, &a, &b);
        assert_close("product da", &down(&gpu, &da), &want_da, 1e-6, 0.0);
        assert_close("product db", &down(&gpu, &db), &want_db, 1e-6, 0.0);

        let mut s = gpu.zeros(3 * n).unwrap();
        k::synergy_features(&gpu, &d_a, &d_b, cols, &mut s).unwrap();
        assert_close(
            "S",
            &down(&gpu, &s),
            &r::synergy_features(&a, &b, cols),
            1e-6,
            0.0,
        );

        let ds = random(3 * n, -1.0, 1.0, 33);
        k::synergy_features_backward(&gpu, &up(&gpu, &ds), &d_a, &d_b, cols, &mut da, &mut db)
            .unwrap();
        let (want_da, want_db) = r::synergy_features_backward(&ds, &a, &b, cols);
        assert_close("features da", &down(&gpu, &da), &want_da, 1e-6, 1e-6);
        assert_close("features db", &down(&gpu, &db), &want_db, 1e-6, 1e-6);
    }
}

#[test]
fn launchers_refuse_mismatched_buffers() {
    let Some(gpu) = gpu() else { return };

    let a = gpu.zeros(12).unwrap();
    let b = gpu.zeros(11).unwrap();
    let mut out = gpu.zeros(12).unwrap();
    let err = k::product(&gpu, &a, &b, &mut out).unwrap_err();
    assert!(
        matches!(err, CudaError::Shape { op: "product", .. }),
        "{err:?}"
    );

    let mut s = gpu.zeros(36).unwrap();
    let err = k::synergy_features(&gpu, &a, &a, 5, &mut s).unwrap_err();
    assert!(matches!(err, CudaError::Shape { .. }), "{err:?}");

    let err = k::standard_normal(&gpu, &mut out, 0, u64::MAX - 3).unwrap_err();
    assert!(
        matches!(
            err,
            CudaError::Shape {
                op: "standard_normal",
                ..
            }
        ),
        "{err:?}"
    );

    let x = Gaussian { mu: &a, logvar: &a };
    let layout = KlLayout {
        cols: 4,
        reduction: Reduction::PerRow,
    };
    let err = k::kl_std(&gpu, x, layout, &mut out).unwrap_err();
    assert!(
        err.to_string().contains("out has 12 elements, expected 3"),
        "{err}"
    );
}
