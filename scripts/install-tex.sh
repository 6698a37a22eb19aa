#!/usr/bin/env bash
# Installs what the paper.tex test needs: pdflatex with booktabs and graphicx (Debian
# bookworm: texlive-latex-base + texlive-latex-recommended), and poppler-utils (pdftoppm,
# pdffonts) for the PDF-figure checks. Idempotent: does nothing when all are present.
# Without root or apt-get it only says so; the tests then skip those checks with a message.
set -euo pipefail

have_tex() {
    command -v pdflatex >/dev/null && kpsewhich booktabs.sty >/dev/null 2>&1 \
        && kpsewhich graphicx.sty >/dev/null 2>&1
}
if have_tex && command -v pdftoppm >/dev/null && command -v pdffonts >/dev/null; then
    echo "install-tex: pdflatex (booktabs, graphicx) and poppler-utils already installed"
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "install-tex: no apt-get; install pdflatex with booktabs and poppler-utils by hand" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then SUDO="sudo"; else
        echo "install-tex: not root and no sudo; the TeX and PDF checks will be skipped" >&2
        exit 0
    fi
fi
start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    texlive-latex-base texlive-latex-recommended poppler-utils >/dev/null
echo "install-tex: installed in $(( $(date +%s) - start )) s"
