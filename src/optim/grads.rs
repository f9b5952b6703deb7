//! Reading parameters' gradients for in-place updates: the checks every optimizer runs
//! before it changes anything, and the borrow of a gradient beside its parameter.

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Runs `f` on the contiguous elements of `param`'s gradient and of `param` itself (for
/// writing), outside the autodiff graph. Does nothing when `param` has no gradient.
///
/// # Errors
/// [`Error::InvalidShape`] when the parameter is not contiguous or its gradient's element
/// count differs (neither happens to leaves made with `requires_grad` from fresh tensors).
pub(crate) fn with_grad_and_param(
    index: usize,
    param: &Tensor<f32>,
    f: impl FnOnce(&[f32], &mut [f32]),
) -> Result<()> {
    let Some(grad) = param.grad() else {
        return Ok(());
    };
    let storage = grad.storage().read();
    let values = &storage[grad_range(index, param, &grad)?];
    param.update_in_place(|p| f(values, p))
}

/// Checks every gradient of `params` before an update changes anything.
///
/// # Errors
/// [`Error::NonFinite`] naming the first parameter (index and shape) whose gradient holds
/// NaN or infinity; [`Error::InvalidShape`] as in [`with_grad_and_param`].
pub(crate) fn check_finite(params: &[Tensor<f32>]) -> Result<()> {
    for (index, param) in params.iter().enumerate() {
        let Some(grad) = param.grad() else {
            continue;
        };
        let storage = grad.storage().read();
        let values = &storage[grad_range(index, param, &grad)?];
        if !all_finite(values) {
            return Err(Error::NonFinite(format!(
                "the gradient of parameter {index} (shape {}) holds NaN or infinity",
                param.shape()
            )));
        }
    }
    Ok(())
}

/// The storage range of a gradient, checked against its parameter.
pub(crate) fn grad_range(
    index: usize,
    param: &Tensor<f32>,
    grad: &Tensor<f32>,
) -> Result<std::ops::Range<usize>> {
    match grad.layout().contiguous_range() {
        Some(range) if grad.numel() == param.numel() => Ok(range),
        _ => Err(Error::shapes(
            "optimizer",
            param.dims(),
            grad.dims(),
            &format!("parameter {index} and its gradient must match, contiguous"),
        )),
    }
}

/// True when no value is NaN or infinite, with AVX2 when the processor has it: the unsigned
/// 32-bit maximum the loop needs has no SSE2 instruction, so the baseline build runs it one
/// element at a time.
fn all_finite(values: &[f32]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor supports AVX2, checked just above.
        return unsafe { all_finite_avx2(values) };
    }
    all_finite_lanes(values)
}

/// [`all_finite_lanes`] compiled for AVX2.
///
/// # Safety
/// The processor must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn all_finite_avx2(values: &[f32]) -> bool {
    all_finite_lanes(values)
}

/// Reads the exponent bits with an integer maximum over the whole slice (no early exit), which
/// the compiler vectorises; a NaN or an infinity is exactly a value whose magnitude bits are at
/// least those of infinity.
#[inline(always)]
fn all_finite_lanes(values: &[f32]) -> bool {
    const INFINITY_BITS: u32 = 0x7f80_0000;
    let mut lanes = [0u32; 8];
    let chunks = values.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (l, v) in lanes.iter_mut().zip(chunk) {
            *l = (*l).max(v.to_bits() & 0x7fff_ffff);
        }
    }
    let tail_max = tail.iter().map(|v| v.to_bits() & 0x7fff_ffff).max();
    lanes.into_iter().chain(tail_max).max().unwrap_or(0) < INFINITY_BITS
}
