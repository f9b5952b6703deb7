//! Checkpoints from the command line: saving after `train`, and `eval` / `predict`, which
//! rebuild the model and its preprocessing from the checkpoint alone.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use dmil::data::load_test_features;
use dmil::data::Standardizer;
use dmil::model::{self, ModelConfig, MultimodalModel};
use dmil::nn::{load_checkpoint, read_checkpoint_metadata, save_checkpoint};
use dmil::tensor::Tensor;
use dmil::train::{
    evaluate, predict as predict_all, DataSource, PreparedData, RunResult, TensorData,
};
use dmil::{Error, Result};

use crate::cli::{CheckpointDataArgs, EvalArgs, Format, PredictArgs, TrainArgs};
use crate::output::{check_input_file, pct, print_json, MAX_CHECKPOINT_BYTES};

/// Saves the trained model with what `eval` and `predict` need to use it on new data: its
/// configuration, the standardisation, the data it came from and the seed.
pub fn save(
    path: &Path,
    result: &RunResult,
    data: &PreparedData,
    source: &DataSource,
    args: &TrainArgs,
) -> Result<()> {
    let metadata = json!({
        "model": result.model.kind(),
        "config": result.model.config(),
        "data": stored_name(source),
        "modalities": args.data.modalities,
        "seed": args.seed,
        "standardizer": {"means": data.standardizer.means, "stds": data.standardizer.stds},
        "components": result.model.component_names(),
    });
    save_checkpoint(path, result.model.as_ref(), &metadata)
}

/// The data's name as a checkpoint keeps it: a folder as its canonical absolute path, so
/// `eval` and `predict` find it from any working folder (as typed when that fails).
fn stored_name(source: &DataSource) -> String {
    match source {
        DataSource::Dir(dir) => std::fs::canonicalize(dir)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| source.name()),
        DataSource::Synthetic(_) => source.name(),
    }
}

/// A model rebuilt from a checkpoint, with its metadata.
struct Loaded {
    /// The checkpoint file.
    path: PathBuf,
    model: Box<dyn MultimodalModel>,
    standardizer: Standardizer,
    seed: u64,
    /// The data it was trained on.
    data: String,
    /// The modalities it was trained on (`None`: all of the data's).
    modalities: Option<Vec<usize>>,
}

/// Rebuilds the model a checkpoint describes and loads its values.
fn load(path: &Path) -> Result<Loaded> {
    let bad = |reason: String| Error::Checkpoint {
        path: path.to_path_buf(),
        reason,
    };
    check_input_file(path, "a checkpoint", MAX_CHECKPOINT_BYTES)?;
    let metadata = read_checkpoint_metadata(path)?;
    let config: ModelConfig = serde_json::from_value(metadata["config"].clone()).map_err(|e| {
        bad(format!(
            "no usable model configuration in the metadata: {e}"
        ))
    })?;
    let standardizer: Standardizer = {
        let stats = &metadata["standardizer"];
        let parse = |key: &str| serde_json::from_value::<Vec<Vec<f32>>>(stats[key].clone());
        match (parse("means"), parse("stds")) {
            (Ok(means), Ok(stds)) => Standardizer { means, stds },
            _ => return Err(bad("no standardisation statistics in the metadata".into())),
        }
    };
    let seed = metadata["seed"].as_u64().unwrap_or(0);
    let data = metadata["data"].as_str().unwrap_or_default().to_string();
    let modalities = serde_json::from_value(metadata["modalities"].clone()).unwrap_or(None);
    let model = model::build(&config, seed)?;
    load_checkpoint(path, model.as_ref())?;
    Ok(Loaded {
        path: path.to_path_buf(),
        model,
        standardizer,
        seed,
        data,
        modalities,
    })
}

/// The test split of the chosen data (by default the checkpoint's), standardised as the
/// checkpoint's training data was.
fn test_data(loaded: &Loaded, args: &CheckpointDataArgs) -> Result<(String, TensorData)> {
    check_modalities(loaded, args)?;
    let data = chosen_data(loaded, args)?;
    let splits = DataSource::parse(&data).load(loaded.modalities.as_deref(), loaded.seed)?;
    let mut test = splits.test;
    let widths = test.modality_widths();
    if widths != loaded.model.config().input_widths {
        return Err(Error::Config(format!(
            "the checkpoint expects modality widths {:?}, the data {data} has {widths:?}",
            loaded.model.config().input_widths
        )));
    }
    let classes = loaded.model.config().num_classes;
    if let Some(label) = test.labels.iter().copied().find(|&l| l >= classes) {
        return Err(Error::Config(format!(
            "the data {data} has test label {label}, but the checkpoint {} knows {classes} \
             classes (0..{}); it was trained on other data",
            loaded.path.display(),
            classes - 1
        )));
    }
    loaded
        .standardizer
        .apply(&mut test)
        .map_err(|e| unusable_statistics(loaded, e))?;
    Ok((data, TensorData::from_dataset(&test)?))
}

/// The data to use: `--data`, or else the data stored in the checkpoint, which must still be
/// there (a folder moved or deleted since training is reported as such).
fn chosen_data(loaded: &Loaded, args: &CheckpointDataArgs) -> Result<String> {
    if let Some(data) = &args.data {
        return Ok(data.clone());
    }
    if let DataSource::Dir(dir) = DataSource::parse(&loaded.data) {
        if !dir.exists() {
            return Err(Error::Config(format!(
                "{}: the data folder stored in the checkpoint, {}, does not exist (moved or \
                 deleted since training?); give the data with --data",
                loaded.path.display(),
                dir.display()
            )));
        }
    }
    Ok(loaded.data.clone())
}

/// Refuses modalities other than the ones the checkpoint was trained on. A checkpoint
/// trained on all modalities (`None`) stands for `1..=M`, M its number of input widths.
fn check_modalities(loaded: &Loaded, args: &CheckpointDataArgs) -> Result<()> {
    crate::settings::check_modalities(args.modalities.as_deref())?;
    let all: Vec<usize> = (1..=loaded.model.config().input_widths.len()).collect();
    let trained = loaded.modalities.as_deref().unwrap_or(&all);
    if args
        .modalities
        .as_deref()
        .is_some_and(|asked| asked != trained)
    {
        return Err(Error::Config(format!(
            "the checkpoint was trained on modalities {}; --modalities {:?} would feed it \
             other features",
            loaded
                .modalities
                .as_ref()
                .map_or("(all)".into(), |m| format!("{m:?}")),
            args.modalities.as_deref().unwrap_or_default()
        )));
    }
    Ok(())
}

/// A checkpoint whose standardisation statistics do not fit its own model (a damaged or
/// hand-edited file: `test_data` has checked the data's widths against the model already).
fn unusable_statistics(loaded: &Loaded, e: dmil::data::DataError) -> Error {
    Error::Checkpoint {
        path: loaded.path.clone(),
        reason: format!("its standardisation statistics cannot be used: {e}"),
    }
}

/// Runs `dmil eval`.
pub fn eval(args: EvalArgs) -> Result<()> {
    let loaded = load(&args.checkpoint)?;
    let (data, test) = test_data(&loaded, &args.data)?;
    let evaluation = evaluate(loaded.model.as_ref(), &test, 256)?;
    let m = &evaluation.metrics;
    if args.json {
        print_json(&json!({
            "checkpoint": args.checkpoint.display().to_string(),
            "data": data,
            "model": loaded.model.kind(),
            "test": {"acc": m.accuracy, "map": m.map, "macro_f1": m.macro_f1, "roc_auc": m.roc_auc},
            "weights": evaluation.interaction_weights(),
        }));
        return Ok(());
    }
    outln!(
        "{} on {data} ({} test samples)",
        loaded.model.kind(),
        test.len()
    );
    outln!("  accuracy {} %   mAP {} %", pct(m.accuracy), pct(m.map));
    if let Some(w) = evaluation.interaction_weights() {
        let unique: Vec<String> = w.uniqueness.iter().map(|u| format!("{u:.4}")).collect();
        outln!(
            "  weights: redundancy {:.4}  uniqueness {}  synergy {:.4}",
            w.redundancy,
            unique.join(" "),
            w.synergy
        );
    }
    Ok(())
}

/// The test features of the chosen data (by default the checkpoint's), standardised as the
/// checkpoint's training data was. A folder needs only its `i_te` files: no labels.
fn test_features(loaded: &Loaded, args: &CheckpointDataArgs) -> Result<Vec<Tensor<f32>>> {
    check_modalities(loaded, args)?;
    let data = chosen_data(loaded, args)?;
    let widths = &loaded.model.config().input_widths;
    let mut matrices = match DataSource::parse(&data) {
        DataSource::Dir(dir) => {
            let all: Vec<usize> = (1..=widths.len()).collect();
            load_test_features(&dir, loaded.modalities.as_deref().unwrap_or(&all))?
        }
        synthetic => {
            let modalities = loaded.modalities.as_deref();
            synthetic.load(modalities, loaded.seed)?.test.modalities
        }
    };
    let found: Vec<usize> = matrices.iter().map(|m| m.cols).collect();
    if &found != widths {
        return Err(Error::Config(format!(
            "the checkpoint expects modality widths {widths:?}, the data {data} has {found:?}"
        )));
    }
    loaded
        .standardizer
        .apply_to(&mut matrices)
        .map_err(|e| unusable_statistics(loaded, e))?;
    matrices
        .iter()
        .map(|m| Tensor::from_slice(&m.data, [m.rows, m.cols]))
        .collect()
}

/// Runs `dmil predict`.
pub fn predict(args: PredictArgs) -> Result<()> {
    let loaded = load(&args.checkpoint)?;
    let inputs = test_features(&loaded, &args.data)?;
    let samples = inputs.first().map_or(0, |x| x.dims()[0]);
    let evaluation = predict_all(loaded.model.as_ref(), &inputs, 256)?;
    let classes = loaded.model.config().num_classes;
    let components = loaded.model.component_names();
    let k = components.len();

    let rows: Vec<Value> = (0..samples)
        .map(|i| {
            let probs = &evaluation.probabilities[i * classes..(i + 1) * classes];
            let weights = evaluation.weights.as_ref().map(|w| &w[i * k..(i + 1) * k]);
            json!({"sample": i, "class": evaluation.predictions[i], "probabilities": probs,
                   "weights": weights})
        })
        .collect();
    let format = if args.json { Format::Json } else { args.format };
    match format {
        Format::Json => print_json(&json!({"components": components, "predictions": rows})),
        Format::Csv => {
            let mut header = vec!["sample".to_string(), "class".to_string()];
            header.extend((0..classes).map(|c| format!("p{c}")));
            header.extend(components.iter().map(|c| format!("w_{c}")));
            outln!("{}", header.join(","));
            for i in 0..samples {
                let mut cells = vec![i.to_string(), evaluation.predictions[i].to_string()];
                let probs = &evaluation.probabilities[i * classes..(i + 1) * classes];
                cells.extend(probs.iter().map(|p| format!("{p:.6}")));
                if let Some(w) = &evaluation.weights {
                    cells.extend(w[i * k..(i + 1) * k].iter().map(|v| format!("{v:.6}")));
                }
                outln!("{}", cells.join(","));
            }
        }
    }
    Ok(())
}
