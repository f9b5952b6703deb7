//! [`Activation`]: the element-wise non-linearities an [`Mlp`](super::Mlp) can use.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;
use crate::tensor::Tensor;

/// An element-wise non-linearity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `max(x, 0)`.
    #[default]
    Relu,
    /// `tanh x`.
    Tanh,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `x` unchanged.
    Identity,
}

impl Activation {
    /// Applies the non-linearity.
    pub fn apply(self, x: &Tensor<f32>) -> Tensor<f32> {
        match self {
            Activation::Relu => x.relu(),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Identity => x.clone(),
        }
    }
}

impl FromStr for Activation {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "relu" => Ok(Activation::Relu),
            "tanh" => Ok(Activation::Tanh),
            "sigmoid" => Ok(Activation::Sigmoid),
            "identity" => Ok(Activation::Identity),
            other => Err(Error::argument(
                "activation",
                format!("unknown activation {other:?} (relu, tanh, sigmoid, identity)"),
            )),
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Identity => "identity",
        };
        f.write_str(name)
    }
}
