"""Reports of a comparison: the markdown summary (median and IQR of the final loss, whether the
best median is ahead of the others beyond the seeds' spread, episodes to a threshold, wall time),
``runs.csv`` and one best-loss-vs-episodes plot per task (median line, IQR band), all written by
:func:`write_report` from run records (:mod:`.record`). Methods are shown by label: a labelled
variant's label, else the method's name.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

from .record import config_dict, label_of, options_id
from .stats import significance_section
from .suite import DEFAULT_METHODS, SUITE

THRESHOLD_FRACTION = 0.8
_CSV_FIELDS = (
    "task", "kind", "dim", "method", "label", "seed", "budget", "quick", "status", "final_loss",
    "loss_x0", "threshold", "episodes_to_threshold", "n_evals", "n_iters", "wall_time",
    "fn_time", "overhead_per_iter", "peak_rss_mb", "rss_before_mb", "error",
)  # fmt: skip


def _order(labels: set[str]) -> list[str]:
    """The default methods in their order, then the other labels by name."""
    n = len(DEFAULT_METHODS)
    return sorted(
        labels, key=lambda m: (DEFAULT_METHODS.index(m) if m in DEFAULT_METHODS else n, m)
    )


def _groups(records: list[dict[str, Any]]) -> dict[tuple, list[dict[str, Any]]]:
    """Successful runs by (task, budget, quick): suite order, then others by dimension."""
    out: dict[tuple, list[dict[str, Any]]] = {}
    for r in records:
        if r["status"] == "ok":
            out.setdefault((r["task"], r["budget"], r["quick"]), []).append(r)
    names = list(SUITE)

    def rank(group: tuple) -> tuple:
        return (
            names.index(group[0]) if group[0] in names else len(names),
            out[group][0]["dim"],
            group[0],
            group[1],
        )

    return {g: out[g] for g in sorted(out, key=rank)}


def episodes_to(curve: list[list[float]], threshold: float) -> float:
    """First episode count whose best loss is ``<= threshold`` (``inf`` if never)."""
    for n, loss in curve:
        if loss <= threshold:
            return float(n)
    return float("inf")


def thresholds(runs: list[dict[str, Any]]) -> float:
    """The task's fixed threshold, else ``L0 + THRESHOLD_FRACTION * (L* - L0)``: ``L0`` the
    median loss at ``x0``, ``L*`` the best median final loss of any method (``nan`` if no
    method improved on ``x0``)."""
    fixed = runs[0].get("threshold_fixed")
    if fixed is not None:
        return float(fixed)
    l0 = float(np.median([r["loss_x0"] for r in runs]))
    best = min(
        np.median([r["final_loss"] for r in runs if label_of(r) == m])
        for m in {label_of(r) for r in runs}
    )
    return l0 + THRESHOLD_FRACTION * (best - l0) if best < l0 else float("nan")


def _fmt(x: float) -> str:
    return f"{x:.4g}" if np.isfinite(x) else "—"


def curve_on_grid(curve: list[list[float]], grid: np.ndarray) -> np.ndarray:
    """Best loss at each episode count of ``grid`` (NaN before the first record)."""
    c = np.asarray(curve, dtype=np.float64).reshape(-1, 2)
    idx = np.searchsorted(c[:, 0], grid, side="right") - 1
    return np.where(idx >= 0, c[np.maximum(idx, 0), 1], np.nan)


def _plot(task: str, budget: int, runs: list[dict[str, Any]], thr: float, path: Path) -> None:
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.linspace(0, budget, 201)
    fig, ax = plt.subplots(figsize=(7.5, 4), dpi=100)
    for i, m in enumerate(_order({label_of(r) for r in runs})):
        Y = np.array([curve_on_grid(r["curve"], grid) for r in runs if label_of(r) == m])
        ok = ~np.isnan(Y).any(axis=0)
        q25, q50, q75 = np.percentile(Y[:, ok], [25, 50, 75], axis=0)
        # ten colours, then the next line style: no two labels look alike
        style = {"color": f"C{i % 10}", "ls": ("-", "--", "-.", ":")[i // 10 % 4]}
        lw = 2.5 if m == "zerograds" else 1.5
        ax.plot(grid[ok], q50, label=f"{m} ({len(Y)})", lw=lw, **style)
        ax.fill_between(grid[ok], q25, q75, color=style["color"], alpha=0.15, lw=0)
    x0_loss = float(np.median([r["loss_x0"] for r in runs]))
    ax.axhline(x0_loss, color="k", ls=":", lw=1, label="x0")
    if np.isfinite(thr):
        ax.axhline(thr, color="grey", ls="--", lw=1, label="threshold")
    title = f"{task} (d = {runs[0]['dim']})"
    ax.set(xlabel="episodes", ylabel="best loss (median, IQR)", title=title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the curves
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


def _cells(runs: list[dict[str, Any]], budget: int, best: float) -> tuple[str, str, str]:
    """One method's cells of the three tables: final loss (bold if its median is the best),
    episodes to the threshold, wall time."""
    losses = [float(r["final_loss"]) for r in runs]
    q25, q75 = np.percentile(losses, [25, 75])
    loss = f"{_fmt(np.median(losses))} [{_fmt(q25)}, {_fmt(q75)}]"
    loss = f"**{loss}**" if np.median(losses) <= best else loss
    e = np.array([r["episodes_to_threshold"] for r in runs])
    e_med = np.median(e)
    reached = f"({int(np.isfinite(e).sum())}/{len(e)})"
    episodes = f"{_fmt(e_med) if np.isfinite(e_med) else f'>{budget}'} {reached}"
    wall = np.median([r["wall_time"] for r in runs])
    over = np.median([r["overhead_per_iter"] for r in runs]) * 1e3
    return loss, episodes, f"{wall:.1f} s ({over:.2g} ms/it)"


def _tables(
    groups: dict[tuple, list[dict[str, Any]]], thr: dict[tuple, float], labels: list[str]
) -> tuple[list[list[str]], dict[str, int], list[tuple[str, dict[str, list[float]]]]]:
    """The rows of the final-loss, episodes and wall-time tables; per label the tasks where its
    median is the best; per task the final losses by label (for the significance tests)."""
    head = "| task | d | budget | loss at x0 | " + " | ".join(labels) + " |"
    rule = "|---" * (4 + len(labels)) + "|"
    tables = [
        [head.replace("loss at x0", first), rule]
        for first in ("loss at x0", "threshold", "episode ms")
    ]
    wins = dict.fromkeys(labels, 0)
    finals = []
    for (task, budget, quick), runs in groups.items():
        by = {m: [r for r in runs if label_of(r) == m] for m in labels}
        losses = {m: [float(r["final_loss"]) for r in v] for m, v in by.items() if v}
        finals.append((task, losses))
        best = min(np.median(v) for v in losses.values())
        cells = [_cells(by[m], budget, best) if by[m] else ("", "", "") for m in labels]
        wins.update({m: wins[m] + 1 for m in losses if np.median(losses[m]) <= best})
        ep_ms = np.median([r["fn_time"] / max(r["n_evals"], 1) for r in runs]) * 1e3
        firsts = (
            _fmt(np.median([r["loss_x0"] for r in runs])),
            _fmt(thr[(task, budget, quick)]),
            f"{ep_ms:.2g}",
        )
        for table, first, column in zip(tables, firsts, zip(*cells, strict=True), strict=True):
            table.append(
                f"| {task} | {runs[0]['dim']} | {budget} | {first} | " + " | ".join(column) + " |"
            )
    return tables, wins, finals


def _setting(rec: dict[str, Any]) -> str:
    """A record's effective config under the current code as canonical JSON (its options when
    they no longer make a config), so seeds given the same config in other words agree."""
    try:
        config = config_dict(rec["method"], rec.get("options"), rec["budget"])
    except ValueError:
        return options_id(rec.get("options"))
    return json.dumps(config, sort_keys=True)


def _caveats(records: list[dict[str, Any]]) -> list[str]:
    """Sections on what the medians mix (code versions, settings) and on failed runs."""
    versions: dict[str, dict[str, list]] = {}  # method -> code hash -> its runs
    settings: dict[tuple, dict[str, str]] = {}  # (task, label, budget) -> config -> options
    for r in (r for r in records if r["status"] == "ok"):
        versions.setdefault(r["method"], {}).setdefault(r.get("code", "?"), []).append(r)
        cell = settings.setdefault((r["task"], label_of(r), r["budget"]), {})
        cell.setdefault(_setting(r), options_id(r.get("options")))
    lines: list[str] = []
    mixed = {m: v for m, v in versions.items() if len(v) > 1}
    if mixed:
        lines += ["", "## Runs made with different versions of a method's code", ""]
        for m, v in mixed.items():
            parts = [
                f"{h}: {len(rs)} runs ({', '.join(sorted({r['task'] for r in rs}))})"
                for h, rs in v.items()
            ]
            lines.append(f"- {m}: " + "; ".join(parts))
    mixed_settings = {k: v for k, v in settings.items() if len(v) > 1}
    if mixed_settings:
        lines += ["", "## Cells whose seeds ran with different options (medians mix them)", ""]
        lines += [
            f"- {t} / {m} (budget {b}): " + "; ".join(sorted(v.values()))
            for (t, m, b), v in mixed_settings.items()
        ]
    failed = [r for r in records if r["status"] != "ok"]
    if failed:
        lines += ["", "## Failed runs", ""]
        lines += [
            f"- {r['task']} / {label_of(r)} / seed {r['seed']}: {r.get('error')}" for r in failed
        ]
    return lines


def write_report(records: list[dict[str, Any]], out: Path, command: str | None = None) -> None:
    """Write ``runs.csv``, ``summary.md`` (naming ``command`` as what made them, if given) and
    ``curves_<task>.png`` from run records."""
    groups = _groups(records)
    thr = {g: thresholds(runs) for g, runs in groups.items()}
    for g, runs in groups.items():
        for r in runs:
            r["threshold"] = thr[g]
            r["episodes_to_threshold"] = episodes_to(r["curve"], thr[g])
        _plot(g[0], g[1], runs, thr[g], out / f"curves_{re.sub(r'[^A-Za-z0-9_.-]', '_', g[0])}.png")
    with (out / "runs.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, _CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(records)
    labels = _order({label_of(r) for r in records})
    (loss_rows, ep_rows, time_rows), wins, finals = _tables(groups, thr, labels)
    n_failed = sum(r["status"] != "ok" for r in records)
    seeds = sorted({int(r["seed"]) for r in records})
    made_by = [
        f"Made by `{command}`: it reuses the runs already in `runs.jsonl` and writes this "
        "summary, `runs.csv` and `curves_<task>.png` from all of them.",
        "",
    ]
    text = [
        "# Comparison at an equal episode budget",
        "",
        *(made_by if command else []),
        f"{len(records) - n_failed} runs ok, {n_failed} failed; seeds {seeds}. Loss: lower "
        "is better (gym tasks: -return / horizon).",
        "",
        "## Final loss: median [25 %, 75 %] over seeds (best median in bold)",
        "",
        *loss_rows,
        "",
        "Best median per task: " + ", ".join(f"{m} {wins[m]}" for m in labels) + ".",
        "",
        *significance_section(finals, labels),
        "",
        "## Episodes to reach the threshold: median over seeds (runs that reached it / runs)",
        "",
        f"Threshold: fixed per task where given, else loss at x0 + {THRESHOLD_FRACTION} x (best "
        "median final loss - loss at x0).",
        "",
        *ep_rows,
        "",
        "## Wall time per run: median (optimizer overhead per iteration, excluding episodes)",
        "",
        *time_rows,
        *_caveats(records),
    ]
    (out / "summary.md").write_text("\n".join(text) + "\n")
