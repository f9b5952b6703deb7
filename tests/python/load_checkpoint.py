"""Reads a dmil checkpoint with the reference safetensors implementation.

Usage: python3 load_checkpoint.py FILE

Prints one JSON object: {"tensors": {name: {"shape": [...], "dtype": "float32",
"sum": float}}, "metadata": {...}}. The Rust test checkpoint_python.rs compares it with the
module that wrote the file.
"""

import json
import sys

from safetensors import safe_open
from safetensors.numpy import load_file


def main(path):
    tensors = load_file(path)
    with safe_open(path, framework="numpy") as handle:
        metadata = handle.metadata() or {}
    report = {
        "tensors": {
            name: {
                "shape": list(array.shape),
                "dtype": str(array.dtype),
                "sum": float(array.astype("float64").sum()),
            }
            for name, array in tensors.items()
        },
        "metadata": metadata,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
