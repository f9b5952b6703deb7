//! Data: loading real multimodal datasets, preprocessing, batching, and synthetic datasets
//! with known interactions.
//!
//! - [`load_dir`] reads a folder in the MOGONET layout (`i_tr.csv`, `i_te.csv`,
//!   `labels_tr.csv`, `labels_te.csv`, or the same as `.npy`) into [`DataSplits`];
//! - [`Standardizer`], [`stratified_split`] and [`batches`] prepare it for training;
//! - [`synthetic`] makes Boolean-gate and predefined-interaction datasets from a name such
//!   as `and+xor` or `mix:r=0.75,u1=0.25`; [`write_dir`] saves any dataset in the CSV layout.
//!
//! The layer depends on `std`, `rand` and `thiserror` only; every error is a [`DataError`]
//! naming the file, line and column, or the spec, at fault.

mod batch;
mod csv;
mod dataset;
mod error;
mod load;
mod matrix;
mod npy;
mod preprocess;
mod split;
pub mod synthetic;
mod write;

pub use batch::batches;
pub use csv::{read_labels_csv, read_matrix_csv, read_names_csv, MAX_LABEL};
pub use dataset::{DataSplits, Dataset, SampleKind};
pub use error::DataError;
pub use load::{
    detect_format, list_modalities, load_dir, load_dir_as, load_test_features, FileFormat,
};
pub use matrix::Matrix;
pub use npy::{encode_npy_f32, read_labels_npy, read_matrix_npy};
pub use preprocess::Standardizer;
pub use split::stratified_split;
pub use synthetic::{generate, BooleanGate, SyntheticSpec, MAX_SAMPLES};
pub use write::write_dir;
