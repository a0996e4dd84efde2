"""A tentative sigma restart when the best sample stalls (the ridge plane, d > 64).

Up to d = 300 the success rule (:mod:`.step`) shrinks sigma wherever theta beats the samples
around it. At a good point that is right (Keyframe's poses are met within a tolerance and need a
small sigma); at a poor local minimum it is a trap: theta beats every sample at every scale the
rule still tries, sigma keeps shrinking (dm-control's hopper at sigma x0.1: 0.01 -> 0.0007), the
plane sees nothing, and the run spends the rest of its budget where it is. Above d = 300 no rule
shrinks sigma, but one given too small for the problem stays too small (dm-control's walker
policy, d = 806, reaches -3.84 at sigma x10 against -3.06 at the default). IPOP-CMA-ES restarts
such a run at a larger step size (Auger and Hansen 2005, "A restart CMA evolution strategy with
increasing population size"); here the restart is tentative, so that a refinement that was going
well is not thrown away:

- after ``PATIENCE`` batches in a row without a new best sample (any row of the batch, theta's
  own included), sigma's factor becomes ``max(GAIN x itself, least)`` for ``TRIAL`` batches,
  theta and the surrogate unchanged: at least the sigma given and, with bounds, the box's own
  sigma (a twentieth of its width; measured: at sigma x0.1 trials at the sigma given freed
  dm-control's walker on 2 of 5 seeds, at the box's sigma on all 5), up to the factor's cap;
- if those batches find a new best, the larger sigma stays (up to d = 300 the success rule takes
  it from there); if not, the factor returns to where it was before the trial and the patience
  doubles (as IPOP-CMA-ES doubles its population at each restart): a run whose trials keep
  finding nothing is refining, and is interrupted ever more rarely, so trials take a share of
  the budget that shrinks with it (measured: a fixed patience of 10 cost Keyframe's median
  0.533 -> 0.667, its trials every 13 batches unsettling theta's refinement; the doubling keeps
  0.533). The next trial also goes ``GAIN`` times wider than the failed one, up to the cap,
  until a trial is kept: the trials search the scale geometrically, as the restarts of IPOP-CMA-ES
  grow its population. Without it a sigma given x0.1 retried the box's sigma (4 x its own is
  less) at every trial and never reached the scale the default's second trial finds
  (dm-control's walker per step, d = 600, outside the development set: 0.295, where x0 scores
  0.378, against -1.88 with the widening; experiments/NOTES.md session 23). Only above d = 300
  and with bounds: without a box nothing ends the search (trials 4x wider each time scattered
  dm-control's walker policy, -3.50 -> -3.19), and up to d = 300 lr follows a kept trial's
  sigma beyond the box's (:mod:`.step`), so a kept wide trial unsettled Keyframe's refinement
  of its poses (a seed of 5 0.533 -> 0.867) while the dm-control walker's and hopper's
  defaults gained a little (-2.53 -> -2.60, -1.87 the same).
- above d = 300 a failed trial also takes back half of what the step length (:mod:`.step`)
  added to lr, never below lr's base (:meth:`.step.StepLength.take_back`). The step length grows
  lr while theta travels, and above d = 300 nothing brings it back (no success rule shrinks
  sigma or caps lr there): at the end, Adam moves every coordinate by about lr on a plane that is
  mostly noise, and theta random-walks around the optimum with a spread that grows with lr (the
  d = 1000 staircase: lr 0.07-0.09 and its coordinates spread from -0.04 to 1.89 around the
  target 1; a fixed lr of 0.03 ends at 0.2, the step length at 0.5). A failed trial is the
  run's own sign that the travel has ended: no new best at sigma, nor at 4 sigma. Where
  IPOP-CMA-ES doubles its population, halving lr does the same to the noise left in theta
  (it scales with lr over the batch). Not while a sigma given above the box's scale still
  anneals to it (:class:`.step.Anneal`): there trials fail because sigma is too wide, not
  because the travel has ended (measured: the dm-control cheetah per step at sigma x10, -6.92
  -> -6.11 with the take-back during the anneal). Measured (5 seeds): the staircase 0.498 ->
  0.367, and at sigma x0.1 and x10 too; experiments/NOTES.md session 21.

Only the ridge plane (d > 64) restarts. The MLP (d <= 64) is left alone (measured: on the d = 20
sphere with sigma given x10 the trials interrupted a convergence still under way, 0.012 ->
0.081). Measured: experiments/NOTES.md session 19.
"""

from __future__ import annotations

import math
from typing import Any

from .step import Anneal, SigmaScale, StepLength

PATIENCE = 10  # batches without a new best sample before the first trial
TRIAL = 3  # batches a trial lasts unless it finds a new best
GAIN = 4.0  # a trial's factor on sigma (at least the sigma given, and the box's sigma)


class Restart:
    """The tentative restart's state (module docstring): the best loss seen, the batches
    since it last fell, the patience, and the trial under way (its batches left and the factor
    to return to).

    Args:
        least: the box's sigma over the sigma given; a trial's factor is at least it and 1.
        anneal: the anneal of a sigma given above the box's scale (:class:`.step.Anneal`), if
            any: a failed trial takes lr's growth back only if sigma's factor was at its floor.
        step: the step length whose growth of lr a failed trial takes back (above d = 300;
            module docstring), if any.
        widen: a failed trial widens the next (module docstring; above d = 300 with bounds).
    """

    def __init__(
        self, least: float = 1.0, anneal: Anneal | None = None, step: StepLength | None = None,
        widen: bool = True,
    ) -> None:  # fmt: skip
        self.least, self.widen = least, widen
        self.step = step
        settled = math.inf if anneal is None else anneal.floor
        self.log_settled = math.log(settled) + 1e-12
        self.best = math.inf
        self.stalled = 0
        self.trial_left = 0
        self.saved = 0.0  # log of the factor a failed trial returns to
        self.count = 0  # trials started
        self.patience = PATIENCE
        self.log_failed = -math.inf  # the latest trial's factor while trials fail (-inf: none)

    def update(self, best_loss: float, scale: SigmaScale) -> bool:
        """Judge one batch by the optimizer's ``best_loss`` so far; moves ``scale`` (its
        ``log_scale``) when a trial starts or fails, and a failed trial takes back half of the
        step length's growth of lr (module docstring). True when a trial found a new best."""
        if best_loss < self.best:  # a new best: a trial under way keeps its sigma
            kept = self.trial_left > 0
            self.log_failed = -math.inf if kept else self.log_failed
            self.best, self.stalled, self.trial_left = best_loss, 0, 0
            return kept
        if self.trial_left > 0:
            self.trial_left -= 1
            if self.trial_left == 0:  # the larger sigma found nothing: back, and wait longer
                scale.log_scale = self.saved
                self.patience *= 2
                if self.step is not None and self.saved <= self.log_settled:
                    self.step.take_back()
            return False
        self.stalled += 1
        if self.stalled >= self.patience:
            self.saved = scale.log_scale
            scale.widen(GAIN, max(self.least, GAIN * math.exp(self.log_failed)))
            self.log_failed = scale.log_scale if self.widen else -math.inf  # if it fails
            self.stalled, self.trial_left, self.count = 0, TRIAL, self.count + 1
        return False

    def steady(self, factor: float) -> float:
        """Sigma's ``factor`` outside a trial: during one, the factor it returns to if it
        fails."""
        return math.exp(self.saved) if self.trial_left > 0 else factor

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "stalled": self.stalled,
            "trial_left": self.trial_left,
            "saved": self.saved,
            "count": self.count,
            "patience": self.patience,
            "log_failed": self.log_failed,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = float(state["best"])
        self.stalled = int(state["stalled"])
        self.trial_left = int(state["trial_left"])
        self.saved = float(state["saved"])
        self.count = int(state["count"])
        self.patience = int(state["patience"])
        self.log_failed = float(state.get("log_failed", -math.inf))  # older checkpoints: none
