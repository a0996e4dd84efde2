"""The held-out tasks (zg_control.bench.heldout): the losses on hand-made trajectories (every
task is built from the installed model files in test_outside.py, with the outside ones)."""

from __future__ import annotations

import math
import types

import numpy as np

from zg_control.bench import heldout
from zg_control.bench.suite import DEFAULT_TASKS, OPT_IN


def trajectory(qpos: np.ndarray, ctrl: np.ndarray | None = None) -> types.SimpleNamespace:
    n, T1 = qpos.shape[:2]
    return types.SimpleNamespace(qpos=qpos, ctrl=np.zeros((n, T1 - 1, 1)) if ctrl is None else ctrl)


def test_pole_loss_is_0_upright_and_1_hanging_over_the_last_half():
    T = 8
    qpos = np.zeros((3, T + 1, 2))
    qpos[1, :, 1] = math.pi  # hanging throughout
    qpos[2, : T // 2, 1] = math.pi  # hanging first, upright for the scored last half
    loss = heldout.pole_loss(trajectory(qpos), hinge=1)
    np.testing.assert_allclose(loss, [0.0, 1.0, 0.0], atol=1e-12)


def test_catch_loss_is_1_at_rest_and_0_with_the_ball_at_the_target():
    T = 6
    qpos = np.zeros((3, T + 1, 4))  # (cup_x, cup_z, ball_x, ball_z)
    qpos[1, :, 3] = heldout.TARGET_Z - heldout.BALL_Z  # the ball lifted into the cup's target
    qpos[2, :, [0, 2]] = 0.3  # cup and ball moved sideways together: still at rest below it
    loss = heldout.catch_loss(trajectory(qpos))
    np.testing.assert_allclose(loss, [1.0, 0.0, 1.0], atol=1e-12)


def test_spin_loss_counts_turns_negated_plus_effort():
    qpos = np.zeros((2, 5, 3))
    qpos[0, :, 2] = np.linspace(0.0, 4 * math.pi, 5)  # two turns
    qpos[1, :, 2] = np.linspace(0.0, -math.pi, 5)  # half a turn the other way
    ctrl = np.stack([np.zeros((4, 2)), np.ones((4, 2))])
    loss = heldout.spin_loss(trajectory(qpos, ctrl), hinge=2)
    np.testing.assert_allclose(loss, [-2.0, 0.5 + heldout.EFFORT])


def test_swim_loss_is_the_horizontal_distance_negated_in_any_direction():
    qpos = np.zeros((2, 4, 7))
    qpos[0, -1, :3] = [3.0, -4.0, 9.0]  # 5 m away horizontally (the height does not count)
    qpos[1, -1, :2] = [-0.6, 0.8]
    loss = heldout.swim_loss(trajectory(qpos))
    np.testing.assert_allclose(loss, [-5.0, -1.0])


def test_held_out_tasks_are_opt_in_and_kept_apart_from_the_outside_set():
    from zg_control.bench import outside

    assert not set(heldout.SIZES) & set(outside.SIZES)
    assert set(heldout.SIZES) <= set(OPT_IN) and not set(heldout.SIZES) & set(DEFAULT_TASKS)
