"""Helpers shared by the optimizer tests."""

from __future__ import annotations

import numpy as np


def iterate(opt, fn, iters: int) -> np.ndarray:
    """``iters`` ask/tell rounds of ``opt`` on the batched ``fn``; the recommendation after each
    tell, shape ``(iters, d)``."""
    out = []
    for _ in range(iters):
        X = opt.ask()
        opt.tell(X, fn(X))
        out.append(opt.recommendation)
    return np.array(out)
