//! The [`Tape`]: a per-thread list of recorded operations in creation order.
//!
//! Creation order is already a topological order of the graph (an operation can only use
//! tensors that exist), so running the tape backwards visits every node after all of its
//! consumers: no sort, no recursion, and gradients live in a vector indexed by node.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use smallvec::SmallVec;

use super::leaf::Leaf;
use crate::tensor::{Element, OpKind, Tensor};

/// The next tape generation. One counter for every thread and element type, so that no two
/// graphs carry the same generation: a leaf or a tensor that reaches another thread's tape is
/// then never taken for a node of that tape.
static NEXT_GENERATION: AtomicU32 = AtomicU32::new(0);

fn fresh_generation() -> u32 {
    NEXT_GENERATION.fetch_add(1, Ordering::Relaxed)
}

/// Marks an input that needs no gradient (a constant, or a tensor from a released graph).
pub(crate) const NO_GRAD: usize = usize::MAX;

/// The gradients an operation sends to its inputs, one entry per input (`None`: no gradient).
/// Up to four are stored inline: a linear layer has three inputs, a Gaussian KL four.
pub(crate) type InputGrads<T> = SmallVec<[Option<Tensor<T>>; 4]>;

/// The tape positions of an operation's inputs, up to four inline.
pub(crate) type InputPositions = SmallVec<[usize; 4]>;

/// Maps the gradient of an operation's output to the gradients of its inputs.
pub(crate) type BackwardFn<T> = Box<dyn FnOnce(&Tensor<T>) -> InputGrads<T>>;

/// One recorded step: either a leaf that collects its gradient, or an operation.
pub(crate) enum Node<T: Element> {
    /// A tensor created by the user with `requires_grad`, first used in this graph here.
    Leaf(Arc<Leaf<T>>),
    /// An operation with the tape positions of its inputs and its chain rule.
    Op {
        kind: OpKind,
        inputs: InputPositions,
        backward: BackwardFn<T>,
    },
}

/// This thread's record of the operations since the last backward pass, for one element type.
///
/// Each backward pass takes the whole tape and starts a new generation, unique across threads;
/// tensors that point into any other generation behave as constants on this tape.
pub struct Tape<T: Element> {
    pub(crate) generation: u32,
    pub(crate) nodes: Vec<Node<T>>,
}

impl<T: Element> Tape<T> {
    /// An empty tape.
    pub(crate) fn new() -> Self {
        Tape {
            generation: fresh_generation(),
            nodes: Vec::new(),
        }
    }

    /// Number of recorded nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when nothing has been recorded since the last backward pass.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Appends a node and returns its position.
    pub(crate) fn push(&mut self, node: Node<T>) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Takes every recorded node and starts a new generation.
    pub(crate) fn release(&mut self) -> Vec<Node<T>> {
        self.generation = fresh_generation();
        std::mem::take(&mut self.nodes)
    }
}
