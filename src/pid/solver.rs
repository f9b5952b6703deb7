//! The convex optimisation behind the exact decomposition: minimise
//! `g(q) = sum q ln q(y | x1, x2)` over the distributions q with given pair marginals
//! q(x1, y) and q(x2, y), by a primal log-barrier interior-point method.
//!
//! # Method
//!
//! Only support cells are variables: (x1, x2, y) with p(x1, y) > 0 and p(x2, y) > 0; every
//! other cell of a feasible q is zero. For a barrier weight mu > 0 we minimise
//! `phi(q) = g(q) - mu sum ln q` on the affine set `A q = b` (the pair marginals) by Newton
//! steps with a backtracking (Armijo) line search that keeps q positive, then divide mu by
//! [`MU_FACTOR`] and repeat. Each new stage starts from the previous minimiser moved along
//! the tangent of the central path (a predictor step that reuses the last factorisation; see
//! `Problem::predict`).
//!
//! The Newton steps are primal-dual in their Hessian only: the barrier's curvature
//! `mu / q^2` is replaced by `z / q`, with dual estimates z (one per cell) updated by Newton's
//! step on the complementarity condition `q z = mu`. At the centre `z = mu / q` and the two
//! agree. Away from it, and right after mu shrinks, `z / q` keeps the curvature of the old
//! centre, so cells can shrink or grow by large factors in one step, where the pure barrier
//! Hessian lets a cell at most double per step (the middle stages then converged linearly,
//! 10 to 20 full Newton steps each). The matrix stays positive definite, so every direction
//! still descends on `phi` and the line search on `phi` keeps the method globally convergent.
//! Together with a factor of 100 between stages this takes a random 32 x 32 x 10 table from
//! 63-81 Newton steps to 33-35.
//!
//! Known shortcomings: the primal barrier alone, with the predictor, failed at a factor of
//! 100 on small degenerate tables (a 2 x 4 x 2 table whose sources determine each other ended
//! 3e-5 bits off); with the dual estimates it does not on 21 000 random tables (sizes 1 to 6,
//! up to 60 % zero cells), but no theory backs the factor. On those tables a decomposition
//! and that of the source-swapped table still differ by up to 2.1e-5 bits (the solver before
//! these changes: up to 4.8e-2), so the accuracy is well short of the gap bound below.
//!
//! Newton's system `H d + A^T nu = -grad`, `A d = 0` is solved through the Schur complement
//! `A H^-1 A^T nu = -A H^-1 grad`. The Hessian is block diagonal, one block per source pair
//! x = (x1, x2): `diag(1/q + z/q) - (1/q(x)) 1 1^T`, so `H^-1` follows from
//! Sherman-Morrison per block, and the Schur complement is a dense symmetric positive
//! definite matrix with one row per marginal constraint, factorised by Cholesky (see the
//! `cholesky` module). Within each y-slice one column-sum constraint is implied by the others
//! and is dropped.
//!
//! # Stopping rule
//!
//! At the minimiser of `phi` for weight mu, `g(q) - min g <= m mu` where m is the number of
//! variables (the standard duality-gap bound of the barrier method). A stage counts as
//! centred when the Newton decrement, measured with the primal-dual Hessian, is below
//! [`CENTRING_TOLERANCE`]; the solver stops when
//! `m mu / ln 2` is below the tolerance in bits, or when the budget of Newton steps is spent.

use super::cholesky;

/// Each barrier stage divides the weight mu by this.
const MU_FACTOR: f64 = 100.0;

/// A barrier stage ends when half the squared Newton decrement falls below this (nats).
const CENTRING_TOLERANCE: f64 = 1e-15;

/// The final marginal fit stops when a slice's row sums are off by less than this in total.
const FIT_TOLERANCE: f64 = 1e-16;

/// At most this many sweeps of the final marginal fit per slice. Usually a handful do; cells
/// that the barrier left just above zero can slow the fit to thousands (a 5 x 5 x 2 table with
/// 100 sweeps stopped 1.6e-9 off its marginals; see `tests/pid_known.rs`).
const FIT_MAX_SWEEPS: usize = 10_000;

/// Armijo constant of the backtracking line search.
const ARMIJO: f64 = 0.25;

/// A line search that would have to cut the step below this ends the stage as stalled. Such
/// steps only happen when the Newton decrement sits at the rounding floor of `phi`, just above
/// [`CENTRING_TOLERANCE`]; accepting them let one 5 x 6 x 4 table crawl for 1000 steps.
const MIN_STEP: f64 = 1e-8;

/// Dual estimates are kept within this factor of their central value `mu / q`, so that a
/// wild dual step cannot make the Hessian's barrier term vanish or explode.
const DUAL_SPREAD: f64 = 1e10;

/// The minimiser and how it was reached.
pub(crate) struct Solution {
    /// The full table q(x1, x2, y), row-major `n1 x n2 x ny`.
    pub q: Vec<f64>,
    /// Newton steps taken.
    pub steps: usize,
    /// Bound on `g(q) - min g`, in bits, valid if every barrier stage was centred.
    pub gap: f64,
    /// Whether the last barrier stage ended centred rather than on a line search that could
    /// no longer decrease the objective in floating point, or on the step budget.
    pub centred: bool,
}

/// How a Newton step ended.
enum Step {
    /// q moved; the stage goes on.
    Moved,
    /// The Newton decrement is negligible: the stage is centred. Holds the Newton system
    /// at the unchanged q, which the step to the next stage reuses.
    Centred(Linearised),
    /// The line search found no decrease representable in f64.
    Stalled,
}

/// The Newton system of the barrier objective at one point.
struct Linearised {
    /// Gradient of `phi`, one entry per cell.
    grad: Vec<f64>,
    /// The diagonal part of `H^-1`, `1 / (1/q + z/q)`, one entry per cell.
    dinv: Vec<f64>,
    /// The Sherman-Morrison weight of each source pair's block.
    weight: Vec<f64>,
    /// The Cholesky factor of the Schur complement `A H^-1 A^T`, row-major.
    factor: Vec<f64>,
}

/// The sparsity structure of the problem.
struct Problem {
    /// Flat table index of each support cell; cells are ordered by (x1, x2) then y.
    flat: Vec<usize>,
    /// `start[x]..start[x + 1]` are the cells of source pair x.
    start: Vec<usize>,
    /// Constraint index of the row sum (x1, y) each cell enters.
    row: Vec<usize>,
    /// Constraint index of the column sum (x2, y) each cell enters, if kept.
    col: Vec<Option<usize>>,
    /// Number of constraints kept.
    constraints: usize,
    /// The value each kept constraint prescribes: p(x1, y) or p(x2, y).
    target: Vec<f64>,
}

/// Minimises g from the feasible product point `p(x1, y) p(x2, y) / p(y)`.
pub(crate) fn minimise(
    dims: (usize, usize, usize),
    p1: &[f64],
    p2: &[f64],
    py: &[f64],
    tolerance: f64,
    max_steps: usize,
) -> Solution {
    let (n1, n2, ny) = dims;
    let problem = Problem::new(dims, p1, p2);
    let m = problem.flat.len();

    let mut q: Vec<f64> = problem
        .flat
        .iter()
        .map(|&f| {
            let (i, j, y) = (f / (n2 * ny), (f / ny) % n2, f % ny);
            p1[i * ny + y] * p2[j * ny + y] / py[y]
        })
        .collect();

    // Step 1: barrier stages, from a weight comparable to the cells down to the tolerance.
    let mut mu = 1.0 / m as f64;
    let mut steps = 0;
    let mut workspace = Vec::new();
    let mut last = Step::Moved;
    let mut z: Vec<f64> = q.iter().map(|v| mu / v).collect();
    loop {
        while steps < max_steps {
            steps += 1;
            last = problem.newton_step(&mut q, &mut z, mu, &mut workspace);
            if !matches!(last, Step::Moved) {
                break;
            }
        }

        if m as f64 * mu / std::f64::consts::LN_2 <= tolerance || steps >= max_steps {
            break;
        }
        let next = mu / MU_FACTOR;
        if let Step::Centred(lin) = &mut last {
            problem.predict(&mut q, lin, mu, next);
            workspace = std::mem::take(&mut lin.factor);
        }
        mu = next;
    }

    // Step 2: scatter the support cells back into the full table and remove the rounding
    // drift from the marginals.
    let mut table = vec![0.0; n1 * n2 * ny];
    for (&f, &v) in problem.flat.iter().zip(&q) {
        table[f] = v;
    }
    for y in 0..ny {
        fit_slice(dims, y, &mut table, p1, p2);
    }
    Solution {
        q: table,
        steps,
        gap: m as f64 * mu / std::f64::consts::LN_2,
        centred: matches!(last, Step::Centred(_)),
    }
}

impl Problem {
    /// Lists the support cells and numbers the constraints.
    fn new(dims: (usize, usize, usize), p1: &[f64], p2: &[f64]) -> Self {
        let (n1, n2, ny) = dims;

        let mut row_index = vec![usize::MAX; n1 * ny];
        let mut col_index = vec![None; n2 * ny];
        let mut target = Vec::new();
        for y in 0..ny {
            for i in (0..n1).filter(|&i| p1[i * ny + y] > 0.0) {
                row_index[i * ny + y] = target.len();
                target.push(p1[i * ny + y]);
            }
            let cols: Vec<usize> = (0..n2).filter(|&j| p2[j * ny + y] > 0.0).collect();
            for &j in cols.iter().skip(1) {
                col_index[j * ny + y] = Some(target.len());
                target.push(p2[j * ny + y]);
            }
        }

        let (mut flat, mut start, mut row, mut col) = (vec![], vec![0], vec![], vec![]);
        for i in 0..n1 {
            for j in 0..n2 {
                for y in 0..ny {
                    if p1[i * ny + y] > 0.0 && p2[j * ny + y] > 0.0 {
                        flat.push((i * n2 + j) * ny + y);
                        row.push(row_index[i * ny + y]);
                        col.push(col_index[j * ny + y]);
                    }
                }
                start.push(flat.len());
            }
        }
        Self {
            flat,
            start,
            row,
            col,
            constraints: target.len(),
            target,
        }
    }

    /// The Newton system of `phi` for weight `mu` at `q`, with dual estimates `z` in the
    /// Hessian: gradient, Hessian inverse pieces and the factorised Schur complement.
    ///
    /// The Schur complement is built in `schur`'s allocation (any length; it is cleared),
    /// which saves allocating and zeroing fresh pages for every step.
    // Cells and blocks index several parallel arrays at once; index loops read best here.
    #[allow(clippy::needless_range_loop)]
    fn linearise(&self, q: &[f64], z: &[f64], mu: f64, mut schur: Vec<f64>) -> Linearised {
        let m = q.len();
        let r = self.constraints;
        let pairs = self.start.len() - 1;

        // Gradient ln q - ln q(x) - mu / q, diagonal inverse 1 / (1/q + z/q) and the
        // Sherman-Morrison weight of each block.
        let mut grad = vec![0.0; m];
        let mut dinv = vec![0.0; m];
        let mut weight = vec![0.0; pairs];
        for x in 0..pairs {
            let cells = self.start[x]..self.start[x + 1];
            let s: f64 = q[cells.clone()].iter().sum();

            // s - sum dinv = sum q w / (q + w) with w = q z (mu at the centre), summed
            // directly to avoid cancellation.
            let mut slack = 0.0;
            for k in cells {
                grad[k] = (q[k] / s).ln() - mu / q[k];
                let w = q[k] * z[k];
                dinv[k] = q[k] * q[k] / (q[k] + w);
                slack += q[k] * w / (q[k] + w);
            }
            weight[x] = 1.0 / slack;
        }

        // Schur complement M = A H^-1 A^T, only the lower triangle, which is all the
        // factorisation reads. A pair's cells come in increasing y, and within a slice every
        // row constraint is numbered before every column constraint, so `touched` lists
        // increasing indices and its prefix up to an entry holds that entry's partners.
        schur.clear();
        schur.resize(r * r, 0.0);
        let mut touched = Vec::new();
        for x in 0..pairs {
            touched.clear();
            for k in self.start[x]..self.start[x + 1] {
                let (a, d) = (self.row[k], dinv[k]);
                schur[a * r + a] += d;
                touched.push((a, d));
                if let Some(c) = self.col[k] {
                    schur[c * r + c] += d;
                    schur[c * r + a] += d;
                    touched.push((c, d));
                }
            }
            for (end, &(a, u)) in touched.iter().enumerate() {
                let scaled = weight[x] * u;
                for &(b, v) in &touched[..=end] {
                    schur[a * r + b] += scaled * v;
                }
            }
        }
        cholesky::factorise(&mut schur, r);

        Linearised {
            grad,
            dinv,
            weight,
            factor: schur,
        }
    }

    /// Solves `H d + A^T nu = -v`, `A d = -residual` (or `A d = 0`) for d, through the
    /// Schur complement: `M nu = residual - A H^-1 v`, then `d = -H^-1 (v + A^T nu)`.
    fn solve_kkt(&self, lin: &Linearised, v: &[f64], residual: Option<&[f64]>) -> Vec<f64> {
        let hinv_v = self.apply_hinv(v, &lin.dinv, &lin.weight);
        let mut nu = match residual {
            Some(res) => res.to_vec(),
            None => vec![0.0; self.constraints],
        };
        for (k, h) in hinv_v.iter().enumerate() {
            nu[self.row[k]] -= h;
            if let Some(c) = self.col[k] {
                nu[c] -= h;
            }
        }
        cholesky::solve(&lin.factor, self.constraints, &mut nu);

        let shifted: Vec<f64> = v
            .iter()
            .enumerate()
            .map(|(k, vk)| vk + nu[self.row[k]] + self.col[k].map_or(0.0, |c| nu[c]))
            .collect();
        let mut d = self.apply_hinv(&shifted, &lin.dinv, &lin.weight);
        d.iter_mut().for_each(|dk| *dk = -*dk);
        d
    }

    /// `A q - b`: how far rounding has moved q off the marginals.
    fn constraint_residual(&self, q: &[f64]) -> Vec<f64> {
        let mut res: Vec<f64> = self.target.iter().map(|b| -b).collect();
        for (k, qk) in q.iter().enumerate() {
            res[self.row[k]] += qk;
            if let Some(c) = self.col[k] {
                res[c] += qk;
            }
        }
        res
    }

    /// One damped Newton step on `phi` for weight `mu`.
    ///
    /// `workspace` lends its allocation to the Schur complement and gets it back, except
    /// when the stage is centred: then [`Step::Centred`] holds it.
    fn newton_step(&self, q: &mut [f64], z: &mut [f64], mu: f64, workspace: &mut Vec<f64>) -> Step {
        // Direction d with A d = b - A q, which steers rounding drift back onto the
        // constraints, and the Newton decrement lambda^2 = -grad . d.
        let lin = self.linearise(q, z, mu, std::mem::take(workspace));
        let dir = self.solve_kkt(&lin, &lin.grad, Some(&self.constraint_residual(q)));
        let slope: f64 = lin.grad.iter().zip(&dir).map(|(g, d)| g * d).sum();
        if -slope / 2.0 <= CENTRING_TOLERANCE {
            return Step::Centred(lin);
        }
        *workspace = lin.factor;
        if !slope.is_finite() {
            return Step::Stalled;
        }

        // Backtracking line search, never leaving q > 0.
        let mut t = step_to_boundary(q, &dir);
        let current = self.barrier_objective(q, mu);
        let mut trial = vec![0.0; q.len()];
        while t > MIN_STEP {
            for ((tk, qk), dk) in trial.iter_mut().zip(q.iter()).zip(&dir) {
                *tk = qk + t * dk;
            }
            if self.barrier_objective(&trial, mu) <= current + ARMIJO * t * slope {
                update_duals(q, z, &dir, &trial, mu);
                q.copy_from_slice(&trial);
                return Step::Moved;
            }
            t *= 0.5;
        }
        Step::Stalled
    }

    /// Moves a point centred for weight `mu` along the central path towards weight `next`.
    ///
    /// The centre q(mu) satisfies `grad g(q) - mu / q + A^T nu = 0`, `A q = b`; differentiating
    /// in mu gives the tangent `H t + A^T w = 1 / q`, `A t = 0`, with the Hessian H that
    /// centring has just factorised (at the centre its term `z / q` is `mu / q^2`, as far as
    /// the dual estimates have converged). A cell that vanishes at the optimum sits near
    /// `mu / z*` on the path (z* its optimal dual), linear in mu, so `q + (next - mu) t`
    /// shrinks it by `next / mu` at once, which Newton steps from the old centre, capped at
    /// the boundary, would need several steps for. The prediction is kept only if it is
    /// positive and lowers the next stage's objective; the Newton steps that follow correct
    /// it either way.
    fn predict(&self, q: &mut [f64], lin: &Linearised, mu: f64, next: f64) {
        let inverse: Vec<f64> = q.iter().map(|v| -1.0 / v).collect();
        let mut shift = self.solve_kkt(lin, &inverse, None);
        shift.iter_mut().for_each(|t| *t *= next - mu);

        let fraction = step_to_boundary(q, &shift);
        let trial: Vec<f64> = q
            .iter()
            .zip(&shift)
            .map(|(v, d)| v + fraction * d)
            .collect();
        let gain = self.barrier_objective(&trial, next) < self.barrier_objective(q, next);
        if trial.iter().all(|v| v.is_finite() && *v > 0.0) && gain {
            q.copy_from_slice(&trial);
        }
    }

    /// `H^-1 v`, block by block: `D^-1 v + D^-1 1 (w 1^T D^-1 v)`.
    fn apply_hinv(&self, v: &[f64], dinv: &[f64], weight: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; v.len()];
        for (x, w) in weight.iter().enumerate() {
            let cells = self.start[x]..self.start[x + 1];
            let t: f64 = cells.clone().map(|k| dinv[k] * v[k]).sum();
            for k in cells {
                out[k] = dinv[k] * (v[k] + w * t);
            }
        }
        out
    }

    /// `phi(q) = sum q ln q(y | x) - mu sum ln q`, in nats.
    fn barrier_objective(&self, q: &[f64], mu: f64) -> f64 {
        let mut total = 0.0;
        for x in 0..self.start.len() - 1 {
            let cells = &q[self.start[x]..self.start[x + 1]];
            let s: f64 = cells.iter().sum();
            for &v in cells {
                total += v * (v / s).ln() - mu * v.ln();
            }
        }
        total
    }
}

/// Updates the dual estimates after the primal step `q -> q_new` along `d`: Newton's step on
/// the complementarity condition `q z = mu` is `dz = (mu - z (q + d)) / q`; it is taken as far
/// as keeps z at least 1 % of itself, and then held within [`DUAL_SPREAD`] of `mu / q_new`.
fn update_duals(q: &[f64], z: &mut [f64], d: &[f64], q_new: &[f64], mu: f64) {
    let dz: Vec<f64> = (0..q.len())
        .map(|k| (mu - z[k] * (q[k] + d[k])) / q[k])
        .collect();
    let alpha = step_to_boundary(z, &dz);
    for k in 0..q.len() {
        let centre = mu / q_new[k];
        z[k] = (z[k] + alpha * dz[k]).clamp(centre / DUAL_SPREAD, centre * DUAL_SPREAD);
    }
}

/// The largest step `t <= 1` along `dir` that keeps every cell at least 1 % of its value:
/// `q + t dir >= 0.01 q`.
fn step_to_boundary(q: &[f64], dir: &[f64]) -> f64 {
    q.iter()
        .zip(dir)
        .filter(|(_, d)| **d < 0.0)
        .fold(1.0, |t, (qk, dk)| t.min(-0.99 * qk / dk))
}

/// Iterative proportional fitting of slice `y` of the table: alternately rescale its rows
/// to p(x1, y) and its columns to p(x2, y) until the rows are off by less than
/// [`FIT_TOLERANCE`] in total (or [`FIT_MAX_SWEEPS`] sweeps). Columns are fitted last, so
/// they hold to rounding. Only used to remove rounding drift.
fn fit_slice(dims: (usize, usize, usize), y: usize, q: &mut [f64], p1: &[f64], p2: &[f64]) {
    let (n1, n2, ny) = dims;
    let at = |i: usize, j: usize| (i * n2 + j) * ny + y;

    for _ in 0..FIT_MAX_SWEEPS {
        let mut error = 0.0;
        for i in 0..n1 {
            let row: f64 = (0..n2).map(|j| q[at(i, j)]).sum();
            error += (row - p1[i * ny + y]).abs();
            if row > 0.0 {
                let scale = p1[i * ny + y] / row;
                (0..n2).for_each(|j| q[at(i, j)] *= scale);
            }
        }
        for j in 0..n2 {
            let col: f64 = (0..n1).map(|i| q[at(i, j)]).sum();
            if col > 0.0 {
                let scale = p2[j * ny + y] / col;
                (0..n1).for_each(|i| q[at(i, j)] *= scale);
            }
        }
        if error < FIT_TOLERANCE {
            break;
        }
    }
}
