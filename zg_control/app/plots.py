"""``loss.png`` of a run: best and current loss over episodes, and the sampling scale sigma."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np


def _column(history: list[dict[str, Any]], key: str) -> np.ndarray:
    """``history[i][key]`` as floats, NaN where missing. Shape ``(len(history),)``."""
    return np.array([np.nan if r.get(key) is None else float(r[key]) for r in history])


def plot_history(
    history: list[dict[str, Any]], path: str | os.PathLike, title: str = ""
) -> Path | None:
    """Write the loss curves of ``history`` (rows of ``history.csv``) to ``path`` (PNG).

    Returns ``path``, or ``None`` when there is nothing to plot yet. Uses the Agg backend (no
    display) and a log scale when every loss is positive and they span over two decades.
    """
    if not history:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = _column(history, "episodes")
    best, current = _column(history, "best_loss"), _column(history, "current_loss")
    sigma = _column(history, "sigma")
    has_sigma = bool(np.isfinite(sigma).any())
    fig, axes = plt.subplots(
        2 if has_sigma else 1, 1, figsize=(6.4, 5.6 if has_sigma else 4.0), sharex=True,
        squeeze=False, gridspec_kw={"height_ratios": [3, 1] if has_sigma else [1]},
    )  # fmt: skip
    ax = axes[0, 0]
    ax.plot(ep, current, color="0.6", lw=1, label="current (batch mean)")
    ax.plot(ep, best, color="C0", lw=2, label="best so far")
    finite = np.concatenate([best[np.isfinite(best)], current[np.isfinite(current)]])
    if finite.size and finite.min() > 0 and finite.max() / finite.min() > 100:
        ax.set_yscale("log")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    if has_sigma:
        axes[1, 0].plot(ep, sigma, color="C1")
        axes[1, 0].set_ylabel("sigma")
        axes[1, 0].grid(alpha=0.3)
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
