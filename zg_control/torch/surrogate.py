"""The conditional surrogate ``h(y, context)`` of :class:`~zg_control.torch.BlackBox`.

One network serves every row: its input is a row ``y`` next to that row's context
(``x = [y, context]``, shape ``(dim + context_dim,)``), so what it learns about one target
carries over to the others (Fischer & Ritschel 2024, Sec. 3.2, with a second input). It is
the network of :class:`~zg_control.optimizers.zerograds.mlp.SurrogateNet` (a linear skip plus
an MLP) on normalised inputs ``z = (x - mean) / std`` (per column, over the buffer, refreshed
at every fit; columns that never vary keep ``std = 1``), fitted to standardised losses
(:class:`~zg_control.optimizers.zerograds.surrogates.Standardisation`) by Adam on minibatches
of a ring buffer (:class:`~zg_control.optimizers.zerograds.surrogates.SampleBuffer`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..optimizers.zerograds.mlp import SurrogateNet
from ..optimizers.zerograds.surrogates import SampleBuffer, Standardisation
from .config import BlackBoxConfig


class ContextSurrogate:
    """``h(y, context)``: buffer, network, its Adam and the input and target normalisation.

    Args:
        dim, context_dim: widths of ``y`` and of the context (0: none).
        config: the sampling and surrogate options.
        generator: seeded CPU ``torch.Generator`` (weight initialisation, minibatches).
        device: torch device of the network and the buffer.
    """

    def __init__(
        self,
        dim: int,
        context_dim: int,
        config: BlackBoxConfig,
        generator: torch.Generator,
        device: torch.device,
    ) -> None:
        width = dim + context_dim
        self.config, self.generator, self.device = config, generator, device
        self.buffer = SampleBuffer(config.buffer_size, width, device)
        # initialised on the CPU (the generator's device): the same weights on every device
        cpu = torch.device("cpu")
        self.net = SurrogateNet(width, config.width, config.depth, generator, cpu).to(device)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=config.lr_phi)
        self.targets = Standardisation()
        self.mean = torch.zeros(width, device=device)
        self.std = torch.ones(width, device=device)

    def add(self, X: np.ndarray, losses: np.ndarray) -> np.ndarray:
        """Append rows ``X = [y, context]`` (shape ``(n, dim + context_dim)``) with their
        finite ``losses (n,)`` as one batch. Returns the buffer rows written."""
        return self.buffer.add(X, losses)

    def _weights(self) -> torch.Tensor:
        """Recency weights of the buffer's rows (:attr:`BlackBoxConfig.locality`). ``(m,)``."""
        b = self.buffer
        age = torch.as_tensor(b.n_adds - b.batch[: b.size], dtype=torch.float32)
        if self.config.locality > 0:
            return torch.exp(-age / self.config.locality).to(self.device)
        return torch.ones(b.size, device=self.device)

    def _minibatch(self, fresh: np.ndarray) -> torch.Tensor:
        """Rows of one surrogate step: ``fresh`` (a random subset when there are more than
        ``fit_batch``), then rows drawn without replacement from the rest. ``(<= fit_batch,)``."""
        m, k = self.buffer.size, self.config.fit_batch
        if m <= k:
            return torch.arange(m)
        fresh_t = torch.as_tensor(fresh, dtype=torch.int64)
        if len(fresh_t) >= k:
            return fresh_t[torch.randperm(len(fresh_t), generator=self.generator)[:k]]
        rest = torch.ones(m, dtype=torch.bool)
        rest[fresh_t] = False
        others = torch.nonzero(rest).squeeze(1)
        pick = torch.randperm(len(others), generator=self.generator)[: k - len(fresh_t)]
        return torch.cat([fresh_t, others[pick]])

    def fit(self, fresh: np.ndarray) -> float:
        """Refresh the normalisation and take ``k_phi`` Adam steps on the buffer; ``fresh``
        are the buffer rows of the newest forward. Returns the last step's weighted error as
        a fraction of the target variance (``1 - R^2`` on that minibatch)."""
        m = self.buffer.size
        X = self.buffer.X[:m]
        self.mean = X.mean(0)
        std = X.std(0, correction=0)
        self.std = torch.where(std > 1e-6, std, torch.ones_like(std))
        w = self._weights()
        y = torch.as_tensor(self.buffer.y[:m]).to(self.device)
        t = self.targets.fit(y, w / w.sum()).float()
        z = (X - self.mean) / self.std
        err = float("nan")
        for _ in range(self.config.k_phi):
            rows = self._minibatch(fresh).to(self.device)
            wr = w[rows] / w[rows].sum()
            self.opt.zero_grad(set_to_none=True)
            loss = (wr * (self.net(z[rows]) - t[rows]).square()).sum()
            loss.backward()
            self.opt.step()
            err = float(loss.detach())
        return err

    def gradient(self, X: torch.Tensor) -> torch.Tensor:
        """The surrogate's gradient at rows ``X (B, dim + context_dim)`` (float32 on the
        device) with respect to ``X``, in loss units per input unit. Shape ``(B, D)``."""
        with torch.enable_grad():
            z = ((X - self.mean) / self.std).requires_grad_(True)
            (gz,) = torch.autograd.grad(self.net(z).sum(), z)
        return gz / self.std * self.targets.std

    def state_dict(self) -> dict[str, Any]:
        """Network, Adam, buffer and normalisation as tensors and plain values (loadable with
        ``torch.load(weights_only=True)``)."""
        buf = self.buffer.state_dict()
        return {
            "net": {k: v.detach().cpu().clone() for k, v in self.net.state_dict().items()},
            "opt": _cpu_tree(self.opt.state_dict()),
            "buffer": {k: torch.as_tensor(v) for k, v in buf.items() if k != "counts"},
            "counts": list(buf["counts"]),
            "norm": [self.mean.cpu().clone(), self.std.cpu().clone()],
            "targets": [self.targets.mean, self.targets.std],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])
        self.buffer.load_state_dict({**state["buffer"], "counts": state["counts"]})
        self.mean, self.std = (v.to(self.device) for v in state["norm"])
        self.targets.mean, self.targets.std = (float(v) for v in state["targets"])


def _cpu_tree(obj: Any) -> Any:
    """A copy of a nested dict/list of tensors with every tensor cloned to the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().clone()
    if isinstance(obj, dict):
        return {k: _cpu_tree(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_cpu_tree(v) for v in obj)
    return obj
