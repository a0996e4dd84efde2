"""Fitness shaping of one batch's losses."""

from __future__ import annotations

import numpy as np
import pytest

from zg_control.optimizers.shaping import shape_losses


def test_ranks_and_normal_scores_are_centred_and_keep_the_order():
    losses = np.array([5.0, -1.0, 1e9, 2.0])
    ranks = shape_losses(losses, "ranks")
    assert np.allclose(ranks, [0.125, -0.375, 0.375, -0.125])
    normal = shape_losses(losses, "normal")
    assert np.array_equal(np.argsort(normal), np.argsort(losses))
    assert normal.sum() == pytest.approx(0.0, abs=1e-12)
    assert np.allclose(shape_losses(np.array([3.0, 3.0]), "ranks"), [0.0, 0.0])  # ties share


def test_clip_only_touches_outliers():
    losses = np.array([1.0, 1.1, 0.9, 1.05, 0.95, 1e6])
    clipped = shape_losses(losses, "clip")
    assert np.array_equal(clipped[:5], losses[:5])
    assert 1.1 < clipped[5] < 2.0
    flat = np.ones(4)  # zero spread: nothing to clip against
    assert np.array_equal(shape_losses(flat, "clip"), flat)
    assert shape_losses(losses, "none") is losses
