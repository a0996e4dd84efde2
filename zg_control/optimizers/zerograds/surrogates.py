"""The surrogate protocol of ZeroGrads and the parts its two surrogates share.

A surrogate ``h`` learns the loss around the current parameters from the samples the method
draws (Fischer & Ritschel 2024, Sec. 3.2). Every surrogate

- keeps the latest ``m`` samples in a ring buffer (:class:`SampleBuffer`), so each episode is
  reused while it is informative;
- weights each sample by its distance to the current centre (:func:`locality_weights`);
- fits standardised targets and maps its values and gradients back to loss units
  (:class:`Standardisation`);
- shapes each batch's losses before storing them (:attr:`Surrogate.shaping`).

The surrogates are :class:`~.mlp.MLPSurrogate` (the paper's) and
:class:`~.ridge.RidgeSurrogate` (a plane solved in closed form). The MLP's arrays are torch
tensors (on its device), the ridge's numpy arrays; the shared functions keep each backend's own
operations (``numpy`` dot, ``torch`` product and sum), so each surrogate computes exactly what
it computed before the two shared this code.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
import torch

from ..shaping import shape_losses

Array = np.ndarray | torch.Tensor


class SampleBuffer:
    """Ring buffer of the latest ``capacity`` samples; the oldest rows are overwritten.

    Attributes:
        X: samples, shape ``(capacity, d)``, float32 torch tensor on ``device``.
        y: their (shaped) losses, shape ``(capacity,)``, float64 numpy.
        batch: which :meth:`add` call wrote each row (1, 2, ...), shape ``(capacity,)``.
        size: rows filled; ``X[:size]`` are the samples held. head: the next row written.
    """

    def __init__(self, capacity: int, dim: int, device: torch.device) -> None:
        self.X = torch.zeros(capacity, dim, dtype=torch.float32, device=device)
        self.y = np.zeros(capacity)
        self.batch = np.zeros(capacity, dtype=np.int64)
        self.size = self.head = self.n_adds = 0

    def add(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Append ``X (n, d)`` with ``y (n,)`` (only the last ``capacity`` rows if ``n`` is
        larger) as one batch. Returns the rows written, shape ``(min(n, capacity),)``."""
        cap = len(self.y)
        X, y = X[-cap:], y[-cap:]
        idx = (self.head + np.arange(len(y))) % cap
        self.X[torch.from_numpy(idx)] = torch.as_tensor(X, dtype=torch.float32).to(self.X.device)
        self.y[idx] = y
        self.head = int((self.head + len(y)) % cap)
        self.size = min(self.size + len(y), cap)
        self.n_adds += 1
        self.batch[idx] = self.n_adds
        return idx

    def clear(self) -> None:
        """Forget every sample held (the next :meth:`add` writes from row 0)."""
        self.size = self.head = 0

    def state_dict(self) -> dict[str, Any]:
        return {
            "X": self.X.cpu().numpy().copy(),
            "y": self.y.copy(),
            "batch": self.batch.copy(),
            "counts": [self.size, self.head, self.n_adds],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.X.copy_(torch.as_tensor(state["X"]))
        self.y[:] = state["y"]
        self.batch[:] = state["batch"]
        self.size, self.head, self.n_adds = (int(v) for v in state["counts"])


def locality_weights(r2: Array, locality: float) -> Array:
    """Normalised sample weights ``w_i ~ exp(-0.5 max(r2_i - 1, 0) / locality^2)``.

    ``r2 (m,)`` is each sample's squared distance to the centre in units of a fresh sample's,
    ``|x - c|^2 / (sigma^2 d)``: fresh samples (``r2 ~ 1``) weigh 1, older ones farther away
    less. ``locality = 0``: equal weights. Returns ``(m,)``, summing to 1, same type as ``r2``.
    """
    xp = torch if isinstance(r2, torch.Tensor) else np
    if locality > 0:
        w = xp.exp(-0.5 * xp.clip(r2 - 1.0, 0.0, None) / locality**2)
    else:
        w = xp.ones_like(r2)
    return w / w.sum()


def weighted_sum(w: Array, y: Array) -> float:
    """``sum_i w_i y_i`` of ``w (m,)`` and ``y (m,)``: numpy's dot or torch's product and sum."""
    return float(w @ y) if isinstance(w, np.ndarray) else float((w * y).sum())


class Standardisation:
    """Targets ``t = (y - mean) / std`` under the locality weights, and the way back.

    ``mean`` and ``std`` are the weighted mean and standard deviation of the buffer's losses
    (``std = 1`` when they are all equal). Losses so large that their squares overflow (a
    simulator that diverged without being caught returns such values, e.g. 1e300) are
    standardised on ``y / max|y|`` instead, so ``mean``, ``std`` and the targets stay finite.
    """

    def __init__(self) -> None:
        self.mean, self.std = 0.0, 1.0

    def fit(self, y: Array, w: Array) -> Array:
        """Set mean and std from ``y (m,)`` (finite) under weights ``w (m,)``; return the
        targets ``t (m,)``, finite."""
        mean = weighted_sum(w, y)
        with np.errstate(over="ignore", invalid="ignore"):  # checked on the next line
            var = weighted_sum(w, (y - mean) ** 2)
        if not (math.isfinite(mean) and math.isfinite(var)):
            return self._fit_scaled(y, w)
        self.mean = mean
        self.std = math.sqrt(var) if var > 1e-24 else 1.0
        return (y - self.mean) / self.std

    def _fit_scaled(self, y: Array, w: Array) -> Array:
        """:meth:`fit` on ``z = y / c``, ``c = max|y|``; losses equal to 12 digits give zero
        targets and ``std = 1``, as equal losses do in :meth:`fit`."""
        c = float(abs(y).max())
        z = y / c
        mean = weighted_sum(w, z)
        var = weighted_sum(w, (z - mean) ** 2)
        self.mean = mean * c
        if var > 1e-24:
            self.std = math.sqrt(var) * c
            return (z - mean) / math.sqrt(var)
        self.std = 1.0
        return z * 0.0

    def value(self, h: Any) -> Any:
        """A standardised value (float or array) in loss units."""
        return h * self.std + self.mean

    def grad(self, g: Any, input_scale: float = 1.0) -> Any:
        """A gradient of the standardised value with respect to ``x / input_scale`` (shape
        ``(d,)``) as a gradient of the loss with respect to ``x``."""
        return g * (self.std / input_scale)


class Surrogate(ABC):
    """The surrogate protocol: ``add`` samples, ``fit`` around a centre, then ``predict``
    values or take ``value_and_grad`` at a point; ``state_dict`` / ``load_state_dict`` resume
    it bit for bit.

    Args:
        dim: number of parameters ``d``.
        buffer_size: samples kept, ``m``.
        locality: the distance weighting of :func:`locality_weights` (0: none).
        device: where the buffer's samples live.
    """

    shaping: ClassVar[str]
    """What the surrogate stores of each batch's losses (:func:`~..shaping.shape_losses`)."""

    def __init__(self, dim: int, buffer_size: int, locality: float, device: torch.device) -> None:
        self.dim, self.locality = dim, locality
        self.buffer = SampleBuffer(buffer_size, dim, device)
        self.targets = Standardisation()

    def add(self, X: np.ndarray, y: np.ndarray) -> None:
        """Append one batch: samples ``X (n, d)`` with losses ``y (n,)`` (``n = 0``: no-op)."""
        if len(y):
            self._added(self.buffer.add(X, shape_losses(y, self.shaping)))

    def _added(self, idx: np.ndarray) -> None:
        """Hook after the buffer rows ``idx`` were written."""
        del idx

    @abstractmethod
    def fit(self, centre: np.ndarray, scale: float, steps: int) -> float:
        """Fit the buffer around ``centre (d,)``, inputs measured in units of ``scale``
        (sigma), with ``steps`` optimiser steps where the fit is iterative.

        Returns the weighted fit error as a fraction of the target variance (``1 - R^2``).
        """

    @abstractmethod
    def predict(self, X: np.ndarray) -> np.ndarray:
        """Surrogate losses at ``X (n, d)``. Shape ``(n,)``."""

    @abstractmethod
    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """The surrogate loss at ``x (d,)`` and its gradient, shape ``(d,)``, in loss units
        and the units of ``x``."""

    def state_dict(self) -> dict[str, Any]:
        """Buffer, standardisation and the fit, as numpy arrays and scalars."""
        return {
            "buffer": self.buffer.state_dict(),
            "targets": [self.targets.mean, self.targets.std],
            "fit": self._state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.buffer.load_state_dict(state["buffer"])
        self.targets.mean, self.targets.std = (float(v) for v in state["targets"])
        self._load_state(state["fit"])

    @abstractmethod
    def _state(self) -> dict[str, Any]:
        """The surrogate's own state (its fit)."""

    @abstractmethod
    def _load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`_state`."""
