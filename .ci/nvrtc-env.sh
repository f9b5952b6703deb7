# shellcheck shell=bash
# Makes libnvrtc available on a machine without CUDA, so `tests/cuda_kernels_compile.rs` can
# prove that every kernel in `kernels/` compiles for sm_90.
#
# Source it (from `.ci/run` or a shell): `source .ci/nvrtc-env.sh`. It
#
# 1. creates a Python virtual environment in `target/nvrtc-venv` (once);
# 2. installs NVIDIA's PyPI wheel `nvidia-cuda-nvrtc-cu12` into it (once), which ships
#    `libnvrtc.so.12` and `libnvrtc-builtins.so.*` and nothing else of CUDA;
# 3. prepends the folder holding `libnvrtc.so*` to `LD_LIBRARY_PATH`.
#
# cudarc's loader (feature `cuda-13000`) tries `libnvrtc.so.12` among its candidate names, so
# the wheel's file is found as it is, with no symlink. Running it again costs only the checks.
# It returns non-zero, without exiting the caller's shell, when a step fails.

nvrtc_env_setup() {
    local here root venv wheel lib_file lib_dir
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)" || return 1
    root="$(dirname "$here")"
    venv="${NVRTC_VENV:-$root/target/nvrtc-venv}"
    wheel="nvidia-cuda-nvrtc-cu12==12.9.86"

    if [ ! -x "$venv/bin/python" ]; then
        mkdir -p "$(dirname "$venv")" || return 1
        python3 -m venv "$venv" || return 1
    fi

    lib_file="$(find "$venv" -name 'libnvrtc.so*' -type f 2>/dev/null | head -n 1)"
    if [ -z "$lib_file" ]; then
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel" \
            || return 1
        lib_file="$(find "$venv" -name 'libnvrtc.so*' -type f 2>/dev/null | head -n 1)"
    fi
    if [ -z "$lib_file" ]; then
        echo "nvrtc-env: no libnvrtc.so* inside $venv after installing $wheel" >&2
        return 1
    fi

    lib_dir="$(dirname "$lib_file")"
    case ":${LD_LIBRARY_PATH:-}:" in
        *":$lib_dir:"*) ;;
        *) export LD_LIBRARY_PATH="$lib_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ;;
    esac
    echo "nvrtc-env: using $lib_file"
}

nvrtc_env_setup
