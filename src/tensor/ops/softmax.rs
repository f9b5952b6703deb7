//! `logsumexp`, `softmax` and `log_softmax` along one axis, all computed after subtracting
//! each slice's maximum so that logits of +-1e4 neither overflow nor vanish.

use smallvec::smallvec;

use crate::error::{Error, Result};
use crate::tensor::{expect_ok, kernels, Element, OpKind, Shape, Tensor};

/// What a stable row-wise pass returns for each row: its maximum and `sum e^(x - max)`.
fn row_max_and_sum<T: Element>(row: &[T]) -> (T, T) {
    let m = row
        .iter()
        .copied()
        .fold(T::from_f64(f64::NEG_INFINITY), T::max);
    if row.is_empty() || !m.is_finite() {
        return (m, T::ZERO);
    }
    let s = row.iter().map(|&v| (v - m).exp()).sum();
    (m, s)
}

impl<T: Element> Tensor<T> {
    /// `ln sum_j e^(x_j)` along `axis`, stably: `m + ln sum_j e^(x_j - m)` with `m` the maximum.
    ///
    /// Gradient: `g * softmax(x)`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidAxis`] for a bad axis.
    pub fn try_logsumexp(&self, axis: isize, keepdim: bool) -> Result<Tensor<T>> {
        let axis = self.axis("logsumexp", axis)?;
        let rows = kernels::rows_along(self, axis);
        let len = rows.len;
        let n_rows: usize = (0..self.rank())
            .filter(|&a| a != axis)
            .map(|a| self.dims()[a])
            .product();
        let values: Vec<T> = (0..n_rows)
            .map(|r| {
                let (m, s) = row_max_and_sum(&rows.values[r * len..(r + 1) * len]);
                if s == T::ZERO {
                    // Empty or non-finite maximum: the maximum itself (-inf for an empty
                    // slice) is the answer.
                    m
                } else {
                    m + s.ln()
                }
            })
            .collect();

        let mut kept = self.shape().to_vec();
        kept[axis] = 1;
        let y = rows.restore(values, &Shape::from(kept));
        let (x, out) = (self.clone(), y.clone());
        let y = y.record(OpKind::LogSumExp, &[self], move |g| {
            let p = expect_ok(kernels::zip("logsumexp", &x, &out, |x, y| (x - y).exp()));
            smallvec![Some(expect_ok(
                kernels::zip("logsumexp", &p, g, |p, g| p * g)
            ))]
        });
        if keepdim {
            Ok(y)
        } else {
            y.try_squeeze(axis as isize)
        }
    }

    /// `ln sum e^x` along `axis`.
    ///
    /// # Panics
    /// For a bad axis; see [`Tensor::try_logsumexp`].
    #[track_caller]
    pub fn logsumexp(&self, axis: isize, keepdim: bool) -> Tensor<T> {
        expect_ok(self.try_logsumexp(axis, keepdim))
    }

    /// The row-wise pass shared by `softmax` and `log_softmax`: for every slice along `axis`,
    /// `f(x_j - m, ln s)` where `m` is the slice maximum and `s = sum e^(x - m)`.
    fn along_axis_stable(&self, axis: usize, f: impl Fn(T, T) -> T) -> Tensor<T> {
        let mut rows = kernels::rows_along(self, axis);
        let len = rows.len;
        if len > 0 {
            for row in rows.values.chunks_exact_mut(len) {
                let (m, s) = row_max_and_sum(row);
                let log_s = s.ln();
                for v in row.iter_mut() {
                    *v = f(*v - m, log_s);
                }
            }
        }
        let values = std::mem::take(&mut rows.values);
        rows.restore(values, self.shape())
    }

    /// `e^(x_j) / sum_k e^(x_k)` along `axis`, stably.
    ///
    /// Gradient: `y * (g - sum(g * y))`, the sum taken along `axis`; the gradient of every
    /// slice therefore sums to zero.
    ///
    /// # Errors
    /// [`crate::Error::InvalidAxis`] for a bad axis.
    pub fn try_softmax(&self, axis: isize) -> Result<Tensor<T>> {
        let axis = self.axis("softmax", axis)?;
        let y = self.along_axis_stable(axis, |shifted, log_s| (shifted - log_s).exp());
        let out = y.clone();
        Ok(y.record(OpKind::Softmax, &[self], move |g| {
            let gy = expect_ok(kernels::zip("softmax", g, &out, |g, y| g * y));
            let total = gy.sum(&[axis as isize], true);
            let dx = expect_ok(kernels::zip3("softmax", &gy, &out, &total, |gy, y, t| {
                gy - y * t
            }));
            smallvec![Some(dx)]
        }))
    }

    /// Softmax along `axis`.
    ///
    /// # Panics
    /// For a bad axis; see [`Tensor::try_softmax`].
    #[track_caller]
    pub fn softmax(&self, axis: isize) -> Tensor<T> {
        expect_ok(self.try_softmax(axis))
    }

    /// `x_j - logsumexp(x)` along `axis`, stably.
    ///
    /// Gradient: `g - softmax(x) * sum(g)`, the sum taken along `axis`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidAxis`] for a bad axis.
    pub fn try_log_softmax(&self, axis: isize) -> Result<Tensor<T>> {
        let axis = self.axis("log_softmax", axis)?;
        let y = self.along_axis_stable(axis, |shifted, log_s| shifted - log_s);
        let out = y.clone();
        Ok(y.record(OpKind::LogSoftmax, &[self], move |g| {
            let total = g.sum(&[axis as isize], true);
            let dx = expect_ok(kernels::zip3("log_softmax", g, &out, &total, |g, y, t| {
                g - y.exp() * t
            }));
            smallvec![Some(dx)]
        }))
    }

    /// Log-softmax along `axis`.
    ///
    /// # Panics
    /// For a bad axis; see [`Tensor::try_log_softmax`].
    #[track_caller]
    pub fn log_softmax(&self, axis: isize) -> Tensor<T> {
        expect_ok(self.try_log_softmax(axis))
    }

    /// `scale * sum_i w_i log_softmax(x)[i, y_i]` for logits `x: [batch, classes]` (`self`)
    /// and one `(y_i, w_i)` per row: the weighted, scaled log-likelihood of the labels in one
    /// recorded operation, the core of a cross-entropy (`scale = -1 / sum of weights`).
    /// Returns a scalar. Only the picked entries enter the sum, so a log-probability of
    /// `-inf` elsewhere cannot turn it into NaN.
    ///
    /// Gradient, with `p = softmax(x)` along the classes:
    /// `d/dx[i, j] = g scale w_i ([j = y_i] - p[i, j])`.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] unless `self` has two axes; [`Error::InvalidArgument`] when
    /// `picks` does not have one entry per row or a label is out of range.
    pub fn try_picked_log_softmax(&self, picks: &[(usize, T)], scale: T) -> Result<Tensor<T>> {
        const OP: &str = "picked_log_softmax";
        let [batch, classes] = *self.dims() else {
            return Err(Error::shape(OP, self.dims(), "needs [batch, classes]"));
        };
        if picks.len() != batch {
            return Err(Error::argument(
                OP,
                format!("{} picks for a batch of {batch}", picks.len()),
            ));
        }
        if let Some((i, &(y, _))) = picks.iter().enumerate().find(|(_, &(y, _))| y >= classes) {
            return Err(Error::argument(
                OP,
                format!("label {y} of row {i} is out of range for {classes} classes"),
            ));
        }

        // Per row, the log of the softmax denominator, `lse = max + ln sum e^(x - max)`.
        let x = kernels::gather(self);
        let mut lse = Vec::with_capacity(batch);
        let mut total = T::ZERO;
        for (row, &(y, w)) in x.chunks_exact(classes.max(1)).zip(picks) {
            let (m, s) = row_max_and_sum(row);
            total += w * ((row[y] - m) - s.ln());
            lse.push(m + s.ln());
        }
        let loss = Tensor::from_contiguous(vec![total * scale], Shape::scalar());

        let picks = picks.to_vec();
        Ok(loss.record(OpKind::PickedLogSoftmax, &[self], move |g| {
            let g = g.item() * scale;
            let mut dx = x;
            for ((row, &(y, w)), &lse) in dx.chunks_exact_mut(classes.max(1)).zip(&picks).zip(&lse)
            {
                let gw = g * w;
                for v in row.iter_mut() {
                    *v = -((*v - lse).exp() * gw);
                }
                row[y] += gw;
            }
            smallvec![Some(Tensor::from_contiguous(
                dx,
                Shape::from([batch, classes])
            ))]
        }))
    }

    /// The picked log-softmax sum of [`Tensor::try_picked_log_softmax`].
    ///
    /// # Panics
    /// On the errors of [`Tensor::try_picked_log_softmax`].
    #[track_caller]
    pub fn picked_log_softmax(&self, picks: &[(usize, T)], scale: T) -> Tensor<T> {
        expect_ok(self.try_picked_log_softmax(picks, scale))
    }
}
