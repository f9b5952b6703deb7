//! Arithmetic operators on tensors, so model code reads like the maths: `&a * &b + &c`,
//! `(x - &mean) / &std`, `&x * 0.5`. Operators panic on shapes that do not broadcast, with the
//! message of the matching `try_` method.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::tensor::{Element, Tensor};

macro_rules! tensor_operator {
    ($trait:ident, $method:ident, $inherent:ident, $scalar:expr) => {
        impl<T: Element> $trait<&Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;

            #[track_caller]
            fn $method(self, rhs: &Tensor<T>) -> Tensor<T> {
                Tensor::$inherent(self, rhs)
            }
        }

        impl<T: Element> $trait<Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;

            #[track_caller]
            fn $method(self, rhs: Tensor<T>) -> Tensor<T> {
                Tensor::$inherent(self, &rhs)
            }
        }

        impl<T: Element> $trait<&Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;

            #[track_caller]
            fn $method(self, rhs: &Tensor<T>) -> Tensor<T> {
                Tensor::$inherent(&self, rhs)
            }
        }

        impl<T: Element> $trait<Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;

            #[track_caller]
            fn $method(self, rhs: Tensor<T>) -> Tensor<T> {
                Tensor::$inherent(&self, &rhs)
            }
        }

        impl<T: Element> $trait<T> for &Tensor<T> {
            type Output = Tensor<T>;

            fn $method(self, rhs: T) -> Tensor<T> {
                let apply: fn(&Tensor<T>, T) -> Tensor<T> = $scalar;
                apply(self, rhs)
            }
        }

        impl<T: Element> $trait<T> for Tensor<T> {
            type Output = Tensor<T>;

            fn $method(self, rhs: T) -> Tensor<T> {
                let apply: fn(&Tensor<T>, T) -> Tensor<T> = $scalar;
                apply(&self, rhs)
            }
        }
    };
}

tensor_operator!(Add, add, add, |x, c| x.add_scalar(c));
tensor_operator!(Sub, sub, sub, |x, c| x.add_scalar(-c));
tensor_operator!(Mul, mul, mul, |x, c| x.mul_scalar(c));
tensor_operator!(Div, div, div, |x, c| x.mul_scalar(T::ONE / c));

impl<T: Element> Neg for &Tensor<T> {
    type Output = Tensor<T>;

    fn neg(self) -> Tensor<T> {
        Tensor::neg(self)
    }
}

impl<T: Element> Neg for Tensor<T> {
    type Output = Tensor<T>;

    fn neg(self) -> Tensor<T> {
        Tensor::neg(&self)
    }
}
