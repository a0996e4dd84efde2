"""Helpers shared by the optimizer tests."""

from __future__ import annotations

import numpy as np


def iterate(opt, fn, iters: int, batches: list | None = None) -> np.ndarray:
    """``iters`` ask/tell rounds of ``opt`` on the batched ``fn``; the recommendation after each
    tell, shape ``(iters, d)``. Each asked batch ``(n, d)`` is appended to ``batches`` if given."""
    out = []
    for _ in range(iters):
        X = opt.ask()
        opt.tell(X, fn(X))
        out.append(opt.recommendation)
        if batches is not None:
            batches.append(X)
    return np.array(out)


def same_run(a: tuple[np.ndarray, list], b: tuple[np.ndarray, list]) -> bool:
    """Two ``(recommendations, batches)`` of ``iterate`` are bit-identical."""
    return (
        np.array_equal(a[0], b[0])
        and len(a[1]) == len(b[1])
        and all(np.array_equal(x, y) for x, y in zip(a[1], b[1], strict=True))
    )
