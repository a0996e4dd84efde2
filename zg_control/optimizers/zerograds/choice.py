"""Which surrogate a ZeroGrads run fits: the paper's MLP while the buffer can pin it down, else
a plane in closed form (why: experiments/NOTES.md, the ridge surrogate)."""

from __future__ import annotations

import torch

from .config import ZeroGradsConfig
from .mlp import MLPSurrogate
from .ridge import RidgeSurrogate
from .surrogates import Surrogate


def make_surrogate(
    config: ZeroGradsConfig, dim: int, generator: torch.Generator, device: torch.device
) -> Surrogate:
    """The surrogate ``config.surrogate`` names for ``dim`` parameters; "auto": the MLP while
    ``dim <= buffer_size``, else the ridge plane. ``generator`` seeds the MLP's weights, drawn
    on the CPU and moved to ``device``."""
    c = config
    kind = c.surrogate
    if kind == "auto":
        kind = "mlp" if dim <= c.buffer_size else "ridge"
    if kind == "ridge":
        return RidgeSurrogate(dim, buffer_size=c.buffer_size, locality=c.locality, ridge=c.ridge)
    return MLPSurrogate(
        dim,
        width=c.width,
        depth=c.depth,
        lr=c.lr_phi,
        buffer_size=c.buffer_size,
        locality=c.locality,
        generator=generator,
        device=device,
    )
