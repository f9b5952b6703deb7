//! The two readings of the "true" decomposition of a mixture of gates.
//!
//! In the paper's synthetic Boolean data each sample follows one of several gates (AND, OR,
//! XOR, ...) chosen with equal probability, and which gate is hidden. The paper's Table 5
//! "Truth" row is the equal-weight average of each gate's own PID percentages
//! ([`paper_truth`]). The exact PID of the data as observed, the pooled mixture with the gate
//! hidden ([`pooled_mixture`]), is a different number: AND+XOR gives 19.1 / 80.9 percent
//! redundancy / synergy by the first reading and 23.87 / 76.13 by the second.

use super::exact::decompose;
use super::report::{PidDecomposition, PidPercent};
use super::{JointDistribution, PidError};

/// The paper's "truth" for an equal-weight mixture of gates: the mean over `gates` of each
/// gate's exact PID percentages.
///
/// # Errors
///
/// [`PidError::Empty`] if `gates` is empty.
pub fn paper_truth(gates: &[JointDistribution]) -> Result<PidPercent, PidError> {
    if gates.is_empty() {
        return Err(PidError::Empty { what: "gate list" });
    }

    let mut sum = PidPercent {
        redundancy: 0.0,
        uniqueness: [0.0, 0.0],
        synergy: 0.0,
    };
    for gate in gates {
        let part = decompose(gate).percent;
        sum.redundancy += part.redundancy;
        sum.uniqueness[0] += part.uniqueness[0];
        sum.uniqueness[1] += part.uniqueness[1];
        sum.synergy += part.synergy;
    }

    let n = gates.len() as f64;
    Ok(PidPercent {
        redundancy: sum.redundancy / n,
        uniqueness: [sum.uniqueness[0] / n, sum.uniqueness[1] / n],
        synergy: sum.synergy / n,
    })
}

/// The exact PID of the equal-weight pooled mixture of `gates` (the gate hidden).
///
/// # Errors
///
/// [`PidError::Empty`] if `gates` is empty.
pub fn pooled_mixture(gates: &[JointDistribution]) -> Result<PidDecomposition, PidError> {
    let weighted: Vec<(f64, JointDistribution)> = gates.iter().map(|g| (1.0, g.clone())).collect();
    let pooled = JointDistribution::mixture(&weighted)?;
    Ok(decompose(&pooled))
}
