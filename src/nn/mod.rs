//! Neural-network building blocks: the [`Module`] trait, layers, losses, initialisation and
//! checkpoints.

mod activation;
mod batchnorm;
pub mod checkpoint;
mod dropout;
mod gaussian;
mod init;
mod linear;
pub mod loss;
mod mlp;
mod module;

pub use activation::Activation;
pub use batchnorm::{batch_norm_train, BatchNorm1d};
pub use checkpoint::{load_checkpoint, read_checkpoint_metadata, save_checkpoint};
pub use dropout::Dropout;
pub use gaussian::{Gaussian, GaussianHead};
pub use init::Init;
pub use linear::Linear;
pub use loss::{cross_entropy, kl_gaussians, kl_standard_normal, mse, Reduction, LOGVAR_RANGE};
pub use mlp::Mlp;
pub use module::{child_prefix, Module, Named};
