"""The options of :class:`~zg_control.optimizers.zerograds.ZeroGrads` and their validation."""

from __future__ import annotations

import dataclasses

import torch

from ..base import OptimizerConfig
from ..shaping import SHAPINGS
from ..snr_adam import SNRAdam
from ..step_rule import constants_problem
from .mlp import ACTIVATIONS, resolve_device

THETA_OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD, "adamw": torch.optim.AdamW,
                    "snr_adam": SNRAdam}  # fmt: skip
SCHEDULES = ("constant", "linear", "cosine", "exp")
SURROGATES = ("auto", "mlp", "ridge")
STEP_RULES = ("none", "path")
PATH_SIGMA = ("none", "down", "both")


@dataclasses.dataclass(frozen=True)
class ZeroGradsConfig(OptimizerConfig):
    """Options of :class:`ZeroGrads` (defaults follow the paper where it gives one).

    Sampling:
        sigma: std of the outer Gaussian (the smoothing scale) in parameter units.
        sigma_final, sigma_schedule, schedule_evals: anneal sigma from ``sigma`` to
            ``sigma_final`` over ``schedule_evals`` evaluations ("constant", "linear", "cosine",
            "exp"); ``zg.minimize`` sets ``schedule_evals`` to the budget when left ``None``.
        inner_sigma: std of the inner Gaussian, as a fraction of sigma (paper: 0.1; 0 = off).
        batch_size: samples per iteration (even when antithetic).
        antithetic: draw pairs ``theta +/- e``.
    Surrogate (``h_phi``):
        surrogate: "mlp" (the paper: MLP plus a linear skip, all learnt by Adam), "ridge" (a
            linear surrogate solved in closed form by weighted ridge regression on the buffer,
            penalty ``ridge * d``) or "auto": "mlp" while ``d <= buffer_size`` (the buffer can
            pin down more than a plane), else "ridge" (see experiments/NOTES.md).
        width, depth, activation: MLP with ``depth`` hidden layers (paper: 3 x 64, LeakyReLU);
            ``depth = 0`` is a linear surrogate.
        n_features, feature_scale: random Fourier encoding of the inputs (0 = none).
        lr_phi, weight_decay_phi, k_phi: Adam on phi, steps per iteration.
        buffer_size: samples kept for fitting; locality: distance weighting (see Surrogate).
        log_targets: fit the loss in log space.
        shaping: what the surrogate fits, per batch: "none" (the losses), "clip" (losses
            clipped to the batch median +/- 3 robust std, so one fall or crash cannot swing
            the slope), "ranks" (centred ranks, the fitness shaping of NES/CMA-ES: invariant to
            monotone transforms, but blind to how much better a sample is), "normal" (ranks
            mapped to normal quantiles) or "auto": "ranks" with the ridge surrogate and
            per-batch intercepts (which compares samples only within a batch), else "none"
            (the MLP fits values across batches, which per-batch ranks would not share).
        ridge: the ridge penalty of the "ridge" surrogate, relative to ``d``.
        batch_intercepts: with "ridge", give every batch in the buffer its own intercept, so
            only differences *within* a batch inform the slope (the loss change between batch
            centres is dominated by theta's own, mostly noisy, past steps and feeds them back).
    Parameters (theta):
        optimizer, lr, k_theta: optimizer for theta ("adam", "adamw", "sgd" from
            ``torch.optim``, or "snr_adam": Adam whose step shrinks on coordinates whose gradient
            looks like noise, :mod:`.snr_adam`; with lr 0.02 the setting to try on smooth gaits
            like HalfCheetah's), its learning rate
            (``None``: sigma / 5 with the MLP, sigma / 10 with the linear surrogate, where
            d >> samples leaves most coordinates' gradient below the noise and Adam would
            random-walk them by ~lr per step; see experiments/NOTES.md), steps per iteration
            (``None``: 3 with the MLP, 1 with the linear surrogate, whose gradient does not
            change when theta moves).
        momentum: Adam's beta1 or SGD's momentum (``None``: torch's defaults, 0.9 and 0).
        lr_final, lr_schedule: anneal lr like sigma (over ``schedule_evals``).
        plateau_patience, plateau_factor: multiply lr by ``plateau_factor`` whenever an
            exponential average of the batch mean loss has not improved for more than
            ``plateau_patience`` iterations (0 = off); the same signal as PyTorch's
            ``ReduceLROnPlateau``, but fed by the batches ZeroGrads already evaluates.
        step_rule: "none" or "path": scale lr by path-length control (:mod:`.step_rule`): grow
            it while the slopes of successive fresh batches keep pointing the same way, shrink
            it while they look like noise. path_c: the path's decay per batch; path_gain: the
            largest change of log lr per batch; path_threshold: the z-score of the path length
            above which lr grows; path_low, path_high: bounds of the scale.
        path_sigma: with "path", what sigma does with the path rule's scale: "none" (stays),
            "down" (shrinks with it, never grows) or "both" (follows it both ways, so the
            step keeps its ratio to sigma, like CMA-ES's step-size control); the booleans
            of older configs mean False = "none", True = "down".
        device: torch device of the MLP surrogate ("auto": CUDA when present; the linear
            surrogate runs on the CPU).
        num_threads: torch intra-op threads used inside ``ask``/``tell`` (restored after);
            the surrogate's tensors are small, and many threads spin on a busy machine.
            0 leaves torch's setting alone.
        nonfinite: what the surrogate learns from NaN/inf losses: "worst" (the worst finite loss
            seen; right when failures mark a region to avoid, e.g. a diverging simulation) or
            "drop" (ignore them; right when failures are random).
    """

    sigma: float = 0.1
    sigma_final: float | None = None
    sigma_schedule: str = "constant"
    lr_final: float | None = None
    lr_schedule: str = "constant"
    plateau_patience: int = 0
    plateau_factor: float = 0.5
    step_rule: str = "none"
    path_c: float = 0.1
    path_gain: float = 0.05
    path_threshold: float = 1.0
    path_low: float = 0.25
    path_high: float = 4.0
    path_sigma: str | bool = "none"
    shaping: str = "auto"
    schedule_evals: int | None = None
    inner_sigma: float = 0.1
    batch_size: int = 16
    antithetic: bool = True
    width: int = 64
    depth: int = 3
    activation: str = "leaky_relu"
    n_features: int = 0
    feature_scale: float = 1.0
    lr_phi: float = 1e-2
    weight_decay_phi: float = 0.0
    k_phi: int = 5
    buffer_size: int = 64
    locality: float = 1.0
    log_targets: bool = False
    surrogate: str = "auto"
    ridge: float = 1.0
    batch_intercepts: bool = True
    optimizer: str = "adam"
    lr: float | None = None
    momentum: float | None = None
    k_theta: int | None = None
    device: str = "auto"
    nonfinite: str = "worst"
    num_threads: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.path_sigma, bool):  # the booleans of configs before the modes
            object.__setattr__(self, "path_sigma", "down" if self.path_sigma else "none")
        path_problem = constants_problem(self.path_c, self.path_gain, self.path_low, self.path_high)
        checks = [
            (self.sigma > 0, "sigma must be > 0"),
            (self.sigma_final is None or self.sigma_final > 0, "sigma_final must be > 0"),
            (self.sigma_schedule in SCHEDULES, f"sigma_schedule must be one of {SCHEDULES}"),
            (self.shaping in ("auto", *SHAPINGS), f"shaping must be auto or one of {SHAPINGS}"),
            (self.lr_schedule in SCHEDULES, f"lr_schedule must be one of {SCHEDULES}"),
            (self.step_rule in STEP_RULES, f"step_rule must be one of {STEP_RULES}"),
            (path_problem is None, str(path_problem)),
            (self.path_sigma in PATH_SIGMA, f"path_sigma must be one of {PATH_SIGMA}"),
            (
                self.path_sigma == "none" or self.step_rule == "path",
                "path_sigma follows the path rule; set step_rule='path' too",
            ),
            (self.lr_final is None or self.lr_final >= 0, "lr_final must be >= 0"),
            (self.inner_sigma >= 0, "inner_sigma must be >= 0"),
            (self.batch_size >= 2, "batch_size must be >= 2"),
            (not self.antithetic or self.batch_size % 2 == 0, "antithetic needs an even batch"),
            (self.width >= 1 and self.depth >= 0, "width must be >= 1 and depth >= 0"),
            (self.activation in ACTIVATIONS, f"activation must be one of {list(ACTIVATIONS)}"),
            (self.n_features >= 0, "n_features must be >= 0"),
            (self.lr_phi > 0 and (self.lr is None or self.lr > 0), "lr and lr_phi must be > 0"),
            (self.k_phi >= 1, "k_phi must be >= 1"),
            (self.k_theta is None or self.k_theta >= 1, "k_theta must be >= 1 or None"),
            (self.surrogate in SURROGATES, f"surrogate must be one of {SURROGATES}"),
            (self.buffer_size >= self.batch_size, "buffer_size must be >= batch_size"),
            (self.locality >= 0, "locality must be >= 0 (0 disables the weighting)"),
            (self.ridge > 0, "ridge must be > 0"),
            (self.num_threads >= 0, "num_threads must be >= 0 (0: torch's own setting)"),
            (
                self.optimizer in THETA_OPTIMIZERS,
                f"optimizer must be one of {list(THETA_OPTIMIZERS)}",
            ),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(f"ZeroGradsConfig: {msg}")
        resolve_device(self.device)
