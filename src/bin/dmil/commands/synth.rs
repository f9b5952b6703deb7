//! `dmil synth`: writes a synthetic dataset in the CSV layout, for other tools or for
//! `--data DIR`.

use dmil::data::{generate, write_dir, SyntheticSpec, MAX_SAMPLES};
use dmil::Result;

use crate::cli::SynthArgs;

/// Runs `dmil synth`.
pub fn run(args: SynthArgs) -> Result<()> {
    let spec = SyntheticSpec::parse(&args.name)?;
    for (flag, n) in [("--train", args.train), ("--test", args.test)] {
        if !(1..=MAX_SAMPLES).contains(&n) {
            return Err(dmil::Error::Config(format!(
                "{flag} {n}: need 1 to {MAX_SAMPLES} samples per split"
            )));
        }
    }
    let occupied = std::fs::read_dir(&args.out)
        .map(|mut entries| entries.next().is_some())
        .unwrap_or(false);
    if occupied && !args.force {
        return Err(dmil::Error::Config(format!(
            "{}: the folder is not empty; choose another --out or pass --force to overwrite \
             its dataset files",
            args.out.display()
        )));
    }
    let splits = generate(&spec, args.train, args.test, args.seed)?;
    write_dir(&splits, &args.out)?;
    errln!(
        "wrote {} ({} train, {} test samples, {} modalities) to {}",
        args.name,
        args.train,
        args.test,
        splits.train.num_modalities(),
        args.out.display()
    );
    Ok(())
}
