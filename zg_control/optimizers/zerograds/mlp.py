"""The paper's surrogate: an MLP fitted online by Adam (Fischer & Ritschel 2024, Sec. 3.2).

The network is ``h(z) = b + w.z + MLP(z)`` on the normalised inputs ``z = (x - centre) /
scale`` (centre = theta, scale = sigma): a linear skip (the first-order term, which does not
change when the centre moves) plus an MLP with LeakyReLU activations; ``depth = 0`` leaves the
linear term alone. It fits the raw losses (standardised over the buffer, so values of different
batches stay comparable), with ``steps`` full-batch Adam steps per call of ``fit`` on a torch
device.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from .._torch_state import optimizer_state_from_numpy, optimizer_state_to_numpy
from .surrogates import Surrogate, locality_weights


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA when present, else CPU; anything else is passed to torch."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"unknown torch device {device!r}; use 'auto', 'cpu' or 'cuda'") from err


class SurrogateNet(nn.Module):
    """``h(z) = b + w.z + MLP(z)``, ``depth`` hidden layers of ``width``. Shape ``(n, d) -> (n,)``.

    Weights follow PyTorch's default initialisation, drawn from ``generator``; the linear term
    starts at zero and the MLP's output layer at a tenth of its scale, so the first fit defines
    the function.
    """

    def __init__(
        self, dim: int, width: int, depth: int, generator: torch.Generator, device: torch.device
    ) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, 1, device="meta")
        layers: list[nn.Module] = []
        for i in range(depth):
            layers += [nn.Linear(dim if i == 0 else width, width, device="meta"), nn.LeakyReLU()]
        if depth > 0:
            layers += [nn.Linear(width, 1, device="meta")]
        self.mlp = nn.Sequential(*layers)
        # drawn on the CPU, where the seeded generator lives (a CUDA tensor cannot take a CPU
        # generator), then moved: the same weights on every device
        self.to_empty(device="cpu")
        for layer in [self.linear, *self.mlp]:
            if isinstance(layer, nn.Linear):
                bound = 1.0 / math.sqrt(layer.in_features)
                nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
        with torch.no_grad():
            self.linear.weight.zero_()
            self.linear.bias.zero_()
            if depth > 0:
                self.mlp[-1].weight.mul_(0.1)
        self.to(device)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.linear(z)
        if len(self.mlp):
            out = out + self.mlp(z)
        return out.squeeze(1)


class MLPSurrogate(Surrogate):
    """The MLP surrogate; see the module docstring.

    Args:
        dim: number of parameters ``d``.
        width, depth: the MLP (``depth`` hidden layers of ``width``).
        lr: Adam's learning rate on the network's weights ``phi``.
        buffer_size, locality: as in :class:`~.surrogates.Surrogate`.
        generator: seeded ``torch.Generator`` (CPU) for the weight initialisation.
        device: torch device of the network and the buffer.
    """

    shaping = "none"

    def __init__(
        self,
        dim: int,
        *,
        width: int = 64,
        depth: int = 3,
        lr: float = 1e-2,
        buffer_size: int = 64,
        locality: float = 1.0,
        generator: torch.Generator,
        device: torch.device,
    ) -> None:
        super().__init__(dim, buffer_size, locality, device)
        self.device = device
        self.net = SurrogateNet(dim, width, depth, generator, device)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=lr, fused=True)
        self.centre = torch.zeros(dim, dtype=torch.float32, device=device)
        self.scale = 1.0

    def _z(self, X: np.ndarray) -> torch.Tensor:
        """Normalised inputs of ``X (n, d)``. Shape ``(n, d)``, float32 on the device."""
        xt = torch.as_tensor(X, dtype=torch.float32).to(self.device)
        return (xt - self.centre) / self.scale

    def fit(self, centre: np.ndarray, scale: float, steps: int) -> float:
        """Take ``steps`` full-batch Adam steps on ``phi``; see :meth:`Surrogate.fit`. The error
        returned is the one before the last step."""
        self.centre = torch.as_tensor(centre, dtype=torch.float32).to(self.device)
        self.scale = float(scale)
        m = self.buffer.size
        z = (self.buffer.X[:m] - self.centre) / self.scale
        w = locality_weights(z.square().sum(1) / self.dim, self.locality)
        t = self.targets.fit(torch.as_tensor(self.buffer.y[:m]).to(self.device), w).float()
        err = float("nan")
        for _ in range(steps):
            self.opt.zero_grad(set_to_none=True)
            loss = (w * (self.net(z) - t).square()).sum()
            loss.backward()
            self.opt.step()
            err = float(loss.detach())
        return err

    @torch.no_grad()
    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.targets.value(self.net(self._z(X)).double().cpu().numpy())

    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        z = self._z(x).unsqueeze(0).requires_grad_(True)
        h = self.net(z).sum()
        (gz,) = torch.autograd.grad(h, z)
        value = self.targets.value(float(h.detach()))
        return value, self.targets.grad(gz[0].double().cpu().numpy(), self.scale)

    def _state(self) -> dict[str, Any]:
        """Network and optimiser (numpy arrays, no pickled code), centre and scale."""
        return {
            "net": {k: v.detach().cpu().numpy().copy() for k, v in self.net.state_dict().items()},
            "opt": optimizer_state_to_numpy(self.opt.state_dict()),
            "centre": self.centre.cpu().numpy().copy(),
            "scale": self.scale,
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict({k: torch.as_tensor(v) for k, v in state["net"].items()})
        self.opt.load_state_dict(optimizer_state_from_numpy(state["opt"]))
        self.centre = torch.as_tensor(state["centre"], dtype=torch.float32).to(self.device)
        self.scale = float(state["scale"])
