"""Closed-loop MLP policies: ``act(W, obs)`` runs ``n`` policies, one per row of ``W``, at once.

The policy holds no weights itself; see :mod:`zg_control.sim.parameterization` for the flat-vector
contract it shares with the open-loop parameterisations.
"""

from __future__ import annotations

import numpy as np

from ._validate import ctrl_range, positive_int


class MLPPolicy:
    """Closed-loop MLP policy ``obs -> action``, one per row of a weight batch.

    Layers ``obs_dim -> hidden... -> nu``, tanh on every layer; the output tanh is scaled to the
    control range. Flat layout: per layer the weight ``(out, in)`` row-major, then the bias
    ``(out,)``.
    """

    closed_loop = True

    def __init__(
        self,
        obs_dim: int,
        ctrl_low: np.ndarray,
        ctrl_high: np.ndarray,
        hidden: tuple[int, ...] = (32,),
    ):
        self.obs_dim = positive_int("obs_dim", obs_dim)
        self.ctrl_low, self.ctrl_high = ctrl_range(ctrl_low, ctrl_high)
        self.nu = self.ctrl_low.size
        if isinstance(hidden, (int, np.integer)):
            raise ValueError(f"hidden must be a tuple of layer widths, e.g. ({hidden},)")
        self.hidden = tuple(positive_int("hidden layer width", h) for h in hidden)
        self.sizes = (self.obs_dim, *self.hidden, self.nu)
        self.shapes = [(o, i) for i, o in zip(self.sizes[:-1], self.sizes[1:], strict=True)]
        self.dim = sum(o * i + o for o, i in self.shapes)
        self._mid = 0.5 * (self.ctrl_low + self.ctrl_high)
        self._half = 0.5 * (self.ctrl_high - self.ctrl_low)

    def x0(self, seed: int = 0) -> np.ndarray:
        """Seeded init: weights ``N(0, 1/fan_in)``, last layer x 0.01, biases 0. Shape ``(d,)``.

        The initial policy outputs about the middle of the control range.
        """
        rng = np.random.default_rng(seed)
        params = []
        for layer, (o, i) in enumerate(self.shapes):
            scale = (0.01 if layer == len(self.shapes) - 1 else 1.0) / np.sqrt(i)
            params.append((rng.normal(0.0, scale, size=(o, i)), np.zeros(o)))
        return self.flatten(params)

    def bounds(self) -> None:
        """Policy weights are unbounded."""
        return None

    def unflatten(self, w: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Flat weights, shape ``(d,)`` -> ``[(weight (out, in), bias (out,)), ...]`` (views)."""
        w = np.asarray(w, dtype=np.float64)
        if w.shape != (self.dim,):
            raise ValueError(f"w must have shape ({self.dim},), got {w.shape}")
        return [(Wl[0], b[0]) for Wl, b in self._layers(w[None])]

    def flatten(self, params: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Inverse of :meth:`unflatten`. Returns shape ``(d,)``."""
        if len(params) != len(self.shapes):
            raise ValueError(f"expected {len(self.shapes)} (weight, bias) pairs, got {len(params)}")
        parts = []
        for (Wl, b), (o, i) in zip(params, self.shapes, strict=True):
            Wl, b = np.asarray(Wl, dtype=np.float64), np.asarray(b, dtype=np.float64)
            if Wl.shape != (o, i) or b.shape != (o,):
                raise ValueError(
                    f"layer needs shapes ({o}, {i}), ({o},); got {Wl.shape}, {b.shape}"
                )
            parts += [Wl.ravel(), b]
        return np.concatenate(parts)

    def _layers(self, W: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Batched views: ``W`` ``(n, d)`` -> ``[(weights (n, out, in), biases (n, out)), ...]``."""
        out, off = [], 0
        for o, i in self.shapes:
            Wl = W[:, off : off + o * i].reshape(-1, o, i)
            off += o * i
            out.append((Wl, W[:, off : off + o]))
            off += o
        return out

    def act(self, W: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """Actions of ``n`` policies. ``W`` shape ``(n, d)`` (or ``(1, d)``: one policy for all
        rows), ``obs`` shape ``(n, obs_dim)`` -> actions, shape ``(n, nu)``, inside ctrlrange."""
        W = np.asarray(W, dtype=np.float64)
        h = np.asarray(obs, dtype=np.float64)
        if W.ndim != 2 or W.shape[1] != self.dim:
            raise ValueError(f"W must have shape (n, {self.dim}), got {W.shape}")
        if h.ndim != 2 or h.shape[1] != self.obs_dim or W.shape[0] not in (1, h.shape[0]):
            raise ValueError(f"obs must have shape ({W.shape[0]}, {self.obs_dim}), got {h.shape}")
        for Wl, b in self._layers(W):
            h = np.tanh(np.matmul(Wl, h[:, :, None])[..., 0] + b)
        return np.clip(self._mid + self._half * h, self.ctrl_low, self.ctrl_high)
