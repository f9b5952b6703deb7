//! Dense Cholesky factorisation `M = L L^T` of a symmetric positive definite matrix and the
//! solve that follows it, for the Schur complement of the interior-point solver.
//!
//! # Method
//!
//! A recursive factorisation on a row-major `n x n` matrix. Split the columns in two halves,
//! `M = [M11 .; M21 M22]`, then
//!
//! 1. factorise `M11 = L11 L11^T` (recursively);
//! 2. solve `L21 = M21 L11^-T` (recursively, see [`solve_right`]);
//! 3. update `M22 -= L21 L21^T` (its lower triangle, see [`subtract_gram`]);
//! 4. factorise `M22 = L22 L22^T` (recursively).
//!
//! Below [`BASE`] columns the plain column-by-column algorithm takes over. Nearly all of the
//! `n^3 / 6` multiply-adds then fall in matrix products through `matrixmultiply::dgemm`, which
//! runs several times faster than the dot products of an unblocked factorisation (those read
//! every earlier row again for each new column, and each new entry waits on the previous one).

use std::ops::Range;

/// Width below which the recursion stops and the entries are computed one by one.
const BASE: usize = 32;

/// Factorises the symmetric positive definite row-major `n x n` matrix `m` in place: its
/// lower triangle, diagonal included, becomes L with `M = L L^T`. Only the lower triangle of
/// the input is read; the strict upper triangle is left as it was.
///
/// Pivots that rounding drives to zero or below are replaced by a tiny positive value, which
/// only damps a solve along a numerically null direction.
///
/// # Panics
///
/// If `m.len() != n * n` (a broken invariant of the caller).
pub(crate) fn factorise(m: &mut [f64], n: usize) {
    assert_eq!(
        m.len(),
        n * n,
        "Cholesky of a {n} x {n} matrix needs n^2 entries"
    );
    let scale = (0..n).map(|i| m[i * n + i]).fold(0.0, f64::max);
    let floor = scale * 1e-300 + f64::MIN_POSITIVE;
    factorise_block(m, n, 0..n, floor);
}

/// Factorises the diagonal block `M[cols, cols]`, whose rows the factor columns before
/// `cols.start` have already been subtracted from.
fn factorise_block(m: &mut [f64], n: usize, cols: Range<usize>, floor: f64) {
    let (lo, hi) = (cols.start, cols.end);
    if hi - lo <= BASE {
        for j in lo..hi {
            let row_j = j * n;
            let norm: f64 = m[row_j + lo..row_j + j].iter().map(|v| v * v).sum();
            m[row_j + j] = (m[row_j + j] - norm).max(floor).sqrt();
            let inverse = 1.0 / m[row_j + j];
            for i in j + 1..hi {
                let row_i = i * n;
                let reduced =
                    m[row_i + j] - dot(&m[row_i + lo..row_i + j], &m[row_j + lo..row_j + j]);
                m[row_i + j] = reduced * inverse;
            }
        }
        return;
    }

    let mid = lo + (hi - lo) / 2;
    factorise_block(m, n, lo..mid, floor);
    solve_right(m, n, mid..hi, lo..mid);
    subtract_gram(m, n, mid..hi, lo..mid);
    factorise_block(m, n, mid..hi, floor);
}

/// Overwrites `B = M[rows, cols]` with `X = B L^-T`, where `L = M[cols, cols]` is an already
/// factorised lower-triangular block: `X L^T = B`, whose column j reads
/// `X[:, j] = (B[:, j] - X[:, ..j] L[j, ..j]^T) / L[j, j]`.
fn solve_right(m: &mut [f64], n: usize, rows: Range<usize>, cols: Range<usize>) {
    let (lo, hi) = (cols.start, cols.end);
    if hi - lo <= BASE {
        let inverse: Vec<f64> = (lo..hi).map(|j| 1.0 / m[j * n + j]).collect();
        // Column by column, so that the rows, which do not depend on each other, overlap in
        // the pipeline (row by row, each entry would wait on the one before it).
        let (top, bottom) = m.split_at_mut(rows.start * n);
        let bottom = &mut bottom[..rows.len() * n];
        for j in lo..hi {
            let lj = &top[j * n + lo..j * n + j];
            for row in bottom.chunks_exact_mut(n) {
                row[j] = (row[j] - dot(&row[lo..j], lj)) * inverse[j - lo];
            }
        }
        return;
    }

    // [X1 X2] [L11^T L21^T; 0 L22^T] = [B1 B2]: X1 from B1, then X2 from B2 - X1 L21^T.
    let mid = lo + (hi - lo) / 2;
    solve_right(m, n, rows.clone(), lo..mid);
    subtract_product(m, n, rows.clone(), mid..hi, lo..mid);
    solve_right(m, n, rows, mid..hi);
}

/// The lower triangle of `M[rows, rows] -= A A^T` with `A = M[rows, depth]`, recursively so
/// that only the diagonal blocks below [`BASE`] are computed in full.
fn subtract_gram(m: &mut [f64], n: usize, rows: Range<usize>, depth: Range<usize>) {
    let (lo, hi) = (rows.start, rows.end);
    if hi - lo <= BASE {
        subtract_product(m, n, rows.clone(), rows, depth);
        return;
    }

    let mid = lo + (hi - lo) / 2;
    subtract_gram(m, n, lo..mid, depth.clone());
    subtract_product(m, n, mid..hi, lo..mid, depth.clone());
    subtract_gram(m, n, mid..hi, depth);
}

/// `M[rows, cols] -= M[rows, depth] M[cols, depth]^T` through `dgemm`, for column ranges
/// `cols` and `depth` that do not overlap (the product never reads what it writes).
///
/// # Panics
///
/// If `cols` and `depth` overlap or a range runs past `n` (broken invariants of the caller).
fn subtract_product(
    m: &mut [f64],
    n: usize,
    rows: Range<usize>,
    cols: Range<usize>,
    depth: Range<usize>,
) {
    assert!(
        (cols.end <= depth.start || depth.end <= cols.start)
            && rows.end.max(cols.end).max(depth.end) <= n,
        "Cholesky product: ranges {rows:?} x {cols:?} over {depth:?} break the layout"
    );
    let base = m.as_mut_ptr();

    // SAFETY: every index is below n * n = m.len(). The factors read columns `depth` and the
    // product writes columns `cols`, which do not overlap, so nothing read is written; all
    // three pointers come from the one `base`, so no live reference aliases the writes.
    unsafe {
        matrixmultiply::dgemm(
            rows.len(),
            depth.len(),
            cols.len(),
            -1.0,
            base.add(rows.start * n + depth.start),
            n as isize,
            1,
            base.add(cols.start * n + depth.start),
            1,
            n as isize,
            1.0,
            base.add(rows.start * n + cols.start),
            n as isize,
            1,
        );
    }
}

/// Solves `L L^T x = b` in place for the factor that [`factorise`] left in `l`.
///
/// # Panics
///
/// If `l.len() != n * n` or `b.len() != n` (a broken invariant of the caller).
pub(crate) fn solve(l: &[f64], n: usize, b: &mut [f64]) {
    assert!(
        l.len() == n * n && b.len() == n,
        "Cholesky solve: sizes disagree with n = {n}"
    );

    // Forward substitution L z = b, row by row.
    for i in 0..n {
        let row = &l[i * n..i * n + i];
        b[i] = (b[i] - dot(row, &b[..i])) / l[i * n + i];
    }

    // Back substitution L^T x = z: once x_i is known, remove its share from every earlier
    // equation, which reads row i of L contiguously instead of column i.
    for i in (0..n).rev() {
        b[i] /= l[i * n + i];
        let xi = b[i];
        for (bk, lik) in b[..i].iter_mut().zip(&l[i * n..i * n + i]) {
            *bk -= lik * xi;
        }
    }
}

/// Dot product with four independent accumulators, so the additions pipeline (a single
/// running sum is bound by the latency of each addition).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [0.0; 4];
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a4
        .remainder()
        .iter()
        .zip(b4.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a4.zip(b4) {
        for l in 0..4 {
            lanes[l] += x[l] * y[l];
        }
    }
    lanes.iter().sum::<f64>() + tail
}

#[cfg(test)]
mod tests {
    use super::{factorise, solve, BASE};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `G G^T + n I` for a random `n x n` matrix G: well conditioned and dense.
    fn random_spd(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let g: Vec<f64> = (0..n * n).map(|_| rng.random_range(-1.0..1.0)).collect();
        let mut m = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                m[i * n + j] = (0..n).map(|k| g[i * n + k] * g[j * n + k]).sum::<f64>();
            }
            m[i * n + i] += n as f64;
        }
        m
    }

    #[test]
    fn factor_reproduces_the_matrix_across_block_edges() {
        for n in [1, 5, BASE, BASE + 1, 3 * BASE, 6 * BASE + 7] {
            let m = random_spd(n, n as u64);
            let mut l = m.clone();
            factorise(&mut l, n);
            for i in 0..n {
                for j in 0..=i {
                    let llt: f64 = (0..=j).map(|k| l[i * n + k] * l[j * n + k]).sum();
                    let err = (llt - m[i * n + j]).abs();
                    assert!(
                        err < 1e-10 * n as f64,
                        "n {n}, ({i}, {j}): off by {err:.1e}"
                    );
                }
            }
        }
    }

    #[test]
    fn solve_leaves_a_small_residual() {
        let n = 9 * BASE - 5;
        let m = random_spd(n, 11);
        let x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
        let mut b: Vec<f64> = (0..n)
            .map(|i| (0..n).map(|j| m[i * n + j] * x[j]).sum())
            .collect();

        let mut l = m.clone();
        factorise(&mut l, n);
        solve(&l, n, &mut b);
        for (got, want) in b.iter().zip(&x) {
            assert!((got - want).abs() < 1e-10, "got {got}, want {want}");
        }
    }

    #[test]
    fn a_singular_matrix_gives_no_nan() {
        // Rank one: v v^T. Every pivot after the first rounds to zero and takes the floor.
        let n = 3 * BASE + 3;
        let v: Vec<f64> = (0..n).map(|i| 1.0 + i as f64).collect();
        let mut m: Vec<f64> = (0..n * n).map(|k| v[k / n] * v[k % n]).collect();
        factorise(&mut m, n);
        let mut b = vec![1.0; n];
        solve(&m, n, &mut b);
        assert!(m.iter().chain(&b).all(|x| !x.is_nan()));
    }
}
