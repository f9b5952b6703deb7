//! Differentiable operations, each forward beside its backward.
//!
//! Every operation that records a node on the tape has an [`OpKind`]. The list is closed on
//! purpose: the property-test suite matches on it exhaustively, so an operation added here
//! without a gradient check does not compile its tests.
//!
//! # Sub-gradients at kinks
//! Where a function is not differentiable the engine picks one sub-gradient, always the same:
//! - `abs` at 0: gradient 0 (the sign of 0);
//! - `relu` at 0: gradient 0 (the input counts as inactive);
//! - `max` over an axis with ties: the whole gradient goes to the first maximal element;
//! - `clamp` at a bound: gradient 1 (a value equal to a bound is inside the range).

mod binary;
mod gaussian;
mod index;
mod linear;
mod matmul;
mod overload;
mod reduce;
mod softmax;
mod unary;
mod view;

pub(crate) use gaussian::same_shape;
pub(crate) use unary::{sigmoid, softplus};

/// Every operation the tape can record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// `a + b`, broadcasting.
    Add,
    /// `a - b`, broadcasting.
    Sub,
    /// `a * b`, broadcasting.
    Mul,
    /// `a / b`, broadcasting.
    Div,
    /// `-x`.
    Neg,
    /// `x + c` for a scalar `c`.
    AddScalar,
    /// `x * c` for a scalar `c`.
    MulScalar,
    /// `e^x`.
    Exp,
    /// `ln x`.
    Log,
    /// `sqrt x`.
    Sqrt,
    /// `x^p` for a scalar `p`.
    Powf,
    /// `|x|`.
    Abs,
    /// `max(x, 0)`.
    Relu,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh x`.
    Tanh,
    /// `ln(1 + e^x)`.
    Softplus,
    /// `min(max(x, lo), hi)`.
    Clamp,
    /// `mean + e^(logvar / 2) * eps`: a reparameterized Gaussian sample.
    Reparameterize,
    /// `(e^l + mu^2 - l - 1) / 2` element-wise, `l` the clamped log-variance: the KL
    /// divergence of a diagonal Gaussian to the standard normal.
    KlStandardNormal,
    /// The element-wise KL divergence between two diagonal Gaussians, log-variances clamped.
    KlGaussians,
    /// Matrix product, batched over leading axes.
    Matmul,
    /// `x W^T + b`: a linear layer's product and bias in one operation.
    Linear,
    /// Sum over axes.
    Sum,
    /// Mean over axes.
    Mean,
    /// Maximum over one axis.
    Max,
    /// `ln sum e^x` over one axis.
    LogSumExp,
    /// `e^x / sum e^x` over one axis.
    Softmax,
    /// `x - logsumexp(x)` over one axis.
    LogSoftmax,
    /// A scaled, weighted sum of one log-softmax entry per row: a cross-entropy.
    PickedLogSoftmax,
    /// Joining tensors along an existing axis.
    Concat,
    /// Selecting entries along an axis by index.
    IndexSelect,
    /// Choosing between two tensors by a mask.
    Where,
    /// Swapping two axes (a view).
    Transpose,
    /// Reordering axes (a view).
    Permute,
    /// Another shape of the same elements.
    Reshape,
    /// A slice along one axis (a view).
    Narrow,
    /// Stretching size-1 axes (a view).
    BroadcastTo,
    /// Removing a size-1 axis (a view).
    Squeeze,
    /// Inserting a size-1 axis (a view).
    Unsqueeze,
    /// A contiguous copy.
    Contiguous,
}

impl OpKind {
    /// Every kind, in declaration order.
    pub const ALL: [OpKind; 40] = [
        OpKind::Add,
        OpKind::Sub,
        OpKind::Mul,
        OpKind::Div,
        OpKind::Neg,
        OpKind::AddScalar,
        OpKind::MulScalar,
        OpKind::Exp,
        OpKind::Log,
        OpKind::Sqrt,
        OpKind::Powf,
        OpKind::Abs,
        OpKind::Relu,
        OpKind::Sigmoid,
        OpKind::Tanh,
        OpKind::Softplus,
        OpKind::Clamp,
        OpKind::Reparameterize,
        OpKind::KlStandardNormal,
        OpKind::KlGaussians,
        OpKind::Matmul,
        OpKind::Linear,
        OpKind::Sum,
        OpKind::Mean,
        OpKind::Max,
        OpKind::LogSumExp,
        OpKind::Softmax,
        OpKind::LogSoftmax,
        OpKind::PickedLogSoftmax,
        OpKind::Concat,
        OpKind::IndexSelect,
        OpKind::Where,
        OpKind::Transpose,
        OpKind::Permute,
        OpKind::Reshape,
        OpKind::Narrow,
        OpKind::BroadcastTo,
        OpKind::Squeeze,
        OpKind::Unsqueeze,
        OpKind::Contiguous,
    ];
}
