#!/usr/bin/env bash
# `just build-cuda`: a real `--features cuda` release build of the lean binary (train, run,
# bench-train, verify; no analysis), on a GPU machine or a CPU-only one
# (scripts/cuda-toolchain.sh provides what is missing). Then a bundle a GPU machine needs
# besides its driver and CUDA 13 libraries, under build/cuda/ (git-ignored; ~10 MB):
#   clipbench        the binary (RUNPATH /tmp/clipbench-cuda/lib64)
#   dfdx-out/*.cuh   headers dfdx's run-time-compiled kernels include from its baked OUT_DIR
#   paths.env        the two paths dfdx baked in (CUDA_INCLUDE_DIR, DFDX_OUT_DIR)
# Prints the binary's path as its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
env_file=$(bash scripts/cuda-toolchain.sh | tail -1)
# shellcheck disable=SC1090
source "$env_file"
start=$(date +%s)
cargo build --release -p clipbench --no-default-features --features cuda >&2
echo "build-cuda: cargo build took $(( $(date +%s) - start )) s" >&2
bin=$CARGO_TARGET_DIR/release/clipbench
out=build/cuda
mkdir -p "$out/dfdx-out"
cp "$bin" "$out/clipbench.tmp" && mv "$out/clipbench.tmp" "$out/clipbench"
# The OUT_DIR this binary was compiled against (several dfdx builds may share the target dir).
dfdx_out=$(grep -ao "$CARGO_TARGET_DIR/release/build/dfdx-[0-9a-f]*/out" "$out/clipbench" | sort -u | head -1)
[ -n "$dfdx_out" ] && [ -d "$dfdx_out" ] || { echo "build-cuda: dfdx's OUT_DIR not found in the binary" >&2; exit 1; }
rm -f "$out"/dfdx-out/*.cuh
cp "$dfdx_out"/*.cuh "$out/dfdx-out/"
include_dir=$(grep -ao "$CUDA_ROOT/include" "$out/clipbench" | head -1)
printf 'CUDA_INCLUDE_DIR=%s\nDFDX_OUT_DIR=%s\nCUDA_COMPUTE_CAP=%s\nBUILD_MODE=%s\n' \
  "${include_dir:-$CUDA_ROOT/include}" "$dfdx_out" "$CUDA_COMPUTE_CAP" "$CLIPBENCH_CUDA_MODE" > "$out/paths.env"
size=$(stat -c %s "$out/clipbench")
limit=$((60 * 1024 * 1024))
echo "build-cuda: $(( size / 1024 / 1024 )) MiB (limit 60 MiB); needs at run time: $(ldd "$out/clipbench" 2>/dev/null | awk '/cuda|nvrtc|cublas/ {print $1}' | tr '\n' ' ')" >&2
[ "$size" -le "$limit" ] || { echo "build-cuda: the lean binary exceeds 60 MiB" >&2; exit 1; }
# Without a GPU driver (the stub stands in), `--device cuda` must end in a clear error, not a
# cudarc panic. (nvidia-smi may be the build's stand-in, so ask the dynamic loader.)
if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
  rc=0
  msg=$("$out/clipbench" bench-train --device cuda --strategy none --steps 1 --threads 1 2>&1 >/dev/null) || rc=$?
  if [ $rc -eq 1 ] && grep -q "no CUDA device" <<<"$msg" && ! grep -q panicked <<<"$msg"; then
    echo "build-cuda: checked here (no GPU): --device cuda ends in: $msg" >&2
  else
    echo "build-cuda: --device cuda without a GPU did not end in the expected error (exit $rc): $msg" >&2
    exit 1
  fi
fi
readlink -f "$out/clipbench"
