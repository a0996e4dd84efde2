"""The options of :class:`~zg_control.optimizers.zerograds.ZeroGrads` and their validation."""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable

from ..base import OptimizerConfig
from .mlp import resolve_device

Schedule = float | Callable[[int], float]
"""A value that may vary over a run: a number, or ``f(n_evals) -> float``."""

SURROGATES = ("auto", "mlp", "ridge")
NONFINITE = ("worst", "drop")


def _positive_finite(v: object) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) and v > 0


def schedule_value(value: Schedule, n_evals: int, name: str) -> float:
    """``value`` after ``n_evals`` evaluations (a callable is called with them), checked to be
    a positive finite number; ``ValueError`` otherwise."""
    v = value(n_evals) if callable(value) else value
    if not _positive_finite(v):
        where = f"{name}({n_evals})" if callable(value) else name
        raise ValueError(f"ZeroGradsConfig: {where} must be a positive finite float, got {v!r}")
    return float(v)


@dataclasses.dataclass(frozen=True)
class ZeroGradsConfig(OptimizerConfig):
    """Options of :class:`ZeroGrads` (defaults follow the paper where it gives one).

    ``sigma`` and ``lr`` may vary over a run: each takes a number or a callable
    ``f(n_evals: int) -> float`` of the episodes told so far (the way optax takes schedules).
    ``sigma`` is evaluated at every ``ask``, ``lr`` at every ``tell`` (counting the batch being
    told); a callable must return a positive finite float, else ``ValueError``.

    Sampling:
        sigma: std of the outer Gaussian (the smoothing scale) in parameter units.
        inner_sigma: std of the inner Gaussian, as a fraction of sigma (paper: 0.1; 0 = off):
            each sample is perturbed once more before it is evaluated, and the surrogate
            learns the loss at the perturbed point as the label of the unperturbed one.
        batch_size: samples per iteration (even when antithetic); ``adapt=True`` adds one row,
            theta itself, up to d = 300, and above it two while a near-plateau is probed.
        antithetic: draw pairs ``theta +/- e``.
    Surrogate (``h_phi``):
        surrogate: "mlp" (the paper's: an MLP plus a linear skip, learnt by Adam on the raw
            losses, :mod:`.mlp`), "ridge" (a plane solved in closed form by weighted ridge
            regression on the buffer, with one intercept per batch, fitted to each batch's
            centred loss ranks, :mod:`.ridge`) or "auto": "mlp" while ``d <= buffer_size``
            (the buffer can pin down more than a plane), else "ridge".
        width, depth: the MLP's ``depth`` hidden layers of ``width`` LeakyReLU units (paper:
            3 x 64); ``depth = 0`` leaves the linear term alone.
        k_phi, lr_phi: Adam steps on the MLP's weights per iteration, and their learning rate.
        buffer_size: samples kept for fitting (both surrogates).
        locality: distance weighting of the buffer's samples
            (:func:`~.surrogates.locality_weights`; 0 = equal weights).
        ridge: the ridge surrogate's penalty, relative to ``d``.
    Step control:
        adapt: ZeroGrads' step control (:mod:`.step`). Sigma is multiplied by x1.65 after
            every batch whose losses all tie (no slope to follow; lr grows with it), up to
            half the box's median width when there are bounds. Up to d = 300 (and with a
            number for sigma: a schedule is followed as given) each batch also evaluates theta
            itself (``batch_size + 1`` rows), a batch is flat only if it ties with theta too,
            and sigma otherwise moves by the fraction of samples that beat theta (a 1/5
            success rule: grows while more than a fifth win, ties counting half, shrinks while
            fewer do; down to 1/1000 x), and lr follows the factor where it is above 1
            (outside a restart's trial). Above d = 300, a sigma given larger than
            1/20 of the box's median width halves after 3 batches in a row without a new best
            sample, down to that 1/20 (a default sigma is never larger); one given below 1/40 of
            it is probed for a near-plateau with one extra pair per batch at 1/20 of the width
            and jumps there (lr with it) when the loss moves far more at that scale than at
            sigma (:mod:`.near_plateau`; the probe stops once the loss is rougher at sigma),
            or once lr has grown to sigma (lr kept), and lr follows a restart's trial that
            found a new best there.
            Step length (with ``lr=None`` and antithetic batches): move lr by the slope each
            batch measures along the latest step at its end (grow while the loss still falls
            there, shrink when it rises), within 1/100 to 100 x; with the ridge surrogate up to
            d = 300, at most sigma (a trust region: the plane holds within the samples'
            radius); an lr you give is followed as given (times the flat growth). With the
            ridge surrogate (d > 64) and a number for sigma, after 10 batches without a new
            best sample sigma is tried at 4x (at least as given and, with bounds, at least
            the box's own sigma) for 3 batches and kept only if they find a new best, else it
            returns and the wait doubles (:mod:`.restart`).
            ``False``: sigma and lr exactly as given, ``batch_size`` rows per batch.
    Parameters (theta, stepped by ``torch.optim.Adam`` on the surrogate's gradient):
        lr: Adam's learning rate (``None``: the base sigma / 5 with the MLP, sigma / 10 with
            the ridge surrogate, whose slope for most coordinates is below the noise when
            ``d`` is far above the buffer size; with bounds, the base sigma counts at most
            1/20 of the box's median width, the default sigma's share of [-1, 1], so a sigma
            given too large for the box widens the smoothing but not the steps).
        k_theta: Adam steps per iteration (``None``: 3 with the MLP, 1 with the ridge
            surrogate, whose gradient does not change when theta moves).
    Running:
        device: torch device of the MLP surrogate ("auto": CUDA when present; the ridge
            surrogate runs on the CPU).
        nonfinite: what the surrogate learns from NaN/inf losses: "worst" (the worst finite
            loss seen; right when failures mark a region to avoid, e.g. a diverging simulation)
            or "drop" (ignore them; right when failures are random).
        num_threads: torch intra-op threads used inside ``ask``/``tell`` (restored after); the
            surrogate's tensors are small, and many threads spin on a busy machine. 0 leaves
            torch's setting alone.
    """

    sigma: Schedule = 0.1
    inner_sigma: float = 0.1
    batch_size: int = 16
    antithetic: bool = True
    surrogate: str = "auto"
    width: int = 64
    depth: int = 3
    k_phi: int = 5
    lr_phi: float = 1e-2
    buffer_size: int = 64
    locality: float = 1.0
    ridge: float = 1.0
    adapt: bool = True
    lr: Schedule | None = None
    k_theta: int | None = None
    device: str = "auto"
    nonfinite: str = "worst"
    num_threads: int = 1

    def __post_init__(self) -> None:
        checks = [
            (
                callable(self.sigma) or _positive_finite(self.sigma),
                "sigma must be a positive finite float or a callable",
            ),
            (
                self.lr is None or callable(self.lr) or _positive_finite(self.lr),
                "lr must be None, a positive finite float or a callable",
            ),
            (self.inner_sigma >= 0, "inner_sigma must be >= 0"),
            (self.batch_size >= 2, "batch_size must be >= 2"),
            (not self.antithetic or self.batch_size % 2 == 0, "antithetic needs an even batch"),
            (self.surrogate in SURROGATES, f"surrogate must be one of {SURROGATES}"),
            (self.width >= 1 and self.depth >= 0, "width must be >= 1 and depth >= 0"),
            (self.k_phi >= 1, "k_phi must be >= 1"),
            (self.lr_phi > 0, "lr_phi must be > 0"),
            (self.buffer_size >= self.batch_size, "buffer_size must be >= batch_size"),
            (self.locality >= 0, "locality must be >= 0 (0 disables the weighting)"),
            (self.ridge > 0, "ridge must be > 0"),
            (self.k_theta is None or self.k_theta >= 1, "k_theta must be >= 1 or None"),
            (self.nonfinite in NONFINITE, f"nonfinite must be one of {NONFINITE}"),
            (self.num_threads >= 0, "num_threads must be >= 0 (0: torch's own setting)"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(f"ZeroGradsConfig: {msg}")
        resolve_device(self.device)
