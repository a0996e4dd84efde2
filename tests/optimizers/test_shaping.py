"""Fitness shaping of one batch's losses."""

from __future__ import annotations

import numpy as np
import pytest

from zg_control.optimizers.shaping import shape_losses


def test_ranks_are_centred_and_keep_the_order():
    losses = np.array([5.0, -1.0, 1e9, 2.0])
    assert np.allclose(shape_losses(losses, "ranks"), [0.125, -0.375, 0.375, -0.125])
    assert np.allclose(shape_losses(np.array([3.0, 3.0]), "ranks"), [0.0, 0.0])  # ties share
    assert np.array_equal(shape_losses(np.exp(losses[:2]), "ranks"), [0.25, -0.25])


def test_none_passes_the_losses_through_and_unknown_kinds_are_rejected():
    losses = np.array([1.0, 1e6])
    assert shape_losses(losses, "none") is losses
    with pytest.raises(ValueError, match="shaping must be one of"):
        shape_losses(losses, "clip")
