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

import operator
from typing import Protocol, runtime_checkable

import numpy as np
from scipy.interpolate import CubicSpline

PARAMETERIZATIONS = ("sequence", "spline", "policy")
INTERPOLATIONS = ("zero", "linear", "cubic")


@runtime_checkable
class Parameterization(Protocol):
    """What every parameterisation offers; see the module docstring."""

    closed_loop: bool
    dim: int

    def x0(self, seed: int = 0) -> np.ndarray: ...

    def bounds(self) -> tuple[np.ndarray, np.ndarray] | None: ...


def _positive_int(name: str, value: object) -> int:
    try:
        out = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if isinstance(value, bool) or out < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return out


def _ctrl_range(ctrl_low: np.ndarray, ctrl_high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


class MLPPolicy:
    """Closed-loop MLP policy ``obs -> action``, one per row of a weight batch.

    Layers ``obs_dim -> hidden... -> nu``, tanh on every layer; the output tanh is scaled to the
    control range. Flat layout: per layer the weight ``(out, in)`` row-major, then the bias
    ``(out,)``. With ``obs_norm`` the observations are standardised with running statistics
    (``update_obs_stats``; Chan et al. 1979 parallel form of Welford's update) and clipped to
    ``+-obs_clip``; the statistics are state (``state_dict``), not part of the flat vector.
    """

    closed_loop = True
    obs_clip = 10.0
    obs_eps = 1e-8

    def __init__(
        self,
        obs_dim: int,
        ctrl_low: np.ndarray,
        ctrl_high: np.ndarray,
        hidden: tuple[int, ...] = (32,),
        obs_norm: bool = False,
    ):
        self.obs_dim = _positive_int("obs_dim", obs_dim)
        self.ctrl_low, self.ctrl_high = _ctrl_range(ctrl_low, ctrl_high)
        self.nu = self.ctrl_low.size
        if isinstance(hidden, (int, np.integer)):
            raise ValueError(f"hidden must be a tuple of layer widths, e.g. ({hidden},)")
        self.hidden = tuple(_positive_int("hidden layer width", h) for h in hidden)
        self.sizes = (self.obs_dim, *self.hidden, self.nu)
        self.shapes = [(o, i) for i, o in zip(self.sizes[:-1], self.sizes[1:], strict=True)]
        self.dim = sum(o * i + o for o, i in self.shapes)
        self.obs_norm = bool(obs_norm)
        self._mid = 0.5 * (self.ctrl_low + self.ctrl_high)
        self._half = 0.5 * (self.ctrl_high - self.ctrl_low)
        self.load_state_dict(
            {"mean": np.zeros(self.obs_dim), "var": np.ones(self.obs_dim), "count": 0}
        )

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
        if self.obs_norm:
            h = (h - self._mean) / np.sqrt(self._var + self.obs_eps)
            h = np.clip(h, -self.obs_clip, self.obs_clip)
        for Wl, b in self._layers(W):
            h = np.tanh(np.matmul(Wl, h[:, :, None])[..., 0] + b)
        return np.clip(self._mid + self._half * h, self.ctrl_low, self.ctrl_high)

    def update_obs_stats(self, obs: np.ndarray) -> None:
        """Merge a batch of observations, shape ``(m, obs_dim)``, into the running mean and
        (population) variance. Rows with non-finite values are skipped. No-op unless obs_norm."""
        if not self.obs_norm:
            return
        obs = np.asarray(obs, dtype=np.float64)
        if obs.ndim != 2 or obs.shape[1] != self.obs_dim:
            raise ValueError(f"obs must have shape (m, {self.obs_dim}), got {obs.shape}")
        obs = obs[np.all(np.isfinite(obs), axis=1)]
        m = obs.shape[0]
        if m == 0:
            return
        n, total = self._count, self._count + m
        delta = obs.mean(axis=0) - self._mean
        m2 = self._var * n + obs.var(axis=0) * m + delta**2 * (n * m / total)
        self._mean, self._var, self._count = self._mean + delta * (m / total), m2 / total, total

    def state_dict(self) -> dict:
        """Observation statistics: ``mean`` (obs_dim,), ``var`` (obs_dim,), ``count`` (copies)."""
        return {"mean": self._mean.copy(), "var": self._var.copy(), "count": self._count}

    def load_state_dict(self, state: dict) -> None:
        """Restore the statistics written by :meth:`state_dict`."""
        try:
            mean = np.array(state["mean"], dtype=np.float64)
            var = np.array(state["var"], dtype=np.float64)
            count = int(state["count"])
        except (KeyError, TypeError) as e:
            raise ValueError(f"state must hold 'mean', 'var' and 'count': {e}") from None
        ok = mean.shape == var.shape == (self.obs_dim,) and count >= 0
        if not (ok and np.all(np.isfinite(mean) & np.isfinite(var) & (var >= 0))):
            raise ValueError(f"need finite mean, var >= 0 of shape ({self.obs_dim},), count >= 0")
        self._mean, self._var, self._count = mean, var, count


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
    obs_norm: bool = False,
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
        return MLPPolicy(obs_dim, ctrl_low, ctrl_high, hidden=tuple(hidden), obs_norm=obs_norm)
    raise ValueError(f"unknown parameterization kind {kind!r}; choose one of {PARAMETERIZATIONS}")
