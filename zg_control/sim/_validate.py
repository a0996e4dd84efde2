"""Argument checks shared by the parameterisations (open loop and policy)."""

from __future__ import annotations

import operator

import numpy as np


def int_at_least(name: str, value: object, low: int) -> int:
    """``value`` as an ``int >= low``, or a ``ValueError`` naming ``name``."""
    try:
        out = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if isinstance(value, bool) or out < low:
        kind = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return out


def positive_int(name: str, value: object) -> int:
    """``value`` as an ``int >= 1``, or a ``ValueError`` naming ``name``."""
    return int_at_least(name, value, 1)


def ctrl_range(ctrl_low: np.ndarray, ctrl_high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate and copy a control range. Shapes ``(nu,)`` each; returned read-only, float64."""
    low, high = np.array(ctrl_low, dtype=np.float64), np.array(ctrl_high, dtype=np.float64)
    if low.ndim != 1 or low.shape != high.shape or low.size == 0:
        raise ValueError(f"ctrl_low/high need shape (nu,), nu >= 1; got {low.shape}, {high.shape}")
    if not np.all(np.isfinite(low) & np.isfinite(high)):
        raise ValueError("ctrl_low/ctrl_high must be finite; pass [-1, 1] for unlimited actuators")
    if np.any(low >= high):
        raise ValueError(f"need ctrl_low < ctrl_high elementwise, got {low} and {high}")
    low.setflags(write=False)
    high.setflags(write=False)
    return low, high
