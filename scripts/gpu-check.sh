#!/usr/bin/env bash
# The GPU checks of the CUDA backend, prepared for a machine that has a GPU but no Rust
# toolchain (the device machine of this workplace). Two steps:
#
#   scripts/gpu-check.sh bundle      # here: build the CUDA test binaries and `dmil` into
#                                    # target/gpu-bundle, stripped (an ignored path to
#                                    # carry along, about 10 MB)
#   scripts/gpu-check.sh run [OUT]   # on the GPU machine: run them, logs and JSON into OUT
#                                    # (default: $OUT, else ./gpu-check-out)
#
# `run` finds a libnvrtc anywhere on the machine (the CUDA toolkit or a Python wheel), runs
# every CUDA test (kernels against their CPU references, the explicit step's CUDA backend
# against its CPU backend, kernel signatures, the NVRTC compile check), times the GPU step
# and every kernel with `dmil bench --device cuda`, and trains DMIL on synthetic XOR with
# `dmil train --device cuda`. It stops at nothing: each part's exit status is in status.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
bundle="target/gpu-bundle"
tests=(cuda_kernels cuda_step cuda_reference cuda_kernel_signatures cuda_kernels_compile)

case "${1:-}" in
bundle)
    set -e
    rm -rf "$bundle"
    mkdir -p "$bundle"
    cargo build --release --features cuda --bin dmil
    cp target/release/dmil "$bundle/"
    args=()
    for t in "${tests[@]}"; do args+=(--test "$t"); done
    cargo test --release --features cuda --no-run --message-format=json "${args[@]}" \
        | python3 -c '
import json, shutil, sys
for line in sys.stdin:
    msg = json.loads(line)
    exe = msg.get("executable")
    if msg.get("reason") == "compiler-artifact" and exe and msg["target"]["kind"] == ["test"]:
        shutil.copy(exe, sys.argv[1] + "/" + msg["target"]["name"])
' "$bundle"
    # Without debug information the six programs fit in a few MB, well inside what a device
    # run carries.
    strip "$bundle"/*
    ls -l "$bundle"
    ;;
run)
    out="${2:-${OUT:-gpu-check-out}}"
    mkdir -p "$out"
    nvrtc="$(find / -name 'libnvrtc.so*' -type f 2>/dev/null | head -n 1)"
    if [ -n "$nvrtc" ]; then
        export LD_LIBRARY_PATH="$(dirname "$nvrtc")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    fi
    {
        echo "libnvrtc: ${nvrtc:-none found}"
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || true
    } > "$out/machine.txt"
    : > "$out/status.txt"
    for t in "${tests[@]}"; do
        "$bundle/$t" --nocapture --test-threads=1 > "$out/$t.log" 2>&1
        echo "$t $?" >> "$out/status.txt"
    done
    "$bundle/dmil" bench --device cuda --repeats 20 --json > "$out/bench.json" 2> "$out/bench.err"
    echo "bench $?" >> "$out/status.txt"
    "$bundle/dmil" train --device cuda --data synthetic:xor --json \
        > "$out/train.json" 2> "$out/train.err"
    echo "train $?" >> "$out/status.txt"
    cat "$out/status.txt"
    ;;
*)
    echo "usage: scripts/gpu-check.sh bundle | run [OUT]" >&2
    exit 2
    ;;
esac
