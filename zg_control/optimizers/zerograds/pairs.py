"""Statistics of an antithetic batch's pairs: row ``k`` and row ``k + n/2`` were drawn at
``theta + sigma e_k`` and ``theta - sigma e_k``. A pair counts only when both of its losses are
finite (:func:`finite_pairs`). The step control reads three things off them: the samples'
success against theta (:mod:`.step`'s success rule), the slope along the latest step (its step
length) and each pair's squared slope (:mod:`.near_plateau`'s probe)."""

from __future__ import annotations

import math

import numpy as np


def finite_pairs(
    values: np.ndarray, finite: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(first (p,), second (p,), kept (n/2,))``: the two halves of ``values (n,)`` at the
    pairs whose two rows are ``finite (n,)``, and which pairs those are."""
    h = len(values) // 2
    kept = finite[:h] & finite[h : 2 * h]
    return values[:h][kept], values[h : 2 * h][kept], kept


def success_rate(
    losses: np.ndarray, finite: np.ndarray, centre: float, paired: bool = True
) -> float:
    """The fraction of the finite ``losses (n,)`` below the ``centre``'s loss, ties counted
    half; NaN when none is finite. ``paired``: ``losses`` are antithetic pairs; pairs with a
    non-finite loss are left out, and a pair whose two samples both beat the centre counts as
    two failures (:mod:`.step`'s module docstring)."""
    win = (losses < centre) + 0.5 * (losses == centre)
    if not paired:
        return float(win[finite].mean()) if finite.any() else float("nan")
    a, b, _ = finite_pairs(win, finite)
    if not len(a):
        return float("nan")
    return float(np.where((a == 1.0) & (b == 1.0), 0.0, (a + b) / 2).mean())


def slope_along(E: np.ndarray, losses: np.ndarray, finite: np.ndarray, step: np.ndarray) -> float:
    """The standardised slope of the loss along ``step (d,)`` at the batch's centre.

    ``E (n/2, d)``: the first half of an antithetic batch's perturbations in sigma units (the
    second half is their negation); ``losses (n,)``, ``finite (n,)`` the whole batch's losses
    and which were finite (pairs with a non-finite loss are left out). With
    ``a_k = (losses[k] - losses[k + n/2]) (E[k] . step / |step|)``,
    returns ``sum a / sqrt(sum a^2)``: sign-symmetric terms when the losses do not depend on
    the step's direction, so mean 0 and variance 1 then; 0 for a zero step or no pairs."""
    norm = float(np.linalg.norm(step))
    if norm == 0.0 or len(losses) < 2:
        return 0.0
    first, second, kept = finite_pairs(losses, finite)
    top = max(float(np.abs(first).max(initial=0.0)), float(np.abs(second).max(initial=0.0)))
    if top == 0.0:
        return 0.0
    # the statistic is scale-free; dividing by the largest keeps losses near 1e308 finite
    a = (first / top - second / top) * (E[kept] @ (step / norm))
    s2 = float(a @ a)
    return float(a.sum()) / math.sqrt(s2) if s2 > 0 else 0.0


def pair_slopes(E: np.ndarray, losses: np.ndarray, finite: np.ndarray, sigma: float) -> np.ndarray:
    """The squared slopes ``((l_k - l_{k+h}) / (2 sigma |E_k|))^2`` of the antithetic pairs with
    two finite losses. ``E (h, d)``: the first half of the perturbations in sigma units;
    ``losses (2h,)``, ``finite (2h,)``. Shape ``(pairs kept,)``."""
    first, second, kept = finite_pairs(losses, finite)
    return ((first - second) / (2.0 * sigma * np.linalg.norm(E[kept], axis=1))) ** 2
