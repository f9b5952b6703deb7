//! Seeded k-means clustering: k-means++ initialisation followed by Lloyd iterations.
//!
//! Matrices are row-major `n x d` slices of f64: row `i` is sample `i`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::features::check_matrix;
use super::PidError;

/// A fitted k-means clustering.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeans {
    /// Number of clusters, `min(k, n)`.
    pub k: usize,
    /// Centroids, row-major `k x d`.
    pub centroids: Vec<f64>,
    /// The cluster of each sample, in `0..k`.
    pub assignments: Vec<usize>,
    /// Lloyd iterations run.
    pub iterations: usize,
    /// Whether the assignments stopped changing before the iteration limit.
    pub converged: bool,
    /// Sum of squared distances from each sample to its centroid.
    pub inertia: f64,
}

/// Clusters an `n x d` matrix into `k` groups, deterministically for a given `seed`.
///
/// 1. k-means++: the first centre is a uniformly drawn sample, each next one a sample drawn
///    with probability proportional to its squared distance to the nearest centre so far
///    (uniformly if all samples coincide with centres).
/// 2. Lloyd: assign every sample to its nearest centre (the lowest index on ties), move each
///    centre to the mean of its samples, repeat until no assignment changes or `max_iter`
///    iterations have run.
/// 3. A cluster left empty takes over the sample farthest from its own centre, so no centre
///    is wasted while distinct samples remain.
///
/// If `k > n`, `n` clusters are used.
///
/// # Errors
///
/// [`PidError::InvalidArgument`] if `k` or `max_iter` is zero, or `d` is zero or does not
/// divide `data.len()`; [`PidError::Empty`] for no samples; [`PidError::InvalidEntry`] for a
/// non-finite value.
pub fn kmeans(
    data: &[f64],
    d: usize,
    k: usize,
    seed: u64,
    max_iter: usize,
) -> Result<KMeans, PidError> {
    let n = check_matrix(data, d, "kmeans")?;
    if k == 0 || max_iter == 0 {
        return Err(PidError::InvalidArgument {
            what: "k-means clustering",
            reason: format!("k ({k}) and max_iter ({max_iter}) must both be at least 1"),
        });
    }
    let k = k.min(n);
    let row = |i: usize| &data[i * d..(i + 1) * d];

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut centroids = plus_plus_init(data, d, n, k, &mut rng);

    let mut assignments = vec![usize::MAX; n];
    let mut iterations = 0;
    let mut converged = false;
    while iterations < max_iter {
        iterations += 1;

        // Assignment step.
        let mut changed = false;
        for (i, slot) in assignments.iter_mut().enumerate() {
            let (best, _) = nearest(row(i), &centroids, d);
            if *slot != best {
                *slot = best;
                changed = true;
            }
        }
        if !changed {
            converged = true;
            break;
        }

        // Update step: each centre moves to the mean of its samples.
        let mut sums = vec![0.0; k * d];
        let mut counts = vec![0usize; k];
        for (i, &c) in assignments.iter().enumerate() {
            counts[c] += 1;
            for (s, x) in sums[c * d..(c + 1) * d].iter_mut().zip(row(i)) {
                *s += x;
            }
        }
        for c in 0..k {
            if counts[c] > 0 {
                for f in 0..d {
                    centroids[c * d + f] = sums[c * d + f] / counts[c] as f64;
                }
            }
        }

        // Empty clusters: move each onto the sample farthest from its centre.
        for c in 0..k {
            if counts[c] > 0 {
                continue;
            }
            let far = (0..n)
                .map(|i| {
                    (
                        i,
                        squared_distance(row(i), &centroids[assignments[i] * d..][..d]),
                    )
                })
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map_or(0, |(i, _)| i);
            counts[assignments[far]] -= 1;
            assignments[far] = c;
            counts[c] = 1;
            centroids[c * d..(c + 1) * d].copy_from_slice(row(far));
        }
    }

    let inertia = (0..n)
        .map(|i| squared_distance(row(i), &centroids[assignments[i] * d..][..d]))
        .sum();
    Ok(KMeans {
        k,
        centroids,
        assignments,
        iterations,
        converged,
        inertia,
    })
}

/// k-means++ seeding of `k` centres.
fn plus_plus_init(data: &[f64], d: usize, n: usize, k: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let row = |i: usize| &data[i * d..(i + 1) * d];

    let mut centroids = Vec::with_capacity(k * d);
    centroids.extend_from_slice(row(rng.random_range(0..n)));

    let mut dist: Vec<f64> = (0..n)
        .map(|i| squared_distance(row(i), &centroids[..d]))
        .collect();
    while centroids.len() < k * d {
        let total: f64 = dist.iter().sum();
        let chosen = if total > 0.0 {
            let mut target = rng.random::<f64>() * total;
            let mut pick = n - 1;
            for (i, &w) in dist.iter().enumerate() {
                if target < w {
                    pick = i;
                    break;
                }
                target -= w;
            }
            pick
        } else {
            rng.random_range(0..n)
        };

        centroids.extend_from_slice(row(chosen));
        let last = &centroids[centroids.len() - d..];
        for (i, slot) in dist.iter_mut().enumerate() {
            *slot = slot.min(squared_distance(row(i), last));
        }
    }
    centroids
}

/// Index and squared distance of the centre nearest to `x` (lowest index on ties).
fn nearest(x: &[f64], centroids: &[f64], d: usize) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (c, centre) in centroids.chunks(d).enumerate() {
        let dist = squared_distance(x, centre);
        if dist < best.1 {
            best = (c, dist);
        }
    }
    best
}

/// Squared Euclidean distance.
fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum()
}
