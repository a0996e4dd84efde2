"""ZeroGrads: learned local surrogate gradients (Fischer & Ritschel, SIGGRAPH 2024).

One iteration, as data::

    theta --ask--> X = theta + sigma * [E; -E]   (antithetic, E ~ N(0, I), shape (n, d))
          --f----> losses (n,)                   (one episode per row; the only information)
          --tell-> surrogate.add(X, losses); surrogate.fit(centre=theta, scale=sigma, k_phi)
                   k_theta times: theta.grad = grad h_phi(theta); Adam step; project on bounds

Fitting ``h_phi`` to samples of ``f`` around ``theta`` makes ``grad h_phi`` an estimate of the
gradient of the Gaussian-smoothed loss ``E_e f(theta + e)``, ``e ~ N(0, sigma^2 I)`` (Eq. 3 of
the paper). Unlike the authors' code, the surrogate is fitted on the new samples *before* theta
moves, it keeps a distance-weighted buffer of recent samples, and all randomness is seeded (the
optimizer's numpy generator for the samples, a ``torch.Generator`` for the network). When ``d``
exceeds the buffer (high-dimensional controls), the default surrogate is linear and solved in
closed form (``_zg_ridge.RidgeSurrogate``): there the samples determine no more than a plane,
and the MLP only added variance (experiments/NOTES.md). With ``inner_sigma > 0`` each sample is
perturbed once more before it is evaluated and the surrogate learns the loss at the perturbed
point as the label of the unperturbed one (nested smoothing).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from .._torch_state import optimizer_state_from_numpy, optimizer_state_to_numpy
from ..base import Optimizer
from ..shaping import shape_losses
from ..step_rule import PathLengthRule, fresh_slope
from .config import THETA_OPTIMIZERS, ZeroGradsConfig
from .mlp import Surrogate, resolve_device
from .ridge import RidgeSurrogate


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, then restore (``n = 0``: no change)."""
    old = torch.get_num_threads()
    if n <= 0 or n == old:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


class ZeroGrads(Optimizer):
    """The ZeroGrads optimizer; see the module docstring. ``recommendation`` is ``theta``."""

    config_cls = ZeroGradsConfig
    config: ZeroGradsConfig

    def __init__(self, x0, config=None, seed=0, bounds=None) -> None:
        super().__init__(x0, config, seed, bounds)
        c = self.config
        self.device = resolve_device(c.device)
        kind = c.surrogate
        if kind == "auto":
            kind = "mlp" if self.dim <= c.buffer_size else "ridge"
        self.linear = kind == "ridge"  # the linear surrogate solved in closed form
        self.k_theta = c.k_theta if c.k_theta is not None else (1 if self.linear else 3)
        self.lr = c.lr if c.lr is not None else c.sigma / (10 if self.linear else 5)
        self.shaping = c.shaping
        if c.shaping == "auto":
            self.shaping = "ranks" if self.linear and c.batch_intercepts else "none"
        self.gen = torch.Generator(device="cpu").manual_seed(self.seed)
        self.theta = torch.nn.Parameter(torch.tensor(self.x0, dtype=torch.float64))
        opt_cls = THETA_OPTIMIZERS[c.optimizer]
        extra: dict[str, Any] = {}
        if c.momentum is not None:  # None: torch's defaults (Adam beta1 0.9, SGD no momentum)
            sgd = c.optimizer == "sgd"
            extra = {"momentum": c.momentum} if sgd else {"betas": (c.momentum, 0.999)}
        self.theta_opt = opt_cls([self.theta], lr=self.lr, **extra)
        self.surrogate: Surrogate | RidgeSurrogate
        common = dict(buffer_size=c.buffer_size, locality=c.locality, log_targets=c.log_targets)
        if self.linear:
            self.surrogate = RidgeSurrogate(
                self.dim, ridge=c.ridge, batch_intercepts=c.batch_intercepts, **common
            )
        else:
            self.surrogate = Surrogate(
                self.dim, width=c.width, depth=c.depth, activation=c.activation,
                n_features=c.n_features, feature_scale=c.feature_scale, lr=c.lr_phi,
                weight_decay=c.weight_decay_phi, generator=self.gen, device=self.device, **common,
            )  # fmt: skip
        self.sigma = c.sigma
        self._plateau_scale = 1.0  # cut by plateau_factor on each plateau
        self.path_rule: PathLengthRule | None = None
        if c.step_rule == "path":
            self.path_rule = PathLengthRule(
                self.dim, c.path_c, c.path_gain, c.path_threshold, c.path_low, c.path_high
            )
        self._ema, self._best_ema, self._bad = float("nan"), float("inf"), 0
        self._pending: tuple[np.ndarray, np.ndarray] | None = None  # (evaluated X, clean X)

    # --------------------------------------------------------------- sampling
    def _scheduled(self, v0: float, v1: float | None, kind: str) -> float:
        """``v0`` annealed towards ``v1`` after ``n_evals`` evaluations under schedule ``kind``."""
        c = self.config
        if kind == "constant" or v1 is None or not c.schedule_evals:
            return v0
        p = min(self.n_evals / c.schedule_evals, 1.0)
        if kind == "linear":
            return v0 + p * (v1 - v0)
        if kind == "cosine":
            return v1 + 0.5 * (v0 - v1) * (1.0 + math.cos(math.pi * p))
        return v0 * (v1 / v0) ** p  # exp

    def current_sigma(self) -> float:
        """Sigma after ``n_evals`` evaluations under the configured schedule."""
        c = self.config
        return self._scheduled(c.sigma, c.sigma_final, c.sigma_schedule)

    def current_lr(self) -> float:
        """Theta's learning rate after ``n_evals`` evaluations under the configured schedule."""
        c = self.config
        return self._scheduled(self.lr, c.lr_final, c.lr_schedule)

    def ask(self) -> np.ndarray:
        with torch_threads(self.config.num_threads):
            return super().ask()

    def tell(self, X, losses) -> None:
        with torch_threads(self.config.num_threads):
            super().tell(X, losses)

    def _ask(self) -> np.ndarray:
        c = self.config
        self.sigma = self.current_sigma()
        if c.path_sigma != "none" and self.path_rule is not None:  # sigma follows the step
            scale = self.path_rule.scale
            self.sigma *= scale if c.path_sigma == "both" else min(1.0, scale)
        n = c.batch_size // 2 if c.antithetic else c.batch_size
        # numpy's ziggurat sampler: ~10x faster than torch.randn for float64 at d ~ 35 000
        E = self.rng.standard_normal((n, self.dim))
        if c.antithetic:
            E = np.concatenate([E, -E])
        X = self.theta.detach().numpy() + self.sigma * E
        X_eval = X
        if c.inner_sigma > 0:
            X_eval = X + (c.inner_sigma * self.sigma) * self.rng.standard_normal(X.shape)
        self._pending = (X_eval, X)
        return X_eval

    # ---------------------------------------------------------------- update
    def _tell(self, X: np.ndarray, losses: np.ndarray) -> None:
        c = self.config
        X_fit = X
        if self._pending is not None and np.array_equal(self._pending[0], X):
            X_fit = self._pending[1]  # nested smoothing: label the unperturbed sample
        self._pending = None
        if c.nonfinite == "drop" and not self.last_finite.all():
            X_fit, losses = X_fit[self.last_finite], losses[self.last_finite]
        theta = self.theta.detach().numpy()
        targets = shape_losses(losses, self.shaping)
        if self.n_iters > 1 and len(losses) > 1:  # held-out error: before the fit sees the batch
            var = float(np.var(targets))
            pred = self.surrogate.predict(X_fit)
            self.metrics["heldout_error"] = float(np.mean((pred - targets) ** 2)) / max(var, 1e-300)
        if len(losses):
            self.surrogate.add(X_fit, targets)
        fit_error = self.surrogate.fit(theta, self.sigma, c.k_phi)
        if c.plateau_patience > 0 and len(losses):
            self._cut_lr_on_plateau(float(losses.mean()))
        if self.path_rule is not None and len(losses):
            z = fresh_slope((X_fit - theta) / self.sigma, targets, c.antithetic)
            self.path_rule.update(z)
            self.metrics["path_score"] = self.path_rule.score
        lr = self.current_lr() * self.lr_scale
        for group in self.theta_opt.param_groups:
            group["lr"] = lr
        for k in range(self.k_theta):
            value, grad = self.surrogate.value_and_grad(self.theta.detach().numpy())
            if k == 0:
                self.last_gradient = grad.copy()  # the first step's gradient, for diagnostics
            self.theta_opt.zero_grad(set_to_none=False)
            self.theta.grad = torch.from_numpy(grad)
            self.theta_opt.step()
            if self.bounds is not None:
                with torch.no_grad():
                    lo, hi = self.bounds
                    self.theta.copy_(
                        torch.clamp(self.theta, torch.from_numpy(lo), torch.from_numpy(hi))
                    )
        self.metrics.update(
            lr=lr,
            fit_error=fit_error,
            grad_norm=float(torch.from_numpy(grad).norm()),  # torch: OpenBLAS threads spin
            surrogate_value=value,
            sigma=self.sigma,
            batch_mean=float(losses.mean()),
        )

    def _cut_lr_on_plateau(self, batch_mean: float) -> None:
        """Track an exponential average of the batch mean loss; after more than
        ``plateau_patience`` iterations without a new best, multiply the lr by
        ``plateau_factor`` and start counting again from the current average."""
        c = self.config
        ema = self._ema
        self._ema = batch_mean if math.isnan(ema) else 0.7 * ema + 0.3 * batch_mean
        if self._ema < self._best_ema:
            self._best_ema, self._bad = self._ema, 0
            return
        self._bad += 1
        if self._bad > c.plateau_patience:
            self._plateau_scale *= c.plateau_factor
            self._bad, self._best_ema = 0, self._ema

    @property
    def lr_scale(self) -> float:
        """What multiplies the scheduled lr: the plateau cuts times the path rule's scale."""
        return self._plateau_scale * (1.0 if self.path_rule is None else self.path_rule.scale)

    def _recommendation(self) -> np.ndarray:
        return self.theta.detach().numpy().copy()

    # ----------------------------------------------------------------- state
    def _state(self) -> dict[str, Any]:
        return {
            "theta": self.theta.detach().numpy().copy(),
            "theta_opt": optimizer_state_to_numpy(self.theta_opt.state_dict()),
            "surrogate": self.surrogate.state_dict(),
            "torch_rng": self.gen.get_state().numpy().copy(),
            "sigma": self.sigma,
            "plateau_scale": self._plateau_scale,
            "plateau": [self._ema, self._best_ema, self._bad],
            "path_rule": None if self.path_rule is None else self.path_rule.state_dict(),
            "pending": None if self._pending is None else [a.copy() for a in self._pending],
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            self.theta.copy_(torch.as_tensor(state["theta"], dtype=torch.float64))
        self.theta_opt.load_state_dict(optimizer_state_from_numpy(state["theta_opt"]))
        self.surrogate.load_state_dict(state["surrogate"])
        self.gen.set_state(torch.as_tensor(state["torch_rng"], dtype=torch.uint8))
        self.sigma = float(state["sigma"])
        # checkpoints written before the path rule call the plateau cuts "lr_scale"
        self._plateau_scale = float(state.get("plateau_scale", state.get("lr_scale")))
        ema, best, bad = state["plateau"]
        self._ema, self._best_ema, self._bad = float(ema), float(best), int(bad)
        if self.path_rule is not None:
            self.path_rule.load_state_dict(state["path_rule"])
        pending = state["pending"]
        self._pending = (
            None if pending is None else (np.asarray(pending[0]), np.asarray(pending[1]))
        )
