"""The Ray backend: a batch split into chunks of rows, one chunk per Ray worker.

Each worker is an actor holding a :class:`~zg_control.sim.backends.native.NativeBackend` of the same
task (the task is pickled once per worker, with cloudpickle, so a ``ModelTask``'s lambda loss is
fine). Results are identical to the native backend's: each row is the same deterministic episode
wherever it runs. Ray is optional: ``pip install zg_control[ray]``.

On a cluster, start Ray first (``ray start ...``) and pass ``address="auto"``; by default a local
Ray is started if none is running.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validate import positive_int
from ..task import Task, Trajectory
from . import concat_trajectories


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

    def evaluate(self, X: np.ndarray, parameterization) -> tuple[np.ndarray, np.ndarray]:
        return self.backend.evaluate(X, parameterization)

    def run(self, X: np.ndarray, parameterization) -> Trajectory:
        return self.backend.run(X, parameterization)


class RayBackend:
    """Episodes of ``task`` on ``num_workers`` Ray actors with ``nthread`` threads each.

    Args:
        task: the task (must be picklable by cloudpickle).
        num_workers: actors; default: the cluster's CPUs divided by ``nthread``.
        nthread: threads per actor (and CPUs it reserves); default 1.
        address: passed to ``ray.init`` if Ray is not initialised yet (``None``: local).
        init_kwargs: more ``ray.init`` arguments (e.g. ``num_cpus``).
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
    ):
        ray = self._ray = import_ray()
        if not ray.is_initialized():
            kwargs = {"include_dashboard": False, "log_to_driver": False, **(init_kwargs or {})}
            ray.init(address=address, **kwargs)
        self.task, self.nthread = task, int(nthread or 1)
        if num_workers is None:
            num_workers = max(1, int(ray.cluster_resources().get("CPU", 1)) // self.nthread)
        num_workers = positive_int("num_workers", num_workers)
        actor = ray.remote(num_cpus=self.nthread)(_Worker)
        task_ref = ray.put(task)
        self._workers = [actor.remote(task_ref, self.nthread) for _ in range(int(num_workers))]

    @property
    def num_workers(self) -> int:
        return len(self._workers)

    def _map(self, method: str, X: np.ndarray, parameterization) -> list:
        X = np.asarray(X, dtype=np.float64)
        chunks = [c for c in np.array_split(np.arange(X.shape[0]), self.num_workers) if c.size]
        p_ref = self._ray.put(parameterization)
        futures = [
            getattr(w, method).remote(X[c], p_ref)
            for w, c in zip(self._workers, chunks, strict=False)
        ]
        return self._ray.get(futures)

    def evaluate(self, X: np.ndarray, parameterization) -> tuple[np.ndarray, np.ndarray]:
        """Losses of a batch. ``X`` shape ``(n, d)`` -> ``(loss (n,), diverged (n,))``."""
        parts = self._map("evaluate", X, parameterization)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def run(self, X: np.ndarray, parameterization) -> Trajectory:
        """Trajectories of a batch, rows in order. ``X`` shape ``(n, d)``."""
        return concat_trajectories(self._map("run", X, parameterization))

    def close(self) -> None:
        """Stop the actors (Ray itself keeps running)."""
        for w in self._workers:
            self._ray.kill(w)
        self._workers = []
