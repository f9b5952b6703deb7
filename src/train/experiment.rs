//! Experiments: the path from a data source to a trained, evaluated model that the command
//! line and the tests share. Data flows one way: load, carve the selection split,
//! standardise with statistics of the fitting part, fit, evaluate on test.

use std::path::PathBuf;
use std::time::Instant;

use super::config::{Selection, TrainConfig};
use super::evaluate::{evaluate, Evaluation};
use super::observer::TrainObserver;
use super::tensor_data::TensorData;
use super::trainer::{fit, FitReport};
use crate::data::{self, DataSplits, Dataset, Standardizer, SyntheticSpec};
use crate::error::{Error, Result};
use crate::model::{self, ModelConfig, ModelKind, MultimodalModel, Stage};

/// A way to train a model stage by stage, with the contract of [`fit`]: the trainer itself, or
/// [`crate::step::fit_step`] running the explicit step on a GPU.
pub type Fitter<'a> = dyn FnMut(
        &dyn MultimodalModel,
        &TensorData,
        &TensorData,
        &TrainConfig,
        u64,
        &mut dyn TrainObserver,
    ) -> Result<FitReport>
    + 'a;

/// Samples of a synthetic dataset generated for training and for testing.
pub const SYNTHETIC_SIZES: (usize, usize) = (2000, 1000);

/// Where the data comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum DataSource {
    /// A built-in synthetic dataset by name (`xor`, `and+xor`, `mix:r=0.75,u1=0.25`, ...).
    Synthetic(String),
    /// A folder in the MOGONET layout.
    Dir(PathBuf),
}

impl DataSource {
    /// Parses `synthetic:NAME` or a folder path.
    pub fn parse(text: &str) -> DataSource {
        match text.strip_prefix("synthetic:") {
            Some(name) => DataSource::Synthetic(name.to_string()),
            None => DataSource::Dir(PathBuf::from(text)),
        }
    }

    /// The name shown in reports: `synthetic:NAME` or the folder path.
    pub fn name(&self) -> String {
        match self {
            DataSource::Synthetic(name) => format!("synthetic:{name}"),
            DataSource::Dir(path) => path.display().to_string(),
        }
    }

    /// Loads the train and test splits. `modalities` (numbered from 1) picks modalities of a
    /// folder; `None` takes all of them. Synthetic data is generated from `seed`.
    ///
    /// # Errors
    /// [`Error::Data`] for missing or malformed files or an unknown synthetic name;
    /// [`Error::Config`] for modalities a synthetic dataset does not have.
    pub fn load(&self, modalities: Option<&[usize]>, seed: u64) -> Result<DataSplits> {
        match self {
            DataSource::Synthetic(name) => {
                let spec = SyntheticSpec::parse(name)?;
                let (n_train, n_test) = SYNTHETIC_SIZES;
                let splits = data::generate(&spec, n_train, n_test, seed)?;
                match modalities {
                    None => Ok(splits),
                    Some(which) => {
                        let available = splits.train.num_modalities();
                        let valid = !which.is_empty()
                            && which.iter().all(|&m| (1..=available).contains(&m))
                            && which
                                .iter()
                                .enumerate()
                                .all(|(k, m)| !which[..k].contains(m));
                        if !valid {
                            return Err(Error::Config(format!(
                                "--modalities {which:?}: {name} has modalities 1..={available}, \
                                 each to be listed once"
                            )));
                        }
                        let zero_based: Vec<usize> = which.iter().map(|m| m - 1).collect();
                        Ok(DataSplits {
                            train: splits.train.select_modalities(&zero_based)?,
                            test: splits.test.select_modalities(&zero_based)?,
                        })
                    }
                }
            }
            DataSource::Dir(dir) => {
                if !dir.is_dir() {
                    let hint = dir
                        .to_str()
                        .filter(|name| SyntheticSpec::parse(name).is_ok())
                        .map(|name| format!("; for the built-in dataset write synthetic:{name}"))
                        .unwrap_or_default();
                    return Err(Error::Config(format!(
                        "{}: no such folder{hint}",
                        dir.display()
                    )));
                }
                let all;
                let which = match modalities {
                    Some(which) => which,
                    None => {
                        all = data::list_modalities(dir)?;
                        &all
                    }
                };
                Ok(data::load_dir(dir, which)?)
            }
        }
    }
}

/// Data ready for training: the fitting part, the selection part and the test split, all
/// standardised with statistics of the fitting part.
pub struct PreparedData {
    /// What the optimizer sees.
    pub fit: TensorData,
    /// What picks the best epoch (a validation split, or the test split under
    /// [`Selection::Test`]).
    pub select: TensorData,
    /// The held-out test split.
    pub test: TensorData,
    /// The raw test split, with its per-sample records (synthetic kinds).
    pub test_dataset: Dataset,
    /// Width of each modality.
    pub widths: Vec<usize>,
    /// Number of classes.
    pub num_classes: usize,
    /// The standardisation applied to all three parts, kept so checkpoints can apply it to
    /// new data.
    pub standardizer: Standardizer,
}

/// Carves the selection split, standardises and converts to tensors.
///
/// # Errors
/// [`Error::Data`] when the split cannot be made (too few samples).
pub fn prepare(
    splits: &DataSplits,
    selection: Selection,
    fraction: f64,
    seed: u64,
) -> Result<PreparedData> {
    check_labels(&splits.train)?;
    let (mut fit_part, mut select_part) = match selection {
        Selection::Validation => data::stratified_split(&splits.train, fraction, seed)?,
        Selection::Test => (splits.train.clone(), splits.test.clone()),
    };
    if fit_part.num_samples() == 0 || select_part.num_samples() == 0 {
        return Err(Error::Config(format!(
            "{} training samples cannot be split into fitting and validation parts with \
             fraction {fraction}; use more data, another --validation-fraction, or \
             --select-on test",
            splits.train.num_samples()
        )));
    }
    let mut test = splits.test.clone();
    let standardizer = Standardizer::fit(&fit_part)?;
    standardizer.apply(&mut fit_part)?;
    standardizer.apply(&mut select_part)?;
    standardizer.apply(&mut test)?;
    let num_classes = splits.train.num_classes.max(splits.test.num_classes);
    Ok(PreparedData {
        fit: TensorData::from_dataset(&fit_part)?,
        select: TensorData::from_dataset(&select_part)?,
        test: TensorData::from_dataset(&test)?,
        widths: fit_part.modality_widths(),
        num_classes,
        test_dataset: test,
        standardizer,
    })
}

/// Refuses training labels a classifier cannot learn from: fewer than two distinct classes,
/// or a largest label implying more classes than there are training samples (a stray label
/// such as 100000 would otherwise make every per-class table enormous).
fn check_labels(train: &Dataset) -> Result<()> {
    let mut present: Vec<usize> = train.labels.clone();
    present.sort_unstable();
    present.dedup();
    if present.len() < 2 {
        return Err(Error::Config(format!(
            "the training labels hold {} distinct class(es) ({present:?}); a classifier needs \
             at least 2",
            present.len()
        )));
    }
    let classes = train.num_classes;
    if classes > train.num_samples().max(2) {
        return Err(Error::Config(format!(
            "the largest label is {}, implying {classes} classes for {} training samples; \
             labels must be numbered 0..C-1",
            classes - 1,
            train.num_samples()
        )));
    }
    Ok(())
}

/// Trains a fresh model on the fitting and validation parts together, each stage for the
/// number of epochs that `report` found best, keeping the last epoch.
fn refit(
    fitter: &mut Fitter<'_>,
    config: &ModelConfig,
    report: &FitReport,
    data: &PreparedData,
    train: &TrainConfig,
    seed: u64,
    observer: &mut dyn TrainObserver,
) -> Result<Box<dyn MultimodalModel>> {
    let mut plan = train.clone();
    plan.keep_last_epoch = true;
    for stage in &report.stages {
        match stage.stage {
            Stage::Decompose => plan.decompose.epochs = stage.best_epoch,
            Stage::Interact => plan.interact.epochs = stage.best_epoch,
            Stage::FineTune => plan.finetune.epochs = stage.best_epoch,
            Stage::Supervised => plan.supervised.epochs = stage.best_epoch,
        }
    }
    let all = data.fit.concat(&data.select)?;
    let model = model::build(config, seed)?;
    fitter(model.as_ref(), &all, &all, &plan, seed, observer)?;
    Ok(model)
}

/// A trained model with its history and test results.
pub struct RunResult {
    /// The trained model (the best epoch of its last stage).
    pub model: Box<dyn MultimodalModel>,
    /// Stage-by-stage history.
    pub report: FitReport,
    /// Results on the test split.
    pub test: Evaluation,
    /// Wall time of building, training and evaluating.
    pub seconds: f64,
}

/// Builds a model of `kind` for `data` (defaults from [`ModelConfig::new`], then `customize`),
/// trains it and evaluates it on the test split.
///
/// # Errors
/// As [`model::build`], [`fit`] and [`evaluate`].
pub fn run(
    kind: ModelKind,
    data: &PreparedData,
    customize: &dyn Fn(&mut ModelConfig),
    train: &TrainConfig,
    seed: u64,
    observer: &mut dyn TrainObserver,
) -> Result<RunResult> {
    run_with(&mut fit, kind, data, customize, train, seed, observer)
}

/// [`run`] with `fitter` in place of the trainer's [`fit`] (for the first fit and the refit).
///
/// # Errors
/// As [`model::build`], `fitter` and [`evaluate`].
pub fn run_with(
    fitter: &mut Fitter<'_>,
    kind: ModelKind,
    data: &PreparedData,
    customize: &dyn Fn(&mut ModelConfig),
    train: &TrainConfig,
    seed: u64,
    observer: &mut dyn TrainObserver,
) -> Result<RunResult> {
    let started = Instant::now();
    let mut config = ModelConfig::new(kind, data.widths.clone(), data.num_classes);
    customize(&mut config);
    let mut model = model::build(&config, seed)?;
    let report = fitter(
        model.as_ref(),
        &data.fit,
        &data.select,
        train,
        seed,
        observer,
    )?;
    if train.refit && train.selection == Selection::Validation {
        model = refit(fitter, &config, &report, data, train, seed, observer)?;
    }
    let test = evaluate(model.as_ref(), &data.test, train.batch_size)?;
    if test.probabilities.is_empty() {
        return Err(Error::Config("the test split is empty".into()));
    }
    Ok(RunResult {
        model,
        report,
        test,
        seconds: started.elapsed().as_secs_f64(),
    })
}
