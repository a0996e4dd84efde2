"""Study: how well does ZeroGrads' gradient point, compared with the plain smoothing estimate?

Runs ZeroGrads on an ill-conditioned quadratic ``f(x) = sum_i a_i (x_i - 1)^2`` (``a`` log-spaced
in [1, 100]) whose Gaussian-smoothed gradient is known exactly (``2 a (x - 1)``), and reports the
median cosine with it (last 2/3 of the run) of: the gradient ZeroGrads steps with, the batch's
antithetic smoothing estimate (PRDPT, one batch), its exponential moving average (beta 0.9, what
Adam's first moment sees) and the control-variate estimate (surrogate before the batch + smoothing
estimate of the residuals ``f - h``).

    python experiments/study_cosine.py --dim 600 --iters 150 --options '{"ridge": 1.0}'
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from _common import cli

import zg_control as zg


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-300))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dim", type=int, default=600, help="d of the quadratic (default: 600)")
    p.add_argument("--iters", type=int, default=150, help="iterations (default: 150)")
    p.add_argument("--noise", type=float, default=0.0, help="loss noise std (relative)")
    p.add_argument("--options", type=json.loads, default={}, help="JSON ZeroGrads options")
    a = p.parse_args(argv)
    if a.dim < 1 or a.iters < 3:
        raise ValueError(f"--dim must be >= 1 and --iters >= 3, got {a.dim} and {a.iters}")
    d = a.dim
    coef = np.logspace(0, 2, d)
    rng = np.random.default_rng(1)

    def f(X):
        y = np.sum(coef * (X - 1.0) ** 2, axis=1)
        return y * (1 + a.noise * rng.standard_normal(len(y)))

    opts = {"sigma": 0.1, "lr": 0.01, "inner_sigma": 0.0, **a.options}
    opt = zg.make_optimizer("zerograds", np.zeros(d), seed=0, **opts)
    ema = np.zeros(d)
    rows = []
    for _ in range(a.iters):
        theta = opt.recommendation
        true = 2 * coef * (theta - 1.0)
        X = opt.ask()
        y = f(X)
        n = len(y) // 2
        E = (X[:n] - theta) / opt.sigma
        gs = (y[:n] - y[n:]) @ E / (2 * n * opt.sigma)
        ema = 0.9 * ema + 0.1 * gs
        # control variate: the surrogate *before* it sees the batch + smoothing of residuals
        r = y - opt.surrogate.predict(X) if opt.n_iters else y
        g_cv = opt.surrogate.value_and_grad(theta)[1] + (r[:n] - r[n:]) @ E / (2 * n * opt.sigma)
        opt.tell(X, y)
        g = opt.last_gradient  # the gradient of the first theta step of this iteration
        rows.append((cos(g, true), cos(gs, true), cos(ema, true), cos(g_cv, true)))
    r = np.array(rows[a.iters // 3 :])
    start = float(f(np.zeros((1, d)))[0])
    med = [round(float(np.median(r[:, i])), 3) for i in range(4)]
    ratio = round(float(f(opt.recommendation[None])[0]) / start, 4)
    print(json.dumps({"opts": a.options, "dim": d, "cos_surrogate": med[0], "cos_batch_gs": med[1],
                      "cos_ema_gs": med[2], "cos_cv": med[3], "loss_ratio": ratio}))  # fmt: skip


if __name__ == "__main__":
    cli(main)
