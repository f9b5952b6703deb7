//! A joint probability table p(x1, x2, y) of two discrete sources and a discrete target,
//! with the marginals, entropies and mutual informations the decomposition needs.
//!
//! All information quantities are in bits (logarithms to base 2) and use the convention
//! `0 log 0 = 0`, so zero cells never produce NaN.

use serde::{Deserialize, Serialize};

use super::PidError;

/// A normalised joint distribution p(x1, x2, y) over `n1 x n2 x ny` outcomes.
///
/// The table is stored row-major: the probability of `(x1, x2, y)` sits at
/// `(x1 * n2 + x2) * ny + y`. Every constructor validates its input (no negative, NaN or
/// infinite entry, not all zero) and divides by the total, so a value of this type always
/// sums to one up to rounding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JointDistribution {
    n1: usize,
    n2: usize,
    ny: usize,
    p: Vec<f64>,
}

impl JointDistribution {
    /// Builds a distribution from a flat row-major table of non-negative weights, normalising
    /// it if it does not sum to one.
    ///
    /// # Errors
    ///
    /// [`PidError::Empty`] if a dimension is zero, [`PidError::TableLength`] if
    /// `table.len() != n1 * n2 * ny`, [`PidError::InvalidEntry`] for a negative or
    /// non-finite entry and [`PidError::ZeroMass`] if every entry is zero.
    pub fn new(n1: usize, n2: usize, ny: usize, table: Vec<f64>) -> Result<Self, PidError> {
        if n1 == 0 || n2 == 0 || ny == 0 {
            return Err(PidError::Empty {
                what: "joint table",
            });
        }

        let expected = n1 * n2 * ny;
        if table.len() != expected {
            return Err(PidError::TableLength {
                n1,
                n2,
                ny,
                expected,
                actual: table.len(),
            });
        }

        let mut total = 0.0;
        for (k, &v) in table.iter().enumerate() {
            if !v.is_finite() || v < 0.0 {
                let index = vec![k / (n2 * ny), (k / ny) % n2, k % ny];
                return Err(PidError::InvalidEntry {
                    what: "joint table",
                    index,
                    value: v,
                });
            }
            total += v;
        }
        if total <= 0.0 {
            return Err(PidError::ZeroMass {
                what: "joint table",
            });
        }
        if !total.is_finite() {
            return Err(PidError::InvalidEntry {
                what: "joint table total",
                index: vec![],
                value: total,
            });
        }

        let p = table.into_iter().map(|v| v / total).collect();
        Ok(Self { n1, n2, ny, p })
    }

    /// Builds a distribution from a weight function `f(x1, x2, y)`, normalised.
    ///
    /// Convenient for distributions given by a rule, such as a logic gate on uniform bits.
    ///
    /// # Errors
    ///
    /// As [`JointDistribution::new`], for the weights `f` returns.
    pub fn from_fn(
        n1: usize,
        n2: usize,
        ny: usize,
        mut f: impl FnMut(usize, usize, usize) -> f64,
    ) -> Result<Self, PidError> {
        let mut table = Vec::with_capacity(n1 * n2 * ny);
        for x1 in 0..n1 {
            for x2 in 0..n2 {
                for y in 0..ny {
                    table.push(f(x1, x2, y));
                }
            }
        }
        Self::new(n1, n2, ny, table)
    }

    /// The empirical distribution of paired samples `(x1[i], x2[i], y[i])`.
    ///
    /// Alphabet sizes are one more than the largest value seen in each list.
    ///
    /// # Errors
    ///
    /// [`PidError::Empty`] for no samples and [`PidError::LengthMismatch`] if the three
    /// lists differ in length.
    pub fn from_samples(x1: &[usize], x2: &[usize], y: &[usize]) -> Result<Self, PidError> {
        if x1.len() != x2.len() || x1.len() != y.len() {
            return Err(PidError::LengthMismatch {
                what: "samples of the joint table",
                details: format!("x1 {}, x2 {}, y {}", x1.len(), x2.len(), y.len()),
            });
        }
        if x1.is_empty() {
            return Err(PidError::Empty {
                what: "sample list",
            });
        }

        let size = |v: &[usize]| v.iter().copied().max().unwrap_or(0) + 1;
        let (n1, n2, ny) = (size(x1), size(x2), size(y));

        let mut counts = vec![0.0; n1 * n2 * ny];
        for ((&a, &b), &c) in x1.iter().zip(x2).zip(y) {
            counts[(a * n2 + b) * ny + c] += 1.0;
        }
        Self::new(n1, n2, ny, counts)
    }

    /// The pooled mixture `sum_k w_k p_k / sum_k w_k` of weighted distributions.
    ///
    /// This is the distribution of a sample drawn by first choosing component `k` with
    /// probability proportional to `w_k` and then drawing from `p_k`, with the choice hidden.
    /// Components of different sizes are padded with zero-probability outcomes to the largest
    /// size in each dimension.
    ///
    /// # Errors
    ///
    /// [`PidError::Empty`] for no components, [`PidError::InvalidEntry`] for a negative or
    /// non-finite weight and [`PidError::ZeroMass`] if all weights are zero.
    pub fn mixture(components: &[(f64, JointDistribution)]) -> Result<Self, PidError> {
        if components.is_empty() {
            return Err(PidError::Empty { what: "mixture" });
        }
        for (k, (w, _)) in components.iter().enumerate() {
            if !w.is_finite() || *w < 0.0 {
                return Err(PidError::InvalidEntry {
                    what: "mixture weight",
                    index: vec![k],
                    value: *w,
                });
            }
        }

        let n1 = components.iter().map(|(_, d)| d.n1).max().unwrap_or(1);
        let n2 = components.iter().map(|(_, d)| d.n2).max().unwrap_or(1);
        let ny = components.iter().map(|(_, d)| d.ny).max().unwrap_or(1);

        let mut table = vec![0.0; n1 * n2 * ny];
        for (w, d) in components {
            for (x1, x2, y, v) in d.cells() {
                table[(x1 * n2 + x2) * ny + y] += w * v;
            }
        }
        Self::new(n1, n2, ny, table).map_err(|e| match e {
            PidError::ZeroMass { .. } => PidError::ZeroMass { what: "mixture" },
            other => other,
        })
    }

    /// Alphabet sizes `(n1, n2, ny)`.
    pub fn dims(&self) -> (usize, usize, usize) {
        (self.n1, self.n2, self.ny)
    }

    /// The probability of `(x1, x2, y)`, or 0 outside the table.
    pub fn prob(&self, x1: usize, x2: usize, y: usize) -> f64 {
        if x1 >= self.n1 || x2 >= self.n2 || y >= self.ny {
            return 0.0;
        }
        self.p[self.index(x1, x2, y)]
    }

    /// The flat row-major table (see the type's documentation for the layout).
    pub fn as_slice(&self) -> &[f64] {
        &self.p
    }

    /// Every cell as `(x1, x2, y, probability)`, in storage order.
    pub fn cells(&self) -> impl Iterator<Item = (usize, usize, usize, f64)> + '_ {
        let (n2, ny) = (self.n2, self.ny);
        self.p
            .iter()
            .enumerate()
            .map(move |(k, &v)| (k / (n2 * ny), (k / ny) % n2, k % ny, v))
    }

    /// The same distribution with the two sources exchanged: p'(x2, x1, y) = p(x1, x2, y).
    pub fn swap_sources(&self) -> Self {
        let mut p = vec![0.0; self.p.len()];
        for (x1, x2, y, v) in self.cells() {
            p[(x2 * self.n1 + x1) * self.ny + y] = v;
        }
        Self {
            n1: self.n2,
            n2: self.n1,
            ny: self.ny,
            p,
        }
    }

    /// The pair marginal p(x1, y), row-major `n1 x ny`.
    pub fn marginal_x1_y(&self) -> Vec<f64> {
        let mut m = vec![0.0; self.n1 * self.ny];
        for (x1, _, y, v) in self.cells() {
            m[x1 * self.ny + y] += v;
        }
        m
    }

    /// The pair marginal p(x2, y), row-major `n2 x ny`.
    pub fn marginal_x2_y(&self) -> Vec<f64> {
        let mut m = vec![0.0; self.n2 * self.ny];
        for (_, x2, y, v) in self.cells() {
            m[x2 * self.ny + y] += v;
        }
        m
    }

    /// The source marginal p(x1, x2), row-major `n1 x n2`.
    pub fn marginal_x1_x2(&self) -> Vec<f64> {
        self.p.chunks(self.ny).map(|c| c.iter().sum()).collect()
    }

    /// The target marginal p(y).
    pub fn marginal_y(&self) -> Vec<f64> {
        let mut m = vec![0.0; self.ny];
        for (_, _, y, v) in self.cells() {
            m[y] += v;
        }
        m
    }

    /// I(X1; Y) in bits.
    pub fn mi_x1_y(&self) -> f64 {
        mutual_information(&self.marginal_x1_y(), self.n1, self.ny)
    }

    /// I(X2; Y) in bits.
    pub fn mi_x2_y(&self) -> f64 {
        mutual_information(&self.marginal_x2_y(), self.n2, self.ny)
    }

    /// I(X1, X2; Y) in bits: the total information both sources together carry about Y.
    pub fn mi_joint(&self) -> f64 {
        mutual_information(&self.p, self.n1 * self.n2, self.ny)
    }

    /// H(Y) in bits.
    pub fn entropy_y(&self) -> f64 {
        entropy(&self.marginal_y())
    }

    /// H(Y | X1, X2) in bits, the quantity the exact decomposition maximises.
    pub fn conditional_entropy_y(&self) -> f64 {
        (self.entropy_y() - self.mi_joint()).max(0.0)
    }

    /// Flat index of `(x1, x2, y)`.
    pub(crate) fn index(&self, x1: usize, x2: usize, y: usize) -> usize {
        (x1 * self.n2 + x2) * self.ny + y
    }

    /// Builds a distribution from a table already known to be valid and normalised.
    pub(crate) fn from_raw(n1: usize, n2: usize, ny: usize, p: Vec<f64>) -> Self {
        debug_assert_eq!(p.len(), n1 * n2 * ny);
        Self { n1, n2, ny, p }
    }
}

/// Shannon entropy in bits of a (possibly unnormalised-by-rounding) probability vector.
pub fn entropy(p: &[f64]) -> f64 {
    -p.iter()
        .filter(|&&v| v > 0.0)
        .map(|&v| v * v.log2())
        .sum::<f64>()
}

/// Mutual information in bits between the row and column variables of a joint table
/// `rows x cols`, row-major: `sum p(a, b) log2(p(a, b) / (p(a) p(b)))`.
///
/// The result is clamped at zero: a true mutual information is never negative, and tiny
/// negative values can only come from rounding.
pub fn mutual_information(joint: &[f64], rows: usize, cols: usize) -> f64 {
    let mut pa = vec![0.0; rows];
    let mut pb = vec![0.0; cols];
    for (k, &v) in joint.iter().enumerate() {
        pa[k / cols] += v;
        pb[k % cols] += v;
    }

    let mut mi = 0.0;
    for (k, &v) in joint.iter().enumerate() {
        if v > 0.0 {
            mi += v * (v / (pa[k / cols] * pb[k % cols])).log2();
        }
    }
    mi.max(0.0)
}
