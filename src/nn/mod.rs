//! Neural-network building blocks: the [`Module`] trait, layers, losses and initialisation.

mod activation;
mod gaussian;
mod init;
mod linear;
mod mlp;
mod module;

pub use activation::Activation;
pub use gaussian::{Gaussian, GaussianHead};
pub use init::Init;
pub use linear::Linear;
pub use mlp::Mlp;
pub use module::{child_prefix, Module, Named};
