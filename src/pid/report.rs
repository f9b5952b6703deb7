//! Result types of the decomposition, serialisable with serde.

use serde::{Deserialize, Serialize};

use super::JointDistribution;

/// A decomposition in bits: `total = redundancy + uniqueness[0] + uniqueness[1] + synergy`,
/// where `total` is I(X1, X2; Y).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PidBits {
    /// R: information about Y that both sources carry.
    pub redundancy: f64,
    /// `[U1, U2]`: information only X1, respectively only X2, carries.
    pub uniqueness: [f64; 2],
    /// S: information that only both sources together carry.
    pub synergy: f64,
    /// I(X1, X2; Y).
    pub total: f64,
}

/// A decomposition as percentages of I(X1, X2; Y); the four parts sum to 100, or are all
/// zero when the total is zero.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PidPercent {
    /// R as a percentage of the total.
    pub redundancy: f64,
    /// `[U1, U2]` as percentages of the total.
    pub uniqueness: [f64; 2],
    /// S as a percentage of the total.
    pub synergy: f64,
}

/// Totals at or below this many bits count as zero when converting to percentages, so a
/// target that carries no information gives all-zero percentages rather than NaN or noise.
pub const ZERO_TOTAL_BITS: f64 = 1e-12;

impl PidBits {
    /// The parts as percentages of [`PidBits::total`]; all zero if the total is at most
    /// [`ZERO_TOTAL_BITS`].
    pub fn percent(&self) -> PidPercent {
        if self.total <= ZERO_TOTAL_BITS {
            return PidPercent {
                redundancy: 0.0,
                uniqueness: [0.0, 0.0],
                synergy: 0.0,
            };
        }

        let scale = 100.0 / self.total;
        PidPercent {
            redundancy: self.redundancy * scale,
            uniqueness: [self.uniqueness[0] * scale, self.uniqueness[1] * scale],
            synergy: self.synergy * scale,
        }
    }
}

/// The full output of the exact solver: the decomposition and how it was reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PidDecomposition {
    /// The decomposition in bits.
    pub bits: PidBits,
    /// The decomposition in percent of I(X1, X2; Y).
    pub percent: PidPercent,
    /// q*, the distribution with p's pair marginals that minimises I_q(X1, X2; Y).
    pub optimum: JointDistribution,
    /// Newton steps taken by the interior-point solver.
    pub iterations: usize,
    /// Final duality-gap bound in bits: how far I_q(X1, X2; Y) may be above its
    /// minimum, so the error of each part is at most about this much.
    pub gap: f64,
    /// Whether the gap bound fell below the tolerance with the last barrier stage centred
    /// (not stopped by the step budget or by a line search stalled in floating point).
    pub converged: bool,
}
