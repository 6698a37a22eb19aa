#!/usr/bin/env bash
# The CUDA check: one prepared script for one short session on a GPU machine. Needs nothing
# from outside that machine: it runs the binary `just build-cuda` carried in build/cuda/
# (or builds one there when none was carried and cargo is present), and PyTorch from the
# machine's own Python for the twin.
#   bash scripts/device-check.sh            # writes everything under ${OUT:-/tmp/device-check}
# Steps (each prints its outcome; a failing step does not stop the later ones):
#   0. the machine: GPU, driver, CUDA libraries found (libcuda, libnvrtc, libcublas(Lt) 13)
#   a. one synthetic epoch on cuda and on cpu: first 10 step losses within 1e-3 relative
#   b. the smoke study with device = "cuda" (every strategy, 2 seeds)
#   c. bench-train --device cuda: every strategy, both inputs, batch 64 and 512
#   d. the PyTorch twin (reference/pytorch/bench.py --device cuda), same settings, side by side
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
out=${OUT:-/tmp/device-check}
mkdir -p "$out"
exec > >(tee "$out/device-check.log") 2>&1
step() { echo; echo "== $*"; }
result() { echo "RESULT $1: $2"; echo "$1: $2" >> "$out/results.txt"; }
: > "$out/results.txt"

step "0. machine"
nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv || echo "nvidia-smi failed"
nvidia-smi | sed -n 3p
command -v nvcc >/dev/null && nvcc --version | tail -1
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'gpu', torch.cuda.is_available())" 2>&1 | tail -1

# Run-time libraries: the driver from the system; nvrtc/cublas 13 from a CUDA 13 toolkit or
# from the nvidia-* wheels a CUDA 13 PyTorch ships.
find_lib() {
  local name=$1 d
  for d in ${CUDA_HOME:+$CUDA_HOME/lib64} /usr/local/cuda/lib64 /usr/local/cuda-13*/lib64 \
           /usr/local/cuda/targets/x86_64-linux/lib \
           $(python3 -c 'import site,glob; print(" ".join(glob.glob(site.getsitepackages()[0]+"/nvidia/*/lib")))' 2>/dev/null) \
           /usr/lib/x86_64-linux-gnu /usr/lib64; do
    [ -e "$d/$name" ] && { echo "$d"; return 0; }
  done
  ldconfig -p 2>/dev/null | awk -v n="$name" '$1 == n {print $NF; exit}' | xargs -r dirname
}
libdirs=()
for lib in libcuda.so.1 libnvrtc.so.13 libcublas.so.13 libcublasLt.so.13; do
  d=$(find_lib "$lib")
  if [ -n "$d" ]; then echo "found $lib in $d"; libdirs+=("$d"); else echo "MISSING $lib"; fi
done
LD_LIBRARY_PATH=$(printf '%s\n' "${libdirs[@]}" | awk '!seen[$0]++' | paste -sd:)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"

# The binary, and the two paths dfdx baked into it for kernels it compiles at run time.
bin=$repo/build/cuda/clipbench
if [ ! -x "$bin" ]; then
  step "no carried binary: building here"
  start=$(date +%s)
  if bash scripts/build-cuda.sh > "$out/build.log" 2>&1; then
    bin=$(tail -1 "$out/build.log"); echo "built in $(( $(date +%s) - start )) s: $bin"
  else
    tail -30 "$out/build.log"; result build FAIL; exit 1
  fi
fi
if [ -f build/cuda/paths.env ]; then
  # shellcheck disable=SC1091
  . build/cuda/paths.env
  inc_root=$(dirname "$CUDA_INCLUDE_DIR")
  if [ ! -f "$CUDA_INCLUDE_DIR/cuda.h" ]; then
    sys_inc=""
    for d in ${CUDA_HOME:-} /usr/local/cuda /usr/local/cuda-13*; do
      [ -f "$d/include/cuda.h" ] && { sys_inc=$d; break; }
    done
    if [ -n "$sys_inc" ] && [ "$inc_root" = /tmp/clipbench-cuda ]; then
      ln -sfn "$sys_inc" "$inc_root" && echo "linked $inc_root -> $sys_inc (CUDA headers for run-time kernels)"
    else
      echo "WARNING: no CUDA headers for $CUDA_INCLUDE_DIR: five dfdx ops that compile kernels at run time will fail"
    fi
  fi
  mkdir -p "$DFDX_OUT_DIR" && cp build/cuda/dfdx-out/*.cuh "$DFDX_OUT_DIR/" && echo "recreated $DFDX_OUT_DIR"
fi
echo "binary: $bin ($(du -h "$bin" | cut -f1)); libraries it resolves:"
ldd "$bin" | grep -E "cuda|nvrtc|cublas|not found"
"$bin" --version

step "a. one synthetic epoch: cuda vs cpu"
common=(--dataset synthetic --strategy tanh-learnable --seed 3 --epochs 1 --train-limit 2048
        --test-limit 512 --log-every 1 --input 3x32x32)
rm -rf "$out/train-cuda" "$out/train-cpu"
if timeout 300 "$bin" train "${common[@]}" --device cuda --out "$out/train-cuda" &&
   timeout 300 "$bin" train "${common[@]}" --device cpu --threads 8 --out "$out/train-cpu"; then
  python3 - "$out" <<'PY' || true
import json, sys
out = sys.argv[1]
def losses(d):
    recs = [json.loads(l) for l in open(f"{out}/{d}/metrics.jsonl")]
    return [r["loss"] for r in recs if r.get("kind") == "step"][:10]
a, b = losses("train-cpu"), losses("train-cuda")
worst = max((abs(x - y) / max(abs(x), 1e-12) for x, y in zip(a, b)), default=float("inf"))
for i, (x, y) in enumerate(zip(a, b)):
    print(f"step {i+1}: cpu {x:.7f} cuda {y:.7f} rel {abs(x-y)/max(abs(x),1e-12):.2e}")
ok = len(a) == len(b) == 10 and worst < 1e-3
with open(f"{out}/results.txt", "a") as f:
    f.write(f"a-loss-agreement: {'PASS' if ok else 'FAIL'} (worst rel {worst:.2e})\n")
print("RESULT a-loss-agreement:", "PASS" if ok else "FAIL", f"(worst rel {worst:.2e})")
PY
else
  result a-loss-agreement "FAIL (a training run failed)"
fi

step "b. smoke study on cuda"
mkdir -p "$out/smoke"
{ echo 'device = "cuda"'; sed 's/^name = "smoke"/name = "smoke-cuda"/' experiments/smoke.toml; } > "$out/smoke/smoke-cuda.toml"
start=$(date +%s)
if timeout 600 "$bin" run "$out/smoke/smoke-cuda.toml" --results "$out/smoke" --jobs 1; then
  result b-smoke "PASS in $(( $(date +%s) - start )) s ($(ls "$out"/smoke/smoke-cuda/runs | wc -l) runs)"
else
  result b-smoke "FAIL after $(( $(date +%s) - start )) s"
fi

step "c/d. throughput: clipbench cuda vs PyTorch cuda"
strategies=$("$bin" strategies)
: > "$out/bench-clipbench.jsonl"; : > "$out/bench-torch.jsonl"
for input in 3x32x32 1x28x28; do
  for batch in 64 512; do
    for s in $strategies; do
      timeout 120 "$bin" bench-train --device cuda --strategy "$s" --input "$input" --batch "$batch" \
        --steps 50 --threads 1 >> "$out/bench-clipbench.jsonl" || echo "clipbench bench $s $input $batch FAILED"
      (cd reference/pytorch && timeout 120 python3 bench.py --device cuda --strategy "$s" --input "$input" \
        --batch "$batch" --steps 50 --threads 1) >> "$out/bench-torch.jsonl" || echo "torch bench $s $input $batch FAILED"
    done
  done
done
python3 - "$out" <<'PY' || true
import json, sys
out = sys.argv[1]
def load(f):
    rows = {}
    for line in open(f"{out}/{f}"):
        try:
            r = json.loads(line)
        except ValueError:
            continue
        rows[(r["strategy"], "x".join(map(str, r["input"])), r["batch"])] = r
    return rows
cb, pt = load("bench-clipbench.jsonl"), load("bench-torch.jsonl")
print(f"{'strategy':20} {'input':9} {'batch':>5} {'clipbench img/s':>16} {'torch img/s':>12} {'ratio':>6}")
for k in sorted(set(cb) | set(pt)):
    a = cb.get(k, {}).get("train_images_per_s"); b = pt.get(k, {}).get("train_images_per_s")
    ratio = f"{a / b:.2f}" if a and b else "-"
    print(f"{k[0]:20} {k[1]:9} {k[2]:>5} {a or 0:>16.0f} {b or 0:>12.0f} {ratio:>6}")
with open(f"{out}/results.txt", "a") as f:
    f.write(f"c/d-bench: {len(cb)} clipbench cells, {len(pt)} torch cells\n")
PY
step "summary"
cat "$out/results.txt"
