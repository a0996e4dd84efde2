"""Above d = 300, a sigma far below the box's scale moves to it: a near-plateau, or the run's
own signs that the problem's scale is larger than sigma.

The flat-batch rule (:mod:`.step`) grows sigma when every loss of a batch ties. A simulated
character at rest under tiny torques does not tie: HalfCheetah's losses at x0 differ by ~1e-4
at sigma 0.01 and its antithetic pairs' slope there is the episode's numerical roughness, not
the way to run; at sigma 0.1 the same pairs differ by ~3e-3, and the squared slope per unit of
radius is ~10 times larger (measured at x0: ``R(0.01 / 0.1) = 0.12``). The surrogate fits ranks,
so roughness at the samples' radius still gives it a direction, and theta wanders without
falling (a sigma given x0.1 at d = 6000: -0.01 after 3000 episodes against -0.55 at the
default; experiments/NOTES.md session 17).

The test, while sigma is below half the box's sigma (``BOX_SIGMA`` of its median width): one
extra antithetic pair per batch at the box's sigma, along a fresh direction ``e`` from the
probe's own random stream. Per batch, the mean squared slope of the batch's pairs at sigma,
``((f(theta + s e_k) - f(theta - s e_k)) / (2 s |e_k|))^2``, and the probe pair's at the box's
sigma, each averaged over batches (``BETA``). On a smooth loss the two agree (the antithetic
difference has no even terms, and the slope along a random direction does not depend on the
radius), so their ratio is ~1; a rough loss (a hopper that falls) has a *larger* slope at the
small radius (ratio 5 to 90 on the gaits' splines at sigma 0.01); only a loss that bends up
with the radius, a near-plateau, has it far smaller.

- Below ``RATIO`` (after ``WARMUP`` probes): sigma jumps to the box's sigma and lr with it, as
  on a flat batch; Adam's moments are carried into the plane's new units (:func:`rescale_adam`)
  and the surrogate forgets the samples at the old radius (:meth:`NearPlateau.jump`).
- At or above ``RETIRE`` (rougher at sigma: the gaits' splines, where x0.1 is no plateau): the
  probe stops for the run, which then pays ``2 WARMUP`` episodes and samples exactly the
  batches it would without the probe.

Whether or not the probe retired (a rough loss at sigma is no near-plateau, but its scale may
still be the box's), two signs of the run itself move a sigma below half the box's to it:

- **lr has grown to sigma** (:meth:`NearPlateau.outgrown`). The step length (:mod:`.step`)
  lengthens lr while the loss keeps falling at the end of each step; a step as long as sigma
  (``TRUST_RATIO``) leaves the region the plane was fitted in and the loss still falls there:
  the problem's scale is larger than sigma. Sigma jumps to the box's as above, and the step
  length's factor is divided by the jump, so lr stays where it is (it already was the box's
  base lr, a tenth of its sigma).
- **A restart's trial finds a new best** (:meth:`NearPlateau.follow`). A trial (:mod:`.restart`)
  tries at least the box's sigma and keeps it when it finds a new best, but above d = 300 lr
  followed only flat batches, so it stayed at the sigma given: lr / sigma fell to 0.01, theta
  froze, and the kept sigma drew lucky samples for the rest of the run (later trials widened
  it to half the box). Now lr's part of the factor follows the kept sigma up to the box's,
  with Adam's moments and the buffer as in a jump.

Measured (dm-control's cheetah per step, d = 600, sigma 0.01, 5 seeds; experiments/NOTES.md
session 23): lr reached sigma after 890-1060 episodes on 3 seeds, -3.83 / -4.05 / -2.61 ->
-8.01 / -7.34 / -6.18 with that rule alone; a trial kept the box's sigma on the other two,
-3.66 / -3.74 -> -7.44 / -7.24 with both; the median -3.74 -> -7.44 (-7.73 once failed
trials widen the next, :mod:`.restart`; the default -8.34, CMA-ES at sigma 0.01 -8.18). Ant
per step at sigma 0.01 -1.389 -> -1.435; every other run of the set is unchanged, bit for bit.

A sigma at or above half the box's scale, every default, is never probed nor moved: those runs
are unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .pairs import pair_slopes
from .step import TRUST_RATIO, SigmaScale, StepLength, box_sigma
from .surrogates import SampleBuffer

BETA = 0.25  # weight of the newest batch in the slopes' running means
WARMUP = 3  # probes before the test may fire
RATIO = 0.25  # squared slope at sigma / at the box's sigma below which sigma jumps
RETIRE = 2.0  # ... at or above which the probe stops for the run (a rough loss)
ACTIVE_SHARE = 0.5  # probed while sigma < ACTIVE_SHARE * the box's sigma
STREAM = 0x4E50  # the probe's own random stream, beside the run's seed


class NearPlateau:
    """The probe and its running means; see the module docstring.

    Args:
        box_sigma: the box's sigma (``BOX_SIGMA`` of its median width), the probe's radius.
        seed: the run's seed; the probe draws its directions from its own stream of it, so a
            run whose probe never fires samples exactly the batches it would without it.
    """

    def __init__(self, box_sigma: float, seed: int = 0) -> None:
        self.box_sigma = box_sigma
        self.rng = np.random.default_rng([seed, STREAM])
        self.small = self.large = 0.0  # running means of the squared slopes
        self.count = 0  # probes since the start or the last jump
        self.retired = False  # the loss is rough at sigma: no more probes this run
        self.direction: np.ndarray | None = None  # the pending probe's e, (d,)

    @classmethod
    def for_box(cls, bounds: tuple[np.ndarray, np.ndarray] | None, seed: int) -> NearPlateau | None:
        """The probe of a run with ``seed`` in the box ``bounds`` (``(lo, hi)``, each
        ``(d,)``); None without one (no scale to probe at)."""
        if bounds is None:
            return None
        return cls(box_sigma(bounds), seed)

    def far_below(self, sigma: float) -> bool:
        """Whether ``sigma`` is below ``ACTIVE_SHARE`` of the box's sigma: the only sigmas that
        are probed or moved (module docstring)."""
        return sigma < ACTIVE_SHARE * self.box_sigma

    def active(self, sigma: float) -> bool:
        return not self.retired and self.far_below(sigma)

    def rows(self, theta: np.ndarray) -> np.ndarray:
        """The probe pair ``theta +/- box_sigma e``, shape ``(2, d)``."""
        self.direction = self.rng.standard_normal(theta.size)
        step = self.box_sigma * self.direction
        return np.stack([theta + step, theta - step])

    def update(
        self, E: np.ndarray, losses: np.ndarray, finite: np.ndarray, sigma: float,
        probe: np.ndarray, probe_finite: np.ndarray,
    ) -> bool:  # fmt: skip
        """Add one batch (``E (h, d)``, ``losses (2h,)``, ``finite (2h,)`` at ``sigma``) and
        the probe's ``probe (2,)``, ``probe_finite (2,)``; True when sigma should jump."""
        e, self.direction = self.direction, None
        small = pair_slopes(E, losses, finite, sigma)
        if e is None or small.size == 0 or not probe_finite.all():
            return False
        large = float(pair_slopes(e[None], probe, probe_finite, self.box_sigma)[0])
        w = 1.0 if self.count == 0 else BETA
        self.small += w * (float(small.mean()) - self.small)
        self.large += w * (large - self.large)
        self.count += 1
        if self.count < WARMUP or self.large == 0:
            return False
        self.retired = self.small >= RETIRE * self.large  # active() is False from here on
        if self.small < RATIO * self.large:
            self.count = 0
            return True
        return False

    def jump(
        self, sigma: float, scale: SigmaScale, adam: torch.optim.Adam | None, buffer: SampleBuffer
    ) -> None:
        """Move ``scale`` (lr follows) from ``sigma`` to the box's sigma; carry ``adam``'s
        moments into the new units (None: the surrogate's gradient does not scale with sigma)
        and empty the surrogate's ``buffer``: its samples, all within a tenth of the new sigma
        of theta, would outweigh the new ones under the locality weights and teach the plane
        the roughness at the old radius (measured, HalfCheetah at d = 6000, sigma x0.1, seeds
        0 / 1: -0.33 / -0.31 kept, -0.53 / -0.58 emptied; NOTES session 17)."""
        factor = self.box_sigma / sigma
        scale.grow(float(np.log(factor)))
        if adam is not None:
            rescale_adam(adam, factor)
        buffer.clear()

    def outgrown(self, sigma: float, lr: float, step: StepLength) -> bool:
        """True when the step length has grown ``lr`` to ``sigma`` (``TRUST_RATIO``) while
        ``sigma`` is below ``ACTIVE_SHARE`` of the box's: sigma should :meth:`jump`, and
        ``step``'s factor is divided by the jump so that lr stays where it is (module
        docstring)."""
        if not self.far_below(sigma) or lr < TRUST_RATIO * sigma:
            return False
        step.limit(step.value * sigma / self.box_sigma)
        return True

    def follow(
        self, before: float, base_sigma: float, scale: SigmaScale,
        adam: torch.optim.Adam | None, buffer: SampleBuffer,
    ) -> None:  # fmt: skip
        """A restart's trial from ``before`` (below ``ACTIVE_SHARE`` of the box's sigma) found
        a new best and keeps its wider sigma: lr's part of ``scale`` follows it, up to the box's
        sigma over ``base_sigma``; ``adam``'s moments go into the plane's new units and the
        ``buffer`` forgets the samples at the old radius, as in :meth:`jump`."""
        if not self.far_below(before):
            return
        top = min(scale.log_scale, math.log(self.box_sigma / base_sigma))
        scale.log_flat = max(scale.log_flat, top)
        if adam is not None:
            rescale_adam(adam, base_sigma * scale.value / before)
        buffer.clear()

    def state_dict(self) -> dict[str, Any]:
        e = None if self.direction is None else self.direction.copy()
        return {
            "small": self.small, "large": self.large, "count": self.count,
            "retired": self.retired, "direction": e, "rng": self.rng.bit_generator.state,
        }  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.small, self.large = float(state["small"]), float(state["large"])
        self.count, self.retired = int(state["count"]), bool(state["retired"])
        self.rng.bit_generator.state = state["rng"]
        e = state["direction"]
        self.direction = None if e is None else np.asarray(e, dtype=np.float64)


def rescale_adam(opt: torch.optim.Adam, factor: float) -> None:
    """Carry Adam's moments into units ``factor`` times smaller: the plane's slope scales as
    ``1 / sigma``, so after sigma grows ``factor``-fold its gradients are ``factor`` times
    smaller, and a second moment left as it was (it remembers ~1000 steps) would shorten every
    step about ``factor``-fold (measured: HalfCheetah at d = 6000, sigma grown from 0.01 to 0.1
    in the first 500 episodes, ended at -0.02 with the moments left as they were and at -0.42
    with the gradients fed in the new units; NOTES session 17)."""
    for state in opt.state.values():
        if "exp_avg" in state:
            state["exp_avg"].div_(factor)
            state["exp_avg_sq"].div_(factor * factor)
