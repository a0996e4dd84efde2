"""Ray backend: bit-identical to native, and a worker killed mid-batch (a real SIGKILL to its
process) loses no episode; past the bounds, one clear error."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest

import zg_control as zg
from zg_control.sim.backends.native import NativeBackend
from zg_control.sim.gym_tasks import HopperTask
from zg_control.sim.objective import make_objective
from zg_control.sim.parameterization import ctrl_bounds, make_parameterization

T = 30  # control steps: Hopper falls within them for random controls (early termination)


class NotingHopper(HopperTask):
    """Hopper whose ``loss`` (run on the worker, per chunk, after its episodes) first appends a
    line to ``log_dir/<pid>``, then sleeps ``delay`` s (the window for a kill), or kills its own
    process (``self_kill``). The losses are Hopper's."""

    def __init__(self, log_dir: Path, delay: float = 0.0, self_kill: bool = False):
        super().__init__(horizon=T)
        self.log_dir, self.delay, self.self_kill = log_dir, delay, self_kill

    def loss(self, traj):
        with open(self.log_dir / str(os.getpid()), "a") as f:
            f.write("chunk\n")
        if self.self_kill:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(self.delay)
        return super().loss(traj)


class BrokenHopper(HopperTask):
    """Hopper that cannot start anywhere but in the process that made it."""

    def __init__(self):
        super().__init__(horizon=T)
        self.home = os.getpid()

    def initial_state(self):
        if os.getpid() != self.home:
            raise RuntimeError("no Hopper on this node")
        return super().initial_state()


def _chunks_started(log_dir: Path, pid: int) -> int:
    path = log_dir / str(pid)
    return path.read_text().count("\n") if path.exists() else 0


def kill_in_next_chunk(log_dir: Path, pid: int, timeout: float = 60.0) -> threading.Thread:
    """A thread that SIGKILLs ``pid`` as soon as it starts its next chunk (inside the delay,
    so before the chunk's result is returned: mid-batch)."""
    start = _chunks_started(log_dir, pid)

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _chunks_started(log_dir, pid) > start:
                os.kill(pid, signal.SIGKILL)
                return
            time.sleep(0.002)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def local_ray():
    """A new local Ray of 2 CPUs (not a cluster running on this machine) for the module; the
    test classes are pickled by value."""
    ray = pytest.importorskip("ray")
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def _policy_batch(task, n: int = 8):
    low, high = ctrl_bounds(task.model)
    obs_dim = task.observation(*[a[None] for a in task.initial_state()]).shape[1]
    p = make_parameterization("policy", horizon=T, ctrl_low=low, ctrl_high=high, obs_dim=obs_dim)
    X = p.x0(0) + 1.5 * np.random.default_rng(0).standard_normal((n, p.dim))
    return p, X


@pytest.mark.slow
def test_ray_equals_native_and_a_kill_mid_batch_loses_no_episode(local_ray, tmp_path):
    from zg_control.sim.backends.ray_backend import RayBackend

    task = NotingHopper(tmp_path, delay=1.0)
    p, X = _policy_batch(task)
    native = NativeBackend(HopperTask(horizon=T), nthread=1)
    ref_loss, ref_div = native.evaluate(X, p)
    ray_b = RayBackend(task, num_workers=2)
    try:
        np.testing.assert_array_equal(ray_b.run(X, p).qpos, native.run(X, p).qpos)
        before = ray_b.worker_pids()
        victim = before[0]
        killer = kill_in_next_chunk(tmp_path, victim)
        loss, diverged = ray_b.evaluate(X, p)
        killer.join()
        assert ray_b.lost_chunks == 1  # the kill landed mid-batch and cost one chunk
        np.testing.assert_array_equal(loss, ref_loss)
        np.testing.assert_array_equal(diverged, ref_div)
        pids = ray_b.worker_pids()  # waits for Ray's restart
        (restarted,) = set(pids) - set(before)
        assert ray_b.num_workers == 2
        np.testing.assert_array_equal(ray_b.evaluate(X, p)[0], ref_loss)
        assert _chunks_started(tmp_path, restarted) == 1  # the restarted worker ran a chunk
        with pytest.raises(ValueError, match="W must have shape"):  # raised on a worker
            ray_b.evaluate(X[:, :-1], p)
        assert ray_b.lost_chunks == 1 and ray_b.worker_pids() == pids
    finally:
        ray_b.close()
    assert np.ptp(ref_loss) > 1e-3 and ref_div.sum() < X.shape[0]


@pytest.mark.slow
def test_a_run_survives_a_kill_and_equals_the_native_run(local_ray, tmp_path, caplog):
    spec = dict(parameterization="spline", n_knots=4)
    budget = 17 * 5 + 1  # five zerograds batches (16 samples and theta) and the final evaluation
    with make_objective(HopperTask(horizon=T), nthread=1, **spec) as native:
        ref = zg.minimize(native, native.x0, "zerograds", budget, seed=0)
    killers = []

    def kill_in_third_batch(opt, record) -> None:
        if opt.n_iters == 2:  # both workers have run chunks (noted under their pids)
            victim = int(sorted(p.name for p in tmp_path.iterdir())[0])
            killers.append(kill_in_next_chunk(tmp_path, victim))

    task = NotingHopper(tmp_path, delay=0.3)
    options = {"num_workers": 2}
    with make_objective(task, backend="ray", backend_options=options, **spec) as obj:
        res = zg.minimize(obj, obj.x0, "zerograds", budget, seed=0, callback=kill_in_third_batch)
    killers[0].join()
    lost = [r for r in caplog.records if r.getMessage().startswith("Ray worker lost")]
    assert len(lost) == 1  # the kill landed in a batch and cost one chunk
    np.testing.assert_array_equal(res.x, ref.x)
    assert res.loss == ref.loss and res.n_evals == ref.n_evals == budget
    assert [r["best_loss"] for r in res.history] == [r["best_loss"] for r in ref.history]


@pytest.mark.slow
def test_past_the_bounds_one_clear_error(local_ray, tmp_path):
    """A worker gone for good (no restarts), a chunk lost more often than ``max_retries``
    allows (``task`` kills every worker that runs it), a worker that cannot start."""
    from zg_control.sim.backends.ray_backend import RayBackend, WorkersLostError

    task = NotingHopper(tmp_path, self_kill=True)
    p, X = _policy_batch(task, n=4)
    hint = ".*zg-control resume RUN_DIR"
    cases = [
        (task, {}, "all 1 Ray workers are gone .*max_restarts=0" + hint),
        (task, {"max_retries": 0}, "lost .* once.*max_retries=0" + hint),
        (BrokenHopper(), {}, "could not start: RuntimeError: no Hopper on this node"),
    ]  # no restarts: none of these would come back
    backends = [RayBackend(t, num_workers=1, max_restarts=0, **kw) for t, kw, _ in cases]
    try:
        for ray_b, (_, _, message) in zip(backends, cases, strict=True):
            with pytest.raises(WorkersLostError, match=message) as info:
                ray_b.evaluate(X, p)
            assert isinstance(info.value, RuntimeError)
    finally:
        for ray_b in backends:
            ray_b.close()


@pytest.mark.parametrize(
    "bad, name",
    [
        ({"max_restarts": -1}, "max_restarts"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"restart_timeout": 0}, "restart_timeout"),
        ({"restart_timeout": "1 min"}, "restart_timeout"),
        ({"nthread": 0}, "nthread"),
        ({"num_workers": 0}, "num_workers"),
        ({"address": 6379}, "address"),
    ],
)
def test_ray_options_are_checked(bad, name):
    from zg_control.sim.backends.ray_backend import RayBackend

    with pytest.raises(ValueError, match=name):
        RayBackend(HopperTask(horizon=T), **{"num_workers": 1, **bad})


def test_no_cluster_at_the_address_says_how_to_start_one():
    from zg_control.sim.backends.ray_backend import _connect

    def init(address, **kwargs):
        raise ConnectionError("Could not find any running Ray instance.")

    ray = types.SimpleNamespace(is_initialized=lambda: False, init=init)
    with pytest.raises(ValueError, match=r"address='auto'.*`ray start --head`"):
        _connect(ray, "auto", None)


def test_ray_missing_names_the_extra(monkeypatch):
    from zg_control.sim.backends import ray_backend

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"zg_control\[ray\]"):
        ray_backend.import_ray()
