#!/usr/bin/env bash
# Installs Chromium from the distribution's packages (Debian bookworm: `chromium`) for the
# browser test of report.html (crates/cli/tests/report_browser.rs). Idempotent: does
# nothing when a Chromium is already on PATH. Needs root for apt-get; without root it says
# so and exits 0, and the browser test then prints its skip message.
#   sudo bash scripts/install-chromium.sh
set -euo pipefail

for b in chromium chromium-browser; do
  if command -v "$b" >/dev/null 2>&1; then
    echo "install-chromium: $b already installed ($("$b" --version 2>/dev/null || echo '?'))"
    exit 0
  fi
done
if [ "$(id -u)" != 0 ]; then
  echo "install-chromium: not root, not installing (the browser test will be skipped)" >&2
  exit 0
fi
echo "install-chromium: installing chromium (Debian package)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "install-chromium: $(chromium --version)"
