//! Reverse-mode automatic differentiation, define-by-run.
//!
//! Operations on tensors that need a gradient are recorded on a per-thread [`Tape`] as they
//! run; [`Tensor::backward`] then walks the tape once from the end, applying each operation's
//! chain rule, and deposits the gradients of the leaves (tensors made with
//! [`Tensor::requires_grad`]). The rules:
//!
//! - an operation is recorded only when gradients are enabled (not inside [`no_grad`]) and at
//!   least one input needs a gradient; otherwise it costs nothing extra;
//! - gradients accumulate into leaves across backward passes until [`Tensor::zero_grad`];
//! - a backward pass releases the whole tape of its thread, so one graph per step; tensors
//!   from a released graph behave as constants afterwards;
//! - a graph is built and run on one thread: the tape is thread-local.
//!
//! Gradients of inputs that were broadcast are summed back to the input's shape by one helper,
//! [`Tensor::sum_to_shape`].

mod leaf;
mod tape;

use std::cell::Cell;
use std::sync::Arc;

pub(crate) use leaf::Leaf;
pub use tape::Tape;
pub(crate) use tape::{InputGrads, InputPositions, Node, NO_GRAD};

use crate::error::{Error, Result};
use crate::tensor::{kernels, Element, OpKind, Tensor};

/// A tensor's place in the autodiff graph.
pub(crate) enum GradTrack<T: Element> {
    /// A constant: no gradient flows to or through it.
    None,
    /// A tensor made with `requires_grad`: gradients accumulate here.
    Leaf(Arc<Leaf<T>>),
    /// The output of a recorded operation at `position` on the tape of `generation`.
    Node { generation: u32, position: usize },
}

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// True unless the current thread is inside a [`no_grad`] scope.
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(Cell::get)
}

/// Turns recording off on this thread until dropped, then restores the previous setting.
#[must_use = "recording resumes as soon as the guard is dropped"]
pub struct NoGradGuard {
    previous: bool,
}

impl NoGradGuard {
    /// Stops recording on this thread.
    pub fn new() -> Self {
        NoGradGuard {
            previous: GRAD_ENABLED.with(|g| g.replace(false)),
        }
    }
}

impl Default for NoGradGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.previous));
    }
}

/// Runs `f` with recording turned off: for evaluation, and for updates made by optimizers.
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    let _guard = NoGradGuard::new();
    f()
}

/// Drops everything recorded on this thread's tape for element type `T` without running it,
/// for a forward pass whose graph will not be used.
pub fn discard_graph<T: Element>() {
    T::with_tape(|tape| drop(tape.release()));
}

/// Number of operations recorded on this thread's tape for `T` since the last backward pass.
pub fn recorded_len<T: Element>() -> usize {
    T::with_tape(|tape| tape.len())
}

/// The kinds of the operations recorded on this thread's tape for `T` since the last backward
/// pass, in recording order: for tests and for debugging what a forward pass records.
pub fn recorded_ops<T: Element>() -> Vec<OpKind> {
    T::with_tape(|tape| {
        tape.nodes
            .iter()
            .filter_map(|node| match node {
                Node::Op { kind, .. } => Some(*kind),
                Node::Leaf(_) => None,
            })
            .collect()
    })
}

/// The tape position of `t` in `tape`, adding a leaf node on first use; [`NO_GRAD`] when no
/// gradient flows to `t`.
fn position_on<T: Element>(tape: &mut Tape<T>, t: &Tensor<T>) -> usize {
    match t.track() {
        GradTrack::None => NO_GRAD,
        GradTrack::Leaf(leaf) if !leaf.enabled() => NO_GRAD,
        GradTrack::Leaf(leaf) => match leaf.position(tape.generation) {
            Some(position) => position,
            None => {
                let position = tape.push(Node::Leaf(Arc::clone(leaf)));
                leaf.set_position(tape.generation, position);
                position
            }
        },
        GradTrack::Node {
            generation,
            position,
        } if *generation == tape.generation => *position,
        GradTrack::Node { .. } => NO_GRAD,
    }
}

/// True when a gradient would flow to `t` from an operation recorded now.
fn needs_grad<T: Element>(t: &Tensor<T>, generation: u32) -> bool {
    match t.track() {
        GradTrack::None => false,
        GradTrack::Leaf(leaf) => leaf.enabled(),
        GradTrack::Node { generation: g, .. } => *g == generation,
    }
}

impl<T: Element> Tensor<T> {
    /// Records `self`, the freshly computed output of `kind` applied to `inputs`, on the tape,
    /// with `backward` mapping the output's gradient to one optional gradient per input.
    /// Nothing is recorded (and `backward` is dropped unused) when recording is off or no input
    /// needs a gradient. `backward` may keep plain clones of the inputs it needs: it runs with
    /// recording off, so their autodiff records are never read, and a clone costs no
    /// allocation where a detached handle costs one.
    pub(crate) fn record(
        self,
        kind: OpKind,
        inputs: &[&Tensor<T>],
        backward: impl FnOnce(&Tensor<T>) -> InputGrads<T> + 'static,
    ) -> Tensor<T> {
        if !is_grad_enabled() {
            return self;
        }

        T::with_tape(|tape| {
            if !inputs.iter().any(|t| needs_grad(t, tape.generation)) {
                return self;
            }
            let positions: InputPositions = inputs.iter().map(|t| position_on(tape, t)).collect();
            let position = tape.push(Node::Op {
                kind,
                inputs: positions,
                backward: Box::new(backward),
            });
            self.into_tracked(GradTrack::Node {
                generation: tape.generation,
                position,
            })
        })
    }

    /// For each of `inputs`, whether an operation recorded now would send it a gradient;
    /// all false while recording is off. Operations whose backward is costly per input (a
    /// product, an element-wise product) skip the inputs that need none.
    pub(crate) fn grads_needed<const N: usize>(inputs: [&Tensor<T>; N]) -> [bool; N] {
        if !is_grad_enabled() {
            return [false; N];
        }
        T::with_tape(|tape| inputs.map(|t| needs_grad(t, tape.generation)))
    }

    /// True when gradients flow to this tensor: it is an enabled leaf or was computed from one
    /// in the current graph.
    pub fn needs_grad(&self) -> bool {
        T::with_tape(|tape| needs_grad(self, tape.generation))
    }

    /// This tensor's values as a new leaf that collects gradients. The data is shared, not
    /// copied; any history of `self` is cut.
    pub fn requires_grad(&self) -> Tensor<T> {
        self.with_track(GradTrack::Leaf(Arc::new(Leaf::new())))
    }

    /// True for a tensor made with [`Tensor::requires_grad`].
    pub fn is_leaf(&self) -> bool {
        matches!(self.track(), GradTrack::Leaf(_))
    }

    /// Turns gradient collection of a leaf off (`false`: it behaves as a constant) or back on.
    /// Freezing a parameter is `set_requires_grad(false)`.
    ///
    /// # Errors
    /// [`Error::Autograd`] when `self` is not a leaf.
    pub fn set_requires_grad(&self, on: bool) -> Result<()> {
        match self.track() {
            GradTrack::Leaf(leaf) => {
                leaf.set_enabled(on);
                Ok(())
            }
            _ => Err(Error::Autograd(
                "only a leaf made with requires_grad can be frozen or unfrozen".into(),
            )),
        }
    }

    /// The same values with no autodiff history: gradients stop here.
    pub fn detach(&self) -> Tensor<T> {
        self.with_track(GradTrack::None)
    }

    /// The gradient accumulated in this leaf, if any backward pass reached it.
    pub fn grad(&self) -> Option<Tensor<T>> {
        match self.track() {
            GradTrack::Leaf(leaf) => leaf.grad(),
            _ => None,
        }
    }

    /// Forgets the gradient accumulated in this leaf (no-op on other tensors).
    pub fn zero_grad(&self) {
        if let GradTrack::Leaf(leaf) = self.track() {
            leaf.zero();
        }
    }

    /// Back-propagates from this one-element tensor: every leaf it was computed from gets
    /// d(self)/d(leaf) added to its gradient. Releases this thread's tape afterwards.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] unless `self` has exactly one element; [`Error::Autograd`] when
    /// it was not computed from anything that needs a gradient, or its graph was already
    /// released by an earlier backward pass.
    pub fn backward(&self) -> Result<()> {
        if self.numel() != 1 {
            return Err(Error::shape(
                "backward",
                self.dims(),
                "backward needs a scalar",
            ));
        }

        let seed = kernels::full_like(self, T::ONE);
        let (generation, root) = match self.track() {
            GradTrack::Leaf(leaf) => {
                leaf.accumulate(seed);
                return Ok(());
            }
            GradTrack::None => {
                return Err(Error::Autograd(
                    "backward on a tensor that does not depend on anything requiring grad".into(),
                ))
            }
            GradTrack::Node {
                generation,
                position,
            } => (*generation, *position),
        };

        let mut nodes = T::with_tape(|tape| {
            if tape.generation != generation {
                return Err(Error::Autograd(
                    "this graph was already released by an earlier backward pass".into(),
                ));
            }
            Ok(tape.release())
        })?;
        nodes.truncate(root + 1);

        let _no_grad = NoGradGuard::new();
        let mut grads: Vec<Option<Tensor<T>>> = Vec::with_capacity(nodes.len());
        grads.resize_with(nodes.len(), || None);
        grads[root] = Some(seed);

        // Creation order is topological, so walking it backwards reaches each node after all
        // of its consumers have sent their share of its gradient.
        while let Some(node) = nodes.pop() {
            let position = nodes.len();
            let Some(grad) = grads[position].take() else {
                continue;
            };
            match node {
                Node::Leaf(leaf) => leaf.accumulate(grad),
                Node::Op {
                    inputs, backward, ..
                } => {
                    let input_grads = backward(&grad);
                    for (input, g) in inputs.into_iter().zip(input_grads) {
                        let (true, Some(g)) = (input != NO_GRAD, g) else {
                            continue;
                        };
                        grads[input] = Some(match grads[input].take() {
                            Some(sum) => kernels::accumulate(sum, &g),
                            None => g,
                        });
                    }
                }
            }
        }
        Ok(())
    }
}
