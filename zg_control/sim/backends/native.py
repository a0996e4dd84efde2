"""The native backend: a batch of episodes of one :class:`~zg_control.sim.task.Task` on threads.

Both loops run on ``mujoco.batch.Batch`` (MuJoCo >= 4.0), whose rows are the simulations'
``mjSTATE_INTEGRATION`` states (warm start included) and whose threads step them without the GIL:

- **open loop** (control sequences): ``Batch.rollout`` of ``horizon * frame_skip`` physics steps,
  each control repeated ``frame_skip`` times, keeping the state after every ``frame_skip``-th
  step. Bit-identical to Gymnasium's ``do_simulation`` (set ``ctrl``, ``mj_step`` ``frame_skip``
  times, warm start carried over, zero at reset).
- **closed loop** (policy weights): per control step, the task's observation of the current
  states goes through the batched policy, then ``Batch.step(nstep=frame_skip)``.

Early termination: if the task has ``terminated(qpos (..., nq), qvel (..., nv)) -> (...) bool``
(e.g. Hopper falling), a row stops being simulated once a state after a control step is terminal
(open loop: checked every ``check_every`` control steps). After termination or divergence a row's
last meaningful state (the terminal one) is held to the end of the horizon, as is its sensordata;
its open-loop controls stay as given, its policy controls are zero.

Divergence: a row whose MuJoCo warning counters rose (bad qacc/qvel/qpos, full contact or
constraint buffers, bad inertia), whose states are non-finite, or on which MuJoCo raised, is
flagged in ``Trajectory.diverged``; :func:`~zg_control.sim.backends.score` replaces its loss.

Per batch size (``max_cached`` sizes) the ``Batch`` and the physics-step buffers are reused; the
returned trajectory's arrays are fresh, so a caller may keep them.
"""

from __future__ import annotations

import os
from collections import OrderedDict

import mujoco
import numpy as np
from mujoco import batch as mjbatch

from .._validate import positive_int
from ..task import Task, Trajectory
from . import RecordedTrajectory, score

_STAGE_NONE = int(mujoco.mjtStage.mjSTAGE_NONE)


class _Workspace:
    """A ``Batch`` of ``n`` simulations, its bound fields and flat scratch buffers."""

    def __init__(self, model: mujoco.MjModel, n: int, nthread: int, nsub: int, record: tuple):
        self.n = n
        self.batch = mjbatch.Batch(model, n, nthread=min(nthread, n))
        self.qpos, self.qvel = self.batch.bind("qpos"), self.batch.bind("qvel")
        self.ctrl = self.batch.bind("ctrl")
        self.warning = self.batch.warning  # Shape (n, nwarning, 2): (lastinfo, number)
        self.items = ("qpos", "qvel", *(("sensordata",) if model.nsensordata else ()), *record)
        self.derived = {name: self.batch.bind(name) for name in self.items[2:]}
        data = mujoco.MjData(model)  # templates of the recorded fields (MjData's dtypes)
        self._shape = {k: np.shape(getattr(data, k)) for k in self.items}
        self._dtype = {k: np.asarray(getattr(data, k)).dtype for k in self.items}
        self._flat = {
            k: np.empty(n * nsub * int(np.prod(self._shape[k])), self._dtype[k]) for k in self.items
        }
        self._control = np.empty(n * nsub * model.nu)
        self._nu = model.nu

    def views(self, m: int, nstep: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """C-contiguous scratch: control ``(m, nstep, nu)`` and records ``(m, nstep, ...)``."""
        size = m * nstep
        control = self._control[: size * self._nu].reshape(m, nstep, self._nu)
        out = {
            k: buf[: size * int(np.prod(self._shape[k]))].reshape(m, nstep, *self._shape[k])
            for k, buf in self._flat.items()
        }
        return control, out


class NativeBackend:
    """Episodes of ``task`` on ``nthread`` threads (default ``os.cpu_count()``).

    Optional task attributes it honours: ``terminated`` (see the module docstring), ``keyframe``
    (int: reset to it, e.g. for ``act`` or ``mocap``, before writing the initial ``qpos`` and
    ``qvel``), ``record`` (MjData field names; the trajectory is then a
    :class:`~zg_control.sim.backends.RecordedTrajectory`).
    """

    name = "native"

    def __init__(
        self, task: Task, *, nthread: int | None = None, check_every: int = 5, max_cached: int = 4
    ):
        nthread = (os.cpu_count() or 1) if nthread is None else nthread
        nthread = positive_int("nthread", nthread)
        check_every = positive_int("check_every", check_every)
        self.task, self.nthread, self.max_cached = task, nthread, int(max_cached)
        self.model = task.model
        self.horizon, self.frame_skip = int(task.horizon), int(task.frame_skip)
        if self.horizon < 1 or self.frame_skip < 1:
            raise ValueError(
                f"task horizon and frame_skip must be >= 1, got {self.horizon}, {self.frame_skip}"
            )
        q0, v0 = task.initial_state()
        self.qpos0 = np.array(q0, dtype=np.float64)
        self.qvel0 = np.array(v0, dtype=np.float64)
        if self.qpos0.shape != (self.model.nq,) or self.qvel0.shape != (self.model.nv,):
            raise ValueError(
                f"task.initial_state() must return shapes ({self.model.nq},), ({self.model.nv},);"
                f" got {self.qpos0.shape}, {self.qvel0.shape}"
            )
        key = getattr(task, "keyframe", None)
        self.keyframe = -1 if key is None else int(key)
        self.record = tuple(getattr(task, "record", ()) or ())
        self.terminated = getattr(task, "terminated", None)
        self.check_every = int(check_every) if self.terminated else self.horizon
        self.dt = float(self.model.opt.timestep) * self.frame_skip
        self._cache: OrderedDict[int, _Workspace] = OrderedDict()

    def evaluate(self, X: np.ndarray, parameterization) -> tuple[np.ndarray, np.ndarray]:
        """Losses of a batch. ``X`` shape ``(n, d)`` -> ``(loss (n,), diverged (n,))``."""
        return score(self.task, self.run(X, parameterization))

    def run(self, X: np.ndarray, parameterization) -> Trajectory:
        """Episodes for a batch of flat parameters ``X``, shape ``(n, d)``."""
        if parameterization.closed_loop:
            return self.run_policy(parameterization, X)
        return self.run_controls(parameterization.decode(X))

    def run_controls(self, U: np.ndarray) -> Trajectory:
        """Open loop. ``U`` shape ``(n, horizon, nu)``, inside ctrlrange."""
        U = np.asarray(U, dtype=np.float64)
        T, fs, nu = self.horizon, self.frame_skip, self.model.nu
        if U.ndim != 3 or U.shape[1:] != (T, nu) or U.shape[0] < 1:
            raise ValueError(f"controls must have shape (n, {T}, {nu}), got {U.shape}")
        ep = _Episodes(self, U.shape[0])
        t = 0
        while t < T and ep.alive.any():
            k = min(self.check_every, T - t)
            ids, m = ep.rows()
            control, out = ep.ws.views(m, k * fs)
            control.reshape(m, k, fs, nu)[...] = U[ids, t : t + k, None, :]
            try:
                ep.ws.batch.rollout(k * fs, control, record=ep.ws.items, ids=ep.sub(ids), out=out)
            except mjbatch.SimulationError as err:  # those rows kept their state
                ep.fail(err.ids, t)
            ep.store(ids, t, {name: rec[:, fs - 1 :: fs] for name, rec in out.items()})
            t += k
        return ep.finish(U.copy())

    def run_policy(self, policy, W: np.ndarray) -> Trajectory:
        """Closed loop. ``policy.act(W (n, d), obs (n, obs_dim)) -> (n, nu)``; ``W`` ``(n, d)``."""
        W = np.asarray(W, dtype=np.float64)
        if W.ndim != 2 or W.shape[0] < 1:
            raise ValueError(f"policy weights must have shape (n, d), got {W.shape}")
        ep = _Episodes(self, W.shape[0])
        ctrl = np.zeros((W.shape[0], self.horizon, self.model.nu))
        ws = ep.ws
        for t in range(self.horizon):
            if not ep.alive.any():
                break
            ids, _ = ep.rows()
            obs = self.task.observation(ep.qpos[ids, t], ep.qvel[ids, t])
            ctrl[ids, t] = ws.ctrl[ids] = policy.act(W[ids], obs)
            try:
                ws.batch.step(ids=ep.sub(ids), nstep=self.frame_skip)
            except mjbatch.SimulationError as err:  # those rows kept their state
                ep.fail(err.ids, t)
            rec = {"qpos": ws.qpos[ids], "qvel": ws.qvel[ids]}
            rec.update({k: v[ids] for k, v in ws.derived.items()})
            ep.store(ids, t, {k: v[:, None] for k, v in rec.items()})
        return ep.finish(ctrl)

    def close(self) -> None:
        """Drop the thread pools and buffers."""
        self._cache.clear()

    def workspace(self, n: int) -> _Workspace:
        """The cached ``Batch`` and buffers for batch size ``n`` (least recently used dropped)."""
        ws = self._cache.pop(n, None)
        if ws is None:
            ws = _Workspace(
                self.model, n, self.nthread, self.horizon * self.frame_skip, self.record
            )
            while len(self._cache) >= self.max_cached:
                self._cache.popitem(last=False)
        self._cache[n] = ws  # most recently used last
        return ws


def _take_steps(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``a[i, idx[i, t]]`` for every row ``i`` and step ``t``: ``a`` ``(n, S, ...)``, ``idx``
    ``(n, S')`` -> ``(n, S', ...)``."""
    return np.take_along_axis(a, idx.reshape(*idx.shape, *[1] * (a.ndim - 2)), 1)


class _Episodes:
    """Bookkeeping of one batch: reset, per-row end of simulation, storage, padding."""

    def __init__(self, backend: NativeBackend, n: int):
        self.b, self.n, T = backend, n, backend.horizon
        self.ws = ws = backend.workspace(n)
        ws.batch.reset(keyframe=backend.keyframe, stage=_STAGE_NONE)  # also clears warnings
        ws.qpos[:], ws.qvel[:] = backend.qpos0, backend.qvel0
        self.qpos = np.empty((n, T + 1, backend.model.nq))
        self.qvel = np.empty((n, T + 1, backend.model.nv))
        self.qpos[:, 0], self.qvel[:, 0] = backend.qpos0, backend.qvel0
        self.sens = np.zeros((n, T, backend.model.nsensordata))
        self.fields: dict[str, np.ndarray] = {}
        if backend.record:
            ws.batch.forward()  # as Gymnasium's set_state; leaves the state (and warm start) alone
            for k in backend.record:
                self.fields[k] = np.empty((n, T + 1, *ws.derived[k].shape[1:]), ws.derived[k].dtype)
                self.fields[k][:, 0] = ws.derived[k]
        self.alive = np.ones(n, dtype=bool)
        self._all = np.arange(n)
        self.end = np.full(n, T)  # last control step whose state is meaningful
        self.failed = np.zeros(n, dtype=bool)

    def rows(self) -> tuple[np.ndarray | slice, int]:
        """Rows still simulated: ``slice(None)`` if all (no fancy-index copies), else ids."""
        if self.alive.all():
            return slice(None), self.n
        ids = np.flatnonzero(self.alive).astype(np.int32)
        return ids, ids.size

    @staticmethod
    def sub(ids) -> np.ndarray | None:
        return None if isinstance(ids, slice) else ids

    def fail(self, ids: np.ndarray, t: int) -> None:
        self.failed[ids] = True
        self.end[ids] = np.minimum(self.end[ids], t)
        self.alive[ids] = False

    def store(self, ids, t: int, rec: dict[str, np.ndarray]) -> None:
        """Save control steps ``t + 1 ..`` of rows ``ids`` (``rec``: ``(m, k, ...)`` each) and
        stop the rows that diverged or terminated."""
        k = rec["qpos"].shape[1]
        steps = slice(t + 1, t + 1 + k)
        self.qpos[ids, steps], self.qvel[ids, steps] = rec["qpos"], rec["qvel"]
        if "sensordata" in rec:
            self.sens[ids, t : t + k] = rec["sensordata"]
        for name in self.b.record:
            self.fields[name][ids, steps] = rec[name]
        rows = self._all if isinstance(ids, slice) else ids
        live = self.alive[rows]  # not failed during this call
        bad = (self.ws.warning[rows, :, 1] > 0).any(axis=1)  # MuJoCo checks qpos/qvel/qacc
        self.end[rows[live & bad]] = t + k
        stop = bad
        if self.b.terminated is not None:
            term = np.asarray(self.b.terminated(rec["qpos"], rec["qvel"]))
            hit = term.any(axis=1) & live & ~bad
            self.end[rows[hit]] = t + 1 + np.argmax(term[hit], axis=1)
            stop = stop | hit
        self.alive[rows[stop]] = False

    def finish(self, ctrl: np.ndarray) -> Trajectory:
        """Hold the state after each row's end; build the trajectory."""
        T = self.b.horizon
        if (self.end < T).any():
            idx = np.minimum(np.arange(T + 1), self.end[:, None])  # Shape (n, T + 1)
            self.qpos, self.qvel = _take_steps(self.qpos, idx), _take_steps(self.qvel, idx)
            self.fields = {k: _take_steps(v, idx) for k, v in self.fields.items()}
            self.sens = _take_steps(self.sens, np.maximum(idx[:, 1:] - 1, 0))
        self.qpos[self.failed], self.qvel[self.failed] = self.b.qpos0, self.b.qvel0
        self.sens[self.failed] = 0.0
        diverged = self.failed | (self.ws.warning[:, :, 1] > 0).any(axis=1)
        diverged |= ~np.isfinite(self.qpos).all(axis=(1, 2)) | ~np.isfinite(self.qvel).all(
            axis=(1, 2)
        )
        kw = dict(
            qpos=self.qpos, qvel=self.qvel, ctrl=ctrl, sensordata=self.sens, diverged=diverged
        )
        if self.b.record:
            return RecordedTrajectory(fields=self.fields, dt=self.b.dt, **kw)
        return Trajectory(dt=self.b.dt, **kw)
