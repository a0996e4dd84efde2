"""The libraries a user would pick instead, as optional comparison methods (extra ``[peers]``).

Each peer drives its library through the library's own public ask/tell behind the contract of
:class:`~zg_control.optimizers.base.Optimizer`, so ``zg.minimize`` and the comparison runner run
it like any method: every row it asks is evaluated and charged, ``recommendation`` is the point
the library recommends, ``best_x`` the best episode seen. :data:`PEERS` names them:

- ``cmaes-sepcma``: ``SepCMA.ask()`` once per row of a population (``4 + floor(3 ln d)``),
  ``tell([(x, loss), ...])``; ``sigma`` is its initial step; bounds its own; recommends its mean.
- ``nevergrad-ngopt``: ``NGOpt.ask()`` ``num_workers`` times (default 1), ``tell(candidate, loss)``
  in ask order; ``sigma`` is the mutation scale of ``ng.p.Array(init=x0)``, bounds by
  ``set_bounds``, ``budget`` the run's (NGOpt picks its algorithm by it); recommends
  ``recommend()``.
- ``evotorch-pgpe``, ``evotorch-snes``: ``searcher.step()`` and ``population.set_evals`` (EvoTorch
  has no ask/tell methods, see :mod:`.evotorch_es`); ``sigma`` is ``stdev_init``; recommends
  the center.

The adapter is :mod:`.adapter`, SepCMA and NGOpt :mod:`.libraries`. Randomness
comes from each library's own seeded generator (cmaes: ``seed``; nevergrad: the parametrization's
``random_state``; EvoTorch: the problem's ``torch.Generator``); no global RNG is seeded. ``ask``
returns the same rows until they are told (the base class hands them back in ask order), so a
library is never asked twice without a tell. The libraries export no state that resumes
bit-identically, so peers refuse ``state_dict``.

NGOpt and batches: with ``num_workers = n > 1`` (``ask`` n times, then tell them, as nevergrad's
docs describe batches) NGOpt picks, for a bounded problem of d >= 300, a diagonal elitist CMA
("CMAbounded") with pycma's two-point step-size adaptation (TPA) and a population of
``max(n + 1, 4 + ln d)``, not a multiple of n; the batches drift out of step with pycma's
generations and ``ask`` raises "Mean shift samples are expected but missing" (nevergrad issue
#1690; at d = 300 with n = 2 after 44 evaluations). The default is therefore ``num_workers=1``,
the sequential use every nevergrad optimizer supports (one row per ask, told before the next).
"""

from __future__ import annotations

import importlib.util

from ..base import Optimizer, OptimizerConfig
from .adapter import INSTALL_HINT, MissingPeerLibrary, PeerOptimizer, missing_message
from .evotorch_es import PGPE, SNES, PGPEConfig, SNESConfig
from .libraries import NGOpt, NGOptConfig, SepCMA, SepCMAConfig

PEERS: dict[str, tuple[type[Optimizer], type[OptimizerConfig]]] = {
    "evotorch-pgpe": (PGPE, PGPEConfig),
    "evotorch-snes": (SNES, SNESConfig),
    "nevergrad-ngopt": (NGOpt, NGOptConfig),
    "cmaes-sepcma": (SepCMA, SepCMAConfig),
}


def missing_peer(name: str) -> str | None:
    """The message for peer ``name`` if its library is not installed, else ``None`` (checked
    without importing it)."""
    library = PEERS[name][0].library  # type: ignore[attr-defined]
    try:
        found = importlib.util.find_spec(library) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module set to None
        found = False
    return None if found else missing_message(name, library)


__all__ = [
    "INSTALL_HINT",
    "PEERS",
    "PGPE",
    "SNES",
    "MissingPeerLibrary",
    "NGOpt",
    "NGOptConfig",
    "PGPEConfig",
    "PeerOptimizer",
    "SNESConfig",
    "SepCMA",
    "SepCMAConfig",
    "missing_peer",
]
