//! The exact joint distributions behind the built-in Boolean datasets, so their true
//! interaction proportions can be computed and compared with estimates.

use super::distribution::JointDistribution;
use crate::data::synthetic::BooleanTask;
use crate::data::{BooleanGate, SyntheticSpec};

/// The joint table `p(x1, x2, y)` of one gate with two uniform input bits.
pub fn gate_table(gate: BooleanGate) -> JointDistribution {
    indicator(2, |x1, x2, y| gate.apply(x1 == 1, x2 == 1) == y)
}

/// Uniform bits and a label that is a function of them: mass on the cells where `holds`.
fn indicator(classes: usize, holds: impl Fn(usize, usize, usize) -> bool) -> JointDistribution {
    JointDistribution::from_fn(2, 2, classes, |x1, x2, y| {
        f64::from(u8::from(holds(x1, x2, y)))
    })
    .expect("a rule over uniform bits gives a valid, non-empty table")
}

/// The tables whose mixture with equal weights is the distribution of the hidden bits and the
/// label of `spec`: one per gate for gate datasets, one for `copy`, `unique` and `redundant`;
/// `None` for mixtures of predefined interactions, whose features are continuous.
pub fn truth_tables(spec: &SyntheticSpec) -> Option<Vec<JointDistribution>> {
    let SyntheticSpec::Boolean(boolean) = spec else {
        return None;
    };
    Some(match &boolean.task {
        BooleanTask::Gates(gates) => gates.iter().map(|&g| gate_table(g)).collect(),
        BooleanTask::Copy => vec![indicator(4, |x1, x2, y| y == 2 * x1 + x2)],
        BooleanTask::Unique => vec![indicator(2, |x1, _, y| y == x1)],
        BooleanTask::Redundant => vec![indicator(2, |x1, x2, y| x1 == x2 && y == x1)],
    })
}
