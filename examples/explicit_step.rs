//! Times DMIL's explicit training step (`dmil::step`) on the CPU backend at batch 64 and
//! 4096, on the model `dmil bench` uses (two modalities of 200 features, encoders
//! 200 -> 256 -> 128, latent 64). `dmil bench --device cuda` times the same step on a GPU.
//!
//! `cargo run --release --example explicit_step`

use dmil::model::{ModelConfig, ModelKind};
use dmil::step::{time_steps, CpuBackend};

fn main() -> dmil::Result<()> {
    let config = ModelConfig::benchmark(ModelKind::Dmil);
    for (batch, repeats) in [(64, 50), (4096, 5)] {
        let t = time_steps(&CpuBackend, &config, batch, 3, repeats)?;
        println!(
            "CPU backend, batch {batch:>4}: {:>10.1} us a step ({:.1} steps/s)",
            t.median_us, t.steps_per_second
        );
    }
    Ok(())
}
