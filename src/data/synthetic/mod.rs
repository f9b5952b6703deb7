//! Synthetic multimodal datasets whose interactions are known: Boolean gates and mixtures of
//! predefined interactions. They are the command line's default data, so `dmil train` works
//! on a fresh machine, and the ground truth for interaction estimates.
//!
//! A dataset is named by a spec string, `NAME` or `NAME:key=value,...`:
//!
//! - Boolean: `and`, `or`, `xor`, any `+` mixture of distinct gates such as `and+xor` or
//!   `and+or+xor`, `copy`, `unique`, `redundant`; keys `d` (informative features per
//!   modality), `noise`, `extra` (pure-noise features), `extra_std`. See [`BooleanSpec`].
//! - Predefined interactions: `mix:r=0.75,u1=0.25`; keys `r`, `u1`, `u2`, `s` (fractions,
//!   non-negative, summing to 1; missing ones are 0), `c` (classes), `d` (features per
//!   block), `noise`. See [`MixSpec`].

mod gates;
mod interactions;
mod random_net;

pub use gates::{BooleanGate, BooleanSpec, BooleanTask};
pub use interactions::MixSpec;
pub use random_net::RandomNet;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::dataset::DataSplits;
use super::error::DataError;

/// The dataset the command line uses when no `--data` is given: XOR of one hidden bit per
/// modality, pure synergy, which late fusion (Joint, Ensemble) cannot represent and DMIL can.
pub const DEFAULT_SPEC: &str = "xor";

/// A parsed synthetic dataset name.
#[derive(Debug, Clone, PartialEq)]
pub enum SyntheticSpec {
    /// Two modalities, one hidden bit each, the label a Boolean function of the bits.
    Boolean(BooleanSpec),
    /// Two modalities, each sample one predefined interaction type.
    Mix(MixSpec),
}

impl SyntheticSpec {
    /// Parses a spec such as `xor`, `and+or+xor:noise=0.5` or `mix:r=0.5,s=0.5,c=4`.
    ///
    /// # Errors
    ///
    /// [`DataError::Spec`] naming the spec for an unknown name or key, a repeated gate or
    /// key, a value that does not parse or is out of range, or mix fractions that are
    /// negative or do not sum to 1.
    pub fn parse(spec: &str) -> Result<Self, DataError> {
        let fail = |reason: String| DataError::Spec {
            spec: spec.to_string(),
            reason,
        };
        let (name, options) = match spec.trim().split_once(':') {
            Some((name, options)) => (name.trim(), parse_options(options).map_err(fail)?),
            None => (spec.trim(), Vec::new()),
        };

        if name == "mix" {
            return parse_mix(&options).map(SyntheticSpec::Mix).map_err(fail);
        }
        let task = parse_task(name).map_err(fail)?;
        parse_boolean(task, &options)
            .map(SyntheticSpec::Boolean)
            .map_err(fail)
    }

    /// Number of classes of the datasets this spec makes.
    pub fn num_classes(&self) -> usize {
        match self {
            SyntheticSpec::Boolean(spec) => spec.task.num_classes(),
            SyntheticSpec::Mix(spec) => spec.classes,
        }
    }

    /// The Boolean gates a sample can follow; empty for other datasets.
    pub fn gates(&self) -> &[BooleanGate] {
        match self {
            SyntheticSpec::Boolean(spec) => spec.gates(),
            SyntheticSpec::Mix(_) => &[],
        }
    }
}

/// The most samples [`generate`] makes per split (each is a few hundred bytes).
pub const MAX_SAMPLES: usize = 10_000_000;

/// Generates `n_train` training and `n_test` test samples of `spec`.
///
/// The seed fixes everything: the fixed projections or networks (drawn from their own
/// ChaCha8 stream, so they do not depend on the sample counts) and the samples. The same
/// seed gives the same data on every platform. Training and test samples come from the same
/// encoders; each sample's gate or interaction type is recorded in `sample_kinds` (for
/// `copy`, which has no single type per sample, it is `None`).
///
/// # Errors
///
/// [`DataError::InvalidArgument`] when `n_train` or `n_test` is 0.
pub fn generate(
    spec: &SyntheticSpec,
    n_train: usize,
    n_test: usize,
    seed: u64,
) -> Result<DataSplits, DataError> {
    if n_train == 0 || n_test == 0 || n_train > MAX_SAMPLES || n_test > MAX_SAMPLES {
        let reason =
            format!("need 1 to {MAX_SAMPLES} samples per split, got {n_train} and {n_test}");
        return Err(DataError::argument("synthetic data", reason));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);

    let (train, test) = match spec {
        SyntheticSpec::Boolean(boolean) => {
            let projection = boolean.projections(seed);
            let train = boolean.sample(n_train, &projection, &mut rng);
            (train, boolean.sample(n_test, &projection, &mut rng))
        }
        SyntheticSpec::Mix(mix) => {
            let nets = mix.networks(seed);
            let train = mix.sample(n_train, &nets, &mut rng);
            (train, mix.sample(n_test, &nets, &mut rng))
        }
    };
    Ok(DataSplits { train, test })
}

/// The generator of a dataset's fixed structure (projections, networks): the seed's
/// ChaCha8 stream 1, apart from stream 0 that draws the samples.
fn structure_rng(seed: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(1);
    rng
}

/// Splits `k=v,k=v` into pairs, rejecting empty or repeated keys.
fn parse_options(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| format!("option {item:?} is not of the form key=value"))?;
        let key = key.trim().to_string();
        if pairs.iter().any(|(k, _)| *k == key) {
            return Err(format!("key {key:?} is given twice"));
        }
        pairs.push((key, value.trim().to_string()));
    }
    Ok(pairs)
}

/// Parses a Boolean task name: `copy`, `unique`, `redundant` or gates joined by `+`.
fn parse_task(name: &str) -> Result<BooleanTask, String> {
    match name {
        "copy" => return Ok(BooleanTask::Copy),
        "unique" => return Ok(BooleanTask::Unique),
        "redundant" => return Ok(BooleanTask::Redundant),
        _ => {}
    }

    let mut gates = Vec::new();
    for part in name.split('+') {
        let gate = BooleanGate::from_name(part.trim()).ok_or_else(|| {
            format!(
                "unknown name {part:?}; expected and, or, xor (joined by +), copy, unique, \
                 redundant, or mix:..."
            )
        })?;
        if gates.contains(&gate) {
            return Err(format!("gate {:?} is listed twice", gate.name()));
        }
        gates.push(gate);
    }
    Ok(BooleanTask::Gates(gates))
}

fn parse_boolean(task: BooleanTask, options: &[(String, String)]) -> Result<BooleanSpec, String> {
    let mut spec = BooleanSpec::new(task);
    for (key, value) in options {
        match key.as_str() {
            "d" => spec.features = parse_count(key, value, 1)?,
            "extra" => spec.extra = parse_count(key, value, 0)?,
            "noise" => spec.noise_std = parse_std(key, value)?,
            "extra_std" => spec.extra_std = parse_std(key, value)?,
            _ => {
                return Err(format!(
                    "unknown key {key:?}; expected d, noise, extra, extra_std"
                ))
            }
        }
    }
    Ok(spec)
}

fn parse_mix(options: &[(String, String)]) -> Result<MixSpec, String> {
    let mut spec = MixSpec {
        redundancy: 0.0,
        unique1: 0.0,
        unique2: 0.0,
        synergy: 0.0,
        classes: 2,
        block: 8,
        noise_std: 0.1,
    };
    for (key, value) in options {
        match key.as_str() {
            "r" => spec.redundancy = parse_fraction(key, value)?,
            "u1" => spec.unique1 = parse_fraction(key, value)?,
            "u2" => spec.unique2 = parse_fraction(key, value)?,
            "s" => spec.synergy = parse_fraction(key, value)?,
            "c" => spec.classes = parse_count(key, value, 2)?,
            "d" => spec.block = parse_count(key, value, 1)?,
            "noise" => spec.noise_std = parse_std(key, value)?,
            _ => {
                return Err(format!(
                    "unknown key {key:?}; expected r, u1, u2, s, c, d, noise"
                ))
            }
        }
    }

    let sum: f64 = spec.fractions().iter().sum();
    if (sum - 1.0).abs() > 1e-6 {
        return Err(format!(
            "the fractions r, u1, u2, s sum to {sum}, expected 1"
        ));
    }
    Ok(spec)
}

/// Upper bound on counts in specs, to keep a typo from asking for terabytes.
const MAX_COUNT: usize = 100_000;

fn parse_count(key: &str, value: &str, min: usize) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if (min..=MAX_COUNT).contains(&n) => Ok(n),
        _ => Err(format!(
            "{key}={value:?}: expected an integer in {min}..={MAX_COUNT}"
        )),
    }
}

fn parse_fraction(key: &str, value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(format!("{key}={value:?}: expected a fraction in [0, 1]")),
    }
}

fn parse_std(key: &str, value: &str) -> Result<f32, String> {
    match value.parse::<f32>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok(s),
        _ => Err(format!(
            "{key}={value:?}: expected a finite standard deviation >= 0"
        )),
    }
}
