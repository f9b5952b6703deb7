//! Checkpoints from the command line: saving after `train`, and `eval` / `predict`, which
//! rebuild the model and its preprocessing from the checkpoint alone.

use std::path::Path;

use serde_json::{json, Value};

use dmil::data::Standardizer;
use dmil::model::{self, ModelConfig, MultimodalModel};
use dmil::nn::{load_checkpoint, read_checkpoint_metadata, save_checkpoint};
use dmil::train::{evaluate, DataSource, PreparedData, RunResult, TensorData};
use dmil::{Error, Result};

use crate::cli::{EvalArgs, Format, PredictArgs, TrainArgs};
use crate::output::{pct, print_json};

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
        "data": source.name(),
        "modalities": args.data.modalities,
        "seed": args.seed,
        "standardizer": {"means": data.standardizer.means, "stds": data.standardizer.stds},
        "components": result.model.component_names(),
    });
    save_checkpoint(path, result.model.as_ref(), &metadata)
}

/// A model rebuilt from a checkpoint, with its metadata.
struct Loaded {
    model: Box<dyn MultimodalModel>,
    standardizer: Standardizer,
    seed: u64,
}

/// Rebuilds the model a checkpoint describes and loads its values.
fn load(path: &Path) -> Result<Loaded> {
    let bad = |reason: String| Error::Checkpoint {
        path: path.to_path_buf(),
        reason,
    };
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
    let model = model::build(&config, seed)?;
    load_checkpoint(path, model.as_ref())?;
    Ok(Loaded {
        model,
        standardizer,
        seed,
    })
}

/// The test split of `--data`, standardised as the checkpoint's training data was.
fn test_data(loaded: &Loaded, data: &str, modalities: Option<&[usize]>) -> Result<TensorData> {
    let splits = super::source(data).load(modalities, loaded.seed)?;
    let mut test = splits.test;
    loaded.standardizer.apply(&mut test)?;
    let widths = test.modality_widths();
    if widths != loaded.model.config().input_widths {
        return Err(Error::Config(format!(
            "the checkpoint expects modality widths {:?}, the data has {widths:?}",
            loaded.model.config().input_widths
        )));
    }
    TensorData::from_dataset(&test)
}

/// Runs `dmil eval`.
pub fn eval(args: EvalArgs) -> Result<()> {
    let loaded = load(&args.checkpoint)?;
    let test = test_data(&loaded, &args.data.data, args.data.modalities.as_deref())?;
    let evaluation = evaluate(loaded.model.as_ref(), &test, 256)?;
    let m = &evaluation.metrics;
    if args.json {
        print_json(&json!({
            "checkpoint": args.checkpoint.display().to_string(),
            "data": args.data.data,
            "model": loaded.model.kind(),
            "test": {"acc": m.accuracy, "map": m.map, "macro_f1": m.macro_f1, "roc_auc": m.roc_auc},
            "weights": evaluation.interaction_weights(),
        }));
        return Ok(());
    }
    println!(
        "{} on {} ({} test samples)",
        loaded.model.kind(),
        args.data.data,
        test.len()
    );
    println!(
        "  accuracy {} %   mAP {} %",
        pct(m.accuracy as f64),
        pct(m.map as f64)
    );
    if let Some(w) = evaluation.interaction_weights() {
        println!(
            "  weights: redundancy {:.4}  uniqueness {:?}  synergy {:.4}",
            w.redundancy, w.uniqueness, w.synergy
        );
    }
    Ok(())
}

/// Runs `dmil predict`.
pub fn predict(args: PredictArgs) -> Result<()> {
    let loaded = load(&args.checkpoint)?;
    let test = test_data(&loaded, &args.data.data, args.data.modalities.as_deref())?;
    let evaluation = evaluate(loaded.model.as_ref(), &test, 256)?;
    let classes = loaded.model.config().num_classes;
    let components = loaded.model.component_names();
    let k = components.len();

    let rows: Vec<Value> = (0..test.len())
        .map(|i| {
            let probs = &evaluation.probabilities[i * classes..(i + 1) * classes];
            let weights = evaluation.weights.as_ref().map(|w| &w[i * k..(i + 1) * k]);
            json!({"sample": i, "class": evaluation.predictions[i], "probabilities": probs,
                   "weights": weights})
        })
        .collect();
    match args.format {
        Format::Json => print_json(&json!({"components": components, "predictions": rows})),
        Format::Csv => {
            let mut header = vec!["sample".to_string(), "class".to_string()];
            header.extend((0..classes).map(|c| format!("p{c}")));
            header.extend(components.iter().map(|c| format!("w_{c}")));
            println!("{}", header.join(","));
            for i in 0..test.len() {
                let mut cells = vec![i.to_string(), evaluation.predictions[i].to_string()];
                let probs = &evaluation.probabilities[i * classes..(i + 1) * classes];
                cells.extend(probs.iter().map(|p| format!("{p:.6}")));
                if let Some(w) = &evaluation.weights {
                    cells.extend(w[i * k..(i + 1) * k].iter().map(|v| format!("{v:.6}")));
                }
                println!("{}", cells.join(","));
            }
        }
    }
    Ok(())
}
