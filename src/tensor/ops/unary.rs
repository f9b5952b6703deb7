//! Element-wise functions of one tensor. Each forward sits beside its derivative `dy/dx`,
//! written in terms of the input `x` and the output `y`, whichever is cheaper.

use smallvec::smallvec;

use crate::tensor::{kernels, Element, OpKind, Tensor};

impl<T: Element> Tensor<T> {
    /// Applies `f` element-wise and records the chain rule `dx = g * df(x, y)`.
    fn unary(
        &self,
        kind: OpKind,
        f: impl Fn(T) -> T + Sync,
        df: impl Fn(T, T) -> T + 'static,
    ) -> Tensor<T> {
        self.unary_from(kind, kernels::map(self, f), df)
    }

    /// Records the chain rule `dx = g * df(x, y)` for an output `y` already computed.
    fn unary_from(
        &self,
        kind: OpKind,
        y: Tensor<T>,
        df: impl Fn(T, T) -> T + 'static,
    ) -> Tensor<T> {
        let (x, out) = (self.clone(), y.clone());
        y.record(kind, &[self], move |g| {
            let dx = kernels::zip3("backward", g, &x, &out, |g, x, y| g * df(x, y));
            smallvec![Some(crate::tensor::expect_ok(dx))]
        })
    }

    /// `-x`.
    pub fn neg(&self) -> Tensor<T> {
        let y = kernels::map(self, |x| -x);
        y.record(OpKind::Neg, &[self], |g| {
            smallvec![Some(kernels::map(g, |g| -g))]
        })
    }

    /// `x + c` for a scalar `c`.
    pub fn add_scalar(&self, c: T) -> Tensor<T> {
        let y = kernels::map(self, |x| x + c);
        y.record(OpKind::AddScalar, &[self], |g| smallvec![Some(g.detach())])
    }

    /// `x * c` for a scalar `c`.
    pub fn mul_scalar(&self, c: T) -> Tensor<T> {
        let y = kernels::map(self, |x| x * c);
        y.record(OpKind::MulScalar, &[self], move |g| {
            smallvec![Some(kernels::map(g, |g| g * c))]
        })
    }

    /// `e^x`; `d/dx = e^x = y`.
    pub fn exp(&self) -> Tensor<T> {
        let y = kernels::map_slices(self, T::exp_slice);
        self.unary_from(OpKind::Exp, y, |_, y| y)
    }

    /// Natural logarithm; `d/dx = 1 / x`. Non-positive inputs give NaN or -inf, as in IEEE.
    pub fn log(&self) -> Tensor<T> {
        let y = kernels::map_slices(self, T::ln_slice);
        self.unary_from(OpKind::Log, y, |x, _| T::ONE / x)
    }

    /// Square root; `d/dx = 1 / (2 sqrt x)`.
    pub fn sqrt(&self) -> Tensor<T> {
        self.unary(OpKind::Sqrt, T::sqrt, |_, y| T::from_f64(0.5) / y)
    }

    /// `x^p` for a scalar exponent; `d/dx = p x^(p-1)`.
    pub fn powf(&self, p: T) -> Tensor<T> {
        self.unary(
            OpKind::Powf,
            move |x| x.powf(p),
            move |x, _| p * x.powf(p - T::ONE),
        )
    }

    /// Absolute value; `d/dx = sign(x)`, with sign(0) = 0.
    pub fn abs(&self) -> Tensor<T> {
        self.unary(OpKind::Abs, T::abs, |x, _| sign(x))
    }

    /// `max(x, 0)`; `d/dx = 1` for `x > 0`, else 0 (including at 0). NaN stays NaN, so a bad
    /// input is not silently hidden.
    pub fn relu(&self) -> Tensor<T> {
        let relu = |x: T| if x < T::ZERO { T::ZERO } else { x };
        self.unary(OpKind::Relu, relu, |x, _| step(x))
    }

    /// The logistic function `1 / (1 + e^-x)`, evaluated without overflow for any `x`;
    /// `d/dx = y (1 - y)`.
    pub fn sigmoid(&self) -> Tensor<T> {
        let y = kernels::map_slices(self, T::sigmoid_slice);
        self.unary_from(OpKind::Sigmoid, y, |_, y| y * (T::ONE - y))
    }

    /// Hyperbolic tangent; `d/dx = 1 - y^2`.
    pub fn tanh(&self) -> Tensor<T> {
        let y = kernels::map_slices(self, T::tanh_slice);
        self.unary_from(OpKind::Tanh, y, |_, y| T::ONE - y * y)
    }

    /// `ln(1 + e^x)`, evaluated as `max(x, 0) + ln(1 + e^-|x|)` so it neither overflows for
    /// large `x` nor loses precision for very negative `x`; `d/dx = sigmoid(x)`.
    pub fn softplus(&self) -> Tensor<T> {
        let y = kernels::map_slices(self, T::softplus_slice);
        self.unary_from(OpKind::Softplus, y, |x, _| sigmoid(x))
    }

    /// `min(max(x, lo), hi)`; `d/dx = 1` for `lo <= x <= hi` (bounds included), else 0.
    pub fn clamp(&self, lo: T, hi: T) -> Tensor<T> {
        self.unary(
            OpKind::Clamp,
            move |x| x.max(lo).min(hi),
            move |x, _| if x >= lo && x <= hi { T::ONE } else { T::ZERO },
        )
    }
}

/// -1, 0 or 1.
fn sign<T: Element>(x: T) -> T {
    if x > T::ZERO {
        T::ONE
    } else if x < T::ZERO {
        -T::ONE
    } else {
        T::ZERO
    }
}

/// 1 for positive inputs, else 0.
fn step<T: Element>(x: T) -> T {
    if x > T::ZERO {
        T::ONE
    } else {
        T::ZERO
    }
}

/// The logistic function, choosing the form whose exponential cannot overflow.
pub(crate) fn sigmoid<T: Element>(x: T) -> T {
    if x >= T::ZERO {
        T::ONE / (T::ONE + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::ONE + e)
    }
}

/// `ln(1 + e^x)` without overflow.
pub(crate) fn softplus<T: Element>(x: T) -> T {
    x.max(T::ZERO) + (-x.abs()).exp().ln_1p()
}
