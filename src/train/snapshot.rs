//! [`Snapshot`]: a copy of a model's parameters and buffers in memory, to keep the best epoch.

use crate::error::{Error, Result};
use crate::nn::Module;

/// The values of every named parameter and buffer of a module at one moment.
pub struct Snapshot {
    values: Vec<(String, Vec<f32>)>,
}

impl Snapshot {
    /// Copies the module's current values.
    pub fn take(module: &dyn Module) -> Self {
        let mut values = Vec::new();
        let mut keep =
            |name: String, t: &crate::tensor::Tensor<f32>| values.push((name, t.to_vec()));
        module.visit_parameters("", &mut keep);
        module.visit_buffers("", &mut keep);
        Snapshot { values }
    }

    /// Writes the copied values back into `module`.
    ///
    /// # Errors
    /// [`Error::Config`] when the module's tensors no longer match the snapshot (a different
    /// module).
    pub fn restore(&self, module: &dyn Module) -> Result<()> {
        let mut index = 0;
        let mut failure = None;
        let mut put = |name: String, t: &crate::tensor::Tensor<f32>| {
            match self.values.get(index) {
                Some((saved, values)) if *saved == name && values.len() == t.numel() => {
                    if let Err(e) = t.assign(values) {
                        failure.get_or_insert(e);
                    }
                }
                _ => {
                    failure.get_or_insert(Error::Config(format!(
                        "snapshot does not match the module at {name}"
                    )));
                }
            }
            index += 1;
        };
        module.visit_parameters("", &mut put);
        module.visit_buffers("", &mut put);
        failure.map_or(Ok(()), Err)
    }
}
