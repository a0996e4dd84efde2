"""Episodes per second of the backends, side by side in one run.

    python experiments/bench_episodes.py                     # Hopper-v5 and HalfCheetah-v5
    python experiments/bench_episodes.py --envs Ant-v5 --batch 64 --rounds 5

For each env (horizon ``--horizon`` control steps, ``--batch`` episodes per call) it times:

- ``raw rollout``: ``mujoco.rollout.Rollout(nthread)`` on the same initial states and the same
  controls already repeated ``frame_skip`` times; no decoding, no loss (the floor);
- ``native open loop``: ``make_objective(env)(X)``, control sequences;
- ``native policy``: ``make_objective(env, parameterization="policy")(W)``, MLP (32,) weights;
- ``gymnasium``: ``make_objective(env, backend="gymnasium")(X)``, the sequential reference loop;
- ``native, no early stop`` (envs that terminate): the native open loop simulating the whole
  horizon like the raw rollout does (the default stops fallen Hopper/Walker2d/Ant episodes, as
  Gymnasium does).

The methods are interleaved over ``--rounds`` rounds and the median time per call is reported,
so that load from other processes hits all of them alike. Targets: native >= 0.9x raw rollout
and >= 3x gymnasium; policy >= 0.8x open loop.
"""

from __future__ import annotations

import dataclasses
import os
import time

import mujoco
import numpy as np
from _common import arg, cli, parse_args
from mujoco import rollout

from zg_control.sim.objective import make_objective


@dataclasses.dataclass
class Args:
    envs: tuple[str, ...] = arg(("Hopper-v5", "HalfCheetah-v5"), "Gymnasium MuJoCo env ids")
    batch: int = arg(32, "episodes per call")
    horizon: int = arg(100, "control steps per episode")
    rounds: int = arg(7, "interleaved rounds; the median time per call is reported")
    nthread: int = arg(os.cpu_count() or 1, "threads of the rollout pool")
    seed: int = arg(0, "seed of the random controls and policy weights")


def raw_rollout_fn(objective, X: np.ndarray, nthread: int):
    """A closure running the bare ``mujoco.rollout`` of the same episodes."""
    task = objective.task
    m, fs = task.model, task.frame_skip
    data = mujoco.MjData(m)
    data.qpos[:], data.qvel[:] = task.initial_state()
    spec = mujoco.mjtState.mjSTATE_FULLPHYSICS
    state0 = np.empty(mujoco.mj_stateSize(m, spec))
    mujoco.mj_getState(m, data, state0, spec)
    n = X.shape[0]
    init = np.tile(state0, (n, 1))
    control = np.repeat(objective.parameterization.decode(X), fs, axis=1)
    datas = [mujoco.MjData(m) for _ in range(nthread)]
    pool = rollout.Rollout(nthread=nthread)
    state = np.empty((n, control.shape[1], state0.size))
    sens = np.empty((n, control.shape[1], m.nsensordata))

    def run():
        pool.rollout(m, datas, init, control, state=state, sensordata=sens)

    return run, pool


def bench_env(env: str, a: Args) -> dict[str, float]:
    rng = np.random.default_rng(a.seed)
    seq = make_objective(env, horizon=a.horizon, nthread=a.nthread)
    pol = make_objective(env, horizon=a.horizon, nthread=a.nthread, parameterization="policy")
    gym = make_objective(env, horizon=a.horizon, backend="gymnasium")
    X = rng.uniform(-1.0, 1.0, (a.batch, seq.dim))
    W = pol.x0 + 0.5 * rng.standard_normal((a.batch, pol.dim))
    raw, pool = raw_rollout_fn(seq, X, a.nthread)
    methods = {
        "raw rollout": raw,
        "native open loop": lambda: seq(X),
        "native policy": lambda: pol(W),
        "gymnasium": lambda: gym(X),
    }
    full = None
    if getattr(seq.task, "terminated", None) is not None:  # same work as raw: no early stop
        opts = {"check_every": a.horizon}
        full = make_objective(env, horizon=a.horizon, nthread=a.nthread, backend_options=opts)
        methods["native, no early stop"] = lambda: full(X)
    lengths = (episode_lengths(seq, X), episode_lengths(pol, W))
    times: dict[str, list[float]] = {k: [] for k in methods}
    for f in methods.values():  # warm-up: thread pools, buffers
        f()
    for _ in range(a.rounds):
        for name, f in methods.items():
            t0 = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t0)
    for obj in (seq, pol, gym, full):
        if obj is not None:
            obj.close()
    pool.close()
    return {k: a.batch / float(np.median(v)) for k, v in times.items()}, lengths


def episode_lengths(objective, X: np.ndarray) -> float:
    """Mean control steps per episode before termination (the horizon if it never ends)."""
    task = objective.task
    if not hasattr(task, "alive"):
        return float(objective.horizon)
    traj = objective._runner.run(X, objective.parameterization)
    return float(task.alive(traj).sum(axis=1).mean())


def main(argv: list[str] | None = None) -> None:
    a = parse_args(Args, argv, __doc__.split("\n\n")[0])
    print(
        f"batch {a.batch}, horizon {a.horizon} control steps, {a.nthread} threads, "
        f"median of {a.rounds} interleaved rounds; episodes per second"
    )
    header = f"{'env':<16}{'method':<20}{'eps/s':>10}{'vs raw':>9}{'vs gym':>9}{'vs open':>9}"
    print(header)
    print("-" * len(header))
    for env in a.envs:
        eps, (len_x, len_w) = bench_env(env, a)
        for name, v in eps.items():
            print(
                f"{env:<16}{name:<20}{v:>10.0f}{v / eps['raw rollout']:>9.2f}"
                f"{v / eps['gymnasium']:>9.2f}{v / eps['native open loop']:>9.2f}"
            )
        print(
            f"{'':<16}mean episode length: open loop {len_x:.1f}, policy {len_w:.1f} of "
            f"{a.horizon} (raw rollout and 'no early stop' simulate all)"
        )


if __name__ == "__main__":
    cli(main)
