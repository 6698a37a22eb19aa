#!/usr/bin/env bash
# Sets up what clipbench needs on a fresh machine, then runs `just ARGS...`.
#   bash scripts/bootstrap.sh run-all     # the main job
#   bash scripts/bootstrap.sh test        # the test suite
# Installs: the pinned toolchain name (linked to an installed stable 1.95.0 when rustup
# cannot download it) and `just` (cargo install, ~90 s once). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

want=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
if command -v rustup >/dev/null 2>&1 && ! rustup toolchain list | grep -q "^$want"; then
  if rustc +stable --version 2>/dev/null | grep -q " $want "; then
    echo "bootstrap: linking the installed stable toolchain as $want"
    rustup toolchain link "$want" "$(rustc +stable --print sysroot)"
  else
    rustup toolchain install "$want" --profile minimal --component rustfmt,clippy
  fi
fi

export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v just >/dev/null 2>&1; then
  echo "bootstrap: installing just"
  cargo install just@1.59.0 --locked
fi

exec just "$@"
