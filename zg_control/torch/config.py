"""The options of :class:`~zg_control.torch.BlackBox` and their validation."""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

from ..optimizers.zerograds.mlp import resolve_device


def _positive(v: object) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) and v > 0


def _count(v: object, least: int) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= least


@dataclasses.dataclass(frozen=True)
class BlackBoxConfig:
    """Options of :class:`~zg_control.torch.BlackBox` (surrogate defaults: the paper's 3 x 64).

    Sampling (every forward that needs a gradient):
        sigma: std of the local Gaussian samples around each row, in ``y``'s units (the
            smoothing scale: the gradient is that of the loss smoothed at this scale).
        n_samples: local samples per row (``y +/- sigma e`` pairs when antithetic, so even);
            0 learns from the rows ``y`` alone.
        antithetic: draw the samples in pairs ``y +/- sigma e``.
        adapt: ZeroGrads' plateau rule (:mod:`~zg_control.optimizers.zerograds.step`): after
            a forward in which every row's samples tie with it (no row has a slope to
            follow), sigma grows by x1.65 for the forwards after it. ``False``: sigma as given.
    Surrogate ``h(y, context)`` (an MLP plus a linear skip on normalised inputs):
        width, depth: ``depth`` hidden LeakyReLU layers of ``width`` units.
        lr_phi, k_phi: Adam's learning rate on the surrogate's weights, and its steps per
            forward (taken after the forward's rows enter the buffer, before the gradient at
            ``y`` is taken: no lag).
        buffer_size: rows ``(y, context, loss)`` kept, the newest overwrite the oldest.
        fit_batch: rows per surrogate step: every row of the newest forward, then rows drawn
            uniformly from the rest of the buffer (the whole buffer when it holds fewer).
        locality: recency weighting of the buffer: a row evaluated ``a`` forwards ago weighs
            ``exp(-a / locality)`` in the fit (0: equal weights).
    Running:
        device: torch device of the surrogate ("auto": CUDA when present). The inputs may live
            anywhere; the gradient comes back on their device, in their dtype.
        grad_context: also return the surrogate's gradient with respect to ``context`` (else
            the context gets none, like a detached input).
        num_threads: torch intra-op threads while the surrogate is fitted (restored after; its
            tensors are small, and many threads spin on a busy machine); 0: torch's setting.
    """

    sigma: float = 0.05
    n_samples: int = 4
    antithetic: bool = True
    adapt: bool = True
    width: int = 64
    depth: int = 3
    lr_phi: float = 3e-3
    k_phi: int = 3
    buffer_size: int = 4096
    fit_batch: int = 1024
    locality: float = 0.0
    device: str = "auto"
    grad_context: bool = False
    num_threads: int = 1

    def __post_init__(self) -> None:
        checks = [
            (_positive(self.sigma), "sigma must be a positive finite float"),
            (_count(self.n_samples, 0), "n_samples must be an int >= 0"),
            (
                not self.antithetic or self.n_samples % 2 == 0,
                "n_samples must be even when antithetic (pairs y +/- sigma e)",
            ),
            (_count(self.width, 1) and _count(self.depth, 0), "width >= 1 and depth >= 0"),
            (_positive(self.lr_phi), "lr_phi must be a positive finite float"),
            (_count(self.k_phi, 1), "k_phi must be an int >= 1"),
            (_count(self.buffer_size, 1), "buffer_size must be an int >= 1"),
            (_count(self.fit_batch, 1), "fit_batch must be an int >= 1"),
            (_count(self.num_threads, 0), "num_threads must be an int >= 0 (0: torch's own)"),
            (
                isinstance(self.locality, numbers.Real) and self.locality >= 0,
                "locality must be >= 0 (0: equal weights)",
            ),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(f"BlackBoxConfig: {msg}")
        resolve_device(self.device)

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> BlackBoxConfig:
        """The config with ``options`` (keyword arguments of ``BlackBox``) over the defaults;
        ``ValueError`` naming an unknown option and the valid ones."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - fields)
        if unknown:
            raise ValueError(
                f"unknown BlackBox option(s) {', '.join(unknown)}; "
                f"valid options: {', '.join(sorted(fields))}"
            )
        return cls(**options)
