//! Fused element-wise operations of diagonal Gaussians: the reparameterized sample and the
//! KL divergence to the standard normal. Each replaces a chain of four to eight recorded
//! operations (each with its own output buffer and backward closure) by one, with the same
//! arithmetic in the same order, so the values and gradients equal the chain's.

use smallvec::{smallvec, SmallVec};

use crate::autograd::InputGrads;

use crate::error::{Error, Result};
use crate::tensor::{kernels, pool, Element, OpKind, Tensor};

/// An error naming `op` and both shapes unless `a` and `b` have the same shape (shared with
/// the losses of `nn::loss`, which check their operands the same way).
pub(crate) fn same_shape<T: Element>(op: &'static str, a: &Tensor<T>, b: &Tensor<T>) -> Result<()> {
    if a.shape() != b.shape() {
        return Err(Error::shapes(
            op,
            a.dims(),
            b.dims(),
            "the shapes must be equal",
        ));
    }
    Ok(())
}

/// `f` applied to the elements of `a` and `b` (equal shapes), in row-major order.
fn zip_values<T: Element>(a: &[T], b: &[T], f: impl Fn(T, T) -> T) -> Vec<T> {
    let mut out = pool::with_capacity(a.len());
    out.extend(a.iter().zip(b).map(|(&x, &y)| f(x, y)));
    out
}

/// `f` applied to every element of `a`.
fn map_values<T: Element>(a: &[T], f: impl Fn(T) -> T) -> Vec<T> {
    let mut out = pool::with_capacity(a.len());
    out.extend(a.iter().map(|&x| f(x)));
    out
}

/// `e^x` of every element, through the vectorised slice kernel.
fn exp_values<T: Element>(x: &[T]) -> Vec<T> {
    let mut out = pool::zeroed(x.len());
    T::exp_slice(x, &mut out);
    out
}

impl<T: Element> Tensor<T> {
    /// The reparameterized sample `mean + e^(logvar / 2) * eps` of `N(mean, e^logvar)` for a
    /// draw `eps` of the standard normal; `self` is the mean. One recorded operation.
    ///
    /// Gradients, with `s = e^(logvar / 2)`: `d/d mean = g`, `d/d logvar = g eps s / 2`,
    /// `d/d eps = g s`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless the three shapes are equal.
    pub fn try_reparameterize(&self, logvar: &Tensor<T>, eps: &Tensor<T>) -> Result<Tensor<T>> {
        const OP: &str = "reparameterize";
        same_shape(OP, self, logvar)?;
        same_shape(OP, self, eps)?;

        let half = T::from_f64(0.5);
        let (mean, lv, e) = (
            kernels::gather(self),
            kernels::gather(logvar),
            kernels::gather(eps),
        );
        let halves = map_values(&lv, |v| v * half);
        let std = exp_values(&halves);
        let noise = zip_values(&std, &e, |s, e| s * e);
        let y = zip_values(&mean, &noise, |m, n| m + n);

        let shape = self.shape().clone();
        let y = Tensor::from_contiguous(y, shape.clone());
        let std = Tensor::from_contiguous(std, shape.clone());
        let eps_values = Tensor::from_contiguous(e, shape);
        let [need_lv, need_eps] = Tensor::grads_needed([logvar, eps]);
        Ok(
            y.record(OpKind::Reparameterize, &[self, logvar, eps], move |g| {
                let g_values = kernels::gather(g);
                let (s, e) = (std.storage().read(), eps_values.storage().read());
                let d_logvar = need_lv.then(|| {
                    let d_std = zip_values(&g_values, &e, |g, e| g * e);
                    let d_half = zip_values(&d_std, &s, |d, s| d * s);
                    let d = map_values(&d_half, |d| d * half);
                    Tensor::from_contiguous(d, g.shape().clone())
                });
                let d_eps = need_eps.then(|| {
                    let d = zip_values(&g_values, &s, |g, s| g * s);
                    Tensor::from_contiguous(d, g.shape().clone())
                });
                smallvec![Some(g.detach()), d_logvar, d_eps]
            }),
        )
    }

    /// `mean + e^(logvar / 2) * eps`; see [`Tensor::try_reparameterize`].
    ///
    /// # Panics
    /// When the shapes differ.
    #[track_caller]
    pub fn reparameterize(&self, logvar: &Tensor<T>, eps: &Tensor<T>) -> Tensor<T> {
        crate::tensor::expect_ok(self.try_reparameterize(logvar, eps))
    }

    /// Element-wise `KL(N(mu, e^l) || N(0, 1)) = (e^l + mu^2 - l - 1) / 2` with `self` the
    /// means `mu` and `l` the log-variances clamped to `[lo, hi]`. One recorded operation.
    ///
    /// Gradients: `d/d mu = g mu`; `d/d logvar = g (e^l - 1) / 2` where the log-variance lies
    /// in `[lo, hi]` (bounds included) and 0 outside, as for `clamp`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless `self` and `logvar` have one shape.
    pub fn try_kl_standard_normal_terms(
        &self,
        logvar: &Tensor<T>,
        (lo, hi): (T, T),
    ) -> Result<Tensor<T>> {
        same_shape("kl_standard_normal", self, logvar)?;

        let (half, minus_one) = (T::from_f64(0.5), -T::ONE);
        let (mu, lv) = (kernels::gather(self), kernels::gather(logvar));
        let clamped = map_values(&lv, |v| v.max(lo).min(hi));
        let variance = exp_values(&clamped);
        let mut kl = zip_values(&variance, &mu, |v, m| v + m * m);
        kl.iter_mut()
            .zip(&clamped)
            .for_each(|(k, &l)| *k = ((*k - l) + minus_one) * half);

        let shape = self.shape().clone();
        let kl = Tensor::from_contiguous(kl, shape.clone());
        let (mu_t, lv_t) = (self.clone(), logvar.clone());
        let variance = Tensor::from_contiguous(variance, shape);
        let [need_mu, need_lv] = Tensor::grads_needed([self, logvar]);
        Ok(
            kl.record(OpKind::KlStandardNormal, &[self, logvar], move |g| {
                // The chain's order: h = g / 2 reaches mu^2 (twice, one per factor) and, with
                // opposite signs, l directly and through e^l.
                let h = map_values(&kernels::gather(g), |g| g * half);
                let d_mu = need_mu.then(|| {
                    let mu = kernels::gather(&mu_t);
                    let d = zip_values(&h, &mu, |h, m| h * m + h * m);
                    Tensor::from_contiguous(d, g.shape().clone())
                });
                let d_lv = need_lv.then(|| {
                    let (lv, v) = (kernels::gather(&lv_t), variance.storage().read());
                    let mut d = zip_values(&h, &v, |h, v| -h + h * v);
                    d.iter_mut().zip(&lv).for_each(|(d, &l)| {
                        if !(l >= lo && l <= hi) {
                            *d = T::ZERO;
                        }
                    });
                    Tensor::from_contiguous(d, g.shape().clone())
                });
                smallvec![d_mu, d_lv]
            }),
        )
    }

    /// The KL terms of [`Tensor::try_kl_standard_normal_terms`].
    ///
    /// # Panics
    /// When the shapes differ.
    #[track_caller]
    pub fn kl_standard_normal_terms(&self, logvar: &Tensor<T>, bounds: (T, T)) -> Tensor<T> {
        crate::tensor::expect_ok(self.try_kl_standard_normal_terms(logvar, bounds))
    }

    /// Element-wise `KL(N(mu_q, e^a) || N(mu_p, e^b))
    /// = ((b - a) + e^(a - b) + (mu_q - mu_p)^2 e^-b - 1) / 2`, with `self` the means `mu_q`
    /// and `a`, `b` the log-variances clamped to `[lo, hi]`. One recorded operation.
    ///
    /// Gradients, for `h = g / 2`, `d = mu_q - mu_p`, `r = e^(a - b)`:
    /// `d/d mu_q = 2 h d e^-b = -d/d mu_p`, `d/d a = h (r - 1)`, `d/d b = h (1 - d^2 e^-b - r)`,
    /// each log-variance's gradient 0 outside `[lo, hi]` as for `clamp`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless the four shapes are equal.
    pub fn try_kl_gaussians_terms(
        &self,
        logvar_q: &Tensor<T>,
        mu_p: &Tensor<T>,
        logvar_p: &Tensor<T>,
        (lo, hi): (T, T),
    ) -> Result<Tensor<T>> {
        const OP: &str = "kl_gaussians";
        same_shape(OP, self, logvar_q)?;
        same_shape(OP, self, mu_p)?;
        same_shape(OP, self, logvar_p)?;

        let (half, minus_one) = (T::from_f64(0.5), -T::ONE);
        let clamp = |x: &Tensor<T>| map_values(&kernels::gather(x), |v| v.max(lo).min(hi));
        let (a, b) = (clamp(logvar_q), clamp(logvar_p));
        let diff = zip_values(&kernels::gather(self), &kernels::gather(mu_p), |q, p| q - p);
        let ratio = exp_values(&zip_values(&a, &b, |a, b| a - b));
        let inverse_p = exp_values(&map_values(&b, |b| -b));
        let squared = zip_values(&diff, &diff, |d, e| d * e);
        let mean_term = zip_values(&squared, &inverse_p, |s, e| s * e);
        let mut kl = zip_values(&b, &a, |b, a| b - a);
        for ((k, &r), &m) in kl.iter_mut().zip(&ratio).zip(&mean_term) {
            *k = (((*k + r) + m) + minus_one) * half;
        }

        let shape = self.shape().clone();
        let keep = |v: Vec<T>| Tensor::from_contiguous(v, shape.clone());
        let kl = keep(kl);
        let saved = [
            keep(diff),
            keep(ratio),
            keep(inverse_p),
            keep(squared),
            logvar_q.clone(),
            logvar_p.clone(),
        ];
        let needs = Tensor::grads_needed([self, logvar_q, mu_p, logvar_p]);
        let inputs = [self, logvar_q, mu_p, logvar_p];
        Ok(kl.record(OpKind::KlGaussians, &inputs, move |g| {
            let [diff, ratio, inverse_p, squared, lv_q, lv_p] =
                saved.each_ref().map(kernels::gather);
            let h = map_values(&kernels::gather(g), |g| g * half);
            let inside = |l: T| l >= lo && l <= hi;
            let grad = |v: Vec<T>| Some(Tensor::from_contiguous(v, g.shape().clone()));

            // The chain's order: through (mu_q - mu_p)^2 twice, one per factor, ...
            let d_diff = || {
                let he = zip_values(&h, &inverse_p, |h, e| h * e);
                zip_values(&he, &diff, |x, d| x * d + x * d)
            };
            // ... a from b - a, then through e^(a - b) ...
            let d_a = || {
                let mut d = zip_values(&h, &ratio, |h, r| -h + h * r);
                d.iter_mut()
                    .zip(&lv_q)
                    .for_each(|(d, &l)| *d = if inside(l) { *d } else { T::ZERO });
                d
            };
            // ... and b from b - a, then e^-b, then e^(a - b).
            let d_b = || {
                let mut d: Vec<T> = pool::with_capacity(h.len());
                let terms = h.iter().zip(&squared).zip(&inverse_p).zip(&ratio);
                d.extend(terms.map(|(((&h, &s), &e), &r)| (h + -((h * s) * e)) + -(h * r)));
                d.iter_mut()
                    .zip(&lv_p)
                    .for_each(|(d, &l)| *d = if inside(l) { *d } else { T::ZERO });
                d
            };
            let [n_mu_q, n_a, n_mu_p, n_b] = needs;
            let shared = (n_mu_q || n_mu_p).then(d_diff);
            let d_mu_p = match (&shared, n_mu_p) {
                (Some(d), true) => grad(map_values(d, |v| -v)),
                _ => None,
            };
            let d_mu_q = shared.filter(|_| n_mu_q).and_then(grad);
            let mut grads: InputGrads<T> = SmallVec::new();
            grads.push(d_mu_q);
            grads.push(n_a.then(d_a).and_then(grad));
            grads.push(d_mu_p);
            grads.push(n_b.then(d_b).and_then(grad));
            grads
        }))
    }

    /// The KL terms of [`Tensor::try_kl_gaussians_terms`].
    ///
    /// # Panics
    /// When the shapes differ.
    #[track_caller]
    pub fn kl_gaussians_terms(
        &self,
        logvar_q: &Tensor<T>,
        mu_p: &Tensor<T>,
        logvar_p: &Tensor<T>,
        bounds: (T, T),
    ) -> Tensor<T> {
        crate::tensor::expect_ok(self.try_kl_gaussians_terms(logvar_q, mu_p, logvar_p, bounds))
    }
}
