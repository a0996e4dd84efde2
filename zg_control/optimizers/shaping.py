"""Fitness shaping: what a surrogate or estimator sees instead of one batch's raw losses.

Every transform acts within a batch, so shaped values of different batches are not comparable.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata

SHAPINGS = ("none", "ranks", "normal", "clip")


def shape_losses(losses: np.ndarray, kind: str) -> np.ndarray:
    """``losses (n,)`` -> shaped values ``(n,)`` under ``kind`` (one of :data:`SHAPINGS`).

    "none": unchanged; "clip": clipped to the batch median +/- 3 robust std (1.4826 MAD), so one
    fall or crash cannot swing a fit; "ranks": centred average ranks ``(r - 0.5) / n - 0.5`` in
    ``(-0.5, 0.5)``; "normal": those ranks mapped to standard-normal quantiles.
    """
    if kind == "none" or not len(losses):
        return losses
    if kind == "clip":
        med = np.median(losses)
        mad = 1.4826 * np.median(np.abs(losses - med))
        return np.clip(losses, med - 3 * mad, med + 3 * mad) if mad > 0 else losses
    u = (rankdata(losses) - 0.5) / len(losses)  # in (0, 1)
    return u - 0.5 if kind == "ranks" else ndtri(u)
