"""Reports of a comparison: the markdown summary (median and IQR of the final loss, whether the
best median is ahead of the others beyond the seeds' spread, episodes to a threshold, wall time),
``runs.csv`` and one best-loss-vs-episodes plot per task (median line, IQR band). Written by
:func:`zg_control.compare.run_comparison` from the runs in ``runs.jsonl``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

from .runner import DEFAULT_METHODS, SUITE, options_id
from .stats import significance_section

THRESHOLD_FRACTION = 0.8
_CSV_FIELDS = ("task", "kind", "dim", "method", "seed", "budget", "quick", "status",
               "final_loss", "loss_x0", "threshold", "episodes_to_threshold", "n_evals",
               "n_iters", "wall_time", "fn_time", "overhead_per_iter", "peak_rss_mb",
               "rss_before_mb", "error")  # fmt: skip


def _order(methods: set[str]) -> list[str]:
    return sorted(methods, key=lambda m: (DEFAULT_METHODS + (m,)).index(m))


def _groups(records: list[dict[str, Any]]) -> dict[tuple, list[dict[str, Any]]]:
    """Successful runs by (task, budget, quick): suite order, then others by dimension."""
    out: dict[tuple, list[dict[str, Any]]] = {}
    for r in records:
        if r["status"] == "ok":
            out.setdefault((r["task"], r["budget"], r["quick"]), []).append(r)
    names = list(SUITE)
    rank = {g: (names.index(g[0]) if g[0] in names else len(names), v[0]["dim"], g[0], g[1])
            for g, v in out.items()}  # fmt: skip
    return dict(sorted(out.items(), key=lambda kv: rank[kv[0]]))


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
        np.median([r["final_loss"] for r in runs if r["method"] == m])
        for m in {r["method"] for r in runs}
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
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for m in _order({r["method"] for r in runs}):
        Y = np.array([curve_on_grid(r["curve"], grid) for r in runs if r["method"] == m])
        ok = ~np.isnan(Y).any(axis=0)
        q25, q50, q75 = np.percentile(Y[:, ok], [25, 50, 75], axis=0)
        (line,) = ax.plot(grid[ok], q50, label=f"{m} ({len(Y)})", lw=1.5)
        ax.fill_between(grid[ok], q25, q75, color=line.get_color(), alpha=0.2, lw=0)
    ax.axhline(float(np.median([r["loss_x0"] for r in runs])), color="k", ls=":", lw=1,
               label="x0")  # fmt: skip
    if np.isfinite(thr):
        ax.axhline(thr, color="grey", ls="--", lw=1, label="threshold")
    ax.set(xlabel="episodes", ylabel="best loss (median, IQR)",
           title=f"{task} (d = {runs[0]['dim']})")  # fmt: skip
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(records: list[dict[str, Any]], out: Path) -> None:
    """Write ``runs.csv``, ``summary.md`` and ``curves_<task>.png`` from run records."""

    groups = _groups(records)
    thr = {g: thresholds(runs) for g, runs in groups.items()}
    for g, runs in groups.items():
        for r in runs:
            r["threshold"] = thr[g]
            r["episodes_to_threshold"] = episodes_to(r["curve"], thr[g])
    with (out / "runs.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, _CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(records)
    methods = _order({r["method"] for r in records})
    head = "| task | d | budget | loss at x0 | " + " | ".join(methods) + " |"
    rule = "|---" * (4 + len(methods)) + "|"
    loss_rows, ep_rows, time_rows = [head, rule], [head.replace("loss at x0", "threshold"), rule], [
        head.replace("loss at x0", "episode ms"), rule]  # fmt: skip
    wins = dict.fromkeys(methods, 0)
    finals: list[tuple[str, dict[str, list[float]]]] = []  # per row: method -> final losses
    for (task, budget, _), runs in groups.items():
        by = {m: [r for r in runs if r["method"] == m] for m in methods}
        losses = {m: [float(r["final_loss"]) for r in v] for m, v in by.items() if v}
        finals.append((task, losses))
        med = {m: np.median(losses[m]) if m in losses else np.nan for m in methods}
        best = np.nanmin(list(med.values()))
        cells, eps, times = [], [], []
        for m in methods:
            if not by[m]:
                cells.append("")
                eps.append("")
                times.append("")
                continue
            q25, q75 = np.percentile(losses[m], [25, 75])
            cell = f"{_fmt(med[m])} [{_fmt(q25)}, {_fmt(q75)}]"
            if med[m] <= best:
                wins[m] += 1
                cell = f"**{cell}**"
            cells.append(cell)
            e = np.array([r["episodes_to_threshold"] for r in by[m]])
            e_med = np.median(e)
            eps.append(f"{_fmt(e_med) if np.isfinite(e_med) else f'>{budget}'} "
                       f"({int(np.isfinite(e).sum())}/{len(e)})")  # fmt: skip
            wall = np.median([r["wall_time"] for r in by[m]])
            over = np.median([r["overhead_per_iter"] for r in by[m]]) * 1e3
            times.append(f"{wall:.1f} s ({over:.2g} ms/it)")
        ep_ms = np.median([r["fn_time"] / max(r["n_evals"], 1) for r in runs]) * 1e3
        lead = f"| {task} | {runs[0]['dim']} | {budget} | "
        loss_rows.append(lead + f"{_fmt(np.median([r['loss_x0'] for r in runs]))} | "
                         + " | ".join(cells) + " |")  # fmt: skip
        ep_rows.append(lead + f"{_fmt(thr[(task, budget, _)])} | " + " | ".join(eps) + " |")
        time_rows.append(lead + f"{ep_ms:.2g} | " + " | ".join(times) + " |")
        _plot(task, budget, runs, thr[(task, budget, _)],
              out / f"curves_{re.sub(r'[^A-Za-z0-9_.-]', '_', task)}.png")  # fmt: skip
    versions: dict[str, dict[str, list]] = {}  # method -> code hash -> its runs
    settings: dict[tuple, set[str]] = {}  # (task, method, budget) -> the options its seeds had
    for r in (r for r in records if r["status"] == "ok"):
        versions.setdefault(r["method"], {}).setdefault(r.get("code", "?"), []).append(r)
        settings.setdefault((r["task"], r["method"], r["budget"]), set()).add(
            options_id(r.get("options"))
        )
    mixed = {m: v for m, v in versions.items() if len(v) > 1}
    mixed_options = {k: v for k, v in settings.items() if len(v) > 1}
    failed = [r for r in records if r["status"] != "ok"]
    seeds = sorted({int(r["seed"]) for r in records})
    text = [
        "# Comparison at an equal episode budget",
        "",
        f"{len(records) - len(failed)} runs ok, {len(failed)} failed; seeds {seeds}. Loss: lower "
        "is better (gym tasks: -return / horizon).",
        "",
        "## Final loss: median [25 %, 75 %] over seeds (best median in bold)",
        "",
        *loss_rows,
        "",
        "Best median per task: " + ", ".join(f"{m} {wins[m]}" for m in methods) + ".",
        "",
        *significance_section(finals, methods),
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
    ]
    if mixed:
        text += ["", "## Runs made with different versions of a method's code", ""]
        for m, v in mixed.items():
            parts = [f"{h}: {len(rs)} runs ({', '.join(sorted({r['task'] for r in rs}))})"
                     for h, rs in v.items()]  # fmt: skip
            text.append(f"- {m}: " + "; ".join(parts))
    if mixed_options:
        text += ["", "## Cells whose seeds ran with different options (medians mix them)", ""]
        text += [f"- {t} / {m} (budget {b}): " + "; ".join(sorted(v))
                 for (t, m, b), v in mixed_options.items()]  # fmt: skip
    if failed:
        text += ["", "## Failed runs", ""]
        text += [f"- {r['task']} / {r['method']} / seed {r['seed']}: {r.get('error')}"
                 for r in failed]  # fmt: skip
    (out / "summary.md").write_text("\n".join(text) + "\n")
