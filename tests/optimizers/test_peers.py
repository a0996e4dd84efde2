"""The peer methods (zg_control.optimizers.peers): each library through its own ask/tell reaches the
optimum of a sphere, is charged for every episode, is seeded, and a missing library gives one
clear message. Each peer is skipped when its library is not installed."""

from __future__ import annotations

import sys
import threading
import warnings

import numpy as np
import pytest
import torch

import zg_control as zg
from zg_control.functions import get_function, sphere
from zg_control.optimizers.peers import PEERS, MissingPeerLibrary, NGOpt, NGOptConfig, missing_peer

# name -> (options, budget, loss the recommendation must reach on sphere-10 from x0 = 3: loss 90)
SPHERE = {
    "cmaes-sepcma": ({}, 2000, 1e-8),
    "evotorch-snes": ({}, 2000, 1e-5),
    "nevergrad-ngopt": ({}, 1000, 1e-3),
    # ClipUp moves at most max_speed = 2 lr per step, so PGPE needs a step that fits the distance
    # (its default, radius / 30, crosses the 9.5 to the optimum too slowly for this budget)
    "evotorch-pgpe": ({"lr": 0.05}, 3000, 0.1),
}


def make_peer(name, x0, evals, seed=0, bounds=None, **options):
    """Peer ``name`` at ``x0`` for a run of ``evals`` evaluations (skipped without its library)."""
    cls, cfg_cls = PEERS[name]
    pytest.importorskip(cls.library)
    return cls(x0, cfg_cls(**options).for_budget(evals), seed=seed, bounds=bounds)


def run(name, evals, seed=0, bounds=None, x0=None, **options):
    """``(result, rows)``: a ``zg.minimize`` run of peer ``name`` on sphere-10 with budget
    ``evals`` and every row passed to the loss, shape ``(n_evals, 10)``."""
    x0 = get_function("sphere", 10)[1] if x0 is None else x0
    opt = make_peer(name, x0, evals, seed, bounds, **options)
    calls: list[np.ndarray] = []

    def counted(X):
        calls.append(X.copy())
        return sphere(X)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the libraries' own warnings
        res = zg.minimize(counted, x0, budget=evals, restored=opt)
    return res, np.concatenate(calls)


@pytest.mark.parametrize("name", sorted(PEERS))
def test_peer_reaches_the_sphere_optimum_and_is_charged_every_episode(name):
    options, budget, target = SPHERE[name]
    res, rows = run(name, budget, **options)
    opt = res.optimizer
    assert len(rows) == res.n_evals <= budget
    assert opt.n_evals == res.n_evals - 1  # every asked row, then the recommendation once
    assert opt.best_loss == sphere(rows[:-1]).min()  # best_x covers every episode
    rec = opt.recommendation
    assert rec.shape == (10,)
    assert sphere(rec[None])[0] < target
    assert res.loss <= min(opt.best_loss, sphere(rec[None])[0])


@pytest.mark.parametrize("name", sorted(PEERS))
def test_peer_runs_are_seeded_and_leave_the_global_generators_alone(name):
    global_np = np.random.get_state
    np_state, torch_state = global_np(), torch.random.get_rng_state()
    options = {"budget": 1000} if name == "nevergrad-ngopt" else {}  # NGOpt then picks CMA
    first, again, other = (run(name, 150, seed=s, **options)[1] for s in (0, 0, 1))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert all(np.array_equal(a, b) for a, b in zip(np_state, global_np(), strict=True))
    assert torch.equal(torch_state, torch.random.get_rng_state())


@pytest.mark.parametrize("name", sorted(PEERS))
def test_peer_asks_only_inside_the_bounds(name):
    _, rows = run(name, 150, bounds=(-1.0, 2.0), x0=np.full(10, 1.9))
    assert rows.min() >= -1.0 and rows.max() <= 2.0


@pytest.mark.parametrize("name", sorted(PEERS))
def test_peer_refuses_checkpoints(name):
    opt = make_peer(name, np.ones(3), evals=100)
    with pytest.raises(ValueError, match="cannot be checkpointed"):
        opt.state_dict()


@pytest.mark.parametrize("name", sorted(PEERS))
def test_a_missing_library_gives_one_clear_message(name, monkeypatch):
    library = PEERS[name][0].library
    monkeypatch.setitem(sys.modules, library, None)  # import of it now fails
    message = f"peer method '{name}' needs {library}: pip install zg_control[peers]"
    assert missing_peer(name) == message
    with pytest.raises(MissingPeerLibrary) as err:
        PEERS[name][0](np.ones(3))
    assert str(err.value) == message


def test_peer_names_and_options():
    assert not set(PEERS) & set(zg.OPTIMIZERS)
    for _, cfg_cls in PEERS.values():
        assert isinstance(cfg_cls(), zg.OptimizerConfig)
        with pytest.raises(ValueError, match="sigma"):
            cfg_cls(sigma=0.0)
    with pytest.raises(ValueError, match="even"):
        PEERS["evotorch-pgpe"][1](batch_size=7)
    with pytest.raises(ValueError, match="num_workers"):
        NGOptConfig(num_workers=0)
    assert NGOptConfig().for_budget(500).budget == 499  # minimize keeps one to measure
    assert NGOptConfig(budget=9).for_budget(500).budget == 9


def test_ngopt_leaves_no_thread_running_while_the_result_is_kept():
    """NGOpt's scipy-based picks (here Cobyla) run in a thread until they have spent their
    budget; the budget the peer gives NGOpt ends it with the run, so a script keeping the result
    still exits."""
    before = set(threading.enumerate())
    x0 = np.full(10, 0.5)
    opt = make_peer("nevergrad-ngopt", x0, 300, bounds=(-1.0, 1.0))
    assert opt.choice == "Cobyla"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's and nevergrad's own
        res = zg.minimize(sphere, x0, budget=300, restored=opt)
    assert res.n_evals == 300 and res.loss < 1e-6
    for thread in set(threading.enumerate()) - before:
        thread.join(timeout=10)
        assert not thread.is_alive()


@pytest.mark.parametrize(
    ("d", "budget", "options", "bounds", "choice", "why"),
    [  # batches of 2 on a bounded d = 300 problem: NGOpt picks a diagonal CMA with TPA, which
        # breaks within a few generations (why num_workers defaults to 1)
        (300, 3000, {"num_workers": 2}, (-1.0, 1.0), "CMA -> CMAbounded", "use num_workers=1"),
        # a small budget: NGOpt picks a meta-model, whose code NumPy 2 rejects
        (10, 300, {}, None, "MetaModel", "meta-model step"),
    ],
)
def test_ngopt_failures_inside_nevergrad_say_what_ngopt_picked(
    d, budget, options, bounds, choice, why
):
    pytest.importorskip("nevergrad")
    x0 = np.full(d, 0.5)
    opt = NGOpt(x0, NGOptConfig(budget=budget, **options), seed=0, bounds=bounds)
    assert opt.choice == choice
    with warnings.catch_warnings(), pytest.raises(RuntimeError, match=why) as err:
        warnings.simplefilter("ignore")
        zg.minimize(sphere, x0, budget=budget, restored=opt)
    assert f"NGOpt picked {choice}" in str(err.value)
    assert 0 < opt.n_evals < budget


@pytest.mark.parametrize("name", sorted(PEERS))
def test_peers_by_name_in_minimize_and_in_lockstep(name):
    """``zg.minimize`` and ``zg.minimize_many`` find a peer by its name; the seeds of a lockstep
    run end as the runs alone do, bit for bit (each library's generator is its own)."""
    pytest.importorskip(PEERS[name][0].library)
    fn, x0 = get_function("sphere", 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the libraries' own warnings
        alone = [zg.minimize(fn, x0, name, 150, s, bounds=(-4, 4)) for s in (0, 1)]
        many = zg.minimize_many(fn, x0, name, 150, [0, 1], bounds=(-4, 4))
    assert 140 < alone[0].n_evals <= 150 and alone[0].loss < fn(x0[None])[0]
    for a, b in zip(alone, many, strict=True):
        assert a.loss == b.loss and np.array_equal(a.x, b.x)


def test_peers_missing_library_skips_their_comparison_runs(monkeypatch, tmp_path):
    from zg_control.bench.runner import plan_runs

    monkeypatch.setitem(sys.modules, "cmaes", None)
    with pytest.warns(UserWarning, match=r"needs cmaes: pip install zg_control\[peers\]; its"):
        runs = plan_runs(["toy"], ["random", "cmaes-sepcma"], [0, 1], quick=True)
    assert [r.method for r in runs] == ["random", "random"]
    with pytest.raises(ValueError, match="unknown method 'sepcma'; .* or a peer library"):
        zg.make_optimizer("sepcma", np.zeros(2))
