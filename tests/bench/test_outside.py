"""The outside tasks (zg_control.bench.outside): dm-control's suite models with losses written
here; the losses on hand-made trajectories, every task built from the installed model files."""

from __future__ import annotations

import importlib.util
import math
import types

import numpy as np
import pytest

from zg_control.bench import heldout, outside
from zg_control.bench.suite import OPT_IN, get_task

HAVE_DMC = importlib.util.find_spec("dm_control") is not None


def trajectory(qpos: np.ndarray, ctrl: np.ndarray) -> types.SimpleNamespace:
    return types.SimpleNamespace(qpos=qpos, ctrl=ctrl)


def test_travel_loss_is_minus_the_distance_plus_effort():
    qpos = np.zeros((2, 5, 3))
    qpos[0, :, 1] = np.linspace(0.0, 2.0, 5)  # run 0 travels 2 m along x (index 1)
    qpos[1, :, 1] = np.linspace(0.5, 0.0, 5)  # run 1 goes 0.5 m backwards
    ctrl = np.stack([np.zeros((4, 2)), np.ones((4, 2))])
    loss = outside.travel_loss(trajectory(qpos, ctrl), x_index=1)
    np.testing.assert_allclose(loss, [-2.0, 0.5 + outside.EFFORT])


def test_acrobot_loss_is_0_upright_and_1_hanging():
    T = 8
    up, down = np.zeros((T + 1, 2)), np.tile([math.pi, 0.0], (T + 1, 1))
    late_up = down.copy()
    late_up[T // 2 :] = 0.0  # upright for the scored last half
    qpos = np.stack([up, down, late_up])
    loss = outside.acrobot_loss(trajectory(qpos, np.zeros((3, T, 1))))
    np.testing.assert_allclose(loss, [0.0, 1.0, 0.0], atol=1e-12)


TABLES = {"outside": outside, "heldout": heldout}


@pytest.mark.skipif(not HAVE_DMC, reason="dm-control (the model files) is not installed")
@pytest.mark.parametrize(
    ("kind", "name"), [(k, n) for k, table in TABLES.items() for n in sorted(table.SIZES)]
)
def test_each_dm_control_task_builds_with_its_stated_size_and_a_finite_loss(kind, name):
    """The outside and the held-out tasks (bench/outside.py, bench/heldout.py)."""
    spec = get_task(name)
    assert spec.kind == kind and name in OPT_IN
    problem = spec.build()
    try:
        assert problem.dim == spec.dim == TABLES[kind].SIZES[name][1]
        X = np.stack([problem.x0, problem.x0])
        loss = problem.fn(X)
        assert loss.shape == (2,) and np.isfinite(loss).all() and loss[0] == loss[1]
    finally:
        problem.close()


def test_missing_model_files_give_one_clear_error(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ValueError, match="needs the model files of dm-control: pip install"):
        outside.suite_model("walker")
