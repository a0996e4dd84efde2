"""The Ray backend: a batch split into chunks of rows, one chunk per Ray worker.

Each worker is an actor holding a :class:`~zg_control.sim.backends.native.NativeBackend` of the same
task (the task is pickled once, with cloudpickle, so a ``ModelTask``'s lambda loss is fine).
Results are identical to the native backend's: each row is the same deterministic episode
wherever it runs. Ray is optional: ``pip install zg_control[ray]``.

``address`` is ``ray.init``'s (unless Ray is initialised already): ``None`` joins the cluster in
``RAY_ADDRESS`` or the one last started on this machine with ``ray start``, else starts a local
Ray; ``"auto"`` joins such a cluster or fails; ``"HOST:PORT"`` joins the cluster of that head;
``"local"`` always starts a new local Ray.

A lost worker loses no episode (:mod:`~zg_control.sim.backends.ray_pool`): Ray restarts its actor
(``max_restarts``), its chunk runs again on another or the restarted actor, and the batch's losses
are those of the native backend, bit for bit. Past the bounds (``max_retries`` per chunk, no actor
left, none back within ``restart_timeout`` s) it raises
:class:`~zg_control.sim.backends.ray_pool.WorkersLostError`; a run then resumes from its
checkpoint.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .._validate import int_at_least, positive_int
from ..task import Task, Trajectory
from . import concat_trajectories
from .ray_pool import ActorPool, WorkersLostError

__all__ = ["RayBackend", "WorkersLostError", "import_ray"]


def import_ray():
    """``import ray`` or an ``ImportError`` naming the extra to install."""
    try:
        import ray
    except ImportError as err:
        raise ImportError(
            "backend='ray' needs Ray: pip install 'zg_control[ray]' (or pip install ray)"
        ) from err
    return ray


class _Worker:
    """Ray actor body: a native backend of one task."""

    def __init__(self, task: Task, nthread: int):
        from .native import NativeBackend

        self.backend = NativeBackend(task, nthread=nthread)

    def ping(self) -> int:
        """The worker's process id (a health check)."""
        return os.getpid()

    def evaluate(self, X: np.ndarray, parameterization) -> tuple[np.ndarray, np.ndarray]:
        return self.backend.evaluate(X, parameterization)

    def run(self, X: np.ndarray, parameterization) -> Trajectory:
        return self.backend.run(X, parameterization)


def _connect(ray, address: str | None, init_kwargs: dict[str, Any] | None) -> None:
    """``ray.init(address, ...)`` unless Ray is initialised; ``ValueError`` if no cluster."""
    if ray.is_initialized():
        return
    kwargs = {"include_dashboard": False, "log_to_driver": False, **(init_kwargs or {})}
    try:
        ray.init(address=address, **kwargs)
    except ConnectionError as err:
        raise ValueError(
            f"no Ray cluster at address={address!r} ({err}); start one with `ray start --head` "
            "(workers: `ray start --address HEAD:6379`), or pass no address for a local Ray"
        ) from None


class RayBackend:
    """Episodes of ``task`` on ``num_workers`` Ray actors with ``nthread`` threads each.

    Args:
        task: the task (must be picklable by cloudpickle).
        num_workers: actors; default: the cluster's CPUs divided by ``nthread``.
        nthread: threads per actor (and CPUs it reserves); default 1.
        address: ``None``, ``"auto"``, ``"HOST:PORT"`` or ``"local"`` (see the module
            docstring): passed to ``ray.init`` if Ray is not initialised yet.
        init_kwargs: more ``ray.init`` arguments (e.g. ``num_cpus`` of a local Ray).
        max_restarts: how often Ray restarts each actor after its process died.
        max_retries: how often one chunk of a batch runs again after its worker was lost.
        restart_timeout: seconds to wait for a restarting worker when no other one is left.
    """

    name = "ray"

    def __init__(
        self,
        task: Task,
        *,
        num_workers: int | None = None,
        nthread: int | None = None,
        address: str | None = None,
        init_kwargs: dict[str, Any] | None = None,
        max_restarts: int = 3,
        max_retries: int = 3,
        restart_timeout: float = 120.0,
    ):
        max_restarts = int_at_least("max_restarts", max_restarts, 0)
        max_retries = int_at_least("max_retries", max_retries, 0)
        if address is not None and not isinstance(address, str):
            raise ValueError(f"address must be None, 'auto' or 'HOST:PORT', got {address!r}")
        if isinstance(restart_timeout, bool) or not (
            isinstance(restart_timeout, int | float) and restart_timeout > 0
        ):
            raise ValueError(f"restart_timeout must be > 0 seconds, got {restart_timeout!r}")
        self.task = task
        self.nthread = 1 if nthread is None else positive_int("nthread", nthread)
        if num_workers is not None:
            num_workers = positive_int("num_workers", num_workers)
        ray = self._ray = import_ray()
        _connect(ray, address, init_kwargs)
        if num_workers is None:
            num_workers = max(1, int(ray.cluster_resources().get("CPU", 1)) // self.nthread)
        options = {"max_restarts": max_restarts, "max_task_retries": 0}
        actor = ray.remote(num_cpus=self.nthread, **options)(_Worker)
        self._task_ref = ray.put(task)  # kept: Ray restarts an actor from its arguments
        actors = [actor.remote(self._task_ref, self.nthread) for _ in range(num_workers)]
        self._pool = ActorPool(
            ray,
            actors,
            max_restarts=max_restarts,
            max_retries=max_retries,
            restart_timeout=restart_timeout,
        )

    @property
    def num_workers(self) -> int:
        """Workers not known to be gone."""
        return len(self._pool.actors)

    @property
    def lost_chunks(self) -> int:
        """Chunks run again because their worker was lost, over all batches so far."""
        return self._pool.lost_chunks

    def worker_pids(self) -> list[int]:
        """Process ids of the workers, once every restarting one is back (or gone)."""
        self._pool.settle()
        pings = [w.ping.options(max_task_retries=-1).remote() for w in self._pool.actors]
        return self._ray.get(pings)

    def _map(self, method: str, X: np.ndarray, parameterization) -> list:
        X = np.asarray(X, dtype=np.float64)
        parts = max(1, self.num_workers)
        chunks = [c for c in np.array_split(np.arange(X.shape[0]), parts) if c.size]
        p_ref = self._ray.put(parameterization)
        calls = [(X[c], p_ref) for c in chunks]
        return self._pool.map(method, calls, [c.size for c in chunks])

    def evaluate(self, X: np.ndarray, parameterization) -> tuple[np.ndarray, np.ndarray]:
        """Losses of a batch. ``X`` shape ``(n, d)`` -> ``(loss (n,), diverged (n,))``."""
        parts = self._map("evaluate", X, parameterization)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def run(self, X: np.ndarray, parameterization) -> Trajectory:
        """Trajectories of a batch, rows in order. ``X`` shape ``(n, d)``."""
        return concat_trajectories(self._map("run", X, parameterization))

    def close(self) -> None:
        """Stop the actors (Ray itself keeps running)."""
        self._pool.close()
