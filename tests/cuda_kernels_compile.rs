//! Every kernel in `kernels/` compiles with NVRTC for sm_90 (`compute_90`), with no GPU.
//!
//! Needs only libnvrtc, e.g. from the PyPI wheel that `.ci/nvrtc-env.sh` installs; skipped,
//! with a printed notice, only when no libnvrtc can be loaded at all. Run with `--nocapture`
//! to see each kernel's PTX size.

#![cfg(feature = "cuda")]

use dmil::cuda::compile::{compile_ptx, nvrtc_available, nvrtc_version, KernelSource};
use dmil::cuda::{CudaError, KERNEL_SOURCES};

/// The architecture of the H200 the kernels are meant for.
const ARCH: &str = "compute_90";

/// Whether to skip: no libnvrtc on the library path.
fn skip() -> bool {
    if nvrtc_available() {
        return false;
    }
    eprintln!(
        "SKIPPED: no libnvrtc found; `source .ci/nvrtc-env.sh` to install one from PyPI \
         and run the NVRTC compile check"
    );
    true
}

#[test]
fn every_kernel_compiles_for_sm_90() {
    if skip() {
        return;
    }
    let (major, minor) = nvrtc_version().expect("nvrtcVersion");
    println!("NVRTC {major}.{minor}, --gpu-architecture={ARCH}");

    for source in KERNEL_SOURCES {
        let ptx = match compile_ptx(&source, ARCH) {
            Ok(ptx) => ptx,
            Err(err) => panic!("{err}"),
        };
        let text = ptx.to_src();
        println!("kernels/{}: {} bytes of PTX", source.file, text.len());

        assert!(
            text.contains(".target sm_90"),
            "{}: PTX is not for sm_90",
            source.file
        );
        for function in source.functions {
            let entry = format!(".entry {function}(");
            assert!(
                text.contains(&entry),
                "kernels/{} lacks {entry}",
                source.file
            );
            println!("  {function}");
        }
    }
}

#[test]
fn a_broken_kernel_reports_file_and_line() {
    if skip() {
        return;
    }
    let broken = KernelSource {
        file: "broken.cu",
        source: "extern \"C\" __global__ void k(float *x) {\n    x[0] = undeclared;\n}\n",
        functions: &["k"],
    };

    match compile_ptx(&broken, ARCH) {
        Err(CudaError::Compile { file, log, .. }) => {
            assert_eq!(file, "kernels/broken.cu");
            assert!(
                log.contains("kernels/broken.cu(2)"),
                "log lacks file and line: {log}"
            );
            assert!(log.contains("undeclared"), "log lacks the culprit: {log}");
        }
        other => panic!("expected a compile error, got {other:?}"),
    }
}
