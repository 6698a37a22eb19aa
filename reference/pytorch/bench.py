#!/usr/bin/env python3
"""PyTorch twin of `clipbench bench-train`: training and forward throughput in images/s.

Same protocol as crates/train/src/bench.rs:
  - one fixed synthetic batch: inputs uniform in [0, 1), labels i % 10;
  - Adam, lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay;
  - 2 warm-up train steps, then STEPS timed train steps (forward, cross-entropy, backward,
    optimizer step), then STEPS timed forward-only passes (no grad).

Prints one JSON line per thread count with the keys bench-train prints:
  {"strategy","input":[c,h,w],"batch","threads","steps","train_images_per_s","forward_images_per_s"}

Threads: torch.set_num_threads(T) (intra-op, used by convolutions, GEMM and element-wise ops)
and torch.set_num_interop_threads(1). The inter-op setting can be made once per process only,
so with more than one thread count each one runs in its own child process.

    python bench.py --strategy tanh-learnable [--batch 64] [--steps 30]
                    [--input 3x32x32|1x28x28] [--threads 1,2] [--channels-last]
                    [--device cpu|cuda] [--sgemm-n 2048]
    python bench.py --check     # parameter counts and output shapes, every strategy/input
"""

import argparse
import json
import os
import subprocess
import sys
import time


def parse_threads(text):
    try:
        ts = [int(t) for t in text.replace(" ", ",").split(",") if t]
    except ValueError:
        ts = []
    if not ts or any(t < 1 for t in ts):
        raise argparse.ArgumentTypeError(f"--threads {text!r}: expected e.g. 1,2")
    return ts


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--strategy")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--input", default="3x32x32", help="3x32x32 or 1x28x28")
    p.add_argument("--threads", type=parse_threads, default=[1, 2])
    p.add_argument("--channels-last", action="store_true",
                   help="model and batch in channels_last memory format (not the default: "
                        "a plain PyTorch model is NCHW); the output gains \"channels_last\": true")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="cuda: model and batch on GPU 0; timing synchronises before reading "
                        "the clock (the output gains \"device\")")
    p.add_argument("--sgemm-n", type=int, default=0,
                   help="also time torch's f32 N x N x N matmul on the bench's threads (best of "
                        "3) after the bench; the output gains \"sgemm\" (0, the default: skip)")
    p.add_argument("--check", action="store_true", help="sanity check of the model, then exit")
    a = p.parse_args(argv)
    if not a.check and not a.strategy:
        p.error("--strategy is required (or --check)")
    if a.sgemm_n < 0:
        p.error("--sgemm-n must be 0 (skip) or more")
    if a.batch < 1 or a.steps < 1:
        p.error("--batch and --steps must be at least 1")
    return a


def bench_one(strategy, input_shape, batch, steps, threads, channels_last=False, device="cpu"):
    import torch
    import torch.nn.functional as F

    from model import SimpleCNN

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = SimpleCNN(strategy, input_shape)
    c, h, w = input_shape
    g = torch.Generator().manual_seed(1)
    xs = torch.rand((batch, c, h, w), generator=g, dtype=torch.float32)
    ys = torch.arange(batch) % 10
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        xs = xs.contiguous(memory_format=torch.channels_last)
    model, xs, ys = model.to(device), xs.to(device), ys.to(device)
    # GPU kernels run asynchronously: wait for them before every clock read.
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xs), ys)
        loss.backward()
        opt.step()
        model.project_thetas()

    for _ in range(2):
        step()
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    train_s = time.perf_counter() - t0
    with torch.no_grad():
        t1 = time.perf_counter()
        for _ in range(steps):
            out = model(xs)
        sync()
        fwd_s = time.perf_counter() - t1
    if tuple(out.shape) != (batch, 10):
        raise RuntimeError(f"forward output shape {tuple(out.shape)}, expected ({batch}, 10)")
    imgs = batch * steps
    r = {
        "strategy": strategy,
        "input": list(input_shape),
        "batch": batch,
        "threads": threads,
        "steps": steps,
        "train_images_per_s": imgs / max(train_s, 1e-9),
        "forward_images_per_s": imgs / max(fwd_s, 1e-9),
    }
    if channels_last:
        r["channels_last"] = True
    if device != "cpu":
        r["device"] = device
    return r


def sgemm_peak(n, repeats, device="cpu"):
    """torch's f32 n x n x n matmul at the threads set, best of `repeats`, in GFLOP/s: the
    matmul ceiling as the issue measured it (one torch.mm on all the bench's threads)."""
    import torch

    g = torch.Generator().manual_seed(2)
    a = torch.rand((n, n), generator=g, dtype=torch.float32).to(device)
    b = torch.rand((n, n), generator=g, dtype=torch.float32).to(device)
    c = torch.empty((n, n), dtype=torch.float32, device=device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    torch.mm(a, b, out=c)
    sync()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b, out=c)
        sync()
        best = min(best, time.perf_counter() - t0)
    return {"n": n, "repeats": repeats, "gflops": 2.0 * n ** 3 / best / 1e9}


def check():
    """Parameter counts (vs clipbench's count) and output shape for every strategy/input."""
    import torch

    from model import INPUTS, STRATEGIES, SimpleCNN, expected_param_count, param_counts

    ok = True
    for name, shape in INPUTS.items():
        for s in STRATEGIES:
            m = SimpleCNN(s, shape)
            trainable, total = param_counts(m)
            want = expected_param_count(s, shape)
            out = m(torch.rand((4, *shape)))
            good = total == want and tuple(out.shape) == (4, 10)
            ok &= good
            print(
                json.dumps(
                    {
                        "strategy": s,
                        "input": list(shape),
                        "params_trainable": trainable,
                        "params_total": total,
                        "clipbench_params": want,
                        "output_shape": list(out.shape),
                        "ok": good,
                    }
                )
            )
    return 0 if ok else 1


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    try:
        import torch
    except ImportError as e:
        print(f"bench.py: cannot import torch ({e}); run `just torch-setup`", file=sys.stderr)
        return 2
    torch.set_num_interop_threads(1)
    if a.check:
        return check()
    from model import STRATEGIES, parse_input

    if a.strategy not in STRATEGIES:
        print(f"bench.py: unknown strategy {a.strategy!r}; expected one of: "
              + ", ".join(STRATEGIES), file=sys.stderr)
        return 2
    try:
        shape = parse_input(a.input)
    except ValueError as e:
        print(f"bench.py: {e}", file=sys.stderr)
        return 2

    if len(a.threads) == 1:
        r = bench_one(a.strategy, shape, a.batch, a.steps, a.threads[0], a.channels_last, a.device)
        if a.sgemm_n > 0:
            r["sgemm"] = sgemm_peak(a.sgemm_n, 3, a.device)
        print(json.dumps(r), flush=True)
        return 0
    # One child process per thread count (set_num_interop_threads is once per process).
    for t in a.threads:
        cmd = [sys.executable, os.path.abspath(__file__), "--strategy", a.strategy,
               "--batch", str(a.batch), "--steps", str(a.steps), "--input", a.input,
               "--threads", str(t), "--device", a.device, "--sgemm-n", str(a.sgemm_n)] + (
                   ["--channels-last"] if a.channels_last else [])
        rc = subprocess.run(cmd).returncode
        if rc != 0:
            print(f"bench.py: child for --threads {t} exited with status {rc}", file=sys.stderr)
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
