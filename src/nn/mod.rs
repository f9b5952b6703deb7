//! Neural-network building blocks: the [`Module`] trait, layers, losses and initialisation.

mod batchnorm;
pub mod checkpoint;
mod dropout;
pub mod loss;
mod module;

pub use batchnorm::{batch_norm_train, BatchNorm1d};
pub use checkpoint::{load_checkpoint, read_checkpoint_metadata, save_checkpoint};
pub use dropout::Dropout;
pub use loss::{cross_entropy, kl_gaussians, kl_standard_normal, mse, Reduction, LOGVAR_RANGE};
pub use module::{child_prefix, Module, Named};
