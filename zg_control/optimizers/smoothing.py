"""PRDPT / FR22: Gaussian-smoothing gradient estimates fed to a ``torch.optim`` optimizer.

Fischer & Ritschel, "Plateau-reduced differentiable path tracing" (CVPR 2023) optimise the
smoothed loss ``F(theta) = E_{e ~ N(0, I)} f(theta + sigma e)``, whose gradient has the
Monte-Carlo estimate (antithetic pairs, ``n`` pairs):

    grad F(theta) ~ 1 / (2 n sigma) * sum_i (f(theta + sigma e_i) - f(theta - sigma e_i)) e_i

and without antithetic sampling ``1 / (n sigma) * sum_i (f(theta + sigma e_i) - b) e_i`` with an
optional baseline ``b`` (the batch mean). The estimate is handed to Adam (or SGD) as the gradient
of ``theta``; ``theta`` is then projected onto the bounds. When bounds are given, the samples are
clipped into the box before evaluation, so the method smooths ``f(clip(.))``.

An estimate too large to square (losses near the float limit, e.g. from a simulation that
diverged unnoticed) is not stepped on, so theta and Adam's moments stay finite.

This is the paper's strongest baseline: the same sampling as ZeroGrads, but the gradient is
rebuilt from scratch at every step (no surrogate, no memory beyond the optimizer's moments).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from ._torch_state import optimizer_state_from_numpy, optimizer_state_to_numpy
from .base import Optimizer, OptimizerConfig
from .shaping import shape_losses

_TORCH_OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}


@dataclasses.dataclass(frozen=True)
class SmoothingConfig(OptimizerConfig):
    """Options of :class:`GaussianSmoothing` (registry name ``"prdpt"``).

    Attributes:
        batch_size: evaluations per ``ask``; with ``antithetic`` it must be even (``n`` pairs).
        sigma: standard deviation of the smoothing Gaussian (in parameter units).
        sigma_final: if set, sigma decays geometrically from ``sigma`` to ``sigma_final`` over
            ``schedule_iters`` iterations and stays there (``None`` = constant sigma).
        schedule_iters: length of that decay, in iterations.
        lr: learning rate of the torch optimizer.
        optimizer: ``"adam"`` (default, betas 0.9/0.999) or ``"sgd"``.
        momentum: momentum of ``"sgd"`` (ignored by Adam).
        antithetic: sample ``theta +/- sigma e`` pairs (FR22) instead of independent samples.
        baseline: subtract the batch mean loss (only changes the estimate without antithetic).
        rank_shaping: replace losses by centred ranks in ``(-0.5, 0.5)`` (fitness shaping,
            :func:`~zg_control.optimizers.shaping.shape_losses`).
    """

    batch_size: int = 16
    sigma: float = 0.1
    sigma_final: float | None = None
    schedule_iters: int = 1000
    lr: float = 0.05
    optimizer: str = "adam"
    momentum: float = 0.0
    antithetic: bool = True
    baseline: bool = False
    rank_shaping: bool = False

    def __post_init__(self) -> None:
        if self.batch_size < 1 or (self.antithetic and self.batch_size % 2):
            raise ValueError(
                f"batch_size must be >= 1 and even when antithetic=True, got {self.batch_size}"
            )
        if not self.sigma > 0:
            raise ValueError(f"sigma must be > 0, got {self.sigma}")
        if self.sigma_final is not None and not self.sigma_final > 0:
            raise ValueError(f"sigma_final must be > 0 or None, got {self.sigma_final}")
        if self.schedule_iters < 1:
            raise ValueError(f"schedule_iters must be >= 1, got {self.schedule_iters}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.optimizer not in _TORCH_OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {', '.join(_TORCH_OPTIMIZERS)}, got {self.optimizer!r}"
            )
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")


class GaussianSmoothing(Optimizer):
    """Antithetic Gaussian-smoothing gradient + Adam; recommendation = ``theta``."""

    config_cls = SmoothingConfig
    config: SmoothingConfig

    def __init__(self, x0, config=None, seed=0, bounds=None) -> None:
        super().__init__(x0, config, seed, bounds)
        cfg = self.config
        self.theta = torch.tensor(self.x0, dtype=torch.float64, requires_grad=True)
        kwargs: dict[str, Any] = {"lr": cfg.lr}
        if cfg.optimizer == "sgd":
            kwargs["momentum"] = cfg.momentum
        self.torch_opt = _TORCH_OPTIMIZERS[cfg.optimizer]([self.theta], **kwargs)
        self._eps: np.ndarray | None = None  # standard normal directions of the pending batch
        self.n_updates = 0  # theta steps taken (drives the sigma schedule)

    @property
    def sigma(self) -> float:
        """The smoothing sigma of the current iteration (after the optional geometric decay)."""
        cfg = self.config
        if cfg.sigma_final is None:
            return cfg.sigma
        t = min(self.n_updates, cfg.schedule_iters) / cfg.schedule_iters
        return cfg.sigma * (cfg.sigma_final / cfg.sigma) ** t

    def _theta_np(self) -> np.ndarray:
        return self.theta.detach().numpy().copy()

    def _ask(self) -> np.ndarray:
        cfg = self.config
        n_dirs = cfg.batch_size // 2 if cfg.antithetic else cfg.batch_size
        self._eps = self.rng.standard_normal((n_dirs, self.dim))
        offsets = self.sigma * self._eps
        if cfg.antithetic:
            offsets = np.concatenate([offsets, -offsets])
        return self.project(self._theta_np() + offsets)

    def _tell(self, X: np.ndarray, losses: np.ndarray) -> None:
        sigma = self.sigma  # the value the pending batch was drawn with
        with np.errstate(over="ignore", invalid="ignore"):  # losses near the float limit
            grad = self.estimate_gradient(self._eps, losses)
            grad_norm = float(np.linalg.norm(grad))
            usable = bool(np.isfinite(np.square(grad)).all())  # Adam squares it
        self._eps = None
        if usable:
            self.theta.grad = torch.from_numpy(grad)
            self.torch_opt.step()
            self.n_updates += 1
        if self.bounds is not None:
            with torch.no_grad():
                lo, hi = (torch.from_numpy(b) for b in self.bounds)
                self.theta.copy_(torch.clamp(self.theta, lo, hi))
        self.metrics.update(sigma=sigma, grad_norm=grad_norm)

    def estimate_gradient(self, eps: np.ndarray, losses: np.ndarray) -> np.ndarray:
        """The smoothing gradient (module docstring) from directions ``eps`` ``(m, d)`` and
        ``losses`` ``(batch_size,)`` (first the ``+`` half, then the ``-`` half). Shape ``(d,)``.

        ``sigma`` is the value used by the matching ``ask`` (it only changes in ``_tell``).
        """
        cfg = self.config
        f = shape_losses(losses, "ranks") if cfg.rank_shaping else losses
        m = eps.shape[0]
        if cfg.antithetic:
            return (f[:m] - f[m:]) @ eps / (2.0 * m * self.sigma)
        if cfg.baseline:
            f = f - f.mean()
        return f @ eps / (m * self.sigma)

    def _recommendation(self) -> np.ndarray:
        return self._theta_np()

    # ------------------------------------------------------------------ state
    def _state(self) -> dict[str, Any]:
        return {
            "theta": self._theta_np(),
            "n_updates": self.n_updates,
            "eps": None if self._eps is None else self._eps.copy(),
            "torch_opt": optimizer_state_to_numpy(self.torch_opt.state_dict()),
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            self.theta.copy_(torch.as_tensor(np.asarray(state["theta"], dtype=np.float64)))
        self.n_updates = int(state["n_updates"])
        self._eps = None if state["eps"] is None else np.array(state["eps"], dtype=np.float64)
        self.torch_opt.load_state_dict(optimizer_state_from_numpy(state["torch_opt"]))
