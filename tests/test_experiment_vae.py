"""experiments/vae.py: its renderers, its PRDPT estimator, and the script end to end (tiny)."""

from __future__ import annotations

import csv
import dataclasses

import matplotlib.image as mpimg
import numpy as np
import pytest
import torch
from test_experiment_scripts import load_script

vae = load_script("vae")


def test_the_spline_passes_through_its_support_points():
    basis = vae.catmull_rom(5, per_segment=8)
    assert basis.shape == (4 * 8 + 1, 5)
    np.testing.assert_allclose(basis.sum(1), 1.0)  # affine: a translation moves the curve
    np.testing.assert_allclose(basis[::8], np.eye(5), atol=1e-12)


def test_hard_render_marks_the_pixels_within_the_radius():
    """A horizontal line at y = 7.2 px from x = 2.2 to 13.8 px, radius 1: rows 6 and 7 (pixel
    centres 0.7 and 0.3 away; row 8's is 1.3), and in row 7 columns 1 .. 14 (centres 1.5 and
    14.5 are within 1 of the ends)."""
    Y = np.array([[-0.725, -0.1, 0.0, -0.1, 0.725, -0.1]])
    img = vae.render_hard(Y, vae.catmull_rom(3), radius=1.0).reshape(16, 16)
    assert set(np.unique(img)) == {0.0, 1.0}
    assert np.nonzero(img.any(1))[0].tolist() == [6, 7]
    assert np.nonzero(img[7])[0].tolist() == list(range(1, 15))


def test_soft_render_approximates_the_hard_one_and_has_a_gradient():
    Y = np.random.default_rng(0).uniform(-0.7, 0.7, (8, 24))
    basis = vae.catmull_rom(12)
    hard = vae.render_hard(Y, basis, 1.5)
    y = torch.tensor(Y, requires_grad=True)
    soft = vae.render_soft(y, torch.tensor(basis), 1.5)
    assert np.abs(soft.detach().numpy() - hard).mean() < 0.06  # the edges are soft
    assert ((soft.detach().numpy() > 0.5) == (hard > 0.5)).mean() > 0.97
    soft.sum().backward()
    assert y.grad.abs().sum() > 0


def test_stein_estimator_recovers_a_smooth_gradient():
    """On a smooth loss the PRDPT estimate averages to the true gradient."""
    a = np.array([1.0, -2.0, 0.5])
    calls = []
    stein = vae.Stein(lambda Y, C: calls.append(len(Y)) or Y @ a, 3, 0.1, n_samples=20000, seed=0)
    y = torch.zeros(1, 3, dtype=torch.float64, requires_grad=True)
    loss = stein(y, torch.zeros(1, 1))
    loss.sum().backward()
    assert calls == [20001] and float(loss.detach()) == 0.0
    np.testing.assert_allclose(y.grad[0].numpy(), a, atol=0.1)


@pytest.mark.slow
def test_vae_script_quick(tmp_path):
    out = vae.main(["--quick", "--out_dir", str(tmp_path)])
    summary = (out / "summary.md").read_text()
    assert "Made by `python experiments/vae.py --quick --out_dir" in summary
    for method in vae.METHODS:
        assert f"| {method} | 0." in summary
    with open(out / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["method"] for r in rows} == set(vae.METHODS)
    for method in vae.METHODS:
        renders = [int(r["renders"]) for r in rows if r["method"] == method]
        assert renders[0] == 0 and 1800 <= renders[-1] <= 2000  # the quick budget, 2000
    for name in ("curves", "reconstructions", "samples"):
        assert mpimg.imread(out / f"{name}.png").ndim == 3


def test_vae_script_documents_every_argument(capsys):
    with pytest.raises(SystemExit):
        vae.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for field in dataclasses.fields(vae.Args):
        assert " ".join(field.metadata["help"].split()) in text, field.name
    assert "training renders per method (default: 400000)" in text


def test_vae_script_rejects_unknown_methods(tmp_path):
    with pytest.raises(ValueError, match=r"unknown methods \['nope'\]"):
        vae.main(["--quick", "--methods", "nope", "--out_dir", str(tmp_path)])
