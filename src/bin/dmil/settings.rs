//! Turning command-line settings into the library's configurations.

use dmil::model::ModelConfig;
use dmil::train::{OptimizerKind, Selection, SelectionMetric, TrainConfig};
use dmil::{Error, Result};

use crate::cli::{FitArgs, OptimizerArg, SelectBy, SelectOn};

/// The training configuration `args` ask for, on top of the defaults.
///
/// # Errors
/// [`Error::Config`] for `--epochs` without exactly three values, or `--select-on both`.
pub fn train_config(args: &FitArgs, selection: SelectOn) -> Result<TrainConfig> {
    let mut config = TrainConfig {
        selection: match selection {
            SelectOn::Validation => Selection::Validation,
            SelectOn::Test => Selection::Test,
            SelectOn::Both => {
                return Err(Error::Config(
                    "--select-on both is for `dmil compare`".into(),
                ))
            }
        },
        ..TrainConfig::default()
    };
    if let Some(kind) = args.optimizer {
        config.optimizer = match kind {
            OptimizerArg::Sgd => OptimizerKind::Sgd,
            OptimizerArg::Adam => OptimizerKind::Adam,
        };
    }
    if let Some(by) = args.select_by {
        config.selection_metric = match by {
            SelectBy::Acc => SelectionMetric::Accuracy,
            SelectBy::AccMap => SelectionMetric::AccuracyPlusMap,
        };
    }
    if let Some(batch) = args.batch_size {
        config.batch_size = batch;
    }
    if let Some(epochs) = &args.epochs {
        let [e1, e2, e3] = epochs[..] else {
            return Err(Error::Config(format!(
                "--epochs takes three values E1,E2,E3, got {epochs:?}"
            )));
        };
        let total = e1
            .checked_add(e2)
            .and_then(|t| t.checked_add(e3))
            .filter(|&t| t <= 1_000_000)
            .ok_or_else(|| Error::Config(format!("--epochs {epochs:?}: at most 10^6 in all")))?;
        if total == 0 {
            return Err(Error::Config("--epochs 0,0,0 would train nothing".into()));
        }
        config.decompose.epochs = e1;
        config.interact.epochs = e2;
        config.finetune.epochs = e3;
        config.supervised.epochs = total;
    }
    if let Some(lr) = args.lr {
        config.decompose.learning_rate = lr;
        config.interact.learning_rate = lr;
        config.finetune.learning_rate = lr / 10.0;
        config.supervised.learning_rate = lr;
    }
    config.refit = args.refit;
    if let Some(decay) = args.weight_decay {
        config.weight_decay = decay;
    }
    if let Some(fraction) = args.validation_fraction {
        config.validation_fraction = fraction;
    }
    config.validate()?;
    Ok(config)
}

/// Refuses a `--modalities` list with modality 0 or a modality listed twice, in the flag's
/// words (the data layer would otherwise be the one to say it).
pub fn check_modalities(modalities: Option<&[usize]>) -> Result<()> {
    let Some(list) = modalities else {
        return Ok(());
    };
    let shown = |list: &[usize]| {
        list.iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    if list.contains(&0) {
        return Err(Error::Config(format!(
            "--modalities {}: modalities are numbered from 1",
            shown(list)
        )));
    }
    if let Some((_, m)) = list
        .iter()
        .enumerate()
        .find(|(k, m)| list[..*k].contains(m))
    {
        return Err(Error::Config(format!(
            "--modalities {}: modality {m} is listed twice",
            shown(list)
        )));
    }
    Ok(())
}

/// Applies the model settings of `args` to a default configuration.
pub fn customize(args: &FitArgs, config: &mut ModelConfig) {
    if let Some(latent) = args.latent {
        config.latent = latent;
    }
    if let Some(dropout) = args.dropout {
        config.encoder.dropout = dropout;
    }
    if let Some(hidden) = &args.hidden {
        config.encoder.hidden = hidden.clone();
    }
    if let Some(embedding) = args.embedding {
        config.encoder.embedding = embedding;
    }
}
