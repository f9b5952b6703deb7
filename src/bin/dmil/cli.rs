//! The command-line contract (DESIGN.md section 4), as `clap` definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Train, compare and probe DMIL, a multimodal classifier that decomposes what its
/// modalities say into redundancy, uniqueness and synergy.
#[derive(Parser, Debug)]
#[command(name = "dmil", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train one model, report test accuracy, mAP and the interaction weights.
    Train(TrainArgs),
    /// Train Joint, Ensemble and DMIL over several seeds; print the paper's Table 1 shape.
    Compare(CompareArgs),
    /// Evaluate a saved checkpoint on the test split of a dataset.
    Eval(EvalArgs),
    /// Print each test sample's predicted class, probabilities and gate weights.
    Predict(PredictArgs),
    /// Partial information decomposition: exact truth, clustering estimate, DMIL's weights.
    Pid(PidArgs),
    /// Time training steps and inference on ROSMAP-shaped random data.
    Bench(BenchArgs),
    /// Write a synthetic dataset to a folder in the CSV layout.
    Synth(SynthArgs),
}

/// Where the data comes from and which modalities to use.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// A folder in the MOGONET layout, or `synthetic:NAME` (xor, and+xor, copy, unique,
    /// redundant, mix:r=0.75,u1=0.25, ...). Default: the built-in `synthetic:xor`.
    #[arg(long, default_value_t = format!("synthetic:{}", dmil::data::synthetic::DEFAULT_SPEC))]
    pub data: String,
    /// Modalities to use, numbered from 1 (for example `1,2`). Default: all.
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    pub modalities: Option<Vec<usize>>,
}

/// Which split picks the best epoch.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectOn {
    /// A validation split carved from the training data (honest).
    Validation,
    /// The test split, as the paper's released code does (optimistic).
    Test,
    /// Both protocols, one after the other (`compare` only).
    Both,
}

/// The device to train on.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// The CPU.
    Cpu,
    /// An NVIDIA GPU.
    Cuda,
}

/// Selection metric.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectBy {
    /// Accuracy, mAP breaking ties.
    Acc,
    /// Accuracy plus mAP.
    AccMap,
}

/// Optimizer choice.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptimizerArg {
    /// SGD with momentum 0.9.
    Sgd,
    /// Adam.
    Adam,
}

/// Settings of training shared by `train`, `compare` and `pid`.
#[derive(Args, Debug, Clone)]
pub struct FitArgs {
    /// Pick the best epoch of each stage on this split.
    #[arg(long, value_enum, default_value_t = SelectOn::Validation)]
    pub select_on: SelectOn,
    /// What picks the best epoch: accuracy (mAP breaks ties) or accuracy plus mAP.
    #[arg(long, value_enum)]
    pub select_by: Option<SelectBy>,
    /// The optimizer.
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerArg>,
    /// Samples per mini-batch.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Epochs of DMIL's stages 1, 2 and 3, as `E1,E2,E3`; the baselines train for the sum.
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    pub epochs: Option<Vec<usize>>,
    /// Learning rate of stages 1 and 2 and of the baselines (stage 3 uses a tenth).
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f32>,
    /// Width of every DMIL latent.
    #[arg(long)]
    pub latent: Option<usize>,
    /// Dropout in the encoders.
    #[arg(long, allow_negative_numbers = true)]
    pub dropout: Option<f32>,
    /// Weight decay (L2) of the optimizer.
    #[arg(long, allow_negative_numbers = true)]
    pub weight_decay: Option<f32>,
    /// Hidden widths of the encoders, as `W1,W2,...`.
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    /// Width of each modality's embedding Z_m.
    #[arg(long)]
    pub embedding: Option<usize>,
    /// After selecting epochs on validation data, retrain on all training data for them.
    #[arg(long)]
    pub refit: bool,
    /// Fraction of the training split held out for validation.
    #[arg(long, allow_negative_numbers = true)]
    pub validation_fraction: Option<f64>,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The model to train.
    #[arg(long, default_value = "dmil")]
    pub model: String,
    /// Seed of the model's initialisation, the batches, the samples and the split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to train. `cuda` trains DMIL with its explicit training step on the first GPU
    /// (cuBLAS and the kernels of `kernels/`; not yet run on a GPU).
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    pub device: Device,
    /// Folder for `model.safetensors` and `metrics.json`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print one JSON object on stdout and nothing else there.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub fit: FitArgs,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Number of seeds (0, 1, ...) per model.
    #[arg(long, default_value_t = 5)]
    pub seeds: usize,
    /// Models to compare.
    #[arg(long, value_delimiter = ',', default_value = "joint,ensemble,dmil")]
    pub models: Vec<String>,
    /// Print one JSON object on stdout and nothing else there.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub fit: FitArgs,
}

/// The data of `eval` and `predict`: by default the dataset and modalities the checkpoint
/// was trained on.
#[derive(Args, Debug, Clone)]
pub struct CheckpointDataArgs {
    /// A folder in the MOGONET layout, or `synthetic:NAME`. Default: the checkpoint's.
    #[arg(long)]
    pub data: Option<String>,
    /// Modalities, numbered from 1. Default: the checkpoint's; others are refused.
    #[arg(long, value_delimiter = ',')]
    pub modalities: Option<Vec<usize>>,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A checkpoint written by `dmil train --out` (a regular file of at most 4 GiB).
    #[arg(long)]
    pub checkpoint: PathBuf,
    #[command(flatten)]
    pub data: CheckpointDataArgs,
    /// Print one JSON object on stdout and nothing else there.
    #[arg(long)]
    pub json: bool,
}

/// Output format of `predict`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One line per sample.
    Csv,
    /// One JSON object.
    Json,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// A checkpoint written by `dmil train --out` (a regular file of at most 4 GiB).
    #[arg(long)]
    pub checkpoint: PathBuf,
    #[command(flatten)]
    pub data: CheckpointDataArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// The same as `--format json`, as in the other commands.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct PidArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// A joint probability table as JSON, `p[x1][x2][y]` (a regular file of at most
    /// 64 MiB): print its exact PID only.
    #[arg(long, conflicts_with = "data")]
    pub table: Option<PathBuf>,
    /// Skip training DMIL.
    #[arg(long)]
    pub no_train: bool,
    /// Seeds to average DMIL's proportions over.
    #[arg(long, default_value_t = 3)]
    pub seeds: usize,
    /// Clusters per modality of the clustering estimator: fewer than the training samples,
    /// and at most 16384 cells in the table of clusters by clusters by classes.
    #[arg(long, default_value_t = 20)]
    pub clusters: usize,
    /// Print one JSON object on stdout and nothing else there.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub fit: FitArgs,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Timed repetitions of each measurement after warm-up, 1 to 100000.
    #[arg(
        long,
        default_value_t = 50,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000)
    )]
    pub repeats: usize,
    /// `cuda`: time DMIL's explicit training step on the first GPU at batch 64 and 4096
    /// (next to the CPU autograd step) and the bandwidth of every custom kernel on 64M
    /// elements, instead of the CPU measurements.
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    pub device: Device,
    /// Print one JSON object on stdout and nothing else there.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct SynthArgs {
    /// The synthetic dataset (xor, and+xor, mix:r=0.75,u1=0.25, ...).
    pub name: String,
    /// The folder to write (created if missing; it must not hold a dataset already unless
    /// `--force`).
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite the files of an existing dataset in `--out`.
    #[arg(long)]
    pub force: bool,
    /// Seed of the generator.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Training samples.
    #[arg(long, default_value_t = 2000)]
    pub train: usize,
    /// Test samples.
    #[arg(long, default_value_t = 1000)]
    pub test: usize,
}
