//! [`Module`]: what every layer and model shares: named parameters, named buffers, a training
//! flag, and freezing.

use crate::tensor::Tensor;

/// A named tensor of a module: a parameter (`encoder.0.weight`) or a buffer
/// (`encoder.1.running_mean`).
pub type Named = (String, Tensor<f32>);

/// A building block of a model.
///
/// Names join with dots from the outside in, so a model's parameter list reads like a path:
/// `modalities.0.encoder.2.weight`. Forward passes are ordinary methods of each type (their
/// inputs differ); this trait covers what a trainer, an optimizer and a checkpoint need.
pub trait Module {
    /// Calls `visit` with the full name and tensor of every trainable parameter, each once,
    /// in a fixed order. `prefix` is the module's own name followed by a dot, or empty.
    fn visit_parameters(&self, prefix: &str, visit: &mut dyn FnMut(String, &Tensor<f32>));

    /// Calls `visit` with every buffer: state saved in checkpoints but not trained, such as
    /// BatchNorm's running statistics. None by default.
    fn visit_buffers(&self, prefix: &str, visit: &mut dyn FnMut(String, &Tensor<f32>)) {
        let _ = (prefix, visit);
    }

    /// Switches between training (`true`: dropout active, batch statistics) and evaluation
    /// behaviour. Modules without such behaviour ignore it.
    fn set_training(&self, training: bool) {
        let _ = training;
    }

    /// Every trainable parameter with its name.
    fn named_parameters(&self) -> Vec<Named> {
        let mut out = Vec::new();
        self.visit_parameters("", &mut |name, t| out.push((name, t.clone())));
        out
    }

    /// Every trainable parameter, for an optimizer.
    fn parameters(&self) -> Vec<Tensor<f32>> {
        self.named_parameters()
            .into_iter()
            .map(|(_, t)| t)
            .collect()
    }

    /// Every buffer with its name.
    fn named_buffers(&self) -> Vec<Named> {
        let mut out = Vec::new();
        self.visit_buffers("", &mut |name, t| out.push((name, t.clone())));
        out
    }

    /// Number of trainable scalars.
    fn num_parameters(&self) -> usize {
        self.parameters().iter().map(Tensor::numel).sum()
    }

    /// Stops (`true`) or resumes gradient collection for every parameter, and puts the module
    /// in evaluation (frozen) or training behaviour, so a frozen BatchNorm neither uses batch
    /// statistics nor updates its running ones.
    fn freeze(&self, frozen: bool) {
        self.visit_parameters("", &mut |_, t| {
            t.set_requires_grad(!frozen)
                .expect("module parameters are leaves made with requires_grad");
        });
        self.set_training(!frozen);
    }
}

/// Joins a prefix and a child's name: `join("encoder.", "0")` is `encoder.0.`.
pub fn child_prefix(prefix: &str, child: &str) -> String {
    format!("{prefix}{child}.")
}
