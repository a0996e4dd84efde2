"""ZeroGrads as a torch gradient: a batched black box inside a differentiable pipeline.

::

    from zg_control.torch import BlackBox
    bb = BlackBox(fn, dim, context_dim=0, seed=0, **options)  # options: BlackBoxConfig
    loss = bb(y)              # y: (B, dim) -> (B,): fn's losses at y
    loss = bb(y, context)     # context: (B, context_dim); the surrogate is h(y, context)
    loss.mean().backward()    # y.grad: the surrogate's gradient at each row
    bb.n_evals                # rows fn has evaluated

``fn(Y (n, dim), C (n, context_dim) | None) -> (n,)`` is batched numpy. This subpackage is
named ``torch``; its modules import the real PyTorch with absolute imports (``import torch``).
"""

from __future__ import annotations

from .blackbox import BlackBox
from .config import BlackBoxConfig

__all__ = ["BlackBox", "BlackBoxConfig"]
