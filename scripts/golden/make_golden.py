#!/usr/bin/env python3
"""Golden test vectors for the clip strategies, from PyTorch autograd in float64.

For each strategy the script builds y = f(x; θ) from torch ops in float64, with x and θ
leaf tensors that require grad, and records per element y, ∂y/∂x and ∂y/∂θ as autograd
gives them. It writes crates/clip/tests/fixtures/golden.json:

    {"generator": "scripts/golden/make_golden.py", "torch_version": ..., "dtype": "float64",
     "cases": [{"strategy", "theta", "beta", "x", "y", "dydx", "dydt"}, ...]}

Every x and every θ is a float32 value (stored as the float64 of that float32), so an f32
kernel fed the same numbers sees exactly the inputs the reference used. β is 1.0 where the
strategy has none. The output is deterministic: no wall clock, the random points come from
Python's `random.Random` with fixed seeds, and json writes floats with repr (round-trips).

Run (from the repository root, after setting up the venv as scripts/golden/README.md says):

    reference/pytorch/.venv/bin/python scripts/golden/make_golden.py [OUT]

(default OUT: crates/clip/tests/fixtures/golden.json)
"""

import json
import math
import random
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_OUT = ROOT / "crates/clip/tests/fixtures/golden.json"

THETAS = [1e-3, 0.1, 0.5, 1.0, 2.0, 10.0]
BETAS = [1.0, 4.0, 20.0]
FIXED_MAGS = [1e-6, 1e-3, 0.1, 0.5, 1.0, 2.0, 3.0, 10.0, 100.0, 1e4]
N_RANDOM = 16
SEED = 20240917

DT = torch.float64


def f32(v: float) -> float:
    """v rounded to the nearest float32, returned as a Python float (float64)."""
    return torch.tensor(v, dtype=torch.float64).to(torch.float32).item()


# ---------------------------------------------------------------------------------------
# The strategies: y = f(x, θ, β) on float64 tensors (x a vector, θ a 0-dim tensor).


def f_none(x, t, b):
    return x


def f_hard_clamp(x, t, b):
    return torch.minimum(torch.maximum(x, -t), t)


def f_tanh(x, t, b):
    return t * torch.tanh(x / t)


def f_softplus_learnable(x, t, b):
    # sp_β(z) = ln(1 + e^{βz})/β via logaddexp (exact; no softplus threshold).
    zero = torch.zeros((), dtype=DT)

    def sp(z):
        return torch.logaddexp(zero, b * z) / b

    return x - sp(x - t) + sp(-x - t)


def f_pact(x, t, b):
    # clamp(x, 0, α) with ∂y/∂α = 1[x ≥ α] and ∂y/∂x = 1[0 < x < α].
    return torch.where(x >= t, t, torch.relu(x))


def f_seed_softplus(x, t, b):
    # The seed's SoftplusClipping, verbatim (F.softplus with its default threshold=20).
    s = t * F.softplus(x / t) - t * torch.log(1 + torch.exp(-torch.abs(x / t)))
    return torch.sign(x) * torch.minimum(torch.abs(x), s)


def f_softsign(x, t, b):
    return t * x / (t + torch.abs(x))


# name -> (function, kinks as a function of θ, include x = 0, θ list, β list)
STRATEGIES = [
    ("none", f_none, lambda t: [], True, [1.0], [1.0]),
    ("hard-clamp", f_hard_clamp, lambda t: [-t, t], True, THETAS, [1.0]),
    ("tanh-fixed", f_tanh, lambda t: [], True, THETAS, [1.0]),
    ("tanh-learnable", f_tanh, lambda t: [], True, THETAS, [1.0]),
    ("softplus-learnable", f_softplus_learnable, lambda t: [], True, THETAS, BETAS),
    ("pact", f_pact, lambda t: [0.0, t], False, THETAS, [1.0]),
    # relu's kink at 0 is kept on purpose (x = 0 is asked for; sign(0) = 0 there).
    ("seed-softplus", f_seed_softplus, lambda t: [], True, THETAS, [1.0]),
    # New strategies go last: each case's random points are seeded by its position.
    ("softsign-learnable", f_softsign, lambda t: [], True, THETAS, [1.0]),
]


def points(theta: float, kinks, with_zero: bool, seed: int):
    """The x values of one case: all float32, no duplicates, none exactly on a kink."""
    cand = [0.0] if with_zero else []
    for m in FIXED_MAGS:
        cand += [m, -m]
    for s in (1.0, -1.0):
        cand += [s * theta * (1 + 1e-3), s * theta * (1 - 1e-3)]
    rng = random.Random(seed)
    cand += [rng.uniform(-4 * theta, 4 * theta) for _ in range(N_RANDOM)]

    out, seen = [], set()
    for v in cand:
        v = f32(v)
        if v in seen or v in kinks:
            continue
        if v == 0.0 and not with_zero:
            continue
        seen.add(v)
        out.append(v)
    return out


def evaluate(fn, xs, theta: float, beta: float):
    x = torch.tensor(xs, dtype=DT, requires_grad=True)
    t = torch.tensor(theta, dtype=DT, requires_grad=True)
    b = torch.tensor(beta, dtype=DT)
    y = fn(x, t, b)

    n = len(xs)
    if y.grad_fn is None and not y.requires_grad:
        raise RuntimeError("output does not depend on x")
    # Each y_i depends on x_i alone, so the gradient of Σy w.r.t. x is ∂y_i/∂x_i.
    (dydx,) = torch.autograd.grad(y.sum(), x, retain_graph=True, allow_unused=True)
    if dydx is None:
        dydx = torch.zeros(n, dtype=DT)
    # ∂y_i/∂θ one element at a time (not summed).
    dydt = []
    for i in range(n):
        (g,) = torch.autograd.grad(y[i], t, retain_graph=True, allow_unused=True)
        dydt.append(0.0 if g is None else g.item())
    return y.detach().tolist(), dydx.detach().tolist(), dydt


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    torch.manual_seed(0)  # nothing random is drawn from torch; set anyway
    cases = []
    case_no = 0
    for name, fn, kinks_of, with_zero, thetas, betas in STRATEGIES:
        for beta in betas:
            for theta_nominal in thetas:
                theta = f32(theta_nominal)
                xs = points(theta, kinks_of(theta), with_zero, SEED + case_no)
                case_no += 1
                y, dydx, dydt = evaluate(fn, xs, theta, beta)
                for arr in (y, dydx, dydt):
                    for v in arr:
                        if not math.isfinite(v):
                            print(f"non-finite value in {name} θ={theta} β={beta}: {v}")
                cases.append(
                    {
                        "strategy": name,
                        "theta": theta,
                        "beta": float(beta),
                        "x": xs,
                        "y": y,
                        "dydx": dydx,
                        "dydt": dydt,
                    }
                )

    doc = {
        "generator": "scripts/golden/make_golden.py",
        "torch_version": torch.__version__,
        "dtype": "float64",
        "cases": cases,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, allow_nan=False, separators=(",", ":"))
    out.write_text(text + "\n")
    npts = sum(len(c["x"]) for c in cases)
    print(f"wrote {out}: {len(cases)} cases, {npts} points, {len(text) + 1} bytes")


if __name__ == "__main__":
    main()
