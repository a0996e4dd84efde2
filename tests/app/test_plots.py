"""loss.png's lower panel: the sampling scale, and ZeroGrads' lr beside it."""

import matplotlib
import numpy as np

import zg_control as zg
from zg_control.app.plots import _column, _plot_scale, plot_history

matplotlib.use("Agg")


def _lower_panel(history):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ep, sigma, lr = (_column(history, k) for k in ("n_evals", "sigma", "lr"))
    _plot_scale(ax, ep, sigma, "sigma", lr)
    lines = {line.get_label(): line.get_ydata() for line in ax.get_lines()}
    scale = ax.get_yscale()
    plt.close(fig)
    return lines, scale


def test_zerograds_panel_plots_sigma_and_lr_as_logged():
    res = zg.minimize(lambda X: (X**2).sum(axis=1), np.full(4, 0.5), "zerograds", budget=170)
    lines, scale = _lower_panel(res.history)
    assert set(lines) == {"sigma", "lr"} and scale == "log"
    np.testing.assert_array_equal(lines["lr"], [r["lr"] for r in res.history])
    np.testing.assert_array_equal(lines["sigma"], [r["sigma"] for r in res.history])


def test_cmaes_panel_has_sigma_alone(tmp_path):
    res = zg.minimize(lambda X: (X**2).sum(axis=1), np.full(4, 0.5), "cmaes", budget=80)
    lines, _ = _lower_panel(res.history)
    assert set(lines) == {"sigma"}
    path = plot_history(res.history, tmp_path / "loss.png")
    import imageio.v3 as iio

    assert iio.imread(path).shape[2] in (3, 4)
