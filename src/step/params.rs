//! The parameters of DMIL as the explicit step holds them: one buffer per tensor, with its
//! gradient and Adam moments, under the names the autograd model gives them, so that
//! parameters move between the two by name and checkpoints keep the CPU format.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::model::ModelConfig;
use crate::nn::Module;

use super::backend::Backend;

/// Which training stage trains a parameter: DMIL's stage-1 parts or its stage-2 parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Group {
    /// Encoders, the M/N heads, the Z decoders, the unimodal heads.
    First,
    /// The consistency decomposition, synergy, component heads and gate.
    Second,
}

/// One parameter tensor on the backend.
pub(crate) struct Param<B: Backend> {
    /// Its name in the autograd model, e.g. `branches.0.encoder.1.weight`.
    pub name: String,
    pub group: Group,
    pub value: B::Buf,
    pub grad: B::Buf,
    /// Adam's first and second moments, allocated with the parameter.
    pub mean: B::Buf,
    pub square: B::Buf,
    /// Adam updates so far (the `t` of the bias corrections).
    pub steps: i32,
    /// Whether the last backward pass reached this parameter.
    pub touched: bool,
}

/// A linear layer `y = x W^T + b`: the indices of its weight and bias in the table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lin {
    pub weight: usize,
    pub bias: usize,
    pub inputs: usize,
    pub outputs: usize,
}

/// A Gaussian head: two linear layers, to the mean and to the log-variance.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Head {
    pub mean: Lin,
    pub logvar: Lin,
}

/// The layers of one modality's branch.
pub(crate) struct BranchLayers {
    pub encoder: Vec<Lin>,
    pub task: Head,
    pub rest: Head,
    pub z_decoder: [Lin; 2],
    pub unimodal: Lin,
    pub unique: Head,
    pub shared_from_one: Head,
    pub m_decoder: [Lin; 2],
}

/// Every layer of DMIL.
pub(crate) struct Layers {
    pub branches: Vec<BranchLayers>,
    pub shared: Head,
    pub synergy: Lin,
    pub heads: Vec<Lin>,
    pub gate: [Lin; 2],
}

/// Collects parameter names and shapes while the layers are laid out.
struct Registry {
    entries: Vec<(String, Vec<usize>, Group)>,
}

impl Registry {
    fn linear(&mut self, name: &str, inputs: usize, outputs: usize, group: Group) -> Lin {
        let weight = self.entries.len();
        self.entries
            .push((format!("{name}.weight"), vec![outputs, inputs], group));
        self.entries
            .push((format!("{name}.bias"), vec![outputs], group));
        Lin {
            weight,
            bias: weight + 1,
            inputs,
            outputs,
        }
    }

    fn head(&mut self, name: &str, inputs: usize, outputs: usize, group: Group) -> Head {
        Head {
            mean: self.linear(&format!("{name}.mean"), inputs, outputs, group),
            logvar: self.linear(&format!("{name}.logvar"), inputs, outputs, group),
        }
    }
}

/// Lays out DMIL's layers for `config` (the same widths as [`crate::model::Dmil::new`]) and
/// returns them with the names, shapes and groups of every parameter.
pub(crate) fn layout(config: &ModelConfig) -> (Layers, Vec<(String, Vec<usize>, Group)>) {
    let mut reg = Registry {
        entries: Vec::new(),
    };
    let (e, l, c) = (config.encoder.embedding, config.latent, config.num_classes);
    let modalities = config.input_widths.len();
    let pairs = modalities * (modalities - 1) / 2;
    let components = modalities + 2;

    // Stage-1 parts of every branch first, then stage-2 parts, as the model visits them (the
    // order only matters for dumps; parameters are matched by name).
    let mut first_parts = Vec::with_capacity(modalities);
    for (m, &input) in config.input_widths.iter().enumerate() {
        let p = format!("branches.{m}");
        let first = Group::First;
        let mut widths = vec![input];
        widths.extend(&config.encoder.hidden);
        widths.push(e);
        let encoder: Vec<Lin> = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| reg.linear(&format!("{p}.encoder.{i}"), w[0], w[1], first))
            .collect();
        let task = reg.head(&format!("{p}.task"), e, l, first);
        let rest = reg.head(&format!("{p}.rest"), e, l, first);
        let z_decoder = [
            reg.linear(&format!("{p}.z_decoder.0"), 2 * l, e, first),
            reg.linear(&format!("{p}.z_decoder.1"), e, e, first),
        ];
        let unimodal = reg.linear(&format!("{p}.unimodal"), l, c, first);
        first_parts.push((encoder, task, rest, z_decoder, unimodal));
    }
    let mut branches = Vec::with_capacity(modalities);
    for (m, (encoder, task, rest, z_decoder, unimodal)) in first_parts.into_iter().enumerate() {
        let p = format!("branches.{m}");
        let second = Group::Second;
        branches.push(BranchLayers {
            encoder,
            task,
            rest,
            z_decoder,
            unimodal,
            unique: reg.head(&format!("{p}.unique"), l, l, second),
            shared_from_one: reg.head(&format!("{p}.shared_from_one"), l, l, second),
            m_decoder: [
                reg.linear(&format!("{p}.m_decoder.0"), 2 * l, l, second),
                reg.linear(&format!("{p}.m_decoder.1"), l, l, second),
            ],
        });
    }

    let second = Group::Second;
    let shared = reg.head("shared", modalities * l, l, second);
    let synergy = reg.linear("synergy", (modalities + pairs) * l, l, second);
    let heads = (0..components)
        .map(|k| reg.linear(&format!("heads.{k}"), l, c, second))
        .collect();
    let gate = [
        reg.linear("gate.0", components * l, config.gate_hidden, second),
        reg.linear("gate.1", config.gate_hidden, components, second),
    ];

    let layers = Layers {
        branches,
        shared,
        synergy,
        heads,
        gate,
    };
    (layers, reg.entries)
}

/// Copies every parameter of `model` into fresh backend buffers (with zero gradients and
/// moments), matching them by name.
///
/// # Errors
/// [`Error::Config`] when the model lacks a parameter of the layout or holds one of another
/// size (it is not the DMIL of this configuration); backend errors.
pub(crate) fn upload<B: Backend>(
    backend: &B,
    entries: &[(String, Vec<usize>, Group)],
    model: &dyn Module,
) -> Result<Vec<Param<B>>> {
    let mut named: HashMap<String, Vec<f32>> = model
        .named_parameters()
        .into_iter()
        .map(|(name, t)| (name, t.to_vec()))
        .collect();
    if named.len() != entries.len() {
        return Err(Error::Config(format!(
            "the model has {} parameter tensors; the DMIL step expects {}",
            named.len(),
            entries.len()
        )));
    }

    let mut params = Vec::with_capacity(entries.len());
    for (name, dims, group) in entries {
        let numel: usize = dims.iter().product();
        let values = named.remove(name).ok_or_else(|| {
            Error::Config(format!(
                "the model has no parameter {name} for the DMIL step"
            ))
        })?;
        if values.len() != numel {
            return Err(Error::Config(format!(
                "parameter {name} holds {} values; the DMIL step expects {dims:?}",
                values.len()
            )));
        }
        params.push(Param {
            name: name.clone(),
            group: *group,
            value: backend.upload(&values)?,
            grad: backend.zeros(numel)?,
            mean: backend.zeros(numel)?,
            square: backend.zeros(numel)?,
            steps: 0,
            touched: false,
        });
    }
    Ok(params)
}

/// Writes the backend's parameter values back into `model`, by name.
///
/// # Errors
/// [`Error::Config`] when the model lacks one of the parameters; backend errors.
pub(crate) fn download<B: Backend>(
    backend: &B,
    params: &[Param<B>],
    model: &dyn Module,
) -> Result<()> {
    let named: HashMap<String, crate::tensor::Tensor<f32>> =
        model.named_parameters().into_iter().collect();
    for p in params {
        let tensor = named.get(&p.name).ok_or_else(|| {
            Error::Config(format!("the model has no parameter {} to receive", p.name))
        })?;
        tensor.assign(&backend.download(&p.value)?)?;
    }
    Ok(())
}
