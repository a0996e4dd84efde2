"""Physics-animation tasks whose losses have no useful gradient, as Gymnasium environments.

=========================  ===================================================  ===  ====  =======
id                         what                                                 nu   T     obs_dim
=========================  ===================================================  ===  ====  =======
``zg_control/Jump-v0``     a hopper jumps a hurdle and lands upright            3    100   12
``zg_control/Throw-v0``    a two-link arm catapults a ball into a basket        2    100   17
``zg_control/Keyframe-v0`` a three-link arm passes three key poses on time      3    75    6
``zg_control/Push-v0``     a sphere pushes a puck into a target disc            2    100   17
=========================  ===================================================  ===  ====  =======

Each env has ``max_episode_steps`` = its horizon ``T`` and a matching native task
(:func:`zg_control.sim.task.make_task`). For every id, ``task.loss(traj) == -return / T`` for the
same action sequence; each module's docstring is its env card. To change the horizon pass it
twice: ``gym.make(id, horizon=50, max_episode_steps=50)`` and ``make_task(id, horizon=50)``.

Registration happens once, when this package is imported, which ``import zg_control`` does: the
ids above go into Gymnasium's registry (string entry points, so an env module loads on first
use) and every native task into :data:`zg_control.sim.task.TASKS`: the tasks of these envs and
those of Gymnasium's MuJoCo v5 envs (:data:`zg_control.sim.gym_tasks.GYM_TASKS`). Gymnasium
>= 1.0 loads no plugins, so without importing zg_control first name the module in the id:
``gym.make("zg_control:zg_control/Jump-v0")``.
"""

from __future__ import annotations

import importlib
from functools import partial

import gymnasium as gym

from zg_control.sim.gym_tasks import GYM_TASKS
from zg_control.sim.task import Task, register_task

# env id -> (module, env class, task class, horizon); tests check the horizon against the task.
_ENVS: dict[str, tuple[str, str, str, int]] = {
    "zg_control/Jump-v0": ("jump", "JumpEnv", "JumpTask", 100),
    "zg_control/Throw-v0": ("throw", "ThrowEnv", "ThrowTask", 100),
    "zg_control/Keyframe-v0": ("keyframe", "KeyframeEnv", "KeyframeTask", 75),
    "zg_control/Push-v0": ("push", "PushEnv", "PushTask", 100),
}
ENV_IDS: tuple[str, ...] = tuple(_ENVS)


def _make_task(module: str, cls: str, **kwargs) -> Task:
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)(**kwargs)


def _register() -> None:
    """Register every env above with Gymnasium and every native task with zg_control."""
    for env_id, (module, env_cls, task_cls, horizon) in _ENVS.items():
        gym.register(
            id=env_id, entry_point=f"{__name__}.{module}:{env_cls}", max_episode_steps=horizon
        )
        register_task(env_id, partial(_make_task, module, task_cls))
    for env_id, task_cls in GYM_TASKS.items():
        register_task(env_id, task_cls)


_register()

__all__ = ["ENV_IDS"]
