"""``loss.png`` of a run: best loss and batch mean over episodes; the sampling scale and, for
ZeroGrads, its learning rate ``lr`` beside the scale."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

SCALE_KEYS = ("sigma", "mutation_sigma", "c_k", "step")
"""The method's sampling scale among its metrics: ZeroGrads/PRDPT/CMA-ES sigma, GA mutation
sigma, SPSA ``c_k``, SA step (random search has none)."""


def scale_key(history: list[dict[str, Any]]) -> str | None:
    """The first of :data:`SCALE_KEYS` that ``history`` rows have, or ``None``."""
    keys = {k for row in history for k in row}
    return next((k for k in SCALE_KEYS if k in keys), None)


def _column(history: list[dict[str, Any]], key: str) -> np.ndarray:
    """``history[i][key]`` as floats, NaN where missing. Shape ``(len(history),)``."""
    return np.array([np.nan if r.get(key) is None else float(r[key]) for r in history])


def plot_history(
    history: list[dict[str, Any]], path: str | os.PathLike, title: str = ""
) -> Path | None:
    """Write the loss curves of ``history`` (``zg.minimize``'s rows) to ``path`` (PNG).

    Returns ``path``, or ``None`` when there is nothing to plot yet. Uses the Agg backend (no
    display) and a log scale when every loss is positive and they span over two decades.
    """
    if not history:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = _column(history, "n_evals")
    best, mean = _column(history, "best_loss"), _column(history, "batch_mean")
    key = scale_key(history)
    sigma = _column(history, key) if key else np.full(len(history), np.nan)
    lr = _column(history, "lr")
    has_sigma = bool(np.isfinite(sigma).any())
    fig, axes = plt.subplots(
        2 if has_sigma else 1,
        1,
        figsize=(6.4, 5.6 if has_sigma else 4.0),
        sharex=True,
        squeeze=False,
        gridspec_kw={"height_ratios": [3, 1] if has_sigma else [1]},
    )
    ax = axes[0, 0]
    ax.plot(ep, mean, color="0.6", lw=1, label="batch mean")
    ax.plot(ep, best, color="C0", lw=2, label="best so far")
    finite = np.concatenate([best[np.isfinite(best)], mean[np.isfinite(mean)]])
    if finite.size and finite.min() > 0 and finite.max() / finite.min() > 100:
        ax.set_yscale("log")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    if has_sigma:
        _plot_scale(axes[1, 0], ep, sigma, key, lr)
    axes[-1, 0].set_xlabel("episodes")
    fig.tight_layout()
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.png")
    try:
        fig.savefig(tmp, dpi=100)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return path


def _plot_scale(ax: Any, ep: np.ndarray, sigma: np.ndarray, key: str, lr: np.ndarray) -> None:
    """The lower panel: the sampling scale ``sigma (n,)`` and, when logged, ``lr (n,)`` on one
    log axis (they differ by about 10x and move by factors)."""
    ax.plot(ep, sigma, color="C1", label=key)
    values = sigma[np.isfinite(sigma)]
    if np.isfinite(lr).any():
        ax.plot(ep, lr, color="C2", label="lr")
        ax.legend(loc="best", fontsize="small")
        values = np.concatenate([values, lr[np.isfinite(lr)]])
    if values.size and values.min() > 0:
        ax.set_yscale("log")
    ax.set_ylabel("scale")
    ax.grid(alpha=0.3)


def plot_run(
    history: list[dict[str, Any]], path: str | os.PathLike, title: str = ""
) -> Path | None:
    """:func:`plot_history`, but a failure is logged, not raised: a plot never costs a run."""
    try:
        return plot_history(history, path, title=title)
    except Exception as err:
        logging.getLogger("zg_control").warning("could not write %s: %s", Path(path).name, err)
        return None
