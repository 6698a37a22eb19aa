"""`clipbench aggregate` against the Python polars script (aggregate.py) on the same study,
as whole processes, alternating A B A B, the ratio taken pair by pair (a drifting machine
moves both). Two cases:

- cold: clipbench parses every metrics.jsonl (`--no-cache`), as the script does;
- warm: clipbench reads the runs' metrics.cache (written by one untimed run first).

    python bench.py --clipbench PATH --study DIR [--runs 5]

Prints the median seconds of each and the median ratio clipbench / Python polars
(below 1: clipbench faster). clipbench does more than the script: bootstrap intervals,
paired tests, every table in four formats and the long tables (steps.parquet).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def timed(cmd) -> float:
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    s = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stderr}")
    return s


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clipbench", required=True)
    ap.add_argument("--study", required=True, type=Path)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    script = [sys.executable, str(Path(__file__).with_name("aggregate.py")), str(a.study)]
    records = sum(
        1
        for d in (a.study / "runs").iterdir()
        for line in open(d / "metrics.jsonl", "rb")
        if line.startswith(b'{"kind":"step"')
    )
    size = sum(os.path.getsize(d / "metrics.jsonl") for d in (a.study / "runs").iterdir())
    print(f"study {a.study}: {records:,} step records, {size / 1e6:.0f} MB of metrics.jsonl")
    print(f"{os.cpu_count()} CPUs; {a.runs} pairs per case after one untimed warm-up pair")
    cases = {
        "cold (no cache)": [a.clipbench, "aggregate", "--no-cache", str(a.study)],
        "warm (metrics.cache)": [a.clipbench, "aggregate", str(a.study)],
    }
    for name, cmd in cases.items():
        timed(cmd), timed(script)  # warm-up: page cache, and the metrics caches
        ours, theirs = [], []
        for _ in range(a.runs):
            ours.append(timed(cmd))
            theirs.append(timed(script))
        ratios = [o / t for o, t in zip(ours, theirs)]
        print(
            f"{name}: clipbench aggregate {statistics.median(ours):.2f} s, "
            f"Python polars {statistics.median(theirs):.2f} s, ratio "
            f"{statistics.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})"
        )


if __name__ == "__main__":
    main()
