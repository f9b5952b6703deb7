#!/usr/bin/env bash
# The project's test command: sets up what the tests need on a fresh machine, then runs the
# whole suite. `.ci/run` calls exactly this.
#
# 1. A Python virtual environment with `safetensors` and `numpy`, so a test can read our
#    checkpoints with the reference implementation of the format.
# 2. libnvrtc from NVIDIA's PyPI wheel (see .ci/nvrtc-env.sh), so every CUDA kernel is
#    compiled for sm_90 even on a machine without a GPU.
# 3. The tests with default features plus `cuda`, in release mode (the property tests run
#    thousands of cases), then the engine, training and checkpoint suites with
#    `--no-default-features` (one thread, no command line), the configuration for embedding.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="target/py-venv"
if [ ! -x "$venv/bin/python" ]; then
    mkdir -p target
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import safetensors.numpy, numpy" 2>/dev/null; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check safetensors numpy
fi
export DMIL_PYTHON="$PWD/$venv/bin/python"

# shellcheck source=../.ci/nvrtc-env.sh
source .ci/nvrtc-env.sh || echo "warning: no libnvrtc; the kernel-compile test will skip"

# Property tests draw their cases from this seed, so every run (and CI) checks the same cases;
# unset it to explore new ones.
export PROPTEST_RNG_SEED="${PROPTEST_RNG_SEED:-20261204}"

cargo test --release --features cuda
# Embedding configuration: no rayon, no command line. The library's own tests and the suites
# that exercise the engine, training and checkpoints end to end.
cargo test --release --no-default-features --lib --test grad_ops --test grad_edge_cases \
    --test model_dmil --test nn_training --test checkpoint_safetensors
