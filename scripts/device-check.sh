#!/usr/bin/env bash
# The CUDA check, for a machine with an NVIDIA GPU and nvcc (the GPU machine when a task is
# lent one). One prepared script, so it fits one short device session:
#   1. builds clipbench with --features cuda (dfdx 0.13 → cudarc 0.9, made for CUDA 11.8;
#      newer toolkits are untested: every step's outcome is printed, failures included);
#   2. trains one synthetic epoch on the GPU and the same config on the CPU;
#   3. compares the first logged losses (the Cuda path uses composed public ops, the CPU path
#      fused kernels, so they agree to float tolerance, not bit for bit).
# Writes its log and both run directories under ${OUT:-/tmp/device-check}.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/device-check}
mkdir -p "$out"
log="$out/device-check.log"
exec > >(tee "$log") 2>&1

echo "== machine"; nvidia-smi -L || echo "nvidia-smi failed"; nvcc --version | tail -2 || echo "no nvcc"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/clipbench-target-cuda}
cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d .)
[ -n "$cap" ] && export CUDA_COMPUTE_CAP="$cap"

echo "== build (features cuda)"
start=$(date +%s)
if ! cargo build --release -p clipbench --features cuda 2>&1 | tail -40; then
  echo "RESULT: cuda build FAILED after $(( $(date +%s) - start )) s"; exit 1
fi
[ -x "$CARGO_TARGET_DIR/release/clipbench" ] || { echo "RESULT: no binary"; exit 1; }
echo "build took $(( $(date +%s) - start )) s"
bin="$CARGO_TARGET_DIR/release/clipbench"

common=(--dataset synthetic --strategy tanh-learnable --seed 3 --epochs 1 --train-limit 2048
        --test-limit 512 --log-every 1 --input 3x32x32)
echo "== train on cuda"
rm -rf "$out/cuda" "$out/cpu"
if ! timeout 300 "$bin" train "${common[@]}" --device cuda --out "$out/cuda"; then
  echo "RESULT: cuda training FAILED"; exit 1
fi
echo "== train on cpu"
timeout 300 "$bin" train "${common[@]}" --device cpu --threads 8 --out "$out/cpu" || exit 1

echo "== first 10 step losses: cpu vs cuda"
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
def losses(d):
    recs = [json.loads(l) for l in open(f"{out}/{d}/metrics.jsonl")]
    return [r["loss"] for r in recs if r["kind"] == "step"][:10]
a, b = losses("cpu"), losses("cuda")
worst = 0.0
for i, (x, y) in enumerate(zip(a, b)):
    rel = abs(x - y) / max(abs(x), 1e-12)
    worst = max(worst, rel)
    print(f"step {i+1}: cpu {x:.7f} cuda {y:.7f} rel {rel:.2e}")
print("RESULT:", "PASS" if len(a) == len(b) == 10 and worst < 1e-3 else "FAIL", f"(worst rel {worst:.2e})")
PY
