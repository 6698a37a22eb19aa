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

# The test suite (what CI runs).
test:
    cargo test --workspace --no-fail-fast

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo check -p clipbench --features cuda,ci-check

# Everything CI runs.
ci: lint test

# criterion benches (clip kernels vs memcpy, fused vs composed). FILTER narrows them.
bench FILTER="":
    cargo bench -p clipbench-benches -- {{FILTER}}

# Fetch a data set into ./data (or $CLIPBENCH_DATA_DIR) and verify it.
fetch NAME="fashion-mnist": build
    {{bin}} data fetch {{NAME}}

# Function shapes of every strategy (the data of the function-shape figure).
curves: build
    mkdir -p results/curves
    for s in none hard-clamp tanh-fixed tanh-learnable softplus-learnable pact seed-softplus; do \
      {{bin}} curves --strategy $s --threshold 1 --from -4 --to 4 --points 401 --format csv > results/curves/$s.csv.tmp; \
      mv results/curves/$s.csv.tmp results/curves/$s.csv; \
    done
    {{bin}} curves --strategy softplus-learnable --threshold 1 --beta 5 --from -4 --to 4 --points 401 --format csv > results/curves/softplus-learnable-beta5.csv.tmp
    mv results/curves/softplus-learnable-beta5.csv.tmp results/curves/softplus-learnable-beta5.csv

# A study through the local runner (resumes; see crates/sweep/README.md).
study NAME: build
    {{bin}} run experiments/{{NAME}}.toml

# The synthetic study: seconds.
smoke: (study "smoke")

# The main job: data, the default study (resumable), function shapes.
run-all: (fetch "fashion-mnist") (study "default") curves
    @echo "run-all: results/default/runs/ and results/curves/ written"
