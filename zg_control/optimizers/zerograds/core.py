"""ZeroGrads: learned local surrogate gradients (Fischer & Ritschel, SIGGRAPH 2024).

One iteration, as data::

    theta --ask--> X = theta + sigma * [E; -E]   (antithetic, E ~ N(0, I), shape (n, d))
                   (+ theta itself as the last row with ``adapt=True``, d <= 300: (n + 1, d);
                   + a probe pair at the box's sigma while sigma is far below it, d > 300)
          --f----> losses                        (one episode per row; the only information)
          --tell-> sigma's factor moves (flat batch; the samples' success against theta;
                   a near-plateau's jump to the box's sigma)
                   surrogate.add(X, losses); surrogate.fit(centre=theta, scale=sigma, k_phi)
                   k_theta times: theta.grad = grad h_phi(theta); Adam step; project on bounds
                   after a stall, a wider sigma for a trial (the ridge plane)

Fitting ``h_phi`` to samples of ``f`` around ``theta`` makes ``grad h_phi`` an estimate of the
gradient of the Gaussian-smoothed loss ``E_e f(theta + e)``, ``e ~ N(0, sigma^2 I)`` (Eq. 3 of
the paper). Unlike the authors' code, the surrogate is fitted on the new samples *before* theta
moves, it keeps a distance-weighted buffer of recent samples, and all randomness is seeded (the
optimizer's numpy generator for the samples, a ``torch.Generator`` for the network). The
surrogate is the paper's MLP (:mod:`.mlp`) or, when ``d`` exceeds the buffer, a plane solved in
closed form (:mod:`.ridge`); both follow one protocol (:mod:`.surrogates`). With
``inner_sigma > 0`` each sample is perturbed once more before it is evaluated and the surrogate
learns the loss at the perturbed point as the label of the unperturbed one (nested smoothing).
With bounds, each row is evaluated at its projection onto the box (as PRDPT's), the loss the label
of the drawn sample: ZeroGrads smooths ``f(clip(.))``, never calls ``f`` outside the box.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._torch_state import optimizer_state_from_numpy, optimizer_state_to_numpy
from ..base import Optimizer
from .choice import make_surrogate
from .config import ZeroGradsConfig, schedule_value
from .mlp import resolve_device
from .near_plateau import NearPlateau
from .pairs import slope_along, success_rate
from .restart import Restart
from .ridge import RidgeSurrogate
from .step import SUCCESS_MAX_DIM, TRUST_RATIO, Anneal, SigmaScale, StepLength, box_limits
from .threads import torch_threads

RULES = ("sigma_scale", "step_length", "anneal", "near", "restart")  # the step control's state


class ZeroGrads(Optimizer):
    """The ZeroGrads optimizer; see the module docstring. ``recommendation`` is ``theta``.

    Attributes:
        theta: the parameters, shape ``(d,)``, a float64 ``torch.nn.Parameter``.
        surrogate: the :class:`~.surrogates.Surrogate`.
        sigma: the sigma of the latest ``ask``.
        last_gradient: the surrogate's gradient at the first theta step of the latest
            ``tell``, shape ``(d,)``.
    """

    config_cls = ZeroGradsConfig
    config: ZeroGradsConfig

    def __init__(self, x0, config=None, seed=0, bounds=None) -> None:
        super().__init__(x0, config, seed, bounds)
        c = self.config
        self.device = resolve_device(c.device)
        self.gen = torch.Generator(device="cpu").manual_seed(self.seed)
        self.surrogate = make_surrogate(c, self.dim, self.gen, self.device)
        self.linear = isinstance(self.surrogate, RidgeSurrogate)
        self.k_theta = c.k_theta if c.k_theta is not None else (1 if self.linear else 3)
        self.theta = torch.nn.Parameter(torch.tensor(self.x0, dtype=torch.float64))
        self._base_sigma = schedule_value(c.sigma, 0, "sigma")
        cap, ratio = box_limits(self.bounds, self._base_sigma)  # factor's cap; box's sigma / sigma
        self._lr_share = min(1.0, ratio)  # lr's share of the base sigma (< 1: above the box)
        self.sigma_scale = SigmaScale(cap) if c.adapt else None
        # the success rule (theta as the last row) up to SUCCESS_MAX_DIM; a schedule as given
        self.judge_centre = c.adapt and not callable(c.sigma) and self.dim <= SUCCESS_MAX_DIM
        # above it, a sigma given above the box's scale anneals to it while the best stalls
        anneal = c.adapt and not callable(c.sigma) and not self.judge_centre and self._lr_share < 1
        self.anneal = Anneal(self._lr_share) if anneal else None
        self.step_length = StepLength() if c.adapt and c.antithetic and c.lr is None else None
        # above it, a sigma far below the box's scale is probed for a near-plateau
        probe = self.step_length is not None and not self.judge_centre and not callable(c.sigma)
        self.near = NearPlateau.for_box(self.bounds, self.seed) if probe else None
        # the plane's slope holds within sigma: lr stays at most sigma (up to SUCCESS_MAX_DIM)
        self.trust_region = self.linear and self.judge_centre and self.step_length is not None
        restart = self.linear and c.adapt and not callable(c.sigma)  # trials reach the box's sigma
        take_back = None if self.judge_centre else self.step_length  # lr's, above SUCCESS_MAX_DIM
        widen = self.bounds is not None and not self.judge_centre  # failed trials: the next wider
        self.restart = Restart(ratio, self.anneal, take_back, widen) if restart else None
        self._last_step = np.zeros(self.dim)
        self.sigma = self.current_sigma()
        self.theta_opt = torch.optim.Adam([self.theta], lr=self.current_lr())
        self.last_gradient = np.zeros(self.dim)
        self._clean: np.ndarray | None = None  # the latest ask's rows before the inner noise

    @property
    def batch_size(self) -> int:
        """Rows of the next ask: the samples, plus theta (success rule) or the probe pair."""
        probing = self.near is not None and self.near.active(self.current_sigma())
        return self.config.batch_size + (1 if self.judge_centre else 2 if probing else 0)

    @property
    def scale(self) -> float:
        """The factor on sigma (:class:`.step.SigmaScale`; 1 with ``adapt=False``)."""
        return 1.0 if self.sigma_scale is None else self.sigma_scale.value

    def current_sigma(self) -> float:
        """Sigma after ``n_evals`` evaluations: ``config.sigma`` (called if a callable) times
        the sigma factor."""
        return schedule_value(self.config.sigma, self.n_evals, "sigma") * self.scale

    @property
    def flat_scale(self) -> float:
        """lr's share of the sigma factor (1 with ``adapt=False``): the flat batches' growth and
        sigma's moves to the box's scale from far below it (:mod:`.near_plateau`)."""
        return 1.0 if self.sigma_scale is None else self.sigma_scale.flat_value

    @property
    def lr_factor(self) -> float:
        """The step-length factor on lr (:mod:`.step`; 1 with ``adapt=False``)."""
        return 1.0 if self.step_length is None else self.step_length.value

    def current_lr(self) -> float:
        """Theta's learning rate after ``n_evals`` evaluations: ``config.lr``, or the base sigma
        (``config.sigma``; above the box's scale only up to it, :func:`.step.box_limits`) / 5
        (MLP) or / 10 (ridge) times the step-length factor (``None``); times the flat growth
        (:attr:`flat_scale`), under the success rule sigma's factor where above 1 (:mod:`.step`)."""
        if self.config.lr is None:
            base = self._base_sigma * self._lr_share / (10 if self.linear else 5)
            if not self.judge_centre:
                return base * self.flat_scale * self.lr_factor
            steady = self.scale if self.restart is None else self.restart.steady(self.scale)
            return base * max(1.0, steady) * self.lr_factor
        return schedule_value(self.config.lr, self.n_evals, "lr") * self.flat_scale

    def ask(self) -> np.ndarray:
        with torch_threads(self.config.num_threads):
            return super().ask()

    def tell(self, X, losses) -> None:
        with torch_threads(self.config.num_threads):
            super().tell(X, losses)

    # ------------------------------------------------------------------ the method
    def _ask(self) -> np.ndarray:
        """Sample ``X = theta + sigma E`` (``E`` antithetic), plus the inner perturbation;
        the rows to evaluate are projected onto the bounds, the drawn ``X`` kept for the fit."""
        c = self.config
        self.sigma = self.current_sigma()
        self._base_sigma = self.sigma / self.scale
        n = c.batch_size // 2 if c.antithetic else c.batch_size
        # numpy's ziggurat sampler: ~10x faster than torch.randn for float64 at d ~ 35 000
        E = self.rng.standard_normal((n, self.dim))
        if c.antithetic:
            E = np.concatenate([E, -E])
        X = self.theta.detach().numpy() + self.sigma * E
        inner = c.inner_sigma * self.sigma  # nested smoothing: one more perturbation
        X_eval = X + inner * self.rng.standard_normal(X.shape) if inner > 0 else X
        self._clean = X
        if self.judge_centre:  # theta itself, to judge sigma by the samples' success
            X_eval = np.concatenate([X_eval, self.theta.detach().numpy()[None]])
        elif self.near is not None and self.near.active(self.sigma):
            X_eval = np.concatenate([X_eval, self.near.rows(self.theta.detach().numpy())])
        return self.project(X_eval)

    def _tell(self, X: np.ndarray, losses: np.ndarray) -> None:
        """Add the batch to the surrogate, fit it around theta, and take ``k_theta`` Adam
        steps on its gradient, each projected onto the bounds."""
        finite, jump = self.last_finite, False
        probing = self.near is not None and self.near.direction is not None
        if probing:  # the probe's pair: the batch's 2 last rows
            probe, X, losses = losses[-2:], X[:-2], losses[:-2]
            probe_finite, finite = finite[-2:], finite[:-2]
        X, losses, finite, flat, success = self._adapt_sigma(X, losses, finite)
        theta0 = self.theta.detach().numpy().copy()
        if self.step_length is not None and self._clean is not None:
            h = len(losses) // 2  # the second half of the perturbations is the first negated
            E = (self._clean[:h] - theta0) / self.sigma  # (n/2, d)
            self.step_length.update(slope_along(E, losses, finite, self._last_step))
            if probing:
                jump = self.near.update(E, losses, finite, self.sigma, probe, probe_finite)
        # the latest ask's unperturbed samples (nested smoothing), without the non-finite rows
        X_fit, self._clean = X if self._clean is None else self._clean, None
        if self.config.nonfinite == "drop" and not finite.all():
            X_fit, losses = X_fit[finite], losses[finite]
        self.surrogate.add(X_fit, losses)
        fit_error = self.surrogate.fit(self.theta.detach().numpy(), self.sigma, self.config.k_phi)
        if self.trust_region:  # lr <= sigma (.step)
            self.step_length.limit(
                TRUST_RATIO * self.current_sigma() * self.lr_factor / self.current_lr()
            )
        lr = self.current_lr()
        for group in self.theta_opt.param_groups:
            group["lr"] = lr
        for k in range(self.k_theta):
            value, grad = self.surrogate.value_and_grad(self.theta.detach().numpy())
            if k == 0:
                self.last_gradient = grad.copy()
            with np.errstate(over="ignore"):
                huge = not np.isfinite(np.square(grad)).all()
            if huge:
                break  # losses near the float limit: Adam's moments would overflow to NaN
            self.theta.grad = torch.from_numpy(grad)
            self.theta_opt.step()
            with torch.no_grad():  # onto the bounds
                self.theta.copy_(torch.from_numpy(self.project(self.theta.detach().numpy())))
        self._last_step = self.theta.detach().numpy() - theta0
        self._after_step(jump, lr)
        self.metrics.update(
            flat=float(flat), success=success, scale=self.scale, lr_factor=self.lr_factor, lr=lr,
            fit_error=fit_error, surrogate_value=value, sigma=self.sigma,
            grad_norm=float(torch.from_numpy(grad).norm()),  # torch: OpenBLAS threads spin
            restarts=0 if self.restart is None else self.restart.count,
        )  # fmt: skip

    def _after_step(self, jump: bool, lr: float) -> None:
        """Sigma to the box's after a near-plateau (``jump``) or once ``lr`` has grown to a sigma
        far below it; then the restart, and lr follows a trial kept from far below the box's
        sigma (:mod:`.near_plateau`, :mod:`.restart`)."""
        adam, buffer = self.theta_opt if self.linear else None, self.surrogate.buffer
        if self.near is not None and not jump:
            jump = self.near.outgrown(self.sigma, lr, self.step_length)
        if jump:  # sigma and lr to the box's sigma; Adam's moments into the plane's new units
            self.near.jump(self.sigma, self.sigma_scale, adam, buffer)
        if self.restart is not None:
            before = self._base_sigma * self.restart.steady(self.scale)  # sigma before a trial
            if self.restart.update(self.best_loss, self.sigma_scale) and self.near is not None:
                self.near.follow(before, self._base_sigma, self.sigma_scale, adam, buffer)

    def _adapt_sigma(
        self, X: np.ndarray, losses: np.ndarray, finite: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool, float]:
        """Split the centre's row (the last, under the success rule) off ``X (n + 1, d)``,
        ``losses``, ``finite`` and move the sigma factor: grow on a flat batch, else by the
        samples' success against the centre (:mod:`.step`). Returns the samples' ``X (n, d)``,
        ``losses (n,)``, ``finite (n,)``, whether the batch was flat, the success (NaN: none)."""
        if self.sigma_scale is None:
            return X, losses, finite, False, float("nan")
        if not self.judge_centre:
            flat = self.sigma_scale.update(losses)
            if self.anneal is not None:
                self.anneal.update(losses, finite, flat, self.sigma_scale)
            return X, losses, finite, flat, float("nan")
        centre, centre_ok = losses[-1], bool(finite[-1])
        X, losses, finite = X[:-1], losses[:-1], finite[:-1]
        # a plateau: the samples tie with each other and with theta (samples that tie with each
        # other but not with theta fell off theta's level: the success rule judges them)
        flat = self.sigma_scale.update(np.append(losses, centre) if centre_ok else losses)
        success = float("nan")
        if not flat and centre_ok:
            success = success_rate(losses, finite, centre, self.config.antithetic)
            self.sigma_scale.success(success)
        return X, losses, finite, flat, success

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
            "base_sigma": self._base_sigma,
            **{k: None if (r := getattr(self, k)) is None else r.state_dict() for k in RULES},
            "last_step": self._last_step.copy(),
            "clean": None if self._clean is None else self._clean.copy(),
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            self.theta.copy_(torch.as_tensor(state["theta"], dtype=torch.float64))
        self.theta_opt.load_state_dict(optimizer_state_from_numpy(state["theta_opt"]))
        self.surrogate.load_state_dict(state["surrogate"])
        self.gen.set_state(torch.as_tensor(state["torch_rng"], dtype=torch.uint8))
        self.sigma = float(state["sigma"])
        self._base_sigma = float(state["base_sigma"])
        for k in RULES:  # a checkpoint from before a rule existed starts that rule afresh
            if getattr(self, k) is not None and state.get(k) is not None:
                getattr(self, k).load_state_dict(state[k])
        self._last_step = np.array(state["last_step"], dtype=np.float64)
        clean = state["clean"]
        self._clean = None if clean is None else np.asarray(clean, dtype=np.float64)
