//! [`CudaBackend`]: the primitives of the explicit DMIL step ([`crate::step::Backend`]) on a
//! GPU: matrix products through cuBLAS, everything else through the kernels of
//! `kernels/step.cu` (and the reparameterization and product kernels of the other files).
//!
//! **This backend has never run on a GPU.** It was written on a machine without one: the
//! kernels are proven to compile for sm_90 by NVRTC (`tests/cuda_kernels_compile.rs`), and
//! `tests/cuda_step.rs` compares it with [`crate::step::CpuBackend`] primitive by primitive and
//! for whole steps, but those tests skip themselves without a GPU and have not yet run.
//!
//! Every launch is queued on the context's one stream, so the work of a step runs in order
//! without waiting for the host; only [`Backend::download`] synchronizes.

use std::collections::HashMap;
use std::sync::Mutex;

use cudarc::cublas::sys::cublasOperation_t;
use cudarc::cublas::{CudaBlas, Gemm as _, GemmConfig};
use cudarc::driver::{CudaFunction, CudaSlice, LaunchArgs, PushKernelArg};

use super::compile::STEP;
use super::device::GpuContext;
use super::error::{guard, CudaError};
use crate::error::{Error, Result};
use crate::step::{AdamArgs, Backend, Gemm};

/// Rows summed by one thread of `add_column_sums` before its atomic add.
const COLUMN_CHUNK: u64 = 64;

/// The GPU implementation of [`Backend`] over one [`GpuContext`].
pub struct CudaBackend {
    gpu: GpuContext,
    blas: CudaBlas,
    functions: Mutex<HashMap<&'static str, CudaFunction>>,
}

impl std::fmt::Debug for CudaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaBackend")
            .field("arch", &self.gpu.arch())
            .finish()
    }
}

/// A cuBLAS failure as the crate's error.
fn blas_error(op: &str, err: impl std::fmt::Debug) -> Error {
    Error::Cuda(format!("cuBLAS {op}: {err:?}"))
}

/// Fails unless `got == want`.
fn expect(op: &'static str, what: &str, got: usize, want: usize) -> Result<()> {
    if got == want {
        return Ok(());
    }
    Err(CudaError::Shape {
        op,
        detail: format!("{what} has {got} elements, expected {want}"),
    }
    .into())
}

/// Fails unless `end <= limit`: a column block or a statistics slot inside its buffer.
fn within(op: &'static str, end: usize, limit: usize) -> Result<()> {
    if end <= limit {
        return Ok(());
    }
    Err(CudaError::Shape {
        op,
        detail: format!("reaches index {end} of {limit}"),
    }
    .into())
}

/// The column-major (cuBLAS) product that computes the row-major product `s`.
///
/// A row-major `[r, c]` array read column-major is its `[c, r]` transpose, so row-major
/// `C = op(A) op(B)` is column-major `C^T = op(B)^T op(A)^T`: cuBLAS gets `B` as its first
/// operand and `A` as its second, each keeping its own transpose flag, with `m` and `n`
/// swapped and each leading dimension the row length of the array as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnMajorGemm {
    /// cuBLAS's `transa`, for its first operand (our `B`).
    pub trans_first: bool,
    /// cuBLAS's `transb`, for its second operand (our `A`).
    pub trans_second: bool,
    /// cuBLAS's `m` (our `n`).
    pub m: usize,
    /// cuBLAS's `n` (our `m`).
    pub n: usize,
    /// The summed dimension.
    pub k: usize,
    /// Leading dimension of the first operand (`B`).
    pub ld_first: usize,
    /// Leading dimension of the second operand (`A`).
    pub ld_second: usize,
    /// Leading dimension of `C`.
    pub ldc: usize,
}

/// See [`ColumnMajorGemm`].
pub fn column_major(s: Gemm) -> ColumnMajorGemm {
    ColumnMajorGemm {
        trans_first: s.trans_b,
        trans_second: s.trans_a,
        m: s.n,
        n: s.m,
        k: s.k,
        ld_first: if s.trans_b { s.k } else { s.n },
        ld_second: if s.trans_a { s.m } else { s.k },
        ldc: s.n,
    }
}

/// A dimension as cuBLAS's `int`.
fn int(op: &str, x: usize) -> Result<i32> {
    i32::try_from(x).map_err(|_| blas_error(op, format!("dimension {x} exceeds i32")))
}

impl CudaBackend {
    /// A backend on `gpu`, with a cuBLAS handle bound to its stream.
    ///
    /// # Errors
    /// [`Error::Cuda`] when libcublas cannot be loaded or the handle cannot be created.
    pub fn new(gpu: GpuContext) -> Result<Self> {
        // SAFETY: loading libcublas runs only its initialisers; cudarc's check drops it again.
        let present = guard("cublas::is_culib_present", || unsafe {
            cudarc::cublas::sys::is_culib_present()
        })?;
        if !present {
            return Err(Error::Cuda(
                "no cuBLAS library found (libcublas.so); install the CUDA toolkit's cuBLAS".into(),
            ));
        }
        // A step allocates a few hundred buffers; with event tracking on, cudarc creates two
        // events for each. SAFETY: every buffer of this backend is allocated, used and freed
        // (stream-ordered) on the context's one stream, so the ordering those events would
        // enforce between streams is already given.
        unsafe { gpu.context().disable_event_tracking() };
        let stream = gpu.stream().clone();
        let blas = guard("CudaBlas::new", || CudaBlas::new(stream))?
            .map_err(|e| blas_error("create", e))?;
        Ok(CudaBackend {
            gpu,
            blas,
            functions: Mutex::new(HashMap::new()),
        })
    }

    /// The GPU.
    pub fn gpu(&self) -> &GpuContext {
        &self.gpu
    }

    /// The kernel `name` of `kernels/step.cu`, loaded once and then taken from a cache.
    fn function(&self, name: &'static str) -> Result<CudaFunction> {
        let mut cache = self
            .functions
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(f) = cache.get(name) {
            return Ok(f.clone());
        }
        let f = self.gpu.function(&STEP, name)?;
        cache.insert(name, f.clone());
        Ok(f)
    }

    /// Queues `args` over `work` items with the context's grid-stride configuration.
    ///
    /// # Safety
    /// The pushed arguments must match the kernel's parameters, and every buffer must be as
    /// long as the kernel indexes it for this `work`.
    unsafe fn launch(&self, mut args: LaunchArgs<'_>, work: u64) -> Result<()> {
        args.launch(self.gpu.launch_config(work.max(1)))
            .map_err(CudaError::from)?;
        Ok(())
    }

    /// Fills `out` with an inverted-dropout mask of drop probability `p` drawn from the
    /// normal stream `(seed, offset)` (see [`super::kernels::standard_normal`]).
    ///
    /// # Errors
    /// Device errors.
    pub fn dropout_mask(
        &self,
        out: &mut CudaSlice<f32>,
        p: f32,
        seed: u64,
        offset: u64,
    ) -> Result<()> {
        super::kernels::standard_normal(&self.gpu, out, seed, offset)?;
        if out.is_empty() {
            return Ok(());
        }
        let f = self.function("dropout_mask")?;
        let n = out.len() as u64;
        let mut args = self.gpu.stream().launch_builder(&f);
        args.arg(out).arg(&n).arg(&p);
        // SAFETY: (z, n, p) as in the kernel; out holds n floats.
        unsafe { self.launch(args, n) }
    }

    /// Fills `out` with standard normals `offset..` of the stream `seed`.
    ///
    /// # Errors
    /// Device errors.
    pub fn standard_normal(&self, out: &mut CudaSlice<f32>, seed: u64, offset: u64) -> Result<()> {
        Ok(super::kernels::standard_normal(
            &self.gpu, out, seed, offset,
        )?)
    }

    /// Launches an element-wise kernel of `kernels/step.cu` whose parameters are the buffers
    /// of `bufs` then `n`.
    fn elementwise(&self, name: &'static str, bufs: &mut [Arg<'_>], n: usize) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        let f = self.function(name)?;
        let n = n as u64;
        let mut args = self.gpu.stream().launch_builder(&f);
        for b in bufs.iter_mut() {
            match b {
                Arg::In(x) => args.arg(*x),
                Arg::Out(x) => args.arg(&mut **x),
            };
        }
        args.arg(&n);
        // SAFETY: the callers pass the buffers in the kernel's order, each holding n floats.
        unsafe { self.launch(args, n) }
    }
}

/// A buffer argument of a launch.
enum Arg<'a> {
    In(&'a CudaSlice<f32>),
    Out(&'a mut CudaSlice<f32>),
}

impl Backend for CudaBackend {
    type Buf = CudaSlice<f32>;

    /// The step never asks for an empty buffer (batches and widths are positive).
    fn zeros(&self, len: usize) -> Result<CudaSlice<f32>> {
        Ok(self.gpu.zeros(len)?)
    }

    fn upload(&self, host: &[f32]) -> Result<CudaSlice<f32>> {
        Ok(self.gpu.upload(host)?)
    }

    fn write(&self, host: &[f32], buf: &mut CudaSlice<f32>) -> Result<()> {
        expect("write", "buffer", buf.len(), host.len())?;
        self.gpu
            .stream()
            .memcpy_htod(host, buf)
            .map_err(CudaError::from)?;
        Ok(())
    }

    fn download(&self, buf: &CudaSlice<f32>) -> Result<Vec<f32>> {
        Ok(self.gpu.download(buf)?)
    }

    /// Philox-4x32-10 with Box-Muller (see [`super::kernels::standard_normal`]).
    fn fill_normal(&self, buf: &mut CudaSlice<f32>, seed: u64, offset: u64) -> Result<()> {
        self.standard_normal(buf, seed, offset)
    }

    fn fill_dropout_mask(
        &self,
        buf: &mut CudaSlice<f32>,
        p: f32,
        seed: u64,
        offset: u64,
    ) -> Result<()> {
        self.dropout_mask(buf, p, seed, offset)
    }

    fn len(&self, buf: &CudaSlice<f32>) -> usize {
        buf.len()
    }

    fn fill_zero(&self, buf: &mut CudaSlice<f32>) -> Result<()> {
        self.gpu
            .stream()
            .memset_zeros(buf)
            .map_err(CudaError::from)?;
        Ok(())
    }

    fn gemm(
        &self,
        s: Gemm,
        a: &CudaSlice<f32>,
        b: &CudaSlice<f32>,
        c: &mut CudaSlice<f32>,
    ) -> Result<()> {
        expect("gemm", "a", a.len(), s.m * s.k)?;
        expect("gemm", "b", b.len(), s.k * s.n)?;
        expect("gemm", "c", c.len(), s.m * s.n)?;
        if s.m == 0 || s.n == 0 {
            return Ok(());
        }

        let cm = column_major(s);
        let op = |t: bool| {
            if t {
                cublasOperation_t::CUBLAS_OP_T
            } else {
                cublasOperation_t::CUBLAS_OP_N
            }
        };
        let config = GemmConfig {
            transa: op(cm.trans_first),
            transb: op(cm.trans_second),
            m: int("gemm", cm.m)?,
            n: int("gemm", cm.n)?,
            k: int("gemm", cm.k)?,
            alpha: 1.0f32,
            lda: int("gemm", cm.ld_first)?,
            ldb: int("gemm", cm.ld_second)?,
            beta: s.beta,
            ldc: int("gemm", cm.ldc)?,
        };
        // SAFETY: the lengths checked above are exactly what cuBLAS reads with these leading
        // dimensions: B as [k, n] or [n, k], A as [m, k] or [k, m], C as [m, n].
        unsafe { self.blas.gemm(config, b, a, c) }.map_err(|e| blas_error("sgemm", e))
    }

    fn add_bias(&self, x: &mut CudaSlice<f32>, bias: &CudaSlice<f32>) -> Result<()> {
        let (n, cols) = (x.len() as u64, bias.len() as u64);
        if n == 0 || cols == 0 {
            return Ok(());
        }
        let f = self.function("add_bias")?;
        let mut args = self.gpu.stream().launch_builder(&f);
        args.arg(x).arg(bias).arg(&n).arg(&cols);
        // SAFETY: (x, bias, n, cols); x holds n floats, bias cols.
        unsafe { self.launch(args, n) }
    }

    fn add_column_sums(&self, x: &CudaSlice<f32>, out: &mut CudaSlice<f32>) -> Result<()> {
        let cols = out.len() as u64;
        if cols == 0 || x.is_empty() {
            return Ok(());
        }
        let rows = x.len() as u64 / cols;
        let f = self.function("add_column_sums")?;
        let mut args = self.gpu.stream().launch_builder(&f);
        args.arg(x)
            .arg(out)
            .arg(&rows)
            .arg(&cols)
            .arg(&COLUMN_CHUNK);
        // SAFETY: (x, out, rows, cols, chunk); x holds rows * cols floats, out cols.
        unsafe { self.launch(args, rows.div_ceil(COLUMN_CHUNK) * cols) }
    }

    fn relu(&self, x: &mut CudaSlice<f32>) -> Result<()> {
        let n = x.len();
        self.elementwise("relu_forward", &mut [Arg::Out(x)], n)
    }

    fn relu_backward(&self, y: &CudaSlice<f32>, dy: &mut CudaSlice<f32>) -> Result<()> {
        expect("relu_backward", "dy", dy.len(), y.len())?;
        self.elementwise("relu_backward", &mut [Arg::In(y), Arg::Out(dy)], y.len())
    }

    fn mul_assign(&self, x: &mut CudaSlice<f32>, mask: &CudaSlice<f32>) -> Result<()> {
        expect("mul_assign", "mask", mask.len(), x.len())?;
        let n = x.len();
        self.elementwise("mul_assign", &mut [Arg::Out(x), Arg::In(mask)], n)
    }

    fn put_columns(
        &self,
        src: &CudaSlice<f32>,
        dst: &mut CudaSlice<f32>,
        dst_cols: usize,
        offset: usize,
    ) -> Result<()> {
        let rows = dst.len() / dst_cols.max(1);
        let width = src.len() / rows.max(1);
        expect("put_columns", "src", src.len(), rows * width)?;
        within("put_columns", offset + width, dst_cols)?;
        if src.is_empty() {
            return Ok(());
        }
        let f = self.function("put_columns")?;
        let (r, w, c, o) = (rows as u64, width as u64, dst_cols as u64, offset as u64);
        let mut args = self.gpu.stream().launch_builder(&f);
        args.arg(src).arg(dst).arg(&r).arg(&w).arg(&c).arg(&o);
        // SAFETY: (src, dst, rows, width, dst_cols, offset); src holds rows * width floats,
        // dst rows * dst_cols, and offset + width <= dst_cols.
        unsafe { self.launch(args, r * w) }
    }

    fn add_columns(
        &self,
        src: &CudaSlice<f32>,
        src_cols: usize,
        offset: usize,
        dst: &mut CudaSlice<f32>,
    ) -> Result<()> {
        let rows = src.len() / src_cols.max(1);
        let width = dst.len() / rows.max(1);
        expect("add_columns", "dst", dst.len(), rows * width)?;
        within("add_columns", offset + width, src_cols)?;
        if dst.is_empty() {
            return Ok(());
        }
        let f = self.function("add_columns")?;
        let (r, w, c, o) = (rows as u64, width as u64, src_cols as u64, offset as u64);
        let mut args = self.gpu.stream().launch_builder(&f);
        args.arg(src).arg(dst).arg(&r).arg(&w).arg(&c).arg(&o);
        // SAFETY: (src, dst, rows, width, src_cols, offset); src holds rows * src_cols floats,
        // dst rows * width, and offset + width <= src_cols.
        unsafe { self.launch(args, r * w) }
    }

    fn product(
        &self,
        a: &CudaSlice<f32>,
        b: &CudaSlice<f32>,
        out: &mut CudaSlice<f32>,
    ) -> Result<()> {
        Ok(super::kernels::product(&self.gpu, a, b, out)?)
    }

    fn product_backward(
        &self,
        dout: &CudaSlice<f32>,
        a: &CudaSlice<f32>,
        b: &CudaSlice<f32>,
        da: &mut CudaSlice<f32>,
        db: &mut CudaSlice<f32>,
    ) -> Result<()> {
        let n = dout.len();
        for (what, len) in [
            ("a", a.len()),
            ("b", b.len()),
            ("da", da.len()),
            ("db", db.len()),
        ] {
            expect("product_backward", what, len, n)?;
        }
        let mut bufs = [
            Arg::In(dout),
            Arg::In(a),
            Arg::In(b),
            Arg::Out(da),
            Arg::Out(db),
        ];
        self.elementwise("product_backward_add", &mut bufs, n)
    }

    fn reparameterize(
        &self,
        mu: &CudaSlice<f32>,
        logvar: &CudaSlice<f32>,
        eps: &CudaSlice<f32>,
        z: &mut CudaSlice<f32>,
    ) -> Result<()> {
        Ok(super::kernels::reparameterize(
            &self.gpu, mu, logvar, eps, z,
        )?)
    }

    fn reparameterize_backward(
        &self,
        dz: &CudaSlice<f32>,
        logvar: &CudaSlice<f32>,
        eps: &CudaSlice<f32>,
        dmu: &mut CudaSlice<f32>,
        dlogvar: &mut CudaSlice<f32>,
    ) -> Result<()> {
        let n = dz.len();
        for (what, len) in [
            ("logvar", logvar.len()),
            ("eps", eps.len()),
            ("dmu", dmu.len()),
            ("dlogvar", dlogvar.len()),
        ] {
            expect("reparameterize_backward", what, len, n)?;
        }
        let mut bufs = [
            Arg::In(dz),
            Arg::In(logvar),
            Arg::In(eps),
            Arg::Out(dmu),
            Arg::Out(dlogvar),
        ];
        self.elementwise("reparameterize_backward_add", &mut bufs, n)
    }

    fn cross_entropy(
        &self,
        logits: &CudaSlice<f32>,
        labels: &CudaSlice<f32>,
        cols: usize,
        scale: f32,
        stats: &mut CudaSlice<f32>,
        slot: usize,
        dlogits: &mut CudaSlice<f32>,
    ) -> Result<()> {
        let rows = labels.len();
        expect("cross_entropy", "logits", logits.len(), rows * cols)?;
        expect("cross_entropy", "dlogits", dlogits.len(), rows * cols)?;
        within("cross_entropy", slot + 1, stats.len())?;
        if rows == 0 {
            return Ok(());
        }
        let f = self.function("cross_entropy")?;
        let (r, c, s) = (rows as u64, cols as u64, slot as u64);
        let mut args = self.gpu.stream().launch_builder(&f);
        args.arg(logits).arg(labels).arg(&r).arg(&c).arg(&scale);
        args.arg(stats).arg(&s).arg(dlogits);
        // SAFETY: (logits, labels, rows, cols, scale, stats, slot, dlogits) as in the kernel;
        // lengths checked above; one warp per row. Labels are below cols: the step's callers
        // take them from data checked by the trainer.
        unsafe { self.launch(args, r * 32) }
    }

    fn kl_standard_normal(
        &self,
        mu: &CudaSlice<f32>,
        logvar: &CudaSlice<f32>,
        scale: f32,
        stats: &mut CudaSlice<f32>,
        slot: usize,
        dmu: &mut CudaSlice<f32>,
        dlogvar: &mut CudaSlice<f32>,
    ) -> Result<()> {
        let n = mu.len();
        for (what, len) in [
            ("logvar", logvar.len()),
            ("dmu", dmu.len()),
            ("dlogvar", dlogvar.len()),
        ] {
            expect("kl_standard_normal", what, len, n)?;
        }
        within("kl_standard_normal", slot + 1, stats.len())?;
        if n == 0 {
            return Ok(());
        }
        let f = self.function("kl_standard_normal")?;
        let (n, s) = (n as u64, slot as u64);
        let mut args = self.gpu.stream().launch_builder(&f);
        args.arg(mu)
            .arg(logvar)
            .arg(&n)
            .arg(&scale)
            .arg(stats)
            .arg(&s);
        args.arg(dmu).arg(dlogvar);
        // SAFETY: (mu, lv, n, scale, stats, slot, dmu, dlv); lengths checked above.
        unsafe { self.launch(args, n) }
    }

    fn kl_gaussians(
        &self,
        q: [&CudaSlice<f32>; 2],
        p: [&CudaSlice<f32>; 2],
        scale: f32,
        stats: &mut CudaSlice<f32>,
        slot: usize,
        grads: [&mut CudaSlice<f32>; 4],
    ) -> Result<()> {
        let n = q[0].len();
        let lens = [q[1].len(), p[0].len(), p[1].len()]
            .into_iter()
            .chain(grads.iter().map(|g| g.len()));
        for len in lens {
            expect("kl_gaussians", "an input or gradient", len, n)?;
        }
        within("kl_gaussians", slot + 1, stats.len())?;
        if n == 0 {
            return Ok(());
        }
        let f = self.function("kl_gaussians")?;
        let (n, s) = (n as u64, slot as u64);
        let [dmq, dlq, dmp, dlp] = grads;
        let mut args = self.gpu.stream().launch_builder(&f);
        args.arg(q[0]).arg(q[1]).arg(p[0]).arg(p[1]);
        args.arg(&n).arg(&scale).arg(stats).arg(&s);
        args.arg(dmq).arg(dlq).arg(dmp).arg(dlp);
        // SAFETY: (mq, lq, mp, lp, n, scale, stats, slot, dmq, dlq, dmp, dlp); lengths
        // checked above.
        unsafe { self.launch(args, n) }
    }

    fn mse(
        &self,
        pred: &CudaSlice<f32>,
        target: &CudaSlice<f32>,
        scale: f32,
        stats: &mut CudaSlice<f32>,
        slot: usize,
        dpred: &mut CudaSlice<f32>,
    ) -> Result<()> {
        let n = pred.len();
        expect("mse", "target", target.len(), n)?;
        expect("mse", "dpred", dpred.len(), n)?;
        within("mse", slot + 1, stats.len())?;
        if n == 0 {
            return Ok(());
        }
        let f = self.function("mse")?;
        let (n, s) = (n as u64, slot as u64);
        let mut args = self.gpu.stream().launch_builder(&f);
        args.arg(pred)
            .arg(target)
            .arg(&n)
            .arg(&scale)
            .arg(stats)
            .arg(&s)
            .arg(dpred);
        // SAFETY: (pred, target, n, scale, stats, slot, dpred); lengths checked above.
        unsafe { self.launch(args, n) }
    }

    fn gate(
        &self,
        gate_logits: &CudaSlice<f32>,
        stacked: &CudaSlice<f32>,
        classes: usize,
        weights: &mut CudaSlice<f32>,
        logits: &mut CudaSlice<f32>,
    ) -> Result<()> {
        let rows = logits.len() / classes.max(1);
        let k = gate_logits.len() / rows.max(1);
        expect("gate", "weights", weights.len(), rows * k)?;
        expect("gate", "stacked", stacked.len(), rows * k * classes)?;
        if rows == 0 {
            return Ok(());
        }
        let f = self.function("gate_forward")?;
        let (r, k, c) = (rows as u64, k as u64, classes as u64);
        let mut args = self.gpu.stream().launch_builder(&f);
        args.arg(gate_logits).arg(stacked).arg(&r).arg(&k).arg(&c);
        args.arg(weights).arg(logits);
        // SAFETY: (gate_logits, stacked, rows, k, classes, weights, logits); lengths checked.
        unsafe { self.launch(args, r) }
    }

    fn gate_backward(
        &self,
        dlogits: &CudaSlice<f32>,
        weights: &CudaSlice<f32>,
        stacked: &CudaSlice<f32>,
        classes: usize,
        dstacked: &mut CudaSlice<f32>,
        dgate: &mut CudaSlice<f32>,
    ) -> Result<()> {
        let rows = dlogits.len() / classes.max(1);
        let k = weights.len() / rows.max(1);
        expect(
            "gate_backward",
            "stacked",
            stacked.len(),
            rows * k * classes,
        )?;
        expect(
            "gate_backward",
            "dstacked",
            dstacked.len(),
            rows * k * classes,
        )?;
        expect("gate_backward", "dgate", dgate.len(), rows * k)?;
        if rows == 0 {
            return Ok(());
        }
        let f = self.function("gate_backward")?;
        let (r, k, c) = (rows as u64, k as u64, classes as u64);
        let mut args = self.gpu.stream().launch_builder(&f);
        args.arg(dlogits)
            .arg(weights)
            .arg(stacked)
            .arg(&r)
            .arg(&k)
            .arg(&c);
        args.arg(dstacked).arg(dgate);
        // SAFETY: (dlogits, weights, stacked, rows, k, classes, dstacked, dgate); checked.
        unsafe { self.launch(args, r) }
    }

    fn sum_squares(
        &self,
        g: &CudaSlice<f32>,
        stats: &mut CudaSlice<f32>,
        slot: usize,
    ) -> Result<()> {
        within("sum_squares", slot + 1, stats.len())?;
        if g.is_empty() {
            return Ok(());
        }
        let f = self.function("sum_squares")?;
        let (n, s) = (g.len() as u64, slot as u64);
        let mut args = self.gpu.stream().launch_builder(&f);
        args.arg(g).arg(&n).arg(stats).arg(&s);
        // SAFETY: (g, n, stats, slot); g holds n floats, slot < stats.len().
        unsafe { self.launch(args, n) }
    }

    fn adam(
        &self,
        p: &mut CudaSlice<f32>,
        g: &CudaSlice<f32>,
        m: &mut CudaSlice<f32>,
        v: &mut CudaSlice<f32>,
        stats: &CudaSlice<f32>,
        a: AdamArgs,
    ) -> Result<()> {
        let n = p.len();
        for (what, len) in [("g", g.len()), ("m", m.len()), ("v", v.len())] {
            expect("adam", what, len, n)?;
        }
        if a.norm_slot >= stats.len() || a.loss_slots > stats.len() {
            return Err(CudaError::Shape {
                op: "adam",
                detail: format!("slots beyond the {} statistics", stats.len()),
            }
            .into());
        }
        if n == 0 {
            return Ok(());
        }
        let f = self.function("adam")?;
        let (n, norm_slot, loss_slots) = (n as u64, a.norm_slot as u64, a.loss_slots as u64);
        let mut args = self.gpu.stream().launch_builder(&f);
        args.arg(p).arg(g).arg(m).arg(v).arg(&n).arg(stats);
        args.arg(&norm_slot).arg(&loss_slots);
        args.arg(&a.step_size)
            .arg(&a.root_correction2)
            .arg(&a.beta1)
            .arg(&a.beta2);
        args.arg(&a.eps).arg(&a.weight_decay).arg(&a.max_norm);
        // SAFETY: (p, g, m, v, n, stats, norm_slot, loss_slots, step_size, root_correction2,
        // beta1, beta2, eps, weight_decay, max_norm) as in the kernel; lengths checked above.
        unsafe { self.launch(args, n) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::CpuBackend;

    /// cuBLAS's sgemm as its documentation defines it, on column-major arrays:
    /// `C = op(A) op(B) + beta C` with `op(A)` `[m, k]`, `op(B)` `[k, n]`, element `(i, j)` of
    /// an array with leading dimension `ld` at `i + j ld`.
    fn reference_sgemm(cm: ColumnMajorGemm, a: &[f32], b: &[f32], beta: f32, c: &mut [f32]) {
        let at = |t: bool, x: &[f32], ld: usize, i: usize, j: usize| {
            if t {
                x[j + i * ld]
            } else {
                x[i + j * ld]
            }
        };
        for j in 0..cm.n {
            for i in 0..cm.m {
                let mut acc = 0.0;
                for p in 0..cm.k {
                    let x = at(cm.trans_first, a, cm.ld_first, i, p);
                    let y = at(cm.trans_second, b, cm.ld_second, p, j);
                    acc += x * y;
                }
                let out = &mut c[i + j * cm.ldc];
                *out = acc + beta * *out;
            }
        }
    }

    /// The mapping handed to cuBLAS computes the same row-major product as the CPU backend,
    /// for every combination of transposes: checked without a GPU against cuBLAS's
    /// documented semantics.
    #[test]
    fn the_column_major_call_computes_the_row_major_product() {
        let (m, n, k) = (5, 3, 4);
        let fill = |len: usize, base: f32| -> Vec<f32> {
            (0..len).map(|i| base + (i as f32 * 0.37).sin()).collect()
        };
        for (trans_a, trans_b) in [(false, false), (true, false), (false, true), (true, true)] {
            let s = Gemm {
                m,
                n,
                k,
                trans_a,
                trans_b,
                beta: 1.0,
            };
            let (a, b) = (fill(m * k, 0.1), fill(k * n, -0.2));
            let mut want = fill(m * n, 0.3);
            let mut got = want.clone();
            CpuBackend.gemm(s, &a, &b, &mut want).unwrap();
            reference_sgemm(column_major(s), &b, &a, 1.0, &mut got);
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() < 1e-5,
                    "ta={trans_a} tb={trans_b}: {got:?} vs {want:?}"
                );
            }
        }
    }
}
