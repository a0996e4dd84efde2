"""The adapter every peer method shares: a library's optimizer behind the ask/tell contract of
:class:`~zg_control.optimizers.base.Optimizer`, imported only when a peer is built."""

from __future__ import annotations

import importlib
import types
from abc import abstractmethod
from typing import Any, ClassVar

import numpy as np

from ..base import Optimizer

INSTALL_HINT = "pip install zg_control[peers]"


class MissingPeerLibrary(ImportError):
    """A peer method's library is not installed (the message names it and the install)."""


def missing_message(method: str, library: str) -> str:
    return f"peer method {method!r} needs {library}: {INSTALL_HINT}"


def require(method: str, library: str) -> types.ModuleType:
    """Import ``library`` for peer ``method``; :class:`MissingPeerLibrary` if it is missing."""
    try:
        return importlib.import_module(library)
    except ImportError as err:
        raise MissingPeerLibrary(missing_message(method, library)) from err


class PeerOptimizer(Optimizer):
    """A library's optimizer behind the contract: ``_draw`` asks it for a batch, ``_update``
    tells it the losses of exactly that batch."""

    name: ClassVar[str]
    library: ClassVar[str]

    def __init__(self, x0, config=None, seed=0, bounds=None) -> None:
        super().__init__(x0, config, seed, bounds)
        self.lib = require(self.name, self.library)
        self._pending: np.ndarray | None = None

    @abstractmethod
    def _draw(self) -> np.ndarray:
        """Ask the library for its next batch. Shape ``(n, d)``."""

    @abstractmethod
    def _update(self, X: np.ndarray, losses: np.ndarray) -> None:
        """Tell the library ``losses (n,)`` of its batch ``X (n, d)``."""

    def _ask(self) -> np.ndarray:
        if self._pending is None:
            self._pending = self._draw()
        return self._pending

    def _tell(self, X: np.ndarray, losses: np.ndarray) -> None:
        self._pending = None  # the base class checked that X is that batch, in ask order
        self._update(X, losses)

    def state_dict(self) -> dict[str, Any]:
        raise ValueError(
            f"{self.name} cannot be checkpointed: {self.library} exports no state that resumes "
            "bit-identically; run it without checkpoints"
        )

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.state_dict()


def check_batch(batch: int | None, minimum: int = 2) -> None:
    if batch is not None and batch < minimum:
        raise ValueError(f"batch_size must be >= {minimum} or None, got {batch}")
