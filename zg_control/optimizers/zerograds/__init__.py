"""ZeroGrads (Fischer & Ritschel, SIGGRAPH 2024): the method (:mod:`.core`), its options
(:mod:`.config`) and its surrogates (:mod:`.surrogates`: the protocol and its shared parts;
:mod:`.mlp`, :mod:`.ridge`)."""

from .config import ZeroGradsConfig
from .core import ZeroGrads

__all__ = ["ZeroGrads", "ZeroGradsConfig"]
