"""Flat parameter vector (what optimisers see) <-> what drives the simulator.

Open loop (``closed_loop = False``): ``decode`` turns a batch ``X`` of shape ``(n, d)`` into
controls ``U`` of shape ``(n, horizon, nu)``, either one control vector per control step
(:class:`ControlSequence`) or spline knots spread evenly over the horizon (:class:`SplineControls`;
zero-order hold, linear or cubic, the three MuJoCo MPC offers). Flat values are normalised:
``x`` in ``[-1, 1]`` maps linearly onto ``[ctrl_low, ctrl_high]`` (``x = 0`` is the middle);
the flat layout is ``(horizon or n_knots, nu)`` row-major; decoded controls are clipped to range.

Closed loop (``closed_loop = True``): :class:`MLPPolicy` holds no weights itself; ``act(W, obs)``
runs ``n`` policies, one per row of ``W``, in one vectorised pass.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from scipy.interpolate import CubicSpline

from ._validate import ctrl_range as _ctrl_range
from ._validate import positive_int as _positive_int
from .policy import MLPPolicy

__all__ = [
    "INTERPOLATIONS",
    "PARAMETERIZATIONS",
    "ControlSequence",
    "MLPPolicy",
    "Parameterization",
    "SplineControls",
    "ctrl_bounds",
    "make_parameterization",
]

PARAMETERIZATIONS = ("sequence", "spline", "policy")
INTERPOLATIONS = ("zero", "linear", "cubic")


@runtime_checkable
class Parameterization(Protocol):
    """What every parameterisation offers; see the module docstring."""

    closed_loop: bool
    dim: int

    def x0(self, seed: int = 0) -> np.ndarray: ...

    def bounds(self) -> tuple[np.ndarray, np.ndarray] | None: ...


def ctrl_bounds(model) -> tuple[np.ndarray, np.ndarray]:
    """Control range of a ``mujoco.MjModel``: ``actuator_ctrlrange``, ``[-1, 1]`` where unlimited.

    Returns ``(low, high)``, shapes ``(nu,)`` each.
    """
    rng = np.array(model.actuator_ctrlrange, dtype=np.float64).reshape(-1, 2)
    limited = np.asarray(model.actuator_ctrllimited, dtype=bool).reshape(-1)
    return np.where(limited, rng[:, 0], -1.0), np.where(limited, rng[:, 1], 1.0)


class _OpenLoop:
    """Shared part of the open-loop parameterisations. Subclasses set ``_rows`` (control vectors
    in the flat layout) and may override ``_interp`` (rows -> steps) and ``_fit`` (its inverse)."""

    closed_loop = False
    _rows: int

    def __init__(self, horizon: int, ctrl_low: np.ndarray, ctrl_high: np.ndarray):
        self.horizon = _positive_int("horizon", horizon)
        self.ctrl_low, self.ctrl_high = _ctrl_range(ctrl_low, ctrl_high)
        self.nu = self.ctrl_low.size
        self._mid = 0.5 * (self.ctrl_low + self.ctrl_high)
        self._half = 0.5 * (self.ctrl_high - self.ctrl_low)

    @property
    def dim(self) -> int:
        return self._rows * self.nu

    def x0(self, seed: int = 0) -> np.ndarray:
        """The middle of the control range. Shape ``(d,)``; ``seed`` is unused."""
        return np.zeros(self.dim)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The ``[-1, 1]`` box of the normalised flat space. Shapes ``(d,)``, ``(d,)``."""
        return -np.ones(self.dim), np.ones(self.dim)

    def _interp(self, K: np.ndarray) -> np.ndarray:
        return K

    def _fit(self, Z: np.ndarray) -> np.ndarray:
        return Z

    def decode(self, X: np.ndarray) -> np.ndarray:
        """Flat ``X``, shape ``(n, d)`` -> controls, shape ``(n, horizon, nu)``, clipped to
        ctrlrange after interpolation. Non-finite entries pass through (the caller's problem)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"X must have shape (n, {self.dim}), got {X.shape}")
        K = X.reshape(X.shape[0], self._rows, self.nu) * self._half
        K += self._mid  # interpolation reproduces constants, so it commutes with this affine map
        U = self._interp(K)
        return np.clip(U, self.ctrl_low, self.ctrl_high, out=U)

    def encode(self, U: np.ndarray) -> np.ndarray:
        """Controls ``(horizon, nu)`` or ``(n, horizon, nu)`` -> flat ``(d,)`` or ``(n, d)``.

        ``U`` is clipped to ctrlrange, normalised, fitted, and the result clipped to ``[-1, 1]``.
        """
        U = np.asarray(U, dtype=np.float64)
        single = U.ndim == 2
        U3 = U[None] if single else U
        if U3.ndim != 3 or U3.shape[1:] != (self.horizon, self.nu):
            raise ValueError(
                f"U must have shape ({self.horizon}, {self.nu}) or (n, {self.horizon}, {self.nu}),"
                f" got {U.shape}"
            )
        Z = np.clip((U3 - self._mid) / self._half, -1.0, 1.0)
        X = np.clip(self._fit(Z), -1.0, 1.0).reshape(U3.shape[0], self.dim)
        return X[0] if single else X


class ControlSequence(_OpenLoop):
    """One normalised control vector per control step; ``d = horizon * nu``."""

    def __init__(self, horizon: int, ctrl_low: np.ndarray, ctrl_high: np.ndarray):
        super().__init__(horizon, ctrl_low, ctrl_high)
        self._rows = self.horizon


class SplineControls(_OpenLoop):
    """Normalised control knots at ``n_knots`` evenly spaced times; ``d = n_knots * nu``.

    Knot ``k`` sits at control step ``t_k = k (horizon - 1) / (n_knots - 1)``, so the first knot
    is at step 0 and the last at step ``horizon - 1``. ``interp``:

    - ``"zero"``: zero-order hold, the value of the most recent knot (``t_k <= t``);
    - ``"linear"``: piecewise linear (``np.interp``);
    - ``"cubic"``: ``scipy.interpolate.CubicSpline`` with ``bc_type="not-a-knot"`` (scipy's
      default; with 2 knots it is the straight line, with 3 the parabola through them).

    All three are linear in the knots, so ``__init__`` interpolates the identity once into the
    basis ``B``, shape ``(horizon, n_knots)``, and ``decode`` is a single matmul ``U = B @ K`` for
    the whole batch. ``encode`` is the least-squares fit ``K = pinv(B) @ U`` (for ``"zero"`` the
    mean over each hold segment); it reproduces the knots of any decoded, unclipped ``U`` exactly.
    """

    def __init__(
        self,
        horizon: int,
        ctrl_low: np.ndarray,
        ctrl_high: np.ndarray,
        n_knots: int,
        interp: str = "cubic",
    ):
        super().__init__(horizon, ctrl_low, ctrl_high)
        n_knots = _positive_int("n_knots", n_knots)
        if not 2 <= n_knots <= self.horizon:
            raise ValueError(f"need 2 <= n_knots <= horizon ({horizon}), got n_knots={n_knots}")
        if interp not in INTERPOLATIONS:
            raise ValueError(f"unknown interp {interp!r}; choose one of {INTERPOLATIONS}")
        self._rows = self.n_knots = n_knots
        self.interp = interp
        self.knot_times = np.linspace(0.0, self.horizon - 1.0, n_knots)  # Shape (n_knots,)
        t = np.arange(self.horizon, dtype=np.float64)
        eye = np.eye(n_knots)
        if interp == "zero":
            # Tolerance: t_k computed in floating point may land a hair above an integer step.
            basis = eye[np.searchsorted(self.knot_times, t + 1e-9, side="right") - 1]
        elif interp == "linear":
            basis = np.stack([np.interp(t, self.knot_times, e) for e in eye], axis=1)
        else:
            basis = CubicSpline(self.knot_times, eye, axis=0, bc_type="not-a-knot")(t)
        self.basis = np.ascontiguousarray(basis)  # Shape (horizon, n_knots)
        self.basis.setflags(write=False)
        self._pinv = np.linalg.pinv(self.basis)  # Shape (n_knots, horizon)

    def _interp(self, K: np.ndarray) -> np.ndarray:
        return np.matmul(self.basis, K)

    def _fit(self, Z: np.ndarray) -> np.ndarray:
        return np.matmul(self._pinv, Z)


def make_parameterization(
    kind: str,
    *,
    horizon: int,
    ctrl_low: np.ndarray,
    ctrl_high: np.ndarray,
    n_knots: int | None = None,
    interp: str = "cubic",
    obs_dim: int | None = None,
    hidden: tuple[int, ...] = (32,),
) -> Parameterization:
    """Build a parameterisation by name (one of :data:`PARAMETERIZATIONS`).

    ``"spline"`` needs ``n_knots``; ``"policy"`` needs ``obs_dim`` (``horizon`` is unused there).
    """
    if kind == "sequence":
        return ControlSequence(horizon, ctrl_low, ctrl_high)
    if kind == "spline":
        if n_knots is None:
            raise ValueError("kind='spline' needs n_knots (2 <= n_knots <= horizon)")
        return SplineControls(horizon, ctrl_low, ctrl_high, n_knots, interp)
    if kind == "policy":
        if obs_dim is None:
            raise ValueError("kind='policy' needs obs_dim")
        return MLPPolicy(obs_dim, ctrl_low, ctrl_high, hidden=tuple(hidden))
    raise ValueError(f"unknown parameterization kind {kind!r}; choose one of {PARAMETERIZATIONS}")
