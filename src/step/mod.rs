//! DMIL's training step written out by hand: an explicit forward pass and its derived
//! backward pass over a small [`Backend`] of primitives (matrix products, bias, ReLU, dropout
//! by a supplied mask, concatenation by column blocks, cross-entropy, the Gaussian KLs,
//! reparameterized sampling, the synergy products, the gate, Adam).
//!
//! Why a second implementation next to the autograd model: the model of
//! [`crate::model::Dmil`] runs on the engine's CPU tensors. To train on a GPU without a
//! device-side autograd engine, the step is written once against [`Backend`], with two
//! implementations: [`CpuBackend`] (plain loops; no tape) and, with the `cuda` feature,
//! `crate::cuda::CudaBackend` (cuBLAS and the kernels of `kernels/`). The CPU backend is
//! tested against the autograd model, loss term by loss term and gradient by gradient, for
//! every stage; the CUDA backend is tested against the CPU backend on a machine with a GPU.
//! **The CUDA backend has never run on a GPU**: it was written and checked (kernels compiled
//! for sm_90, launch signatures, the cuBLAS mapping) on a machine without one, and its GPU
//! tests skip themselves there.
//!
//! [`fit_step`] trains a DMIL stage by stage with the step, as the trainer does with the
//! autograd model; `dmil train --device cuda` uses it with the CUDA backend.
//!
//! Parameters move between the autograd model and a step by name
//! ([`DmilStep::new`], [`DmilStep::download_into`]), so checkpoints keep the CPU format.
//!
//! Files: `backend` (the trait), `cpu` (its CPU implementation), `params` (parameter layout
//! and transfer by name), `dmil` ([`DmilStep`]: parameters, loss, Adam), `pass` (one
//! forward-backward pass), `fit` (the stage-by-stage fit), `timing` (for `dmil bench`).
//!
//! Shortcomings: intermediate buffers are allocated afresh at every step (on a GPU through
//! the stream-ordered allocator); only Adam with an L2 penalty (the trainer's default) is
//! implemented, not SGD.

mod backend;
mod cpu;
mod dmil;
mod fit;
mod params;
mod pass;
mod timing;

pub use backend::{AdamArgs, Backend, Gemm};
pub use cpu::CpuBackend;
pub use dmil::{AdamSettings, DmilStep, StepBatch, StepLoss, StepNoise, TERM_NAMES};
pub use fit::{fit_step, NoiseStream};
pub use timing::{time_steps, StepTiming};
