//! `dmil compare`: Joint, Ensemble and DMIL over several seeds, in the shape of the paper's
//! Table 1 (accuracy and mAP, mean and standard deviation, in percent), with DMIL's mean
//! interaction weights (the paper's Table 4).

use std::time::Instant;

use serde_json::{json, Value};

use dmil::model::ModelKind;
use dmil::train::{prepare, run as run_experiment, DataSource, InteractionWeights, Selection};
use dmil::Result;

use crate::cli::{CompareArgs, SelectOn};
use crate::output::print_json;
use crate::progress::{Detail, Progress};
use crate::settings;

/// Mean and sample standard deviation (n - 1; 0 for one value).
fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n.max(1.0);
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// One model's results over the seeds.
struct Row {
    kind: ModelKind,
    acc: Vec<f64>,
    map: Vec<f64>,
    weights: Vec<Vec<f32>>,
}

/// Runs `dmil compare`.
pub fn run(args: CompareArgs) -> Result<()> {
    if args.seeds == 0 {
        return Err(dmil::Error::Config("--seeds must be at least 1".into()));
    }
    let kinds = args
        .models
        .iter()
        .map(|m| m.parse())
        .collect::<Result<Vec<ModelKind>>>()?;
    if let Some((_, kind)) = kinds
        .iter()
        .enumerate()
        .find(|(k, m)| kinds[..*k].contains(m))
    {
        return Err(dmil::Error::Config(format!(
            "--models lists {kind} twice; each model is trained once per seed"
        )));
    }
    settings::check_modalities(args.data.modalities.as_deref())?;
    let protocols = match args.fit.select_on {
        SelectOn::Both => vec![SelectOn::Validation, SelectOn::Test],
        one => vec![one],
    };
    let started = Instant::now();
    let source = DataSource::parse(&args.data.data);

    let mut tables = Vec::new();
    for protocol in protocols {
        let config = settings::train_config(&args.fit, protocol)?;
        let mut rows: Vec<Row> = kinds
            .iter()
            .map(|&kind| Row {
                kind,
                acc: Vec::new(),
                map: Vec::new(),
                weights: Vec::new(),
            })
            .collect();
        for seed in 0..args.seeds as u64 {
            let splits = source.load(args.data.modalities.as_deref(), seed)?;
            let data = prepare(&splits, config.selection, config.validation_fraction, seed)?;
            for row in rows.iter_mut() {
                let label = format!("{} seed {seed}", row.kind);
                let mut progress = Progress::new(label.clone(), Detail::Bars);
                let customize =
                    |c: &mut dmil::model::ModelConfig| settings::customize(&args.fit, c);
                let result =
                    run_experiment(row.kind, &data, &customize, &config, seed, &mut progress)?;
                let m = &result.test.metrics;
                errln!(
                    "{label} ({}): test acc {:.2} %  mAP {:.2} %  ({:.1} s)",
                    protocol_name(config.selection),
                    100.0 * m.accuracy,
                    100.0 * m.map,
                    result.seconds
                );
                row.acc.push(m.accuracy);
                row.map.push(m.map);
                if let Some(w) = result.test.mean_weights {
                    row.weights.push(w);
                }
            }
        }
        tables.push((config.selection, rows));
    }

    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        print_json(&tables_json(&source.name(), args.seeds, &tables, seconds));
    } else {
        for (selection, rows) in &tables {
            print_table(&source.name(), args.seeds, *selection, args.fit.refit, rows);
        }
        outln!("\nwall time: {seconds:.1} s");
    }
    Ok(())
}

/// A short name of the protocol for progress lines.
fn protocol_name(selection: Selection) -> &'static str {
    match selection {
        Selection::Validation => "validation",
        Selection::Test => "test, optimistic",
    }
}

/// The protocol's label, saying plainly when it is optimistic and when the models were
/// retrained on all training data after the epochs were chosen (`--refit`).
fn protocol_label(selection: Selection, refit: bool) -> &'static str {
    match (selection, refit) {
        (Selection::Validation, false) => {
            "best epoch chosen on a validation split of the training data"
        }
        (Selection::Validation, true) => {
            "epochs chosen on a validation split, then retrained on all training data (--refit)"
        }
        (Selection::Test, _) => {
            "OPTIMISTIC: best epoch read on the test split (the paper's released protocol)"
        }
    }
}

fn print_table(data: &str, seeds: usize, selection: Selection, refit: bool, rows: &[Row]) {
    outln!();
    let plural = if seeds == 1 { "" } else { "s" };
    outln!(
        "{data}, {seeds} seed{plural}; {}",
        protocol_label(selection, refit)
    );
    outln!("{:<10} {:>16} {:>16}", "model", "accuracy %", "mAP %");
    for row in rows {
        let (am, asd) = mean_std(&row.acc);
        let (mm, msd) = mean_std(&row.map);
        let line = format!(
            "{:<10} {:>9.2} ± {:<5.2} {:>9.2} ± {:<5.2}",
            row.kind.name(),
            100.0 * am,
            100.0 * asd,
            100.0 * mm,
            100.0 * msd
        );
        outln!("{}", line.trim_end());
    }
    for row in rows.iter().filter(|r| !r.weights.is_empty()) {
        let k = row.weights[0].len();
        let means: Vec<f32> = (0..k)
            .map(|j| row.weights.iter().map(|w| w[j]).sum::<f32>() / row.weights.len() as f32)
            .collect();
        let names: Vec<String> = std::iter::once("redundancy".to_string())
            .chain((1..k - 1).map(|m| format!("uniqueness_{m}")))
            .chain(["synergy".to_string()])
            .collect();
        let cells: Vec<String> = names
            .iter()
            .zip(&means)
            .map(|(n, w)| format!("{n} {w:.4}"))
            .collect();
        outln!(
            "{} interaction weights (mean over seeds): {}",
            row.kind,
            cells.join("  ")
        );
    }
}

fn tables_json(data: &str, seeds: usize, tables: &[(Selection, Vec<Row>)], seconds: f64) -> Value {
    let protocols: Vec<Value> = tables
        .iter()
        .map(|(selection, rows)| {
            let rows: Vec<Value> = rows
                .iter()
                .map(|r| {
                    let (am, asd) = mean_std(&r.acc);
                    let (mm, msd) = mean_std(&r.map);
                    let weights: Vec<_> = r
                        .weights
                        .iter()
                        .map(|w| InteractionWeights::from_ordered(w))
                        .collect();
                    json!({"model": r.kind, "acc_mean": am, "acc_std": asd, "map_mean": mm,
                           "map_std": msd, "acc": r.acc, "map": r.map, "weights": weights})
                })
                .collect();
            json!({"selection": selection, "optimistic": *selection == Selection::Test,
                   "rows": rows})
        })
        .collect();
    let rows = protocols[0]["rows"].clone();
    json!({"data": data, "seeds": seeds, "rows": rows, "protocols": protocols,
           "seconds": seconds})
}
