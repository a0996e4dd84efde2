"""One network, many animation targets: amortized control through MuJoCo with ``BlackBox``.

    python experiments/amortized.py            # ~10 min on 2 cores
    python experiments/amortized.py --quick    # tiny budgets (tests)

Task: ``zg_control/Keyframe-v0`` (a three-link arm passes three key poses on time; a staircase
loss with zero gradient almost everywhere) with cubic-spline controls, ``--knots`` knots per
actuator (d = 3 knots). The context is the key poses themselves (the env option ``key_poses``,
3 x 3 = 9 angles): the default poses plus ``U(-spread, spread)`` per angle.

- ``network``: one MLP ``context -> knots`` (tanh into the control box). It starts from the
  answer of a ZeroGrads run of ``--warm`` episodes on the default poses (its output layer's
  bias; the loss is flat at zero torques for every context), then trains with torch Adam
  (cosine-decayed learning rate) through :class:`zg_control.torch.BlackBox` (the context as the
  surrogate's second input), ``--batch`` fresh training contexts per step, until its episodes,
  the warm start's included, reach the total of the per-context runs. It answers a held-out
  context with no episode at all.
- ``cmaes``, ``zerograds``: ``zg.minimize`` per held-out context with its defaults and
  ``--budget`` episodes each (the total: ``--heldout`` x ``--budget``).

Scored on ``--heldout`` held-out contexts (one episode of the network's answer; each run's
``res.loss``): median loss and the success rate (at least two of the three poses met, loss
below 2/3). Writes ``--out_dir`` (default ``experiments/results/amortized``): ``summary.md``,
``curve.png`` (the network's held-out median vs training episodes, the per-context medians as
lines), ``strip.png`` (the network's motion for four held-out contexts, their poses drawn) and
``history.csv``.
"""

from __future__ import annotations

import csv
import dataclasses
import time
from pathlib import Path

import matplotlib
import numpy as np
import torch
from _common import RESULTS, arg, cli, command_line, parse_args
from torch import nn

import zg_control as zg
from zg_control.envs.keyframe import KEY_POSES
from zg_control.sim.backends.native import NativeBackend
from zg_control.sim.task import Trajectory
from zg_control.torch import BlackBox

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ENV = "zg_control/Keyframe-v0"
SUCCESS = 2.0 / 3.0  # loss below: at least two of the three key poses met
BASELINES = ("cmaes", "zerograds")


@dataclasses.dataclass
class Args:
    heldout: int = arg(20, "held-out contexts")
    budget: int = arg(2000, "episodes per held-out context of the per-context runs")
    knots: int = arg(25, "spline knots per actuator")
    spread: float = arg(0.4, "half-width of the uniform offsets of the key poses, rad")
    batch: int = arg(16, "training contexts per network step")
    n_samples: int = arg(6, "BlackBox samples around each row (even)")
    sigma: float = arg(0.1, "BlackBox sigma, in knot units (the control box is [-1, 1])")
    lr: float = arg(3e-3, "Adam's learning rate on the network")
    hidden: int = arg(128, "hidden units of the network's two layers")
    warm: int = arg(4000, "episodes of the warm start (ZeroGrads on the default poses)")
    evals: int = arg(10, "held-out evaluations along the network's training")
    baselines: tuple[str, ...] = arg(BASELINES, "per-context methods")
    seed: int = arg(0, "seed of the contexts, the network and the runs")
    out_dir: str | None = arg(None, "results folder (default experiments/results/amortized)")
    quick: bool = arg(False, "tiny budgets (tests)")


def objective(knots: int, context: np.ndarray | None = None):
    """Keyframe-v0 with ``knots`` spline knots per actuator, its key poses the ``context (9,)``
    (default: the env's)."""
    poses = None if context is None else np.reshape(context, (3, 3))
    return zg.make_objective(ENV, parameterization="spline", n_knots=knots, key_poses=poses)


class Episodes:
    """``fn(Y (n, d), C (n, 9)) -> (n,)``: the episodes of all rows in one native call, each
    scored against its own key poses (the rows of one context together). ``episodes`` counts
    every row simulated (training and held-out scoring)."""

    def __init__(self, knots: int) -> None:
        self.objective = objective(knots)
        self.task = self.objective.task  # its key_poses are set per context while scoring
        self.backend = NativeBackend(self.task)
        self.episodes = 0

    def __call__(self, Y: np.ndarray, C: np.ndarray) -> np.ndarray:
        traj = self.backend.run(np.clip(Y, -1.0, 1.0), self.objective.parameterization)
        self.episodes += len(Y)
        contexts, group = np.unique(C, axis=0, return_inverse=True)
        losses = np.empty(len(Y))
        for g, c in enumerate(contexts):
            rows = np.flatnonzero(group == g)
            self.task.key_poses = c.reshape(3, 3)
            losses[rows] = self.task.loss(_take(traj, rows))
        return losses

    def close(self) -> None:
        self.backend.close()
        self.objective.close()


def _take(traj: Trajectory, rows: np.ndarray) -> Trajectory:
    """The episodes ``rows`` of ``traj``."""
    return dataclasses.replace(
        traj, qpos=traj.qpos[rows], qvel=traj.qvel[rows], ctrl=traj.ctrl[rows],
        sensordata=traj.sensordata[rows], diverged=traj.diverged[rows],
    )  # fmt: skip


def contexts(n: int, spread: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` key-pose contexts: the default poses plus ``U(-spread, spread)``. Shape ``(n, 9)``."""
    return KEY_POSES.reshape(1, 9) + rng.uniform(-spread, spread, (n, 9))


class Network(nn.Module):
    """``context (B, 9) -> knots (B, d)`` in ``(-1, 1)``; the context centred and scaled."""

    def __init__(self, dim: int, hidden: int, spread: float) -> None:
        super().__init__()
        self.register_buffer("centre", torch.tensor(KEY_POSES.reshape(9), dtype=torch.float32))
        self.spread = spread
        self.body = nn.Sequential(
            nn.Linear(9, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
            nn.Linear(hidden, dim),
        )  # fmt: skip

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.body((c - self.centre) / self.spread))


def warm_start(args: Args) -> np.ndarray:
    """ZeroGrads' answer for the default poses after ``args.warm`` episodes. Shape ``(d,)``."""
    obj = objective(args.knots)
    try:
        return zg.minimize(obj, obj.x0, "zerograds", args.warm, args.seed, bounds=obj.bounds).x
    finally:
        obj.close()


def train_network(args: Args, fn: Episodes, heldout: np.ndarray, dim: int, total: int):
    """Warm-start the network, then train it until ``total`` episodes in all; returns it and
    its history (``episodes`` counts the warm start's)."""
    torch.manual_seed(args.seed)  # nn.Linear's initialisation draws from the global generator
    net = Network(dim, args.hidden, args.spread)
    if args.warm:
        with torch.no_grad():  # the output starts at the warm answer, nearly context-free
            net.body[-1].weight.mul_(0.1)
            net.body[-1].bias.copy_(
                torch.atanh(torch.tensor(np.clip(warm_start(args), -0.95, 0.95)))
            )
    bb = BlackBox(fn, dim, context_dim=9, seed=args.seed, sigma=args.sigma,
                  n_samples=args.n_samples, device="cpu")  # fmt: skip
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    per_step = args.batch * (1 + args.n_samples)
    steps = max(1, (total - args.warm) // per_step)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 0.5 * (1 + np.cos(np.pi * k / steps)))
    rng = np.random.default_rng(args.seed + 1)
    held = torch.tensor(heldout, dtype=torch.float32)
    marks = set(np.linspace(0, steps, args.evals + 1).round().astype(int).tolist())
    history, start = [], time.perf_counter()
    for step in range(steps):
        if step in marks:
            history.append(_evaluate(net, fn, held, heldout, args.warm + bb.n_evals, start))
        c = torch.tensor(contexts(args.batch, args.spread, rng), dtype=torch.float32)
        loss = bb(net(c), c).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    history.append(_evaluate(net, fn, held, heldout, args.warm + bb.n_evals, start))
    return net, history


def _evaluate(net, fn, held, heldout, n_evals, start) -> dict[str, float]:
    with torch.no_grad():
        knots = net(held).double().numpy()
    losses = fn(knots, heldout)
    return {"episodes": n_evals, "median": float(np.median(losses)),
            "success": float(np.mean(losses < SUCCESS)), "time": time.perf_counter() - start,
            "losses": losses}  # fmt: skip


def per_context(args: Args, heldout: np.ndarray, method: str) -> np.ndarray:
    """``res.loss`` of ``zg.minimize(method)`` on each held-out context. Shape ``(heldout,)``."""
    out = []
    for i, c in enumerate(heldout):
        obj = objective(args.knots, c)
        try:
            res = zg.minimize(obj, obj.x0, method, args.budget, args.seed + i, bounds=obj.bounds)
        finally:
            obj.close()
        out.append(res.loss)
    return np.array(out)


def write_strip(net: Network, heldout: np.ndarray, args: Args, out: Path) -> Path | None:
    """The network's motion for four held-out contexts, one strip per row, poses drawn."""
    import imageio.v2 as imageio

    from zg_control.sim.render import RenderUnavailable, render

    rows = []
    for i, c in enumerate(heldout[:4]):
        obj = objective(args.knots, c)
        with torch.no_grad():
            x = net(torch.tensor(c[None], dtype=torch.float32))[0].double().numpy()
        try:
            rows.append(imageio.imread(render(obj, x, out / f"context_{i}")["strip"]))
        except RenderUnavailable as err:
            print(f"no strip: {err}")
            return None
        finally:
            obj.close()
    path = out / "strip.png"
    imageio.imwrite(path, np.concatenate(rows, axis=0))
    return path


def plot(history: list[dict], baselines: dict[str, np.ndarray], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot([h["episodes"] for h in history], [h["median"] for h in history], "o-",
            label="one network (held-out median)")  # fmt: skip
    for (name, losses), color in zip(baselines.items(), ("C1", "C2"), strict=False):
        ax.axhline(np.median(losses), color=color, ls="--", label=f"{name} per context (median)")
    ax.set_xlabel("training episodes (total of all contexts)")
    ax.set_ylabel("keyframe loss (lower is better)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def summary(args: Args, history, baselines, total: int, command: str) -> str:
    final = history[-1]["losses"]
    rows = [("one network", final, "0 (answers a new context at once)")]
    rows += [(f"{m} per context", v, f"{args.budget}") for m, v in baselines.items()]
    lines = [
        "# One network, many key poses (Keyframe-v0, amortized control)", "",
        f"Made by `{command}`. {args.heldout} held-out contexts (key poses = defaults + "
        f"U(-{args.spread:g}, {args.spread:g}) rad per angle); each method spends {total} "
        f"episodes in total. Success: at least two of three poses met (loss < 2/3).", "",
        "| method | median held-out loss | success | episodes per new context |",
        "| --- | ---: | ---: | ---: |",
        *(f"| {n} | {np.median(v):.3f} | {np.mean(v < SUCCESS):.0%} | {e} |" for n, v, e in rows),
        "", "Per context (held-out order): " + "; ".join(
            f"{n}: {', '.join(f'{x:.2f}' for x in v)}" for n, v, _ in rows), "",
    ]  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(Args, argv, __doc__.splitlines()[0])
    if args.quick:
        args = dataclasses.replace(args, heldout=3, budget=60, batch=4, evals=2, hidden=16, warm=40)
    out = Path(args.out_dir or RESULTS / ("amortized_quick" if args.quick else "amortized"))
    out.mkdir(parents=True, exist_ok=True)
    command = command_line("amortized.py", argv)
    heldout = contexts(args.heldout, args.spread, np.random.default_rng(10_000 + args.seed))
    total = args.heldout * args.budget
    fn = Episodes(args.knots)
    try:
        net, history = train_network(args, fn, heldout, 3 * args.knots, total)
    finally:
        fn.close()
    baselines = {m: per_context(args, heldout, m) for m in args.baselines}
    with (out / "history.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["episodes", "median", "success", "time"])
        w.writerows([h["episodes"], h["median"], h["success"], h["time"]] for h in history)
    plot(history, baselines, out / "curve.png")
    write_strip(net, heldout, args, out)
    text = summary(args, history, baselines, total, command)
    (out / "summary.md").write_text(text)
    print(text)
    return out


if __name__ == "__main__":
    cli(main)
