//! `dmil pid`: interaction proportions side by side, in the shape of the paper's Table 5: the
//! exact PID of the data's true distribution (synthetic Boolean data), the paper's "truth"
//! convention for gate mixtures, the clustering estimate from samples, and DMIL's mean gate
//! weights after training. `--table FILE` gives the exact PID of a joint table.

use std::path::Path;

use serde_json::{json, Value};

use dmil::data::{Dataset, SyntheticSpec};
use dmil::model::ModelKind;
use dmil::pid::{
    decompose, paper_truth, pooled_mixture, truth_tables, ClusterEstimator, JointDistribution,
    PidBits, PidPercent,
};
use dmil::train::{prepare, run as run_experiment, DataSource};
use dmil::{Error, Result};

use crate::cli::PidArgs;
use crate::output::{check_input_file, print_json, MAX_TABLE_BYTES};
use crate::progress::{Detail, Progress};
use crate::settings;

/// The largest joint table `--table` accepts: the interior-point solver's dense steps grow
/// with the cube of the number of constraints, `ny (n1 + n2 - 1)` (about 0.1 s at
/// 32 x 32 x 10 and 0.4 s at 32 x 32 x 16 on one core; `examples/pid_speed.rs`).
const MAX_TABLE_CELLS: usize = 32 * 32 * 16;

/// Runs `dmil pid`.
pub fn run(args: PidArgs) -> Result<()> {
    if args.seeds == 0 {
        return Err(Error::Config("--seeds must be at least 1".into()));
    }
    if let Some(path) = &args.table {
        return table(path, args.json);
    }

    settings::check_modalities(args.data.modalities.as_deref())?;
    let source = DataSource::parse(&args.data.data);
    let splits = source.load(args.data.modalities.as_deref(), 0)?;
    if splits.train.num_modalities() != 2 {
        return Err(Error::Config(format!(
            "the PID is defined here for two modalities; the data has {} (choose two with \
             --modalities)",
            splits.train.num_modalities()
        )));
    }

    let mut out = serde_json::Map::new();
    out.insert("data".into(), json!(source.name()));
    let mut rows: Vec<(String, PidPercent)> = Vec::new();

    if let DataSource::Synthetic(name) = &source {
        if let Some(tables) = truth_tables(&SyntheticSpec::parse(name)?) {
            let exact = pooled_mixture(&tables)?;
            out.insert("bits".into(), json!(exact.bits));
            out.insert("percent".into(), percent_json(&exact.percent));
            rows.push(("exact PID of the true distribution".into(), exact.percent));
            if tables.len() > 1 {
                let truth = paper_truth(&tables)?;
                out.insert(
                    "paper_truth".into(),
                    json!({ "percent": percent_json(&truth) }),
                );
                rows.push(("paper's truth (mean over gates)".into(), truth));
            }
        }
    }

    check_clusters(args.clusters, &splits.train)?;
    let estimator = ClusterEstimator {
        clusters: args.clusters,
        ..ClusterEstimator::default()
    };
    let train = &splits.train;
    let (x1, x2) = (&train.modalities[0], &train.modalities[1]);
    let estimate = estimator.estimate(&x1.data, x1.cols, &x2.data, x2.cols, &train.labels)?;
    out.insert(
        "estimate".into(),
        json!({"bits": estimate.bits, "percent": percent_json(&estimate.percent),
               "clusters": estimate.clusters_used}),
    );
    rows.push((
        format!("clustering estimate ({} clusters)", args.clusters),
        estimate.percent,
    ));

    if !args.no_train {
        let dmil = dmil_proportions(&args, &source)?;
        out.insert(
            "dmil".into(),
            json!({"percent": percent_json(&dmil), "seeds": args.seeds}),
        );
        rows.push((format!("DMIL gate weights ({} seeds)", args.seeds), dmil));
    }

    if args.json {
        print_json(&Value::Object(out));
    } else {
        print_rows(&source.name(), &rows);
    }
    Ok(())
}

/// Refuses a `--clusters` count the estimate cannot use: 0; as many clusters as training
/// samples or more, where every sample is its own cluster and the estimate reads every
/// modality as fully informative (100 % redundancy, whatever the data); or a cluster table
/// (`K x K x classes`) over the cells the exact solver handles in seconds.
fn check_clusters(clusters: usize, train: &Dataset) -> Result<()> {
    let samples = train.num_samples();
    let classes = train.num_classes;
    let cells = clusters
        .checked_mul(clusters)
        .and_then(|c| c.checked_mul(classes));
    let reason = if clusters == 0 {
        "there must be at least one cluster per modality".to_string()
    } else if cells.is_none_or(|c| c > MAX_TABLE_CELLS) {
        format!(
            "a {clusters} x {clusters} x {classes} cluster table is over the {MAX_TABLE_CELLS} \
             cells the exact solver is limited to (the limit of --table), beyond which it takes \
             minutes"
        )
    } else if clusters >= samples {
        format!(
            "it must be below the {samples} training samples; with a cluster per sample the \
             estimate is meaningless (every modality looks fully informative)"
        )
    } else {
        return Ok(());
    };
    Err(Error::Config(format!("--clusters {clusters}: {reason}")))
}

/// DMIL's mean gate weights in percent, averaged over seeds `0..seeds`.
fn dmil_proportions(args: &PidArgs, source: &DataSource) -> Result<PidPercent> {
    let config = settings::train_config(&args.fit, args.fit.select_on)?;
    let mut sums = [0.0f64; 4];
    for seed in 0..args.seeds.max(1) as u64 {
        let splits = source.load(args.data.modalities.as_deref(), seed)?;
        let data = prepare(&splits, config.selection, config.validation_fraction, seed)?;
        let mut progress = Progress::new(format!("dmil seed {seed}"), Detail::Bars);
        let customize = |c: &mut dmil::model::ModelConfig| settings::customize(&args.fit, c);
        let result = run_experiment(
            ModelKind::Dmil,
            &data,
            &customize,
            &config,
            seed,
            &mut progress,
        )?;
        let w = result
            .test
            .interaction_weights()
            .expect("DMIL always reports gate weights");
        let parts = [w.redundancy, w.uniqueness[0], w.uniqueness[1], w.synergy];
        errln!(
            "dmil seed {seed}: R {:.1}  U1 {:.1}  U2 {:.1}  S {:.1} (%)",
            100.0 * parts[0],
            100.0 * parts[1],
            100.0 * parts[2],
            100.0 * parts[3]
        );
        for (sum, part) in sums.iter_mut().zip(parts) {
            *sum += 100.0 * f64::from(part);
        }
    }
    let n = args.seeds.max(1) as f64;
    Ok(PidPercent {
        redundancy: sums[0] / n,
        uniqueness: [sums[1] / n, sums[2] / n],
        synergy: sums[3] / n,
    })
}

/// The `"percent"` object: `{"redundancy", "uniqueness": [u1, u2], "synergy"}`.
fn percent_json(p: &PidPercent) -> Value {
    json!({"redundancy": p.redundancy, "uniqueness": p.uniqueness, "synergy": p.synergy})
}

fn print_rows(data: &str, rows: &[(String, PidPercent)]) {
    outln!("{data}: interaction proportions in percent");
    outln!("{:<40} {:>7} {:>7} {:>7} {:>7}", "", "R", "U1", "U2", "S");
    for (name, p) in rows {
        outln!(
            "{name:<40} {:>7.1} {:>7.1} {:>7.1} {:>7.1}",
            p.redundancy,
            p.uniqueness[0],
            p.uniqueness[1],
            p.synergy
        );
    }
}

/// `--table FILE`: the exact PID of a nested JSON array `p[x1][x2][y]`.
fn table(path: &Path, json_out: bool) -> Result<()> {
    check_input_file(path, "a JSON table", MAX_TABLE_BYTES)?;
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |reason: String| Error::Config(format!("{}: {reason}", path.display()));
    let nested: Vec<Vec<Vec<f64>>> = serde_json::from_str(&text).map_err(|e| {
        bad(format!(
            "expected a nested array p[x1][x2][y] of numbers: {e}"
        ))
    })?;
    let n1 = nested.len();
    let n2 = nested.first().map_or(0, Vec::len);
    let ny = nested.first().and_then(|r| r.first()).map_or(0, Vec::len);
    let mut flat = Vec::with_capacity(n1 * n2 * ny);
    for (i, plane) in nested.iter().enumerate() {
        if plane.len() != n2 {
            return Err(bad(format!(
                "p[{i}] has {} rows, p[0] has {n2}",
                plane.len()
            )));
        }
        for (j, row) in plane.iter().enumerate() {
            if row.len() != ny {
                return Err(bad(format!(
                    "p[{i}][{j}] has {} entries, expected {ny}",
                    row.len()
                )));
            }
            flat.extend(row);
        }
    }
    if flat.len() > MAX_TABLE_CELLS {
        return Err(bad(format!(
            "{n1} x {n2} x {ny} = {} cells; the exact solver is limited to {MAX_TABLE_CELLS} \
             (32 x 32 x 16), beyond which it takes minutes",
            flat.len()
        )));
    }
    let p = JointDistribution::new(n1, n2, ny, flat).map_err(|e| bad(e.to_string()))?;
    let result = decompose(&p);
    if json_out {
        print_json(&json!({"bits": result.bits, "percent": percent_json(&result.percent)}));
    } else {
        print_bits(&result.bits, &result.percent);
    }
    Ok(())
}

fn print_bits(bits: &PidBits, percent: &PidPercent) {
    outln!("{:<12} {:>10} {:>10}", "", "bits", "percent");
    let rows = [
        ("redundancy", bits.redundancy, percent.redundancy),
        ("uniqueness1", bits.uniqueness[0], percent.uniqueness[0]),
        ("uniqueness2", bits.uniqueness[1], percent.uniqueness[1]),
        ("synergy", bits.synergy, percent.synergy),
    ];
    for (name, b, p) in rows {
        outln!("{name:<12} {b:>10.4} {p:>10.2}");
    }
    outln!("{:<12} {:>10.4}", "total", bits.total);
}
