"""One batched loss ``f(X: (n, d)) -> (n,)`` from an env, a parameterisation and a backend.

    f = make_objective("HalfCheetah-v5", parameterization="spline", n_knots=10, horizon=100)
    losses = f(X)                 # X: (n, f.dim); a row per episode
    traj = f.rollout(f.x0)        # one episode, e.g. to render

``env``: a registered env id (``zg_control.sim.gym_tasks``, ``zg_control.envs``, any Gymnasium
id with ``backend="gymnasium"``), an ``MjModel`` or MJCF path with ``loss_fn`` (a ``ModelTask``),
or a ``Task``. The loss is the task's (``-return / horizon`` for the registered tasks); diverged
episodes score ``DIVERGED_LOSS`` and are flagged in ``last_diverged``. An :class:`Objective` is
a :class:`~zg_control.problem.Problem`, so runs treat it like a function.
"""

from __future__ import annotations

import inspect
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from ..problem import Problem
from ._validate import positive_int
from .backends import BACKENDS, diverged_loss
from .model_task import ModelTask, is_model_path
from .parameterization import PARAMETERIZATIONS, ctrl_bounds, make_parameterization
from .task import TASKS, Task, Trajectory, make_task

DEFAULT_HORIZON = 100


class Objective(Problem):
    """A batched loss over flat parameters, one episode per row; build it with
    :func:`make_objective`.

    Attributes:
        dim: ``d``. x0: shape ``(d,)``, the parameterisation's start (seeded for policies).
        bounds: ``(low (d,), high (d,))`` or ``None``. parameterization: the object.
        task: the native task, or ``None`` for a Gymnasium-only env. backend: its name.
        horizon: control steps per episode.
        n_episodes: rows evaluated by ``__call__`` so far. last_diverged: ``(n,)`` bool, last call.
    """

    def __init__(self, runner, parameterization, task: Task | None, horizon: int, seed: int):
        x0 = np.asarray(parameterization.x0(seed), dtype=np.float64)
        super().__init__(self.__call__, x0, parameterization.bounds())
        self._runner, self._native = runner, None
        self.parameterization, self.task, self.horizon = parameterization, task, int(horizon)
        self.backend: str = runner.name
        self.n_episodes = 0

    def _check(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"X must have shape (n, {self.dim}), got {X.shape}")
        return X

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Losses of a batch. ``X`` shape ``(n, d)`` -> shape ``(n,)``, float64, finite.

        Rows with non-finite entries are not simulated; they score the worst case, as flagged.
        """
        X = self._check(X)
        n = X.shape[0]
        bad = ~np.isfinite(X).all(axis=1)
        loss, diverged = np.full(n, diverged_loss(self.task)), bad.copy()
        if n and not bad.all():
            ok = ~bad
            loss[ok], diverged[ok] = self._runner.evaluate(X[ok], self.parameterization)
        self.n_episodes += n
        self.last_diverged = diverged
        return loss

    def decode(self, x: np.ndarray) -> np.ndarray:
        """Open-loop controls of one parameter vector: ``(d,)`` -> ``(horizon, nu)``."""
        if self.parameterization.closed_loop:
            raise ValueError(
                "decode() is for open-loop parameterizations; a policy has no fixed "
                "controls (use rollout(x).ctrl)"
            )
        return self.parameterization.decode(self._check(np.reshape(x, (1, -1))))[0]

    def controls(self, x: np.ndarray) -> np.ndarray:
        """The controls ``(horizon, nu)`` that ``x (d,)`` applies: decoded, or for a policy
        those of one episode (:meth:`rollout`, not counted in ``n_episodes``)."""
        if self.parameterization.closed_loop:
            return self.rollout(x).ctrl[0]
        return self.decode(x)

    def rollout(self, x: np.ndarray) -> Trajectory:
        """One episode of ``x``, shape ``(d,)``, as a trajectory with ``n = 1`` (not counted in
        ``n_episodes``). With a native task it runs natively (identical to every backend)."""
        X = self._check(np.reshape(x, (1, -1)))
        if self.task is None:
            return self._runner.run(X, self.parameterization)  # Gymnasium, MuJoCo envs only
        if self._native is None:
            from .backends.native import NativeBackend

            self._native = NativeBackend(self.task, nthread=1)
        return self._native.run(X, self.parameterization)

    def close(self) -> None:
        """Release the backend (threads, envs, Ray actors)."""
        self._runner.close()
        if self._native is not None:
            self._native.close()


def _gym_known(env_id: str) -> bool:
    try:
        gym.spec(env_id)
    except gym.error.Error:
        return False
    return True


def make_objective(
    env: str | mujoco.MjModel | Task,
    *,
    parameterization: str = "sequence",
    backend: str = "native",
    horizon: int | None = None,
    n_knots: int | None = None,
    interp: str = "cubic",
    hidden: tuple[int, ...] = (32,),
    loss_fn=None,
    frame_skip: int | None = None,
    nthread: int | None = None,
    seed: int = 0,
    backend_options: dict[str, Any] | None = None,
    **task_kwargs,
) -> Objective:
    """Build the batched loss (see the module docstring).

    Args:
        env: env id, ``MjModel``, MJCF path (needs ``loss_fn``) or ``Task``.
        parameterization: one of ``"sequence"``, ``"spline"`` (needs ``n_knots``; ``interp``
            ``"zero"``/``"linear"``/``"cubic"``), ``"policy"`` (MLP with ``hidden`` layers).
        backend: ``"native"`` (threads; ``nthread``, default all CPUs), ``"gymnasium"`` (any env
            id, sequential) or ``"ray"`` (``backend_options`` of
            :class:`~zg_control.sim.backends.ray_backend.RayBackend`: ``address``,
            ``num_workers``, ``max_restarts``, ``max_retries``, ``restart_timeout``; ``nthread``
            is per worker).
        horizon: control steps; default the task's (100 for the Gymnasium v5 tasks), else 100.
            The Gymnasium backend's ``TimeLimit`` is set to it.
        loss_fn: ``Trajectory -> (n,)``, only with an ``MjModel`` or path.
        frame_skip: physics steps per control step, ``>= 1`` (default: the env's, or 1 for a
            model); the horizon still counts control steps (the env cards say more).
        seed: seed of ``x0`` (policy initialisation).
        **task_kwargs: for the task factory and ``gym.make`` (``reset_seed``, reward weights), or
            ``ModelTask``'s ``initial_qpos``, ``initial_qvel``, ``keyframe``.
    """
    frame_skip = _check_args(backend, parameterization, n_knots, frame_skip)
    try:
        task, gym_runner = _resolve(env, backend, horizon, loss_fn, frame_skip, task_kwargs)
    except TypeError as err:  # an option the task factory or gym.make does not take
        raise ValueError(_bad_option(env, task_kwargs, err)) from err
    horizon, low, high, obs_dim = _spaces(task, gym_runner)
    runner = gym_runner
    if runner is None:
        runner = _native_runner(task, backend, nthread, backend_options or {})
    try:
        param = make_parameterization(
            parameterization, horizon=horizon, ctrl_low=low, ctrl_high=high, n_knots=n_knots,
            interp=interp, obs_dim=obs_dim, hidden=hidden,
        )  # fmt: skip
    except ValueError:
        runner.close()
        raise
    return Objective(runner, param, task, horizon, seed)


def _check_args(backend: str, parameterization: str, n_knots: Any, frame_skip: Any) -> Any:
    """Check :func:`make_objective`'s arguments (``ValueError``); ``frame_skip`` as an int."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    if parameterization not in PARAMETERIZATIONS:
        raise ValueError(
            f"unknown parameterization {parameterization!r}; choose one of {PARAMETERIZATIONS}"
        )
    if n_knots is not None and parameterization != "spline":
        raise ValueError(
            f"n_knots={n_knots} is only used by the spline parameterization, not "
            f"{parameterization!r}; pass parameterization='spline' (CLI: -p spline) or drop it"
        )
    return None if frame_skip is None else positive_int("frame_skip", frame_skip)


def _native_runner(task: Task, backend: str, nthread: int | None, options: dict[str, Any]):
    """The ``"native"`` or ``"ray"`` backend running ``task``."""
    if backend == "native":
        from .backends.native import NativeBackend

        return NativeBackend(task, nthread=nthread, **options)
    from .backends.ray_backend import RayBackend

    return RayBackend(task, nthread=nthread, **options)


def _spaces(task: Task | None, gym_runner) -> tuple[int, np.ndarray, np.ndarray, int]:
    """``(horizon, ctrl_low (nu,), ctrl_high (nu,), obs_dim)`` of the episodes: the Gymnasium
    backend's, if there is one, else the native task's."""
    if gym_runner is not None:
        r = gym_runner
        return r.horizon, r.ctrl_low, r.ctrl_high, r.obs_dim
    low, high = ctrl_bounds(task.model)
    q0, v0 = task.initial_state()
    obs_dim = np.shape(task.observation(np.asarray(q0)[None], np.asarray(v0)[None]))[1]
    return task.horizon, low, high, obs_dim


def _resolve(env, backend, horizon, loss_fn, frame_skip, task_kwargs):
    """``(task or None, GymBackend or None)`` for ``env``; see :func:`make_objective`."""
    if isinstance(env, mujoco.MjModel) or is_model_path(env):
        return _model_task(env, backend, horizon, loss_fn, frame_skip, task_kwargs), None
    if loss_fn is not None:
        raise ValueError("loss_fn is only for an MjModel or MJCF path; a task has its own loss")
    if not isinstance(env, str):
        return _given_task(env, backend, horizon, frame_skip, task_kwargs), None
    kw = dict(task_kwargs)
    if frame_skip is not None:
        kw["frame_skip"] = frame_skip
    if horizon is not None:
        kw["horizon"] = horizon
    if backend == "gymnasium":
        return _gym_env(env, kw)
    if env not in TASKS:
        if not _gym_known(env):
            raise ValueError(f"unknown env id {env!r}; native tasks: {sorted(TASKS)}")
        raise ValueError(
            f"{env!r} has no native task; use backend='gymnasium' to run it through gym.make"
        )
    return make_task(env, **kw), None


def _model_task(env, backend, horizon, loss_fn, frame_skip, task_kwargs) -> ModelTask:
    """The task of an ``MjModel`` or MJCF path scored by ``loss_fn``."""
    if backend == "gymnasium":
        raise ValueError("an MjModel or MJCF path runs on backend='native' or 'ray'")
    if loss_fn is None:
        raise ValueError("an MjModel or MJCF path needs loss_fn(traj) -> (n,) losses")
    return ModelTask(env, loss_fn, horizon or DEFAULT_HORIZON, frame_skip or 1, **task_kwargs)


def _given_task(env, backend, horizon, frame_skip, task_kwargs) -> Task:
    """A ``Task`` passed in, used as is (``ValueError`` for options that would change it)."""
    if not isinstance(env, Task):
        raise ValueError(f"env must be an env id, MjModel, MJCF path or Task, got {env!r}")
    if task_kwargs or frame_skip is not None:
        raise ValueError("task_kwargs and frame_skip cannot change a Task that is passed in")
    if horizon is not None and horizon != env.horizon:
        raise ValueError(f"horizon={horizon} differs from the task's horizon {env.horizon}")
    if backend == "gymnasium":
        raise ValueError("a Task object runs on backend='native' or 'ray'; pass its env id")
    return env


def _gym_env(env: str, kw: dict[str, Any]):
    """``(native task or None, GymBackend)`` of a Gymnasium id; ``kw``: the task options."""
    if not _gym_known(env):
        raise ValueError(f"unknown env id {env!r}: not registered with Gymnasium")
    task = None
    if env in TASKS:
        try:
            task = make_task(env, **kw)
        except ValueError:  # e.g. Ant-v5 with a contact cost: Gymnasium only
            task = None
    from .backends.gym_backend import GymBackend

    reset_seed = kw.pop("reset_seed", 0)
    if task is not None:
        horizon, gym_kwargs = task.horizon, getattr(task, "gym_kwargs", None)
    else:
        horizon, gym_kwargs = kw.pop("horizon", DEFAULT_HORIZON), None
    gym_kwargs = dict(kw if gym_kwargs is None else gym_kwargs)
    gym_kwargs.pop("horizon", None)
    return task, GymBackend(env, horizon=horizon, reset_seed=reset_seed, gym_kwargs=gym_kwargs)


def _bad_option(env: Any, options: dict[str, Any], err: TypeError) -> str:
    """The message for task ``options`` refused by ``env``'s task or ``gym.make``, naming the
    valid ones: its task's constructor parameters (a Gymnasium env's, plus ``reset_seed``)."""
    valid = None
    if isinstance(env, mujoco.MjModel) or is_model_path(env):
        valid = _parameters(ModelTask)
    elif isinstance(env, str) and _gym_known(env):
        cls = gym.envs.registration.load_env_creator(gym.spec(env).entry_point)
        task_cls = getattr(cls, "task_class", None)
        valid = _parameters(task_cls) if task_cls else _parameters(cls) | {"reset_seed"}
    unknown = ", ".join(sorted(set(options) - (valid or set())))
    if valid is None or not unknown:
        return f"bad option for env {env!r}: {err}"
    valid = sorted((valid | {"horizon"}) - {"model_or_path", "loss_fn"})
    return f"unknown env option(s) {unknown} for {env!r}; valid: {', '.join(valid)}"


def _parameters(cls: type) -> set[str]:
    """Keyword parameters of ``cls``'s constructor, without ``**kwargs``."""
    return {n for n, p in inspect.signature(cls).parameters.items() if p.kind != p.VAR_KEYWORD}
