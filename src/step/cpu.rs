//! [`CpuBackend`]: the step's primitives as plain loops over `Vec<f32>`, with matrix products
//! from `matrixmultiply`. No autograd: this is the reference the GPU backend is tested
//! against, and it is itself tested against the autograd model.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::error::{Error, Result};
use crate::nn::loss::LOGVAR_RANGE;

use super::backend::{AdamArgs, Backend, Gemm};

/// The CPU implementation of [`Backend`]; single-threaded.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuBackend;

/// The CPU generator of the draw `(seed, offset)`.
fn generator(seed: u64, offset: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ offset.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// Fails unless `a == b`, naming `op`.
fn same(op: &'static str, a: usize, b: usize) -> Result<()> {
    if a == b {
        return Ok(());
    }
    Err(Error::argument(
        op,
        format!("buffers of {a} and {b} elements"),
    ))
}

/// Fails unless a column block ending at `end` fits in rows of `cols`.
fn inside(op: &'static str, end: usize, cols: usize) -> Result<()> {
    if end <= cols {
        return Ok(());
    }
    Err(Error::argument(
        op,
        format!("a block ending at column {end} of rows of {cols}"),
    ))
}

/// `lv` clamped to [`LOGVAR_RANGE`], and 1 inside the range (0 outside): the clamp's
/// derivative.
fn clamp_logvar(lv: f32) -> (f32, f32) {
    let (lo, hi) = (LOGVAR_RANGE.0 as f32, LOGVAR_RANGE.1 as f32);
    if lv < lo {
        (lo, 0.0)
    } else if lv > hi {
        (hi, 0.0)
    } else {
        (lv, 1.0)
    }
}

impl Backend for CpuBackend {
    type Buf = Vec<f32>;

    fn zeros(&self, len: usize) -> Result<Vec<f32>> {
        Ok(vec![0.0; len])
    }

    fn upload(&self, host: &[f32]) -> Result<Vec<f32>> {
        Ok(host.to_vec())
    }

    fn write(&self, host: &[f32], buf: &mut Vec<f32>) -> Result<()> {
        same("write", host.len(), buf.len())?;
        buf.copy_from_slice(host);
        Ok(())
    }

    fn download(&self, buf: &Vec<f32>) -> Result<Vec<f32>> {
        Ok(buf.clone())
    }

    /// ChaCha8 seeded with `seed` mixed with `offset`, through `rand_distr`'s normal sampler.
    fn fill_normal(&self, buf: &mut Vec<f32>, seed: u64, offset: u64) -> Result<()> {
        let mut rng = generator(seed, offset);
        buf.iter_mut()
            .for_each(|x| *x = StandardNormal.sample(&mut rng));
        Ok(())
    }

    fn fill_dropout_mask(&self, buf: &mut Vec<f32>, p: f32, seed: u64, offset: u64) -> Result<()> {
        let mut rng = generator(seed, offset);
        let keep = 1.0 / (1.0 - p);
        buf.iter_mut()
            .for_each(|x| *x = if rng.random::<f32>() < p { 0.0 } else { keep });
        Ok(())
    }

    fn len(&self, buf: &Vec<f32>) -> usize {
        buf.len()
    }

    fn fill_zero(&self, buf: &mut Vec<f32>) -> Result<()> {
        buf.fill(0.0);
        Ok(())
    }

    fn gemm(&self, s: Gemm, a: &Vec<f32>, b: &Vec<f32>, c: &mut Vec<f32>) -> Result<()> {
        same("gemm a", a.len(), s.m * s.k)?;
        same("gemm b", b.len(), s.k * s.n)?;
        same("gemm c", c.len(), s.m * s.n)?;
        if s.m == 0 || s.n == 0 {
            return Ok(());
        }

        // Row and column strides of op(A) and op(B): a transposed operand swaps them.
        let (rsa, csa) = if s.trans_a { (1, s.m) } else { (s.k, 1) };
        let (rsb, csb) = if s.trans_b { (1, s.k) } else { (s.n, 1) };
        // SAFETY: a holds m * k, b k * n and c m * n floats (checked above), and the strides
        // address exactly those elements of each row-major (or transposed) matrix.
        unsafe {
            matrixmultiply::sgemm(
                s.m,
                s.k,
                s.n,
                1.0,
                a.as_ptr(),
                rsa as isize,
                csa as isize,
                b.as_ptr(),
                rsb as isize,
                csb as isize,
                s.beta,
                c.as_mut_ptr(),
                s.n as isize,
                1,
            );
        }
        Ok(())
    }

    fn add_bias(&self, x: &mut Vec<f32>, bias: &Vec<f32>) -> Result<()> {
        for row in x.chunks_exact_mut(bias.len().max(1)) {
            row.iter_mut().zip(bias).for_each(|(x, b)| *x += b);
        }
        Ok(())
    }

    fn add_column_sums(&self, x: &Vec<f32>, out: &mut Vec<f32>) -> Result<()> {
        for row in x.chunks_exact(out.len().max(1)) {
            out.iter_mut().zip(row).for_each(|(o, x)| *o += x);
        }
        Ok(())
    }

    fn relu(&self, x: &mut Vec<f32>) -> Result<()> {
        x.iter_mut().for_each(|v| *v = v.max(0.0));
        Ok(())
    }

    fn relu_backward(&self, y: &Vec<f32>, dy: &mut Vec<f32>) -> Result<()> {
        same("relu_backward", y.len(), dy.len())?;
        dy.iter_mut()
            .zip(y)
            .for_each(|(d, &y)| *d = if y > 0.0 { *d } else { 0.0 });
        Ok(())
    }

    fn mul_assign(&self, x: &mut Vec<f32>, mask: &Vec<f32>) -> Result<()> {
        same("mul_assign", x.len(), mask.len())?;
        x.iter_mut().zip(mask).for_each(|(x, m)| *x *= m);
        Ok(())
    }

    fn put_columns(
        &self,
        src: &Vec<f32>,
        dst: &mut Vec<f32>,
        dst_cols: usize,
        offset: usize,
    ) -> Result<()> {
        let rows = dst.len() / dst_cols.max(1);
        let width = src.len() / rows.max(1);
        same("put_columns", src.len(), rows * width)?;
        inside("put_columns", offset + width, dst_cols)?;
        for (s, d) in src
            .chunks_exact(width.max(1))
            .zip(dst.chunks_exact_mut(dst_cols))
        {
            d[offset..offset + width].copy_from_slice(s);
        }
        Ok(())
    }

    fn add_columns(
        &self,
        src: &Vec<f32>,
        src_cols: usize,
        offset: usize,
        dst: &mut Vec<f32>,
    ) -> Result<()> {
        let rows = src.len() / src_cols.max(1);
        let width = dst.len() / rows.max(1);
        same("add_columns", dst.len(), rows * width)?;
        inside("add_columns", offset + width, src_cols)?;
        for (s, d) in src
            .chunks_exact(src_cols)
            .zip(dst.chunks_exact_mut(width.max(1)))
        {
            d.iter_mut()
                .zip(&s[offset..offset + width])
                .for_each(|(d, s)| *d += s);
        }
        Ok(())
    }

    fn product(&self, a: &Vec<f32>, b: &Vec<f32>, out: &mut Vec<f32>) -> Result<()> {
        same("product", a.len(), b.len())?;
        same("product", a.len(), out.len())?;
        for ((o, a), b) in out.iter_mut().zip(a).zip(b) {
            *o = a * b;
        }
        Ok(())
    }

    fn product_backward(
        &self,
        dout: &Vec<f32>,
        a: &Vec<f32>,
        b: &Vec<f32>,
        da: &mut Vec<f32>,
        db: &mut Vec<f32>,
    ) -> Result<()> {
        for i in 0..dout.len() {
            da[i] += dout[i] * b[i];
            db[i] += dout[i] * a[i];
        }
        Ok(())
    }

    fn reparameterize(
        &self,
        mu: &Vec<f32>,
        logvar: &Vec<f32>,
        eps: &Vec<f32>,
        z: &mut Vec<f32>,
    ) -> Result<()> {
        same("reparameterize", mu.len(), eps.len())?;
        for i in 0..z.len() {
            z[i] = mu[i] + (0.5 * logvar[i]).exp() * eps[i];
        }
        Ok(())
    }

    fn reparameterize_backward(
        &self,
        dz: &Vec<f32>,
        logvar: &Vec<f32>,
        eps: &Vec<f32>,
        dmu: &mut Vec<f32>,
        dlogvar: &mut Vec<f32>,
    ) -> Result<()> {
        same("reparameterize_backward", dz.len(), eps.len())?;
        for i in 0..dz.len() {
            dmu[i] += dz[i];
            dlogvar[i] += dz[i] * eps[i] * 0.5 * (0.5 * logvar[i]).exp();
        }
        Ok(())
    }

    fn cross_entropy(
        &self,
        logits: &Vec<f32>,
        labels: &Vec<f32>,
        cols: usize,
        scale: f32,
        stats: &mut Vec<f32>,
        slot: usize,
        dlogits: &mut Vec<f32>,
    ) -> Result<()> {
        same("cross_entropy", logits.len(), labels.len() * cols)?;
        let mut total = 0.0f32;
        for (r, (row, drow)) in logits
            .chunks_exact(cols)
            .zip(dlogits.chunks_exact_mut(cols))
            .enumerate()
        {
            let label = labels[r] as usize;
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let sum: f32 = row.iter().map(|&x| (x - max).exp()).sum();
            let log_sum = max + sum.ln();
            total += log_sum - row[label];

            for (c, (d, &x)) in drow.iter_mut().zip(row).enumerate() {
                let onehot = if c == label { 1.0 } else { 0.0 };
                *d = scale * ((x - log_sum).exp() - onehot);
            }
        }
        stats[slot] += scale * total;
        Ok(())
    }

    fn kl_standard_normal(
        &self,
        mu: &Vec<f32>,
        logvar: &Vec<f32>,
        scale: f32,
        stats: &mut Vec<f32>,
        slot: usize,
        dmu: &mut Vec<f32>,
        dlogvar: &mut Vec<f32>,
    ) -> Result<()> {
        same("kl_standard_normal", mu.len(), logvar.len())?;
        let mut total = 0.0f32;
        for i in 0..mu.len() {
            let (lv, inside) = clamp_logvar(logvar[i]);
            let var = lv.exp();
            total += 0.5 * (var + mu[i] * mu[i] - 1.0 - lv);
            dmu[i] += scale * mu[i];
            dlogvar[i] += scale * inside * 0.5 * (var - 1.0);
        }
        stats[slot] += scale * total;
        Ok(())
    }

    fn kl_gaussians(
        &self,
        q: [&Vec<f32>; 2],
        p: [&Vec<f32>; 2],
        scale: f32,
        stats: &mut Vec<f32>,
        slot: usize,
        grads: [&mut Vec<f32>; 4],
    ) -> Result<()> {
        same("kl_gaussians", q[0].len(), p[0].len())?;
        let [dmq, dlq, dmp, dlp] = grads;
        let mut total = 0.0f32;
        for i in 0..q[0].len() {
            let (lq, in_q) = clamp_logvar(q[1][i]);
            let (lp, in_p) = clamp_logvar(p[1][i]);
            let d = q[0][i] - p[0][i];
            let ratio = (lq - lp).exp();
            let inv_vp = (-lp).exp();
            total += 0.5 * (lp - lq + ratio + d * d * inv_vp - 1.0);

            let g_mean = scale * d * inv_vp;
            dmq[i] += g_mean;
            dmp[i] -= g_mean;
            dlq[i] += scale * in_q * 0.5 * (ratio - 1.0);
            dlp[i] += scale * in_p * 0.5 * (1.0 - ratio - d * d * inv_vp);
        }
        stats[slot] += scale * total;
        Ok(())
    }

    fn mse(
        &self,
        pred: &Vec<f32>,
        target: &Vec<f32>,
        scale: f32,
        stats: &mut Vec<f32>,
        slot: usize,
        dpred: &mut Vec<f32>,
    ) -> Result<()> {
        same("mse", pred.len(), target.len())?;
        let mut total = 0.0f32;
        for i in 0..pred.len() {
            let d = pred[i] - target[i];
            total += d * d;
            dpred[i] = 2.0 * scale * d;
        }
        stats[slot] += scale * total;
        Ok(())
    }

    fn gate(
        &self,
        gate_logits: &Vec<f32>,
        stacked: &Vec<f32>,
        classes: usize,
        weights: &mut Vec<f32>,
        logits: &mut Vec<f32>,
    ) -> Result<()> {
        let rows = logits.len() / classes.max(1);
        let k = gate_logits.len() / rows.max(1);
        for r in 0..rows {
            let g = &gate_logits[r * k..(r + 1) * k];
            let w = &mut weights[r * k..(r + 1) * k];
            let max = g.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0;
            for (w, &g) in w.iter_mut().zip(g) {
                *w = (g - max).exp();
                sum += *w;
            }
            w.iter_mut().for_each(|w| *w /= sum);

            let out = &mut logits[r * classes..(r + 1) * classes];
            out.fill(0.0);
            let row = &stacked[r * k * classes..(r + 1) * k * classes];
            for (j, &wj) in w.iter().enumerate() {
                for (o, &s) in out.iter_mut().zip(&row[j * classes..(j + 1) * classes]) {
                    *o += wj * s;
                }
            }
        }
        Ok(())
    }

    fn gate_backward(
        &self,
        dlogits: &Vec<f32>,
        weights: &Vec<f32>,
        stacked: &Vec<f32>,
        classes: usize,
        dstacked: &mut Vec<f32>,
        dgate: &mut Vec<f32>,
    ) -> Result<()> {
        let rows = dlogits.len() / classes.max(1);
        let k = weights.len() / rows.max(1);
        for r in 0..rows {
            let dl = &dlogits[r * classes..(r + 1) * classes];
            let w = &weights[r * k..(r + 1) * k];
            let row = &stacked[r * k * classes..(r + 1) * k * classes];
            let drow = &mut dstacked[r * k * classes..(r + 1) * k * classes];
            let dg = &mut dgate[r * k..(r + 1) * k];

            let mut dot = 0.0;
            for j in 0..k {
                let block = j * classes..(j + 1) * classes;
                let mut dw = 0.0;
                for ((ds, &s), &d) in drow[block.clone()].iter_mut().zip(&row[block]).zip(dl) {
                    *ds = w[j] * d;
                    dw += d * s;
                }
                dg[j] = dw;
                dot += w[j] * dw;
            }
            for j in 0..k {
                dg[j] = w[j] * (dg[j] - dot);
            }
        }
        Ok(())
    }

    fn sum_squares(&self, g: &Vec<f32>, stats: &mut Vec<f32>, slot: usize) -> Result<()> {
        let sum: f64 = g.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
        stats[slot] += sum as f32;
        Ok(())
    }

    fn adam(
        &self,
        p: &mut Vec<f32>,
        g: &Vec<f32>,
        m: &mut Vec<f32>,
        v: &mut Vec<f32>,
        stats: &Vec<f32>,
        a: AdamArgs,
    ) -> Result<()> {
        let squares = stats[a.norm_slot];
        let loss: f32 = stats[..a.loss_slots].iter().sum();
        if !(squares.is_finite() && loss.is_finite()) {
            return Ok(());
        }
        let norm = f64::from(squares).sqrt();
        let clip = f64::from(a.max_norm) / (norm + 1e-6);
        let clip = if a.max_norm > 0.0 && clip < 1.0 {
            clip as f32
        } else {
            1.0
        };

        for i in 0..p.len() {
            let g = g[i] * clip + a.weight_decay * p[i];
            m[i] = a.beta1 * m[i] + (1.0 - a.beta1) * g;
            v[i] = a.beta2 * v[i] + (1.0 - a.beta2) * g * g;
            p[i] -= a.step_size * m[i] / (v[i].sqrt() / a.root_correction2 + a.eps);
        }
        Ok(())
    }
}
