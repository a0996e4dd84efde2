"""Fitness shaping: what a surrogate or estimator sees instead of one batch's raw losses.

The transform acts within a batch, so shaped values of different batches are not comparable.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

SHAPINGS = ("none", "ranks")


def shape_losses(losses: np.ndarray, kind: str) -> np.ndarray:
    """``losses (n,)`` -> shaped values ``(n,)`` under ``kind`` (one of :data:`SHAPINGS`).

    "none": unchanged; "ranks": centred average ranks ``(r - 0.5) / n - 0.5`` in
    ``(-0.5, 0.5)`` (the fitness shaping of NES and CMA-ES: invariant to any monotone
    transform of the losses, blind to how much better one sample is than another).
    """
    if kind not in SHAPINGS:
        raise ValueError(f"shaping must be one of {SHAPINGS}, got {kind!r}")
    if kind == "none" or not len(losses):
        return losses
    return (rankdata(losses) - 0.5) / len(losses) - 0.5
