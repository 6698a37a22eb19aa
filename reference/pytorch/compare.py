#!/usr/bin/env python3
"""Side by side: `clipbench bench-train` against the PyTorch reference (bench.py).

For every input shape x strategy x thread count, runs both benches as subprocesses, one
process per measurement, interleaved: the two runs of a pair follow each other directly and
alternate which goes first, and the whole grid is repeated REPEATS times (repeat loop
outermost), so both sides see the same machine load. The table reports the median of the
repeats per side and the ratio clipbench / torch (> 1: clipbench is faster).

    python compare.py [--clipbench PATH] [--strategies a,b] [--inputs 3x32x32,1x28x28]
                      [--threads 1,2] [--steps 30] [--batch 64] [--repeats 3]
                      [--json-out FILE] [--torch-arg=--channels-last ...] [--sgemm-n 2048]
                      [--torch-env OMP_WAIT_POLICY=PASSIVE ...]

This script needs only the Python standard library; bench.py runs under --python (default:
reference/pytorch/.venv/bin/python, else this interpreter).
"""

import argparse
import ast
import datetime
import json
import math
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH_PY = os.path.join(HERE, "bench.py")


def model_strategies():
    """model.py's STRATEGIES, read without importing model.py (which needs torch)."""
    with open(os.path.join(HERE, "model.py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "STRATEGIES" for t in node.targets):
            return ast.literal_eval(node.value)
    raise RuntimeError("reference/pytorch/model.py defines no STRATEGIES list")


STRATEGIES = model_strategies()
INPUTS = ["3x32x32", "1x28x28"]
KEYS = ("train_images_per_s", "forward_images_per_s")


class Failure(Exception):
    """A clear, user-facing error (printed without a traceback)."""


def default_clipbench():
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        return os.path.join(target, "release", "clipbench")
    return os.path.join(os.path.expanduser("~"), ".cache", "clipbench-target", "release",
                        "clipbench")


def default_python():
    venv = os.path.join(HERE, ".venv", "bin", "python")
    return venv if os.path.exists(venv) else sys.executable


def csv_list(allowed, what):
    def parse(text):
        items = [t.strip() for t in text.split(",") if t.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"{what}: empty list")
        if allowed is not None:
            bad = [t for t in items if t not in allowed]
            if bad:
                raise argparse.ArgumentTypeError(
                    f"{what}: unknown {', '.join(bad)}; expected some of {', '.join(allowed)}")
        return items
    return parse


def thread_list(text):
    try:
        ts = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        ts = []
    if not ts or any(t < 1 for t in ts):
        raise argparse.ArgumentTypeError(f"--threads {text!r}: expected e.g. 1,2")
    return ts


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="clipbench bench-train vs the PyTorch reference, side by side.")
    p.add_argument("--clipbench", default=default_clipbench(),
                   help="clipbench binary (default: $CARGO_TARGET_DIR/release/clipbench, "
                        "else ~/.cache/clipbench-target/release/clipbench)")
    p.add_argument("--python", default=default_python(),
                   help="interpreter with torch for bench.py (default: the venv's)")
    p.add_argument("--strategies", type=csv_list(STRATEGIES, "--strategies"),
                   default=list(STRATEGIES))
    p.add_argument("--inputs", type=csv_list(INPUTS, "--inputs"), default=list(INPUTS))
    p.add_argument("--threads", type=thread_list, default=[1, 2])
    p.add_argument("--steps", type=int, default=30, help="timed steps per run (default 30)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3, help="repeats per pair; the median is "
                   "reported (default 3)")
    p.add_argument("--json-out", help="write every sample and the medians to FILE (atomic)")
    p.add_argument("--torch-arg", action="append", default=[],
                   help="extra argument for bench.py (repeatable), e.g. "
                        "--torch-arg=--channels-last")
    p.add_argument("--torch-env", action="append", default=[], metavar="NAME=VALUE",
                   help="environment variable for the torch processes only (repeatable), "
                        "e.g. OMP_WAIT_POLICY=PASSIVE on a busy machine (see README.md)")
    p.add_argument("--timeout", type=float, default=600.0,
                   help="seconds before one bench process counts as failed (default 600)")
    p.add_argument("--sgemm-n", type=int, default=2048,
                   help="each measurement also times its side's f32 N x N x N matmul on its "
                        "threads (clipbench: the gemm crate, one gemm per thread; torch: one "
                        "torch.mm); a second table gives the training step's matmul GFLOP/s "
                        "as a share of each (0: skip; default 2048)")
    p.add_argument("--no-check", action="store_true",
                   help="skip the torch model check (parameter counts, output shape)")
    a = p.parse_args(argv)
    for kv in a.torch_env:
        if "=" not in kv or not kv.split("=", 1)[0]:
            p.error(f"--torch-env {kv!r}: expected NAME=VALUE")
    if a.sgemm_n < 0:
        p.error("--sgemm-n must be 0 (skip) or more")
    for name in ("steps", "batch", "repeats"):
        if getattr(a, name) < 1:
            p.error(f"--{name} must be at least 1")
    return a


def run(cmd, what, timeout, env=None):
    """Runs cmd; returns stdout. Raises Failure naming `what` on any error."""
    try:
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except FileNotFoundError:
        raise Failure(f"{what}: cannot execute {cmd[0]!r} (not found)")
    except PermissionError:
        raise Failure(f"{what}: cannot execute {cmd[0]!r} (permission denied)")
    except subprocess.TimeoutExpired:
        raise Failure(f"{what}: timed out after {timeout:.0f} s\n  command: {shlex.join(cmd)}")
    if cp.returncode != 0:
        tail = "\n".join((cp.stderr or cp.stdout).strip().splitlines()[-15:])
        raise Failure(f"{what}: exited with status {cp.returncode}\n  command: "
                      f"{shlex.join(cmd)}\n  output (last lines):\n{indent(tail)}")
    return cp.stdout


def indent(text, pad="    "):
    return "\n".join(pad + line for line in text.splitlines()) or pad + "(none)"


def parse_result(stdout, what, cmd):
    for line in reversed(stdout.strip().splitlines()):
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(r, dict) and all(k in r for k in KEYS):
            return r
    raise Failure(f"{what}: no result line with {', '.join(KEYS)} in its output\n  command: "
                  f"{shlex.join(cmd)}\n  output:\n{indent(stdout.strip()[-2000:])}")


def preflight(a):
    if not os.path.isfile(a.clipbench):
        raise Failure(f"clipbench binary not found at {a.clipbench}: build it (`just build`) "
                      "or pass --clipbench PATH")
    if not os.access(a.clipbench, os.X_OK):
        raise Failure(f"clipbench binary at {a.clipbench} is not executable")
    if not (os.path.isfile(a.python) or shutil.which(a.python)):
        raise Failure(f"python for the torch bench not found at {a.python}: run "
                      "`just torch-setup` or pass --python")
    try:
        cp = subprocess.run([a.python, "-c", "import torch; print(torch.__version__)"],
                            capture_output=True, text=True, timeout=300)
    except OSError as e:
        raise Failure(f"cannot run {a.python}: {e}")
    if cp.returncode != 0:
        last = (cp.stderr.strip().splitlines() or ["?"])[-1]
        raise Failure(f"torch cannot be imported by {a.python} ({last}): run "
                      "`just torch-setup` or pass --python")
    return cp.stdout.strip()


def check_model(a):
    cmd = [a.python, BENCH_PY, "--check"]
    out = run(cmd, "torch model check (bench.py --check)", a.timeout, torch_env(a))
    rows = [json.loads(line) for line in out.strip().splitlines() if line.startswith("{")]
    bad = [r for r in rows if not r.get("ok")]
    if bad or not rows:
        raise Failure("torch model check failed (parameter count or output shape differs "
                      f"from clipbench's):\n{indent(out.strip())}")
    desc = "; ".join(
        f"{'x'.join(map(str, r['input']))}: {r['params_total']} "
        f"(`none`: {next(q['params_total'] for q in rows if q['input'] == r['input'] and q['strategy'] == 'none')})"
        for r in rows if r["strategy"] == "tanh-learnable")
    return rows, f"parameter counts equal clipbench's ({desc}), output [B, 10]"


def torch_env(a):
    if not a.torch_env:
        return None
    env = dict(os.environ)
    env.update(kv.split("=", 1) for kv in a.torch_env)
    return env


def measure(a, side, strategy, inp, threads):
    if side == "clipbench":
        cmd = [a.clipbench, "bench-train", "--sgemm-repeats", "3" if a.sgemm_n else "0"]
        if a.sgemm_n:
            cmd += ["--sgemm-n", str(a.sgemm_n)]
    else:
        cmd = [a.python, BENCH_PY, "--sgemm-n", str(a.sgemm_n)] + list(a.torch_arg)
    cmd += ["--strategy", strategy, "--batch", str(a.batch), "--steps", str(a.steps),
            "--input", inp, "--threads", str(threads)]
    what = f"{side} bench ({strategy}, {inp}, {threads} thread{'s' * (threads != 1)})"
    t0 = time.perf_counter()
    env = torch_env(a) if side == "torch" else None
    r = parse_result(run(cmd, what, a.timeout, env), what, cmd)
    r["wall_s"] = time.perf_counter() - t0
    r["loadavg_1m"] = os.getloadavg()[0]
    return r


def fmt_rate(v):
    return f"{v:,.0f}" if v is not None else "–"


def fmt_ratio(v):
    return f"{v:.2f}" if v is not None else "–"


def median_or_none(xs):
    return statistics.median(xs) if xs else None


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def write_atomic(path, doc):
    path = os.path.abspath(path)
    d = os.path.dirname(path)
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    torch_version = preflight(a)
    check_rows, check_msg = ([], "skipped") if a.no_check else check_model(a)
    log(f"torch {torch_version} via {a.python}; clipbench {a.clipbench}")
    if a.torch_env or a.torch_arg:
        log(f"torch processes: env {a.torch_env or '-'}, args {a.torch_arg or '-'}")
    log(f"model check: {check_msg}")

    cells = [(inp, s, t) for inp in a.inputs for s in a.strategies for t in a.threads]
    samples = {c: {"clipbench": [], "torch": []} for c in cells}
    load_start = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc)
    n_pairs = len(cells) * a.repeats
    k = 0
    for rep in range(a.repeats):
        for i, (inp, s, t) in enumerate(cells):
            k += 1
            # Alternate which side goes first, between neighbours and between repeats.
            order = ("clipbench", "torch") if (i + rep) % 2 == 0 else ("torch", "clipbench")
            log(f"[{k}/{n_pairs}] repeat {rep + 1}: {s} {inp} threads={t} ({order[0]} first)")
            for side in order:
                samples[(inp, s, t)][side].append(measure(a, side, s, inp, t))
    load_end = os.getloadavg()

    rows = []
    for (inp, s, t) in cells:
        row = {"strategy": s, "input": inp, "threads": t}
        for side in ("clipbench", "torch"):
            for key in KEYS:
                row[f"{side}_{key}"] = median_or_none([r[key] for r in samples[(inp, s, t)][side]])
            row[f"{side}_sgemm_gflops"] = median_or_none(
                [r["sgemm"]["gflops"] for r in samples[(inp, s, t)][side] if "sgemm" in r])
        flop = [r.get("train_flop_per_image") for r in samples[(inp, s, t)]["clipbench"]]
        row["train_flop_per_image"] = flop[0] if flop and flop[0] else None
        ceiling_shares(row)
        for key in KEYS:
            c, p = row[f"clipbench_{key}"], row[f"torch_{key}"]
            row[f"ratio_{key}"] = c / p if c and p else None
        row["samples"] = samples[(inp, s, t)]
        rows.append(row)

    print(f"clipbench vs PyTorch {torch_version}: batch {a.batch}, {a.steps} timed steps, "
          f"median of {a.repeats} interleaved repeats; ratio = clipbench / torch (> 1: "
          "clipbench faster)")
    if a.torch_env or a.torch_arg:
        print(f"torch processes run with env {' '.join(a.torch_env) or '(unchanged)'}, "
              f"extra args {' '.join(a.torch_arg) or '(none)'}")
    print(f"load average (1, 5, 15 min): start {fmt_load(load_start)}, end {fmt_load(load_end)}"
          f"; CPU: {cpu_model()}, {os.cpu_count()} logical CPUs")
    print()
    print("| strategy | input | threads | clipbench train img/s | torch train img/s | ratio "
          "| clipbench fwd img/s | torch fwd img/s | ratio |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['strategy']} | {r['input']} | {r['threads']} "
              f"| {fmt_rate(r['clipbench_train_images_per_s'])} "
              f"| {fmt_rate(r['torch_train_images_per_s'])} "
              f"| {fmt_ratio(r['ratio_train_images_per_s'])} "
              f"| {fmt_rate(r['clipbench_forward_images_per_s'])} "
              f"| {fmt_rate(r['torch_forward_images_per_s'])} "
              f"| {fmt_ratio(r['ratio_forward_images_per_s'])} |")
    print()
    if a.sgemm_n:
        print_ceiling(rows, a.sgemm_n)
    summary = []
    for inp in a.inputs:
        for t in a.threads:
            sel = [r for r in rows if r["input"] == inp and r["threads"] == t]
            g_tr = geomean([r["ratio_train_images_per_s"] for r in sel])
            g_fw = geomean([r["ratio_forward_images_per_s"] for r in sel])
            summary.append({"input": inp, "threads": t, "geomean_ratio_train": g_tr,
                            "geomean_ratio_forward": g_fw})
            print(f"geometric mean ratio, {inp}, {t} thread{'s' * (t != 1)}: train "
                  f"{fmt_ratio(g_tr)}, forward {fmt_ratio(g_fw)}")

    if a.json_out:
        doc = {
            "generator": "reference/pytorch/compare.py",
            "command": [sys.executable] + [os.path.abspath(__file__)] + (
                sys.argv[1:] if argv is None else list(argv)),
            "started_utc": started.isoformat(timespec="seconds"),
            "clipbench": os.path.abspath(a.clipbench),
            "python": a.python,
            "torch_version": torch_version,
            "torch_args": a.torch_arg,
            "torch_env": a.torch_env,
            "cpu": cpu_model(),
            "logical_cpus": os.cpu_count(),
            "loadavg_start": list(load_start),
            "loadavg_end": list(load_end),
            "batch": a.batch,
            "steps": a.steps,
            "repeats": a.repeats,
            "ratio": "clipbench / torch, of the medians",
            "model_check": check_rows,
            "rows": rows,
            "summary": summary,
        }
        write_atomic(a.json_out, doc)
        log(f"wrote {a.json_out}")
    return 0


def ceiling_shares(row):
    """clipbench's training matmul GFLOP/s (train img/s x FLOP/img, crates/nn/src/flops.rs)
    and its share of each side's sgemm peak: clipbench's own (the gemm crate) and torch's (the
    issue's definition of the ceiling). None where a figure is missing."""
    img, flop = row["clipbench_train_images_per_s"], row["train_flop_per_image"]
    g = img * flop / 1e9 if img and flop else None
    own, torch = row["clipbench_sgemm_gflops"], row["torch_sgemm_gflops"]
    row["clipbench_train_gflops"] = g
    row["share_of_clipbench_sgemm"] = g / own if g and own else None
    row["share_of_torch_sgemm"] = g / torch if g and torch else None


def print_ceiling(rows, n):
    print(f"The gemm ceiling: clipbench's training matmul GFLOP/s (train img/s x FLOP/img) as a "
          f"share of each side's {n}^3 f32 sgemm on the same threads (medians of the same runs)")
    print()
    print("| strategy | input | threads | clipbench matmul GFLOP/s | gemm-crate sgemm GFLOP/s "
          "| share | torch sgemm GFLOP/s | share |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        g = r["clipbench_train_gflops"]
        print(f"| {r['strategy']} | {r['input']} | {r['threads']} "
              f"| {f'{g:.1f}' if g else '–'} "
              f"| {fmt_rate(r['clipbench_sgemm_gflops'])} "
              f"| {fmt_ratio(r['share_of_clipbench_sgemm'])} "
              f"| {fmt_rate(r['torch_sgemm_gflops'])} "
              f"| {fmt_ratio(r['share_of_torch_sgemm'])} |")
    print()


def fmt_load(t):
    return ", ".join(f"{x:.2f}" for x in t)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        print(f"compare.py: error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("compare.py: interrupted", file=sys.stderr)
        sys.exit(130)
