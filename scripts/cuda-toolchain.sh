#!/usr/bin/env bash
# Makes a real `--features cuda` build possible, on a GPU machine or on a CPU-only one.
#   bash scripts/cuda-toolchain.sh        # installs (idempotent), writes the env file, prints its path
#   source "$(bash scripts/cuda-toolchain.sh | tail -1)"
#
# What dfdx 0.13 / cudarc 0.9 need at build time, and how each is provided here:
#   include/cuda.h + nvcc      a system toolkit when one exists (nvcc and cuda.h), otherwise
#                              the CUDA 13.0 wheels pinned below (CUDA 12 wheels ship no
#                              nvcc/cicc; nvcc's own deps float to the newest 13.x unless pinned).
#   nvidia-smi                 dfdx's build script always asks it for the compute capability:
#                              the real one when it answers, otherwise a stand-in printing
#                              $CUDA_COMPUTE_CAP (default 90 = H100/H200).
#   -lcuda                     the driver is not on PyPI: without one, a stub libcuda.so.1 made
#                              from the cu* names cudarc declares, every call failing with
#                              CUDA_ERROR_NO_DEVICE (so the binary runs here and says so).
#   -lnvrtc -lcublas -lcublasLt  lib64/ symlinks to the wheels' versioned .so.13 files (cudarc
#                              only searches lib64 folders that existed at its first build).
# Both paths dfdx bakes into the binary for run-time kernel compilation (the CUDA include
# dir and its OUT_DIR) live under /tmp so scripts/device-check.sh can recreate them on the
# GPU machine wherever the working tree lands: CUDA_ROOT=/tmp/clipbench-cuda (a link to the
# toolkit used) and CARGO_TARGET_DIR=/tmp/clipbench-cuda-target (a link into ~/.cache).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."

home=${CLIPBENCH_CUDA_HOME:-$HOME/.cache/clipbench-cuda}
root_link=/tmp/clipbench-cuda
target_link=/tmp/clipbench-cuda-target
target_real=${CLIPBENCH_CUDA_TARGET:-$HOME/.cache/clipbench-target-cuda}
cap=${CUDA_COMPUTE_CAP:-90}
# Pinned together: measured to build dfdx 0.13's 49 kernels (README, "CUDA").
wheels=(
  nvidia-cuda-nvcc==13.0.88 nvidia-nvvm==13.0.88 nvidia-cuda-crt==13.0.88
  nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85 nvidia-cuda-nvrtc==13.0.88
  nvidia-cublas==13.0.2.14
)
mkdir -p "$home" "$target_real"
log() { echo "cuda-toolchain: $*" >&2; }

system_root() {
  local nvcc
  nvcc=$(command -v nvcc 2>/dev/null || true)
  [ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc
  [ -n "$nvcc" ] || return 1
  local r
  r=$(cd "$(dirname "$(readlink -f "$nvcc")")/.." && pwd)
  [ -f "$r/include/cuda.h" ] && echo "$r"
}

if sys=$(system_root); then
  mode=system
  toolkit=$sys
  log "using the system CUDA toolkit at $toolkit ($("$toolkit/bin/nvcc" --version | tail -1))"
else
  mode=wheels
  venv=$home/venv
  stamp=$home/wheels.txt
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${wheels[*]}" ]; then
    log "installing the CUDA 13.0 wheels into $venv (~590 MB download, once)"
    start=$(date +%s)
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${wheels[@]}"
    echo "${wheels[*]}" > "$stamp"
    log "wheels installed in $(( $(date +%s) - start )) s"
  else
    log "wheels already installed in $venv"
  fi
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  cu=$site/nvidia/cu13
  [ -f "$cu/include/cuda.h" ] && [ -x "$cu/bin/nvcc" ] || {
    log "error: $cu lacks include/cuda.h or bin/nvcc: the wheels' layout changed"; exit 1; }
  toolkit=$home/toolkit
  mkdir -p "$toolkit/lib64"
  ln -sfn "$cu/include" "$toolkit/include"
  ln -sfn "$cu/bin" "$toolkit/bin"
  [ -d "$cu/nvvm" ] && ln -sfn "$cu/nvvm" "$toolkit/nvvm"
  for lib in nvrtc nvrtc-builtins cublas cublasLt cudart; do
    so=$(ls "$cu"/lib/lib$lib.so.1[0-9]* 2>/dev/null | sort | head -1 || true)
    [ -n "$so" ] || continue
    ln -sfn "$so" "$toolkit/lib64/lib$lib.so"
    ln -sfn "$so" "$toolkit/lib64/$(basename "$so" | sed -E 's/(\.so\.[0-9]+).*/\1/')"
  done

fi

# nvidia-smi: the real one if it answers, otherwise a stand-in for dfdx's build script.
mkdir -p "$home/fakebin"
if ! nvidia-smi --query-gpu=compute_cap --format=csv >/dev/null 2>&1; then
  printf '#!/bin/sh\n# Stand-in for dfdx build.rs on a machine without a GPU.\necho compute_cap\necho %s\n' \
    "$(echo "$cap" | sed -E 's/^([0-9])([0-9])$/\1.\2/')" > "$home/fakebin/nvidia-smi"
  chmod +x "$home/fakebin/nvidia-smi"
else
  rm -f "$home/fakebin/nvidia-smi"
fi

# libcuda: the driver's when installed, otherwise a stub (see the header).
if ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
  if [ "$mode" = wheels ]; then rm -f "$toolkit/lib64/libcuda.so" "$toolkit/lib64/libcuda.so.1"; fi
  log "using the installed driver's libcuda.so.1"
elif [ "$mode" = system ]; then
  log "warning: no driver libcuda.so.1 here: the binary links against the toolkit's stub and runs only where a driver is installed"
else
  cargo fetch --quiet >/dev/null 2>&1 || true
  sysrs=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-0.9.15/src/driver/sys.rs 2>/dev/null | head -1)
  [ -n "$sysrs" ] || { log "error: cudarc 0.9.15 sources not found (run cargo fetch)"; exit 1; }
  bash "$here/cuda-stub.sh" "$sysrs" "$toolkit/lib64"
fi

ln -sfn "$toolkit" "$root_link"
ln -sfn "$target_real" "$target_link"
env_file=$home/env.sh
cat > "$env_file.tmp" <<EOF
# Written by scripts/cuda-toolchain.sh ($mode mode); source before a --features cuda build.
export CUDA_ROOT=$root_link
export CUDA_PATH=$root_link
export CUDA_COMPUTE_CAP=$cap
export CARGO_TARGET_DIR=$target_link
export PATH=$home/fakebin:$root_link/bin:\$PATH
# Run-time search path baked into the binary: the toolkit's lib64 under the stable link.
export RUSTFLAGS="\${RUSTFLAGS:-} -C link-arg=-Wl,-rpath,$root_link/lib64"
export CLIPBENCH_CUDA_MODE=$mode
EOF
mv "$env_file.tmp" "$env_file"
echo "$env_file"
