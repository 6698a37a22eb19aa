"""SimpleCNN and the seven clip strategies, written as a PyTorch user would write them.

This is the speed reference for clipbench (crates/nn/src/model.rs, crates/clip): the same
network and the same strategy formulas, in float32, built from plain composed torch ops so
that autograd does the backward pass. Nothing here is fused or hand-optimised on purpose.

    conv 3x3 pad 1 (C -> 16) -> ReLU -> clip -> maxpool 2x2
    conv 3x3 pad 1 (16 -> 32) -> ReLU -> clip -> maxpool 2x2
    flatten -> linear (32*(H/4)*(W/4) -> 10)

The clip formulas are the float32 forms of scripts/golden/make_golden.py (the golden vectors
the Rust kernels are tested against). θ for the learnable strategies is the trained parameter
itself, projected onto [1e-3, ∞) after each optimizer step (`project_thetas`), one θ per layer:
clipbench's defaults (theta_param = "direct", per_channel = false). The fixed strategies (hard-clamp, tanh-fixed) keep θ in a buffer and
autograd does not differentiate with respect to it; clipbench computes ∂L/∂θ for them as
well (it logs it), which is one scalar reduction per layer and does not change the picture.

Defaults match clipbench's ClipConfig: θ0 = (1.0, 2.0) for the two clip layers (PACT's α0
too), β = 1.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

STRATEGIES = [
    "none",
    "hard-clamp",
    "tanh-fixed",
    "tanh-learnable",
    "softplus-learnable",
    "pact",
    "seed-softplus",
    "softsign-learnable",
]
LEARNABLE = {"tanh-learnable", "softplus-learnable", "pact", "seed-softplus", "softsign-learnable"}
INPUTS = {"3x32x32": (3, 32, 32), "1x28x28": (1, 28, 28)}
NUM_CLASSES = 10
THETA_MIN = 1e-3
THETA0 = (1.0, 2.0)
BETA = 1.0
WIDTHS = (16, 32)


def parse_input(text):
    """'3x32x32' -> (3, 32, 32); raises ValueError for any other shape."""
    key = text.strip().lower()
    if key not in INPUTS:
        raise ValueError(f"input {text!r}: expected one of {', '.join(INPUTS)}")
    return INPUTS[key]


# ---------------------------------------------------------------------------------------
# The strategies: y = f(x, θ, β), x any float32 tensor, θ a 0-dim float32 tensor.
# Float32 forms of scripts/golden/make_golden.py.


def f_none(x, t, b):
    return x


def f_hard_clamp(x, t, b):
    return torch.minimum(torch.maximum(x, -t), t)


def f_tanh(x, t, b):
    return t * torch.tanh(x / t)


def f_softplus_learnable(x, t, b):
    # sp_β(z) = ln(1 + e^{βz})/β via logaddexp (no softplus threshold), as in make_golden.
    zero = torch.zeros((), dtype=x.dtype, device=x.device)

    def sp(z):
        return torch.logaddexp(zero, b * z) / b

    return x - sp(x - t) + sp(-x - t)


def f_pact(x, t, b):
    # clamp(x, 0, α) with ∂y/∂α = 1[x ≥ α] and ∂y/∂x = 1[0 < x < α].
    return torch.where(x >= t, t, torch.relu(x))


def f_softsign(x, t, b):
    return t * x / (t + torch.abs(x))


def f_seed_softplus(x, t, b):
    # The seed's SoftplusClipping, verbatim (≡ relu(x)).
    s = t * F.softplus(x / t) - t * torch.log(1 + torch.exp(-torch.abs(x / t)))
    return torch.sign(x) * torch.minimum(torch.abs(x), s)


FUNCTIONS = {
    "none": f_none,
    "hard-clamp": f_hard_clamp,
    "tanh-fixed": f_tanh,
    "tanh-learnable": f_tanh,
    "softplus-learnable": f_softplus_learnable,
    "pact": f_pact,
    "seed-softplus": f_seed_softplus,
    "softsign-learnable": f_softsign,
}


class Clip(nn.Module):
    """One clip layer: a strategy with one θ for the whole layer."""

    def __init__(self, strategy, theta0, beta=BETA):
        super().__init__()
        if strategy not in FUNCTIONS:
            raise ValueError(f"unknown strategy {strategy!r}: expected one of {STRATEGIES}")
        self.strategy = strategy
        self.fn = FUNCTIONS[strategy]
        self.beta = float(beta)
        self.learnable = strategy in LEARNABLE
        if strategy == "none":
            self.theta_param = None
            self.register_buffer("theta_fixed", None)
        elif self.learnable:
            self.theta_param = nn.Parameter(torch.tensor(theta0, dtype=torch.float32))
            self.register_buffer("theta_fixed", None)
        else:
            self.theta_param = None
            self.register_buffer("theta_fixed", torch.tensor(theta0, dtype=torch.float32))

    def theta(self):
        if self.theta_param is not None:
            return self.theta_param
        return self.theta_fixed

    @torch.no_grad()
    def project(self):
        # θ is trained directly, then projected onto [θ_min, ∞), as clipbench does.
        if self.theta_param is not None:
            self.theta_param.clamp_(min=THETA_MIN)

    def forward(self, x):
        if self.strategy == "none":
            return x
        return self.fn(x, self.theta(), self.beta)


class SimpleCNN(nn.Module):
    def __init__(self, strategy, input_shape=(3, 32, 32), theta0=THETA0, beta=BETA):
        super().__init__()
        c, h, w = input_shape
        if (c, h, w) not in INPUTS.values():
            raise ValueError(f"input {input_shape}: expected (3, 32, 32) or (1, 28, 28)")
        w1, w2 = WIDTHS
        self.input_shape = (c, h, w)
        self.conv1 = nn.Conv2d(c, w1, 3, padding=1)
        self.clip1 = Clip(strategy, theta0[0], beta)
        self.conv2 = nn.Conv2d(w1, w2, 3, padding=1)
        self.clip2 = Clip(strategy, theta0[1], beta)
        self.flat = w2 * (h // 4) * (w // 4)
        self.fc = nn.Linear(self.flat, NUM_CLASSES)

    def forward(self, x):
        x = F.max_pool2d(self.clip1(F.relu(self.conv1(x))), 2)
        x = F.max_pool2d(self.clip2(F.relu(self.conv2(x))), 2)
        return self.fc(torch.flatten(x, 1))

    def project_thetas(self):
        """After each optimizer step: learnable θ back onto [θ_min, ∞)."""
        self.clip1.project()
        self.clip2.project()


def param_counts(model):
    """(trainable elements, elements including fixed θ buffers)."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    fixed = sum(b.numel() for b in model.buffers())
    return trainable, trainable + fixed


def expected_param_count(strategy, input_shape):
    """clipbench's SimpleCnn::num_params: weights and biases plus one θ per clip layer
    (every strategy but `none`, fixed ones included)."""
    c, h, w = input_shape
    w1, w2 = WIDTHS
    n = (w1 * c * 9 + w1) + (w2 * w1 * 9 + w2) + (w2 * (h // 4) * (w // 4) * 10 + 10)
    return n + (0 if strategy == "none" else 2)
