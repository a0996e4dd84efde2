"""Adam whose step shrinks where the gradient looks like noise (a theta optimizer of ZeroGrads).

Adam steps every coordinate by ``lr * u`` with ``u = m_hat / sqrt(v_hat)`` in ``[-1, 1]``: about
+-1 where the gradient keeps its sign, about +-0.23 (``sqrt((1 - beta1) / (1 + beta1))`` at
beta1 0.9) where it is pure noise. With far more parameters than samples most coordinates are of
the second kind, and Adam random-walks them by ~0.2 lr per step. This optimizer steps by
``lr * sign(u) * |u|^power`` (``power = 2``): a noise coordinate moves ~0.07 lr per step (tested),
a consistent one the full lr, so a larger lr can move the consistent coordinates further without
more drift on the rest. Moments and bias corrections are Adam's (with ``power = 1`` the steps
are ``torch.optim.Adam``'s up to ``eps``, tested).

On HalfCheetah open loop this is the best ZeroGrads has done (lr 0.02: d = 600 / 6000 / 12 000
-1.70 / -0.640 / -0.398 against CMA-ES's -1.58 / -0.606 / -0.323), but it costs Ant, and on the
staircase at d = 35 000 it makes no progress (the gate also mutes the weak true slope there); see
experiments/NOTES.md, "Session 8". Used with ``ZeroGrads(optimizer="snr_adam", lr=0.02)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch


class SNRAdam(torch.optim.Optimizer):
    """Adam with the step ``lr * sign(u) |u|^power``, ``u = m_hat / (sqrt(v_hat) + eps)``
    clipped to [-1, 1]. Parameters as ``torch.optim.Adam`` (no weight decay)."""

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        lr: float = 0.02,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-12,
        power: float = 2.0,
    ) -> None:
        if lr <= 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1) or eps < 0 or power <= 0:
            raise ValueError(
                f"SNRAdam: need lr > 0, betas in [0, 1), eps >= 0, power > 0; got lr={lr}, "
                f"betas={betas}, eps={eps}, power={power}"
            )
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "power": power})

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = None if closure is None else closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros((), dtype=torch.float64)
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = float(state["step"])
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(p.grad, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                u = (m / (1 - beta1**t)) / ((v / (1 - beta2**t)).sqrt() + group["eps"])
                p.sub_(group["lr"] * u.sign() * u.abs().clamp(max=1.0) ** group["power"])
        return loss
