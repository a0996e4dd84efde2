"""``devset.md``: the targets of issue 17, checked from the records of ``devset.py``.

Medians are over the seeds recorded for a (task, method label); a task enters a table only when
the labels it compares have runs. The scale variants (labels ``*-sigma-x*``) are compared only
with their own method's default, on the seeds that both were run with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zg_control.bench.record import label_of

# the discrete goal of each animation task (envs/*.py): loss at or below
GOALS = {
    "jump-spline": (-2.0, "clears the bar and lands upright"),
    "throw-spline": (-1.0, "the ball lands in the basket"),
    "push-spline": (-1.0, "the puck in the disc for at least half the episode"),
    "keyframe-spline": (0.0, "all three key poses met"),
}
ZG, CMA, RANDOM = "zerograds", "cmaes", "random"


def _runs(records: list[dict[str, Any]]) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """``(seed, final loss)`` of the runs that ended ok, per ``(task, label)``."""
    out: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for r in records:
        if r["status"] == "ok":
            out.setdefault((r["task"], label_of(r)), []).append(
                (int(r["seed"]), float(r["final_loss"]))
            )
    return out


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def best_table(losses: dict[tuple[str, str], list[float]], tasks: list[str]) -> list[str]:
    """ZeroGrads' median beside the best other method's and random search's, per task."""
    rows = ["| task | seeds | zerograds | best other | random | ZG <= best | ZG <= random |",
            "| --- | ---: | ---: | --- | ---: | :-: | :-: |"]  # fmt: skip
    for task in tasks:
        zg = losses.get((task, ZG))
        others = {
            lab: np.median(v)
            for (t, lab), v in losses.items()
            if t == task and lab != ZG and "-sigma-x" not in lab
        }
        if not zg or not others:
            continue
        best = min(others, key=others.get)
        rnd = others.get(RANDOM, float("nan"))
        z = float(np.median(zg))
        rows.append(
            f"| {task} | {len(zg)} | {_fmt(z)} | {best} {_fmt(others[best])} | {_fmt(rnd)} | "
            f"{'yes' if z <= others[best] else 'no'} | "
            f"{'yes' if z <= rnd else ('no' if rnd == rnd else '')} |"
        )
    return rows


def goal_table(losses: dict[tuple[str, str], list[float]]) -> list[str]:
    """Seeds that reach each animation task's discrete goal, per method."""
    labels = sorted({lab for (t, lab) in losses if t in GOALS and "-sigma-x" not in lab})
    rows = ["| task (goal) | " + " | ".join(labels) + " |", "| --- |" + " ---: |" * len(labels)]
    for task, (level, what) in GOALS.items():
        cells = []
        for lab in labels:
            v = losses.get((task, lab), [])
            cells.append(f"{sum(x <= level for x in v)}/{len(v)}" if v else "")
        if any(cells):
            rows.append(f"| {task} ({what}, <= {level:g}) | " + " | ".join(cells) + " |")
    return rows


def _scale_cost(
    by_seed: dict[tuple[str, str], dict[int, float]], task: str, method: str, variant: str
) -> tuple[int, float, float] | None:
    """``(seeds, median(variant), median(variant) - median(default))`` over the seeds both
    have; ``None`` without common seeds."""
    base, var = by_seed.get((task, method), {}), by_seed.get((task, variant), {})
    seeds = sorted(set(base) & set(var))
    if not seeds:
        return None
    v = float(np.median([var[s] for s in seeds]))
    return len(seeds), v, v - float(np.median([base[s] for s in seeds]))


def scale_table(by_seed: dict[tuple[str, str], dict[int, float]], tasks: list[str]) -> list[str]:
    """What sigma x0.1 and x10 cost each method, median(variant) - median(default) on the
    seeds both ran, beside each method's median loss at the mis-specified sigma."""
    rows = [
        "| task | factor | seeds | ZG cost | CMA-ES cost | ZG costs <= CMA-ES "
        "| ZG loss | CMA-ES loss |",
        "| --- | ---: | ---: | ---: | ---: | :-: | ---: | ---: |",
    ]
    for task in tasks:
        for k in ("0.1", "10"):
            zg = _scale_cost(by_seed, task, ZG, f"zg-sigma-x{k}")
            cma = _scale_cost(by_seed, task, CMA, f"cma-sigma-x{k}")
            if zg and cma:
                ok = "yes" if zg[2] <= cma[2] + 1e-12 else "no"
                seeds = str(zg[0]) if zg[0] == cma[0] else f"{zg[0]} / {cma[0]}"
                rows.append(
                    f"| {task} | x{k} | {seeds} | {_fmt(zg[2])} | {_fmt(cma[2])} | {ok} | "
                    f"{_fmt(zg[1])} | {_fmt(cma[1])} |"
                )
    return rows


def write_devset_report(records: list[dict[str, Any]], out: Path, command: str) -> str:
    """Write ``out/devset.md`` from ``records`` and return its text."""
    runs = _runs(records)  # grouped once: the medians by label, the costs by seed
    losses = {k: [loss for _, loss in v] for k, v in runs.items()}
    tasks = sorted({t for (t, _) in losses}, key=lambda t: (t not in GOALS, t))
    parts = [
        "# Development set of the step control (issue 17)",
        "",
        f"Made by `{command}`; the runs are in `runs.jsonl` here (per-method tables in "
        "`summary.md`). Medians over seeds; lower is better.",
        "",
        "## ZeroGrads against the best other method and random search",
        "",
        *best_table(losses, tasks),
        "",
        "## Discrete goals of the animation tasks (seeds that reach them)",
        "",
        *goal_table(losses),
        "",
        "## Mis-specified sigma: median(loss at sigma x k) - median(loss at the default)",
        "",
        "On the seeds both were run with; the last two columns are the medians at sigma x k.",
        "",
        *scale_table({k: dict(v) for k, v in runs.items()}, tasks),
        "",
    ]
    text = "\n".join(parts)
    (out / "devset.md").write_text(text)
    return text
