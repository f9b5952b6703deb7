//! Feature preprocessing for the clustering estimator: standardisation and principal
//! component analysis (PCA) through a Jacobi eigen-decomposition of the covariance.
//!
//! Matrices are row-major `n x d` slices of f64: row `i` is sample `i`.

use super::PidError;

/// Jacobi sweeps stop once the off-diagonal mass is below this fraction of the total.
const JACOBI_TOLERANCE: f64 = 1e-14;

/// At most this many Jacobi sweeps (each visits every off-diagonal pair once); a symmetric
/// matrix typically needs fewer than 15.
const JACOBI_MAX_SWEEPS: usize = 100;

/// Standardises each feature (column) of an `n x d` matrix to mean 0 and standard
/// deviation 1 (population convention, dividing by n).
///
/// A constant feature carries no information for clustering; it becomes all zeros instead of
/// dividing by zero.
///
/// # Errors
///
/// [`PidError::InvalidArgument`] if `d` is zero or does not divide `data.len()`,
/// [`PidError::Empty`] for no samples and [`PidError::InvalidEntry`] for a non-finite value.
pub fn standardise(data: &[f64], d: usize) -> Result<Vec<f64>, PidError> {
    let n = check_matrix(data, d, "standardise")?;

    let mut out = data.to_vec();
    for f in 0..d {
        let mean = (0..n).map(|i| data[i * d + f]).sum::<f64>() / n as f64;
        let var = (0..n)
            .map(|i| (data[i * d + f] - mean).powi(2))
            .sum::<f64>()
            / n as f64;
        let std = var.sqrt();

        for i in 0..n {
            let centred = data[i * d + f] - mean;
            out[i * d + f] = if std > 0.0 { centred / std } else { 0.0 };
        }
    }
    Ok(out)
}

/// A fitted principal component analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    /// Number of input features.
    pub features: usize,
    /// Feature means subtracted before projecting.
    pub mean: Vec<f64>,
    /// The leading eigenvectors of the covariance, one per row (`k x features`), in order of
    /// decreasing variance.
    pub components: Vec<f64>,
    /// The variance along each component (the eigenvalues), decreasing.
    pub variances: Vec<f64>,
}

impl Pca {
    /// Number of components kept.
    pub fn k(&self) -> usize {
        self.variances.len()
    }

    /// Projects an `n x features` matrix onto the components, giving `n x k`.
    ///
    /// # Errors
    ///
    /// [`PidError::InvalidArgument`] if `data.len()` is not a multiple of the feature count.
    pub fn project(&self, data: &[f64]) -> Result<Vec<f64>, PidError> {
        let d = self.features;
        if d == 0 || !data.len().is_multiple_of(d) {
            return Err(PidError::InvalidArgument {
                what: "PCA projection",
                reason: format!("{} values do not form rows of {d} features", data.len()),
            });
        }

        let k = self.k();
        let mut out = Vec::with_capacity(data.len() / d * k);
        for row in data.chunks(d) {
            for c in 0..k {
                let v = &self.components[c * d..(c + 1) * d];
                out.push(
                    row.iter()
                        .zip(v)
                        .zip(&self.mean)
                        .map(|((x, w), m)| (x - m) * w)
                        .sum(),
                );
            }
        }
        Ok(out)
    }
}

/// Fits a PCA with `k` components to an `n x d` matrix.
///
/// The covariance (dividing by n) is diagonalised by the cyclic Jacobi method, which is
/// deterministic, needs no random start and returns all eigenpairs accurately; its cost is
/// O(d^3) per sweep, fine for the tens to hundreds of features the estimator sees. If `k`
/// exceeds `d`, all `d` components are kept.
///
/// # Errors
///
/// [`PidError::InvalidArgument`] if `k` or `d` is zero or `d` does not divide `data.len()`,
/// [`PidError::Empty`] for no samples and [`PidError::InvalidEntry`] for a non-finite value.
pub fn pca(data: &[f64], d: usize, k: usize) -> Result<Pca, PidError> {
    let n = check_matrix(data, d, "pca")?;
    if k == 0 {
        return Err(PidError::InvalidArgument {
            what: "PCA",
            reason: "the number of components must be at least 1".into(),
        });
    }

    let mean: Vec<f64> = (0..d)
        .map(|f| (0..n).map(|i| data[i * d + f]).sum::<f64>() / n as f64)
        .collect();

    let mut cov = vec![0.0; d * d];
    for row in data.chunks(d) {
        for a in 0..d {
            let xa = row[a] - mean[a];
            for b in a..d {
                cov[a * d + b] += xa * (row[b] - mean[b]);
            }
        }
    }
    for a in 0..d {
        for b in a..d {
            cov[a * d + b] /= n as f64;
            cov[b * d + a] = cov[a * d + b];
        }
    }

    let (values, vectors) = jacobi_eigen(cov, d);

    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let k = k.min(d);

    let mut components = Vec::with_capacity(k * d);
    let mut variances = Vec::with_capacity(k);
    for &c in &order[..k] {
        components.extend((0..d).map(|f| vectors[f * d + c]));
        variances.push(values[c].max(0.0));
    }
    Ok(Pca {
        features: d,
        mean,
        components,
        variances,
    })
}

/// Eigen-decomposition of a symmetric `d x d` matrix by cyclic Jacobi rotations.
///
/// Returns the eigenvalues and the eigenvectors as the columns of a row-major `d x d`
/// matrix. Each rotation zeroes one off-diagonal pair `(p, r)`; sweeps repeat until the
/// off-diagonal mass is negligible.
fn jacobi_eigen(mut m: Vec<f64>, d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }

    let total: f64 = m.iter().map(|x| x * x).sum();
    for _ in 0..JACOBI_MAX_SWEEPS {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i * d + j].powi(2))
            .sum();
        if off <= JACOBI_TOLERANCE * total || off == 0.0 {
            break;
        }

        for p in 0..d {
            for r in p + 1..d {
                let apr = m[p * d + r];
                if apr == 0.0 {
                    continue;
                }

                // The angle that zeroes m[p][r]: tan(2 theta) = 2 m_pr / (m_rr - m_pp), taking
                // the smaller root t = tan(theta) for stability.
                let theta = (m[r * d + r] - m[p * d + p]) / (2.0 * apr);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;

                // m <- J^T m J, applied to columns then rows p and r.
                for k in 0..d {
                    let (mkp, mkr) = (m[k * d + p], m[k * d + r]);
                    m[k * d + p] = c * mkp - s * mkr;
                    m[k * d + r] = s * mkp + c * mkr;
                }
                for k in 0..d {
                    let (mpk, mrk) = (m[p * d + k], m[r * d + k]);
                    m[p * d + k] = c * mpk - s * mrk;
                    m[r * d + k] = s * mpk + c * mrk;
                }

                // v <- v J accumulates the eigenvectors.
                for k in 0..d {
                    let (vkp, vkr) = (v[k * d + p], v[k * d + r]);
                    v[k * d + p] = c * vkp - s * vkr;
                    v[k * d + r] = s * vkp + c * vkr;
                }
            }
        }
    }

    let values = (0..d).map(|i| m[i * d + i]).collect();
    (values, v)
}

/// Checks that `data` is a non-empty finite `n x d` matrix and returns `n`.
pub(crate) fn check_matrix(data: &[f64], d: usize, what: &'static str) -> Result<usize, PidError> {
    if d == 0 || !data.len().is_multiple_of(d) {
        return Err(PidError::InvalidArgument {
            what,
            reason: format!("{} values do not form rows of {d} features", data.len()),
        });
    }
    if data.is_empty() {
        return Err(PidError::Empty {
            what: "feature matrix",
        });
    }
    if let Some(k) = data.iter().position(|v| !v.is_finite()) {
        return Err(PidError::InvalidEntry {
            what: "feature matrix",
            index: vec![k / d, k % d],
            value: data[k],
        });
    }
    Ok(data.len() / d)
}
