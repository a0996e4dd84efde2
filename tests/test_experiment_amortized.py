"""experiments/amortized.py: per-context scoring of stacked episodes, and the script end to end
(tiny)."""

from __future__ import annotations

import csv

import matplotlib.image as mpimg
import numpy as np
import pytest
from test_experiment_scripts import load_script

import zg_control as zg

amortized = load_script("amortized")


def test_each_row_is_scored_against_its_own_key_poses():
    """One native call for rows of two contexts equals each context's own objective."""
    rng = np.random.default_rng(0)
    C = amortized.contexts(2, 0.4, rng)
    fn = amortized.Episodes(knots=4)
    try:
        Y = rng.uniform(-1, 1, (6, 12))
        rows_context = np.repeat(C, [2, 4], axis=0)
        losses = fn(Y, rows_context)
        assert fn.episodes == 6
    finally:
        fn.close()
    for c, rows in ((C[0], slice(0, 2)), (C[1], slice(2, 6))):
        obj = zg.make_objective(amortized.ENV, parameterization="spline", n_knots=4,
                                key_poses=c.reshape(3, 3))  # fmt: skip
        try:
            np.testing.assert_array_equal(losses[rows], obj(Y[rows]))
        finally:
            obj.close()


@pytest.mark.slow
def test_amortized_script_quick(tmp_path):
    out = amortized.main(["--quick", "--out_dir", str(tmp_path)])
    text = (out / "summary.md").read_text()
    assert "Made by `python experiments/amortized.py --quick" in text
    for row in ("| one network |", "| cmaes per context |", "| zerograds per context |"):
        assert row in text
    assert "each method spends 180 episodes in total" in text
    with (out / "history.csv").open() as fh:
        history = list(csv.DictReader(fh))
    assert len(history) >= 2 and float(history[-1]["episodes"]) <= 180
    assert all(0.0 <= float(h["median"]) <= 2.0 for h in history)
    assert mpimg.imread(out / "curve.png").shape[2] in (3, 4)
    strip = mpimg.imread(out / "strip.png")
    assert strip.shape[0] == 3 * mpimg.imread(out / "context_0" / "strip.png").shape[0]
    assert strip.std() > 0.01  # frames, not a blank image
