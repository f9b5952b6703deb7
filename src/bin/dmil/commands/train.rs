//! `dmil train`: one model, its test metrics and interaction weights, and optionally a
//! checkpoint with `metrics.json`.

use serde_json::json;

use dmil::model::ModelKind;
use dmil::train::{prepare, run as run_experiment, DataSource, RunResult, Selection};
use dmil::{Error, Result};

use super::checkpoint::save;
use super::Engine;
use crate::cli::{Device, OptimizerArg, TrainArgs};
use crate::outdir::OutDir;
use crate::output::{pct, print_json, write_atomic};
use crate::progress::{Detail, Progress};
use crate::settings;

/// The files `--out` receives: the checkpoint, then the metrics.
const TARGETS: [&str; 2] = ["model.safetensors", "metrics.json"];

/// Runs `dmil train`.
pub fn run(args: TrainArgs) -> Result<()> {
    let kind: ModelKind = args.model.parse()?;
    check_device(&args, kind)?;
    settings::check_modalities(args.data.modalities.as_deref())?;
    let engine = super::engine(args.device)?;
    let source = DataSource::parse(&args.data.data);
    let config = settings::train_config(&args.fit, args.fit.select_on)?;
    let out = match &args.out {
        Some(dir) => Some(OutDir::claim(dir, &TARGETS)?),
        None => None,
    };
    let splits = source.load(args.data.modalities.as_deref(), args.seed)?;
    let data = prepare(
        &splits,
        config.selection,
        config.validation_fraction,
        args.seed,
    )?;

    let mut progress = Progress::new(format!("{kind} seed {}", args.seed), Detail::Epochs);
    let customize = |c: &mut dmil::model::ModelConfig| settings::customize(&args.fit, c);
    let result = match &engine {
        Engine::Cpu => run_experiment(kind, &data, &customize, &config, args.seed, &mut progress)?,
        #[cfg(feature = "cuda")]
        Engine::Cuda(backend) => {
            let mut fitter =
                |model: &dyn dmil::model::MultimodalModel,
                 train: &dmil::train::TensorData,
                 select: &dmil::train::TensorData,
                 config: &dmil::train::TrainConfig,
                 seed: u64,
                 observer: &mut dyn dmil::train::TrainObserver| {
                    dmil::step::fit_step(
                        backend.as_ref(),
                        model,
                        train,
                        select,
                        config,
                        seed,
                        observer,
                    )
                };
            let (seed, progress) = (args.seed, &mut progress);
            dmil::train::run_with(
                &mut fitter,
                kind,
                &data,
                &customize,
                &config,
                seed,
                progress,
            )?
        }
    };

    let summary = summary_json(kind, &source.name(), args.seed, &result, config.selection);
    if let Some(out) = out {
        let text = serde_json::to_string_pretty(&json!({
            "summary": summary,
            "test": result.test.metrics,
            "history": result.report,
        }))
        .expect("metrics serialise");
        let staged = TARGETS.map(|name| out.staged(name));
        let written = save(&staged[0], &result, &data, &source, &args)
            .and_then(|()| write_atomic(&staged[1], text.as_bytes()));
        if let Err(e) = written {
            staged.iter().for_each(|s| drop(std::fs::remove_file(s)));
            return Err(e);
        }
        let targets = TARGETS.map(|name| out.join(name));
        out.publish(&staged, &targets)?;
    }

    if args.json {
        print_json(&summary);
    } else {
        print_summary(kind, &source.name(), &result, config.selection);
    }
    Ok(())
}

/// Refuses what the GPU path cannot do before a GPU is looked for, so the user learns of
/// the combination first rather than of a missing driver.
fn check_device(args: &TrainArgs, kind: ModelKind) -> Result<()> {
    let sgd = args.fit.optimizer == Some(OptimizerArg::Sgd);
    if args.device == Device::Cuda && (kind != ModelKind::Dmil || sgd) {
        let asked = if sgd {
            "--optimizer sgd".to_string()
        } else {
            format!("--model {kind}")
        };
        return Err(Error::Config(format!(
            "--device cuda trains DMIL with Adam only (its explicit GPU step); use --device cpu \
             for {asked}"
        )));
    }
    Ok(())
}

/// The `--json` object of DESIGN.md section 4 (fractions, not percent).
fn summary_json(
    kind: ModelKind,
    data: &str,
    seed: u64,
    result: &RunResult,
    selection: Selection,
) -> serde_json::Value {
    let m = &result.test.metrics;
    json!({
        "model": kind.name(),
        "data": data,
        "seed": seed,
        "selection": selection,
        "test": {"acc": m.accuracy, "map": m.map, "macro_f1": m.macro_f1, "roc_auc": m.roc_auc},
        "weights": result.test.interaction_weights(),
        "seconds": result.seconds,
    })
}

/// The human-readable ending of `dmil train`.
fn print_summary(kind: ModelKind, data: &str, result: &RunResult, selection: Selection) {
    let m = &result.test.metrics;
    outln!();
    outln!("{kind} on {data} ({:.1} s)", result.seconds);
    if selection == Selection::Test {
        outln!("selection: best epoch read on the TEST split (optimistic, the paper's protocol)");
    }
    outln!("  test accuracy  {:>6} %", pct(m.accuracy));
    outln!("  test mAP       {:>6} %", pct(m.map));
    outln!("  macro-F1       {:>6} %", pct(m.macro_f1));
    outln!(
        "  ROC AUC        {:>6} %",
        m.roc_auc.map_or("n/a".into(), pct)
    );
    if let Some(w) = result.test.interaction_weights() {
        outln!("  interaction weights (mean gate weight on the test split):");
        outln!("    redundancy    {:.4}", w.redundancy);
        for (i, u) in w.uniqueness.iter().enumerate() {
            outln!("    {:<13} {u:.4}", format!("uniqueness_{}", i + 1));
        }
        outln!("    synergy       {:.4}", w.synergy);
    }
}
