"""ZeroGrads' control of its own step on plateaus: one scale that multiplies sigma and lr.

When every finite loss of a batch ties, the samples carry no slope at all (a plateau, e.g. a
character that never leaves the ground, a puck that is never touched): the surrogate's gradient
is zero and theta cannot move. Each such flat batch multiplies sigma (and lr, which is tied to it)
by ``exp(FLAT_GAIN)``, so that the samples reach the edge of the plateau, as pycma grows its
step size on flat fitness. The scale never shrinks: once a batch shows any difference the
method goes on at the sigma that found it. A run whose batches are never flat is unchanged.

The scale is capped (``cap``: half the box's median width over the base sigma when there are
bounds, else ``MAX_SCALE``). Everything here is deterministic given the losses.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

FLAT_GAIN = 0.5  # log scale added per flat batch (x1.65)
MAX_SCALE = 1e4


def is_flat(losses: np.ndarray) -> bool:
    """True when every finite entry of ``losses (n,)`` is the same (or fewer than 2 are
    finite)."""
    finite = losses[np.isfinite(losses)]
    return finite.size < 2 or bool(np.all(finite == finite[0]))


class PlateauScale:
    """The factor on sigma and lr, grown on flat batches.

    Args:
        cap: the largest factor (>= 1).
    """

    def __init__(self, cap: float = MAX_SCALE) -> None:
        self.log_max = math.log(max(1.0, min(cap, MAX_SCALE)))
        self.log_scale = 0.0

    @property
    def value(self) -> float:
        return math.exp(self.log_scale)

    def update(self, losses: np.ndarray) -> bool:
        """Grow on a flat batch ``losses (n,)``; returns whether it was flat."""
        flat = is_flat(losses)
        if flat:
            self.grow()
        return flat

    def grow(self) -> None:
        """One flat batch's growth, up to the cap."""
        self.log_scale = min(self.log_scale + FLAT_GAIN, self.log_max)

    def state_dict(self) -> dict[str, Any]:
        return {"log_scale": self.log_scale}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.log_scale = float(state["log_scale"])
