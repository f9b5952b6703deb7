//! Flushing subnormal floats to zero on the training threads.
//!
//! Arithmetic on subnormal numbers (magnitudes below about 1.2e-38 in f32) takes a slow
//! micro-code path on x86, tens of times slower than on normal numbers. Long training runs
//! produce them: Adam's second-moment estimates and the gradients of saturated sigmoids decay
//! towards zero. Setting the flush-to-zero (FTZ) and denormals-are-zero (DAZ) bits of MXCSR
//! treats them as zero instead, as PyTorch does with `torch.set_flush_denormal(True)`.

/// MXCSR bit 15: results that would be subnormal become zero.
#[cfg(target_arch = "x86_64")]
const FLUSH_TO_ZERO: u32 = 1 << 15;

/// MXCSR bit 6: subnormal inputs are read as zero.
#[cfg(target_arch = "x86_64")]
const DENORMALS_ARE_ZERO: u32 = 1 << 6;

/// Sets flush-to-zero and denormals-are-zero for SSE/AVX arithmetic on the calling thread
/// and, with the `rayon` feature, on every thread of rayon's global pool. Returns whether the
/// setting took effect (`false` on targets other than x86_64, where this is a no-op).
///
/// The trainer and `dmil bench` call it once before their loops. Threads started later keep
/// their own default (subnormals kept) until they call it.
///
/// Known shortcoming: the compiler assumes the default floating-point environment, so a value
/// it folds at compile time may keep a subnormal that the same expression computed at run time
/// flushes to zero. Results differ only below 1.2e-38 (f32) or 2.2e-308 (f64).
pub fn set_flush_denormals() -> bool {
    #[cfg(feature = "rayon")]
    rayon::broadcast(|_| set_on_this_thread());
    set_on_this_thread()
}

/// True when flush-to-zero is set on the calling thread.
pub fn flushes_denormals() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        read_mxcsr() & FLUSH_TO_ZERO != 0
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Sets both bits on the calling thread only.
fn set_on_this_thread() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let csr = read_mxcsr() | FLUSH_TO_ZERO | DENORMALS_ARE_ZERO;
        // SAFETY: `ldmxcsr` reads four bytes from a valid, aligned `u32` on our stack. The
        // value differs from the current register only in the FTZ and DAZ bits, which every
        // x86_64 processor supports (DAZ since SSE2, which x86_64 includes), so it cannot
        // raise a general-protection fault.
        unsafe {
            std::arch::asm!(
                "ldmxcsr [{}]",
                in(reg) &csr,
                options(nostack, readonly, preserves_flags)
            );
        }
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The calling thread's MXCSR register.
#[cfg(target_arch = "x86_64")]
fn read_mxcsr() -> u32 {
    let mut csr: u32 = 0;
    // SAFETY: `stmxcsr` writes four bytes to a valid, aligned, exclusively borrowed `u32`.
    unsafe {
        std::arch::asm!(
            "stmxcsr [{}]",
            in(reg) &mut csr,
            options(nostack, preserves_flags)
        );
    }
    csr
}
