//! Training: the stage-by-stage trainer, evaluation, metrics and model selection.

mod config;
mod evaluate;
pub mod experiment;
pub mod metrics;
mod observer;
mod selection;
mod snapshot;
mod tensor_data;
mod trainer;

pub use config::{OptimizerKind, Selection, SelectionMetric, StagePlan, TrainConfig};
pub use evaluate::{evaluate, predict, Evaluation, InteractionWeights, Predictions};
pub use experiment::{prepare, run, run_with, DataSource, Fitter, PreparedData, RunResult};
pub use metrics::Metrics;
pub use observer::{EpochSummary, Silent, TrainObserver};
pub use selection::{epoch_batches, locate_non_finite, StageSelection};
pub use snapshot::Snapshot;
pub use tensor_data::TensorData;
pub use trainer::{fit, FitReport, StageReport};
