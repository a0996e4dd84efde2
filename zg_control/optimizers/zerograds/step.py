"""ZeroGrads' control of its own step: a sigma factor (plateaus, success), a slope factor on lr.

**Sigma.** A factor on sigma, moved by two signals; lr follows the first alone.
*Plateaus*: when every finite loss of a batch ties, the samples carry no slope at all (a
character that never leaves the ground, a puck that is never touched): the surrogate's gradient
is zero and theta cannot move. Each such flat batch multiplies the factor by ``exp(FLAT_GAIN)``,
so that the samples reach the edge of the plateau, as pycma grows its step size on flat fitness;
lr grows with it.
*Success* (up to ``d = SUCCESS_MAX_DIM``): every batch also evaluates theta itself, and the
fraction ``p`` of the samples that beat it (ties count half; :func:`.pairs.success_rate`)
moves ``log`` of the factor by ``SUCCESS_GAIN (p - SUCCESS_TARGET)``: Rechenberg's 1/5 success rule
(Rechenberg 1973; Kern et al. 2004, "Learning probability distributions in continuous
evolutionary algorithms"), read here as a test of the smoothing scale. Where the loss is close
to linear at the samples' radius, one sample of each antithetic pair wins (``p = 1/2``) and
sigma grows; where it is curved or narrow (a pose met within a tolerance, a valley) the samples
lose to the centre and sigma shrinks; on a "second plateau", where most samples tie with the
centre and the rest are worse, ties keep ``p`` near the target and sigma stays large enough to
find the next level. An antithetic pair whose two samples both beat theta counts as two
failures: on a smooth loss that needs theta at a local maximum along the pair's direction, and
on a rough one (a hopper that falls) it says theta is a poor point, not that the scale is too
small (measured: counted as wins, sigma ran to half the box on Hopper's splines and ZeroGrads
fell below random search, experiments/NOTES.md session 13). So sigma finds the problem's own
scale from either side (a sigma given x0.1 or x10 too large). lr follows the factor up, never
down: lr's base is multiplied by the factor where it is above 1, outside a restart's trial
(:meth:`.restart.Restart.steady`), so steps lengthen where the samples keep winning, i.e. where
the loss is close to linear at their radius (measured, 5 seeds: dm-control's cheetah at sigma
x0.1 -4.69 -> -8.78, its hopper -1.44 -> -1.87, Keyframe 0.667 -> 0.533, Jump at x0.1 lands on 5
of 5 seeds, 2 before; followed down as well, lr shrank to 0.0015 where theta stalled on the
cheetah at sigma x10; following a trial's sigma sent Keyframe's theta to its worst loss at
sigma x10; experiments/NOTES.md session 22). The success rule applies up to
``d = SUCCESS_MAX_DIM`` only (measured: it helps at d <= 300, the README's demo is d = 300, and
costs from d = 483 on). In high d the slope term of a sample's loss change grows like
``sqrt(d)`` and the curvature term like ``d``, so theta beats nearly every sample and the rule
shrinks sigma towards ``1 / sqrt(d)`` (HalfCheetah per step, d = 6000: sigma 0.1 -> 0.016,
median -0.378 against -0.547 without the rule), a scale right for a (1+1)-ES, whose step is its
sample, not for a surrogate's gradient (pycma, too, changes its step-size rule with d: two-point
adaptation in diagonal mode above d = 299). Above ``SUCCESS_MAX_DIM`` only flat batches move
sigma and no centre row is asked.
The factor stays within ``[MIN_SCALE, cap]`` (``cap``: half the box's median width over the
base sigma when there are bounds, else ``MAX_SCALE``).

**The box's scale.** With bounds, ``BOX_SIGMA`` of the box's median width (0.1 in [-1, 1], the
default sigma) is the problem's own scale: lr's base follows a sigma given above it only up to
it, so a sigma too large for the box widens the smoothing but not the steps (measured: sigma x10
on Keyframe cost 0.83 with lr = sigma / 5, 0 with the cap; experiments/NOTES.md session 14; lr
following such a sigma stalled a d = 10 quadratic at sigma 1 on 1 of 3 seeds, session 22).

**A sigma given above the box's scale, above d = 300.** No signal there tells a sigma too large
from a right one (the samples' success and the curvature-to-slope ratio overlap at 0.1 and 1 on
the gaits; experiments/NOTES.md session 14), so such a sigma is read as an exploration phase
that must keep paying: after ``ANNEAL_PATIENCE`` batches in a row (flat ones not counted)
without a new best sample, sigma's factor halves, not below the box's sigma (:class:`Anneal`),
a continuation from the user's smoothing down to the box's (measured, sigma x10 at d >= 1000,
median of 3 seeds: Ant -0.30 -> -1.46, Walker2d -0.96 -> -1.64, defaults -1.56 and -1.69;
experiments/NOTES.md session 15). A sigma at or below the box's scale, every default, is never
touched by it.

**A sigma given far below the box's scale, above d = 300**, jumps to the box's scale on a
near-plateau, once lr has grown to it, or when a restart's trial finds a new best there
(:mod:`.near_plateau`).

**Step length.** Each batch is drawn around the point the latest step reached, so its antithetic
pairs measure, for free, the slope of the smoothed loss along that step *at its end*: a pair's loss
difference ``f(theta + sigma e) - f(theta - sigma e)`` times ``e``'s component along the step is an
unbiased estimate of ``2 sigma`` times that slope (:func:`.pairs.slope_along`). Negative: the loss
still falls where the step ended, so the step was too short; positive: it overshot. lr's factor
moves by ``-STEP_GAIN`` times the standardised slope per batch (a stochastic hypergradient on log
lr, in the spirit of Baydin et al. 2018, with an estimate whose noise is independent of the step it
judges), within ``[1 / STEP_RANGE, STEP_RANGE]``. The batch is fresh, so the test is exactly
calibrated: when the batch says nothing the statistic is symmetric with variance 1 and the factor
only drifts. Above d = 300 a failed restart trial takes back half of the factor's growth above 1
(:mod:`.restart`).

**A trust region (the ridge plane, up to d = SUCCESS_MAX_DIM).** The plane is fitted on samples
within about sigma of theta per coordinate and, fitted to ranks, has no curvature that could tell
it that a step overshoots; Adam moves a coordinate by up to about lr per step. So a step with lr
above ``TRUST_RATIO`` sigma leaves the region the plane holds in. Where the success rule shrinks
sigma while the step length grows lr, the two part (dm-control's walker, seed 4: lr / sigma up to
13 while sigma fell to 0.005; the plateau's bowl at d = 100: lr up to 3.7 sigma, ending 9x further
above the minimum than with the cap): lr's factor is held so that lr <= sigma
(:meth:`StepLength.limit`, no wind-up), as a derivative-free trust-region method keeps its step
within the radius its model was fitted at (Conn, Scheinberg and Vicente 2009, "Introduction to
Derivative-Free Optimization", ch. 10). The MLP (d <= 64) models curvature and is left alone
(measured: the cap slowed the x100 sphere's end game, 1e-6 -> 4e-3), and above ``SUCCESS_MAX_DIM``
sigma never shrinks below the box's scale. Measured: experiments/NOTES.md session 18. Everything
here is deterministic given the losses.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

FLAT_GAIN = 0.5  # log scale added per flat batch (x1.65)
MAX_SCALE = 1e4
MIN_SCALE = 1e-3
SUCCESS_TARGET = 0.2  # the fraction of samples better than the centre that keeps sigma
SUCCESS_GAIN = 1.0  # log scale moved per unit of (success rate - target)
SUCCESS_MAX_DIM = 300  # the success rule applies up to this dimension (module docstring)
STEP_GAIN = 0.05  # log lr moved per unit of the standardised slope
STEP_RANGE = 100.0  # lr's factor stays within [1 / STEP_RANGE, STEP_RANGE]
SLOPE_CLIP = 3.0
BOX_SIGMA = 0.05  # the box's own sigma, a fraction of its median width (module docstring)
ANNEAL_PATIENCE = 3  # batches without a new best before a sigma above the box's halves
TRUST_RATIO = 1.0  # the ridge plane's lr stays at most this times sigma (module docstring)


def box_sigma(bounds: tuple[np.ndarray, np.ndarray]) -> float:
    """The box's own sigma, ``BOX_SIGMA`` of the median width of ``bounds`` (``(lo, hi)``, each
    ``(d,)``; module docstring)."""
    return BOX_SIGMA * float(np.median(bounds[1] - bounds[0]))


def box_limits(bounds: tuple[np.ndarray, np.ndarray] | None, sigma: float) -> tuple[float, float]:
    """For the base ``sigma`` in the box ``bounds`` (``(lo, hi)``, each ``(d,)``): the sigma
    factor's cap (sigma at most half the box's median width ``w``) and the box's sigma over
    ``sigma``, ``BOX_SIGMA w / sigma`` (lr's share of sigma is at most it, a restart's trial
    at least it: module docstring, :mod:`.restart`); ``(inf, 1)`` without bounds."""
    if bounds is None:
        return float("inf"), 1.0
    w = float(np.median(bounds[1] - bounds[0]))
    return 0.5 * w / sigma, box_sigma(bounds) / sigma


def is_flat(losses: np.ndarray) -> bool:
    """True when every finite entry of ``losses (n,)`` is the same (or fewer than 2 are
    finite)."""
    finite = losses[np.isfinite(losses)]
    return finite.size < 2 or bool(np.all(finite == finite[0]))


class SigmaScale:
    """The factor on sigma: grown on flat batches (lr follows this part alone, ``flat_value``)
    and moved by the success rate.

    Args:
        cap: the largest factor (>= 1).
    """

    def __init__(self, cap: float = MAX_SCALE) -> None:
        self.log_max = math.log(max(1.0, min(cap, MAX_SCALE)))
        self.log_min = math.log(MIN_SCALE)
        self.log_scale = 0.0  # sigma's factor: flat batches and success
        self.log_flat = 0.0  # the flat batches' part alone, which lr follows

    @property
    def value(self) -> float:
        return math.exp(self.log_scale)

    @property
    def flat_value(self) -> float:
        """The flat batches' growth alone (lr's factor)."""
        return math.exp(self.log_flat)

    def update(self, losses: np.ndarray) -> bool:
        """Grow on a flat batch ``losses (n,)``; returns whether it was flat."""
        flat = is_flat(losses)
        if flat:
            self.grow()
        return flat

    def grow(self, log_gain: float = FLAT_GAIN) -> None:
        """One flat batch's growth (or ``log_gain``, a near-plateau's jump), up to the cap;
        lr follows it."""
        self.log_scale = min(self.log_scale + log_gain, self.log_max)
        self.log_flat = min(self.log_flat + log_gain, self.log_max)

    def success(self, rate: float) -> None:
        """Move by the batch's success ``rate`` (:func:`.pairs.success_rate`) against the target."""
        step = SUCCESS_GAIN * (rate - SUCCESS_TARGET)
        self.log_scale = max(self.log_min, min(self.log_scale + step, self.log_max))

    def widen(self, gain: float, least: float = 1.0) -> None:
        """Multiply the factor by ``gain``, to at least ``least`` (>= 1) and at most the cap (a
        restart's trial, :mod:`.restart`)."""
        floor = math.log(max(1.0, least))
        self.log_scale = min(max(self.log_scale + math.log(gain), floor), self.log_max)

    def halve(self, floor: float) -> None:
        """Halve the factor, not below ``floor``."""
        self.log_scale = max(self.log_scale - math.log(2.0), math.log(floor))

    def state_dict(self) -> dict[str, Any]:
        return {"log_scale": self.log_scale, "log_flat": self.log_flat}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.log_scale = float(state["log_scale"])
        self.log_flat = float(state["log_flat"])


class Anneal:
    """Halves sigma's factor after ``ANNEAL_PATIENCE`` batches without a new best sample, not
    below ``floor`` (the box's sigma over the base sigma, < 1; module docstring).

    Args:
        floor: the smallest factor it leaves.
    """

    def __init__(self, floor: float) -> None:
        self.floor = floor
        self.best = math.inf
        self.stalled = 0

    def update(self, losses: np.ndarray, finite: np.ndarray, flat: bool, scale: SigmaScale) -> None:
        """Judge a batch: ``losses (n,)``, ``finite (n,)`` which of them count; a flat batch
        is left out (the flat rule grows sigma there)."""
        if flat or not finite.any():
            return
        low = float(losses[finite].min())
        if low < self.best:
            self.best, self.stalled = low, 0
            return
        self.stalled += 1
        if self.stalled >= ANNEAL_PATIENCE:
            scale.halve(self.floor)
            self.stalled = 0

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "stalled": self.stalled}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = float(state["best"])
        self.stalled = int(state["stalled"])


class StepLength:
    """lr's factor, moved by the slope along the latest step (module docstring)."""

    def __init__(self) -> None:
        self.log_factor = 0.0
        self.log_max = math.log(STEP_RANGE)

    @property
    def value(self) -> float:
        return math.exp(self.log_factor)

    def update(self, slope: float) -> None:
        """One batch's move for the standardised ``slope`` (:func:`.pairs.slope_along`)."""
        slope = max(-SLOPE_CLIP, min(SLOPE_CLIP, slope))
        self.log_factor = max(-self.log_max, min(self.log_max, self.log_factor - STEP_GAIN * slope))

    def take_back(self) -> None:
        """Halve the factor's growth above 1 (:mod:`.restart`); a factor at or below 1 stays."""
        self.log_factor = max(min(0.0, self.log_factor), self.log_factor - math.log(2.0))

    def limit(self, top: float) -> None:
        """Hold the factor at or below ``top`` (> 0; the trust region's, module docstring)."""
        self.log_factor = min(self.log_factor, math.log(top))

    def state_dict(self) -> dict[str, Any]:
        return {"log_factor": self.log_factor}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.log_factor = float(state["log_factor"])
