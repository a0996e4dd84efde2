"""A linear surrogate solved in closed form: weighted ridge regression on the sample buffer.

With ``d`` far above the buffer size ``m`` (open-loop controls: ``d`` in the thousands, ``m``
~ 64), samples around ``theta`` pin down at most a plane, and an MLP fitted on them only adds
variance (experiments/NOTES.md). This surrogate is that plane,
``h(x) = b + g . (x - theta) / sigma`` on standardised targets, with

    min_g  sum_i w_i (t_i - b_k(i) - g . z_i)^2 + ridge * d * |g|^2,   z_i = x_i / sigma,

``w_i`` the locality weights of :class:`zg_control.surrogate.Surrogate` and one intercept
``b_k`` per batch (``batch_intercepts``; else one shared ``b``): only differences *within* a batch
inform the slope. The loss change between batch centres mostly reflects ``theta``'s own past
(noisy) steps, and fitting it feeds that noise back as momentum. Solved in the dual, ``m x m``,
from a Gram matrix updated row by row: ``O(n m d)`` per batch of ``n``, plain numpy, float32
samples. Same interface as ``Surrogate``: ``add``, ``fit``, ``predict``, ``value_and_grad``,
``state_dict``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch


class RidgeSurrogate:
    """Closed-form linear surrogate; see the module docstring.

    Args:
        dim: ``d``. buffer_size: ``m``, samples kept (ring buffer).
        locality, log_targets: as in ``zg_control.surrogate.Surrogate``.
        ridge: penalty relative to ``d`` (``|z|^2 ~ d`` for a fresh sample).
        batch_intercepts: one intercept per batch (``add`` call) instead of one shared.
    """

    def __init__(
        self,
        dim: int,
        *,
        buffer_size: int = 64,
        locality: float = 1.0,
        log_targets: bool = False,
        ridge: float = 1.0,
        batch_intercepts: bool = True,
    ) -> None:
        self.dim, self.locality, self.log_targets = dim, locality, log_targets
        self.ridge, self.batch_intercepts = ridge, batch_intercepts
        self.X = torch.zeros(buffer_size, dim)  # float32; d-sized products run in torch, whose
        # threads ZeroGrads controls (numpy's OpenBLAS threads spin on a busy machine)
        self.y = np.zeros(buffer_size)
        self.group = np.zeros(buffer_size, dtype=np.int64)  # which add() call wrote the row
        self.G = np.zeros((buffer_size, buffer_size))  # Gram matrix of the rows
        self.size = self.head = self.n_adds = 0
        # the fit: h(x) = b + slope . (x - centre), standardised; loss = h * y_std + y_mean
        self.slope = np.zeros(dim)  # Shape (d,), per parameter unit
        self.b, self.y_mean, self.y_std, self.y_min = 0.0, 0.0, 1.0, 0.0
        self.centre = np.zeros(dim)

    def add(self, X: np.ndarray, y: np.ndarray) -> None:
        """Append ``X (n, d)`` with losses ``y (n,)``; update the Gram rows of the new samples."""
        cap = self.X.shape[0]
        X, y = X[-cap:], y[-cap:]
        idx = (self.head + np.arange(len(y))) % cap
        self.X[idx] = torch.as_tensor(X, dtype=torch.float32)
        self.y[idx] = y
        self.head = int((self.head + len(y)) % cap)
        self.size = min(self.size + len(y), cap)
        self.n_adds += 1
        self.group[idx] = self.n_adds
        # (m, d) @ (d, n): OpenBLAS is ~100x slower on the transposed product at d ~ 35 000
        cols = (self.X[: self.size] @ self.X[idx].T).double().numpy()
        self.G[: self.size, idx] = cols
        self.G[idx, : self.size] = cols.T

    def fit(self, centre: np.ndarray, scale: float, steps: int = 1) -> float:
        """Solve the ridge regression around ``centre (d,)`` with input scale ``scale`` (sigma).

        ``steps`` is ignored (closed form). Returns the weighted within-batch fit error
        ``1 - R^2`` (0 perfect, 1 no better than the batch means).
        """
        del steps
        m, d = self.size, self.dim
        c = np.asarray(centre, dtype=np.float64)
        self.centre = c.copy()
        G, y, grp = self.G[:m, :m], self.y[:m], self.group[:m]
        Xc = (self.X[:m] @ torch.as_tensor(c, dtype=torch.float32)).double().numpy()  # x_i.c
        if self.log_targets:
            self.y_min = float(y.min()) - (1e-3 * float(y.std()) if m > 1 else 1e-3) - 1e-12
            y = np.log(y - self.y_min)
        w = np.ones(m)
        if self.locality > 0:
            r2 = (np.diag(G) - 2.0 * Xc + c @ c) / (scale**2 * d)
            w = np.exp(-0.5 * np.maximum(r2 - 1.0, 0.0) / self.locality**2)
        w = w / w.sum()
        self.y_mean = float(w @ y)
        var = float(w @ (y - self.y_mean) ** 2)
        self.y_std = math.sqrt(var) if var > 1e-24 else 1.0
        t = (y - self.y_mean) / self.y_std
        # Q (k, m): weighted means of the k batches (one batch if the intercept is shared)
        gi = np.unique(grp, return_inverse=True)[1] if self.batch_intercepts else np.zeros(m, int)
        gi_t, wt, tt, Gt = (torch.from_numpy(a) for a in (gi, w, t, np.ascontiguousarray(G)))
        Q = torch.zeros(int(gi.max()) + 1, m, dtype=torch.float64)
        Q[gi_t, torch.arange(m)] = wt
        Q /= Q.sum(1, keepdim=True)
        M = Q[gi_t]  # (m, m), row i: weights of the mean of i's batch; P = I - M centres
        QG = Q @ Gt  # O(k m^2), not O(m^3)
        Kc = Gt - QG[gi_t] - QG[gi_t].T + (QG @ Q.T)[gi_t][:, gi_t]  # P G P^T
        sw = torch.sqrt(wt * m)
        A = sw[:, None] * Kc * sw[None, :] / scale**2
        A.diagonal().add_(self.ridge * d)
        pt = tt - M @ tt
        v = sw * torch.linalg.solve(A, sw * pt)
        u = (v - M.T @ v) / scale  # g_z = sum_i u_i x_i
        Gu = Gt @ u
        newest = M[int(np.argmax(grp))]
        self.b = float(newest @ tt - (newest @ Gu - u @ torch.from_numpy(Xc)) / scale)
        self.slope = (u.float() @ self.X[:m]).double().numpy() / scale
        fitted = (Gu - M @ Gu) / scale
        denom = float(wt @ pt**2)
        return float(wt @ (pt - fitted) ** 2) / denom if denom > 0 else 0.0

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Surrogate losses at ``X (n, d)``. Shape ``(n,)``."""
        dx = torch.as_tensor(X, dtype=torch.float64) - torch.from_numpy(self.centre)
        h = (self.b + (dx @ torch.from_numpy(self.slope)).numpy()) * self.y_std + self.y_mean
        return np.exp(h) + self.y_min if self.log_targets else h

    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Surrogate loss and gradient at ``x (d,)``, in loss and parameter units."""
        dx = torch.as_tensor(x, dtype=torch.float64) - torch.from_numpy(self.centre)
        val = (self.b + float(dx @ torch.from_numpy(self.slope))) * self.y_std + self.y_mean
        grad = self.slope * self.y_std
        if self.log_targets:
            ex = math.exp(val)
            val, grad = ex + self.y_min, grad * ex
        return val, grad

    _STATE = ("X", "y", "group", "G", "size", "head", "n_adds", "slope", "b", "y_mean",
              "y_std", "y_min", "centre")  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        """Buffer and fit, as numpy arrays / scalars."""
        state = {k: getattr(self, k) for k in self._STATE}
        state["X"] = self.X.numpy()
        return {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in state.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.X.copy_(torch.as_tensor(state["X"]))
        for k in self._STATE[1:]:
            old = getattr(self, k)
            new = state[k]
            setattr(
                self, k, np.array(new, old.dtype) if isinstance(old, np.ndarray) else type(old)(new)
            )
