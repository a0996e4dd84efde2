"""A linear surrogate solved in closed form: weighted ridge regression on the sample buffer.

With ``d`` far above the buffer size ``m`` (open-loop controls: ``d`` in the thousands, ``m``
~ 64), samples around ``theta`` pin down at most a plane. This surrogate is that plane,
``h(x) = b + g . (x - theta) / sigma`` on standardised targets, with

    min_g  sum_i w_i (t_i - b_k(i) - g . z_i)^2 + ridge * d * |g|^2,   z_i = x_i / sigma,

``w_i`` the locality weights (:func:`~.surrogates.locality_weights`) and one intercept ``b_k``
per batch: only differences *within* a batch inform the slope (the loss change between batch
centres mostly reflects ``theta``'s own past, noisy, steps, and fitting it would feed that
noise back as momentum). Since batches are compared only within themselves, the targets are the
batch's centred loss ranks (:func:`~..shaping.shape_losses`). Solved in the dual, ``m x m``,
from a Gram matrix updated row by row: ``O(n m d)`` per batch of ``n``, float32 samples; the
``d``-sized products run in torch, whose threads ZeroGrads controls.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .surrogates import Surrogate, locality_weights


class RidgeSurrogate(Surrogate):
    """Closed-form linear surrogate; see the module docstring.

    Args:
        dim: ``d``.
        buffer_size, locality: as in :class:`~.surrogates.Surrogate`.
        ridge: penalty relative to ``d`` (``|z|^2 ~ d`` for a fresh sample).
    """

    shaping = "ranks"

    def __init__(
        self, dim: int, *, buffer_size: int = 64, locality: float = 1.0, ridge: float = 1.0
    ) -> None:
        super().__init__(dim, buffer_size, locality, torch.device("cpu"))
        self.ridge = ridge
        self.G = np.zeros((buffer_size, buffer_size))  # Gram matrix of the buffer's rows
        # the fit: h(x) = b + slope . (x - centre), standardised
        self.slope = np.zeros(dim)  # Shape (d,), per parameter unit
        self.b = 0.0
        self.centre = np.zeros(dim)

    def _added(self, idx: np.ndarray) -> None:
        """Update the Gram rows and columns of the new rows ``idx``."""
        X = self.buffer.X[: self.buffer.size]
        # (m, d) @ (d, n): OpenBLAS is ~100x slower on the transposed product at d ~ 35 000
        cols = (X @ X[torch.from_numpy(idx)].T).double().numpy()
        self.G[: self.buffer.size, idx] = cols
        self.G[idx, : self.buffer.size] = cols.T

    def fit(self, centre: np.ndarray, scale: float, steps: int = 1) -> float:
        """Solve the ridge regression; see :meth:`Surrogate.fit` (``steps`` is ignored). The
        error is the weighted within-batch ``1 - R^2`` (1: no better than the batch means)."""
        del steps
        m, d, X = self.buffer.size, self.dim, self.buffer.X[: self.buffer.size]
        c = np.asarray(centre, dtype=np.float64)
        self.centre = c.copy()
        G = self.G[:m, :m]
        Xc = (X @ torch.as_tensor(c, dtype=torch.float32)).double().numpy()  # x_i . c
        w = locality_weights((np.diag(G) - 2.0 * Xc + c @ c) / (scale**2 * d), self.locality)
        t = self.targets.fit(self.buffer.y[:m], w)
        # Q (k, m): weighted means of the k batches; M (m, m), row i: the weights of the mean
        # of i's batch, so P = I - M centres every batch
        gi = np.unique(self.buffer.batch[:m], return_inverse=True)[1]
        gi_t, wt, tt, Gt = (torch.from_numpy(a) for a in (gi, w, t, np.ascontiguousarray(G)))
        Q = torch.zeros(int(gi.max()) + 1, m, dtype=torch.float64)
        Q[gi_t, torch.arange(m)] = wt
        Q /= Q.sum(1, keepdim=True)
        M = Q[gi_t]
        QG = Q @ Gt  # O(k m^2), not O(m^3)
        Kc = Gt - QG[gi_t] - QG[gi_t].T + (QG @ Q.T)[gi_t][:, gi_t]  # P G P^T
        sw = torch.sqrt(wt * m)
        A = sw[:, None] * Kc * sw[None, :] / scale**2
        A.diagonal().add_(self.ridge * d)
        pt = tt - M @ tt
        v = sw * torch.linalg.solve(A, sw * pt)
        u = (v - M.T @ v) / scale  # g_z = sum_i u_i x_i
        Gu = Gt @ u
        newest = M[int(np.argmax(self.buffer.batch[:m]))]
        self.b = float(newest @ tt - (newest @ Gu - u @ torch.from_numpy(Xc)) / scale)
        self.slope = (u.float() @ X).double().numpy() / scale
        fitted = (Gu - M @ Gu) / scale
        denom = float(wt @ pt**2)
        return float(wt @ (pt - fitted) ** 2) / denom if denom > 0 else 0.0

    def predict(self, X: np.ndarray) -> np.ndarray:
        dx = torch.as_tensor(X, dtype=torch.float64) - torch.from_numpy(self.centre)
        return self.targets.value(self.b + (dx @ torch.from_numpy(self.slope)).numpy())

    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        dx = torch.as_tensor(x, dtype=torch.float64) - torch.from_numpy(self.centre)
        value = self.targets.value(self.b + float(dx @ torch.from_numpy(self.slope)))
        return value, self.targets.grad(self.slope)

    def _state(self) -> dict[str, Any]:
        """Gram matrix and the plane, as numpy arrays and scalars."""
        return {
            "G": self.G.copy(),
            "slope": self.slope.copy(),
            "b": self.b,
            "centre": self.centre.copy(),
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        self.G = np.array(state["G"], dtype=np.float64)
        self.slope = np.array(state["slope"], dtype=np.float64)
        self.b = float(state["b"])
        self.centre = np.array(state["centre"], dtype=np.float64)
