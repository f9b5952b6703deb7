//! How DMIL's interaction proportions (mean gate weights on the test split) depend on how
//! long the gate trains, on the four Boolean gate datasets.
//!
//! For each dataset and seed it trains DMIL with the default settings (what `dmil pid`
//! reports), then with every stage keeping its last epoch instead of its best on validation
//! data, then with that and a longer stage 2. Each line prints the epochs each stage kept, the
//! test accuracy and the mean gate weights in percent.
//!
//! Run with `cargo run --release --example dmil_gate [SEEDS] [LONG_STAGE2_EPOCHS]` (defaults
//! 3 and 100).

use dmil::model::ModelKind;
use dmil::train::{prepare, run, DataSource, Silent, TrainConfig};

fn main() -> dmil::Result<()> {
    let mut args = std::env::args().skip(1);
    let seeds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    let long: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100);

    let defaults = TrainConfig::default();
    let last = TrainConfig {
        keep_last_epoch: true,
        ..defaults.clone()
    };
    let mut longer = last.clone();
    longer.interact.epochs = long;
    let settings = [
        ("defaults (best epoch)", defaults),
        ("last epoch of each stage", last),
        ("last epoch, longer stage 2", longer),
    ];

    for name in ["and", "and+xor", "or+xor", "and+or+xor"] {
        let source = DataSource::parse(&format!("synthetic:{name}"));
        println!("synthetic:{name}");
        for (label, config) in &settings {
            let mut mean = [0.0; 4];
            for seed in 0..seeds {
                let splits = source.load(None, seed)?;
                let data = prepare(&splits, config.selection, config.validation_fraction, seed)?;
                let result = run(ModelKind::Dmil, &data, &|_| {}, config, seed, &mut Silent)?;
                let kept: Vec<String> = result
                    .report
                    .stages
                    .iter()
                    .map(|s| s.best_epoch.to_string())
                    .collect();
                let w = result
                    .test
                    .interaction_weights()
                    .expect("DMIL reports gate weights");
                let parts = [w.redundancy, w.uniqueness[0], w.uniqueness[1], w.synergy];
                for (m, p) in mean.iter_mut().zip(parts) {
                    *m += 100.0 * f64::from(p) / seeds as f64;
                }
                println!(
                    "  {label:<27} seed {seed}  kept {:<9} acc {:5.1} %  R {:4.1} U1 {:4.1} \
                     U2 {:4.1} S {:4.1}",
                    kept.join("/"),
                    100.0 * result.test.metrics.accuracy,
                    100.0 * parts[0],
                    100.0 * parts[1],
                    100.0 * parts[2],
                    100.0 * parts[3],
                );
            }
            println!(
                "  {label:<27} mean of {seeds}{:>28}R {:4.1} U1 {:4.1} U2 {:4.1} S {:4.1}",
                "", mean[0], mean[1], mean[2], mean[3]
            );
        }
    }
    Ok(())
}
