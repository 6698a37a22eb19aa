# clipbench tasks. `just --list` shows them; .ci/run runs `just ci`.
# Build outputs live outside the clone so reruns (and CI) are incremental.

set shell := ["bash", "-euo", "pipefail", "-c"]

export CARGO_TARGET_DIR := env_var_or_default("CARGO_TARGET_DIR", env_var("HOME") / ".cache/clipbench-target")
export CARGO_TERM_COLOR := "never"

bin := CARGO_TARGET_DIR / "release/clipbench"

default:
    @just --list

# Build the release binary.
build:
    cargo build --release -p clipbench

# The test suite (what CI runs), in the release profile: `just build` then reuses its artifacts.
test:
    cargo test --workspace --release --no-fail-fast

# Formatting and lints, as CI checks them (the lean and CUDA variants too).
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo clippy -p clipbench --no-default-features --all-targets -- -D warnings
    cargo check -p clipbench --features cuda,ci-check

# The lean binary (train, run, bench-train, verify; no analysis) and its CLI tests, on CPU.
test-lean:
    cargo test --release -p clipbench --no-default-features

# A real --features cuda release build of the lean binary, also on a machine without a GPU
# (installs the CUDA 13.0 wheels once, ~1.1 GB under ~/.cache/clipbench-cuda). Last line: its path.
build-cuda:
    bash scripts/build-cuda.sh

# Everything CI runs.
ci: lint test

# criterion benches (clip kernels vs memcpy, fused vs composed). FILTER narrows them.
bench FILTER="":
    cargo bench -p clipbench-benches -- {{FILTER}}

# A reduced copy of experiments/main.toml (4 strategies, seed 1, 2 epochs, no tuning; in a
# temporary directory), then bench-train for the same strategies with as many processes at
# once as the study had workers. ARGS: `clipbench bench-study --help` (e.g. `--epochs 1
# --train-limit 20000` for the tuning stage's shape).
# Whole-study training img/s against bench-train's, and where the study's time went (issue 15).
bench-study *ARGS: build
    {{bin}} bench-study {{ARGS}}

# PyTorch speed reference: reference/pytorch/.venv with the pinned torch (skipped when present).
torch-setup:
    #!/usr/bin/env bash
    set -euo pipefail
    venv=reference/pytorch/.venv
    want=$(sed -n 's/^torch==//p' reference/pytorch/requirements.txt)
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import sys, torch; sys.exit(torch.__version__.split('+')[0] != '$want')" 2>/dev/null; then
        echo "torch-setup: $venv already imports torch $want"
        exit 0
    fi
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/pip" install -r reference/pytorch/requirements.txt
    "$venv/bin/python" -c "import torch; print('torch-setup: torch', torch.__version__)"

# clipbench vs PyTorch, interleaved, ratio per strategy (reference/pytorch/README.md).
bench-vs-torch *ARGS: build torch-setup
    reference/pytorch/.venv/bin/python reference/pytorch/compare.py --clipbench {{bin}} {{ARGS}}

# Python polars for the analysis reference (reference/analysis/.venv; skipped when present).
analysis-setup:
    #!/usr/bin/env bash
    set -euo pipefail
    venv=reference/analysis/.venv
    want=$(sed -n 's/^polars==//p' reference/analysis/requirements.txt)
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import sys, polars; sys.exit(polars.__version__ != '$want')" 2>/dev/null; then
        echo "analysis-setup: $venv already imports polars $want"
        exit 0
    fi
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/pip" install -r reference/analysis/requirements.txt

# `clipbench aggregate` vs the Python polars script (reference/analysis/) on a synthetic study
# of RECORDS step records (kept under ~/.cache/clipbench-bench; 1M = 460 MB of JSONL), cold
# (--no-cache) and warm (metrics.cache); ratio clipbench / Python, below 1 = clipbench faster.
bench-analysis RECORDS="1000000" RUNS="5": build analysis-setup
    #!/usr/bin/env bash
    set -euo pipefail
    dir="$HOME/.cache/clipbench-bench/study-{{RECORDS}}"
    if [ ! -f "$dir/runs/none-s20/summary.json" ]; then
        rm -rf "$dir"
        cargo run --release -q -p clipbench-analysis --example synthetic_study -- "$dir" {{RECORDS}}
    fi
    reference/analysis/.venv/bin/python reference/analysis/bench.py --clipbench {{bin}} --study "$dir" --runs {{RUNS}}

# Fetch a data set into ./data (or $CLIPBENCH_DATA_DIR) and verify it.
fetch NAME="fashion-mnist": build
    {{bin}} data fetch {{NAME}}

# Function shapes of every strategy (the data of the function-shape figure).
curves: build
    mkdir -p results/curves
    for s in $({{bin}} strategies); do \
      {{bin}} curves --strategy $s --threshold 1 --from -4 --to 4 --points 401 --format csv > results/curves/$s.csv.tmp; \
      mv results/curves/$s.csv.tmp results/curves/$s.csv; \
    done
    {{bin}} curves --strategy softplus-learnable --threshold 1 --beta 5 --from -4 --to 4 --points 401 --format csv > results/curves/softplus-learnable-beta5.csv.tmp
    mv results/curves/softplus-learnable-beta5.csv.tmp results/curves/softplus-learnable-beta5.csv

# A study through the local runner (resumes; see crates/sweep/README.md).
study NAME: build
    {{bin}} run experiments/{{NAME}}.toml

# The synthetic study (seconds), then its tables, figures, report.md and report.html.
smoke: (study "smoke") (report "results/smoke")

# A study directory's tables: DIR/tables/ (CSV, Parquet, Markdown, LaTeX).
aggregate DIR: build
    {{bin}} aggregate {{DIR}}

# A study directory's figures: DIR/figures/ (PNG and SVG).
plot DIR: build
    {{bin}} plot {{DIR}}

# Tables, figures, DIR/report.md and DIR/report.html.
report DIR: build
    {{bin}} report {{DIR}}

# The main job: build, data (fetched if missing), the main study (tuning, then the final
# seeds; resumes: rerun after an interruption), lr-stability, both reports, the function-shape
# data, and the reproduction verdict against the committed reference results.
run-all: build (fetch "fashion-mnist") (study "main") (study "lr-stability") (report "results/lr-stability") (report "results/main") curves verdict
    @echo "run-all: results/main/report.md, results/lr-stability/report.md (tables/, figures/ beside them), results/curves/"

# The reproduction verdict of results/{main,lr-stability} against results/reference/.
verdict: build
    {{bin}} compare results/main results/reference/main
    {{bin}} compare results/lr-stability results/reference/lr-stability

# A fast, untuned look at every strategy on real data (3 epochs, 10k images): not the main job.
quick: build (fetch "fashion-mnist") (study "quick") (report "results/quick")
