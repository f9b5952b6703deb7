//! Neural-network building blocks: the [`Module`] trait, layers, losses and initialisation.

mod module;

pub use module::{child_prefix, Module, Named};
