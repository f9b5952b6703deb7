//! How fast CSV datasets load, and how much memory loading takes.
//!
//! Part (a) writes a CSV of about 100 MB to a temporary folder, loads it with
//! `read_matrix_csv`, and prints the throughput and the peak resident memory added by
//! loading (from `VmHWM` and `VmRSS` in `/proc/self/status`, Linux only). Part (b) times
//! loading the real datasets of `../shared/data` when they are present.
//!
//! Run with `cargo run --release --no-default-features --example data_load_speed`.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use dmil::data::{list_modalities, load_dir, read_matrix_csv};

/// A field of `/proc/self/status` in kB, when it can be read.
fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Writes a `rows x cols` CSV of pseudo-random numbers like those of real omics files.
fn write_big_csv(path: &Path, rows: usize, cols: usize) -> std::io::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..rows {
        for j in 0..cols {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let value = (state >> 11) as f64 / (1u64 << 53) as f64 * 20.0 - 10.0;
            let sep = if j + 1 == cols { "\n" } else { "," };
            write!(out, "{value:.7}{sep}")?;
        }
    }
    out.flush()
}

fn folder_bytes(dir: &Path) -> u64 {
    let entries = std::fs::read_dir(dir).into_iter().flatten().flatten();
    entries
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // (a) A synthetic file of about 100 MB.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("big.csv");
    let (rows, cols) = (90_000, 100);
    write_big_csv(&path, rows, cols)?;
    let bytes = std::fs::metadata(&path)?.len();

    let rss_before = status_kb("VmRSS:");
    let start = Instant::now();
    let matrix = read_matrix_csv(&path)?;
    let seconds = start.elapsed().as_secs_f64();
    let peak = status_kb("VmHWM:");

    let mb = bytes as f64 / 1e6;
    let parsed_mb = (matrix.data.len() * 4) as f64 / 1e6;
    println!(
        "synthetic CSV: {mb:.1} MB, {} x {} values ({parsed_mb:.1} MB as f32), loaded in \
         {seconds:.3} s = {:.1} MB/s",
        matrix.rows,
        matrix.cols,
        mb / seconds
    );
    match (rss_before, peak) {
        (Some(before), Some(peak)) => {
            let extra = peak.saturating_sub(before) as f64 / 1e3;
            println!(
                "peak extra resident memory while loading: {extra:.1} MB ({:.2} x parsed size)",
                extra / parsed_mb
            );
        }
        _ => println!("peak memory: /proc/self/status not available"),
    }
    drop(matrix);

    // (b) The real datasets, when present.
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    for name in ["rosmap", "breast_tcga", "mfeat"] {
        let dir = shared.join(name);
        if !dir.is_dir() {
            println!("{name}: absent, skipped");
            continue;
        }
        let modalities = list_modalities(&dir)?;
        let start = Instant::now();
        let splits = load_dir(&dir, &modalities)?;
        let seconds = start.elapsed().as_secs_f64();
        let mb = folder_bytes(&dir) as f64 / 1e6;
        println!(
            "{name}: {} train / {} test samples, widths {:?}, {mb:.1} MB in {:.1} ms = {:.1} MB/s",
            splits.train.num_samples(),
            splits.test.num_samples(),
            splits.train.modality_widths(),
            seconds * 1e3,
            mb / seconds
        );
    }
    Ok(())
}
