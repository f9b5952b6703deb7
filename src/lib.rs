//! `dmil`: a from-scratch reverse-mode autodiff engine and DMIL, the Decomposition-based
//! Multimodal Interaction Learner, built on it.
//!
//! The crate is layered so that data flows one way and the engine knows nothing of DMIL:
//!
//! - [`tensor`]: n-dimensional tensors over shared storage (shape, strides, offset), their CPU
//!   kernels and every differentiable operation;
//! - [`autograd`]: the tape that records operations and runs them backwards;
//! - [`nn`]: modules, parameters, layers, losses and initialisation;
//! - [`optim`]: optimizers and learning-rate schedules;
//! - [`data`]: CSV and NPY loading, preprocessing, batching and synthetic datasets;
//! - [`model`]: DMIL and its Joint and Ensemble baselines;
//! - [`train`]: the three-stage trainer, metrics and checkpoints;
//! - [`pid`]: exact partial information decomposition and the clustering estimator;
//! - `cuda` (feature `cuda`): device buffers and the custom kernels of `kernels/`.

pub mod autograd;
pub mod data;
pub mod error;
pub mod model;
pub mod nn;
pub mod optim;
pub mod pid;
pub mod step;
pub mod tensor;
pub mod train;

#[cfg(feature = "cuda")]
pub mod cuda;

pub use error::{Error, Result};
pub use tensor::{Element, Shape, Tensor};

/// The README's Rust example, compiled and run as a doctest so it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
