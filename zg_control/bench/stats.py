"""Is a task's best median ahead of the others, or within the spread of the seeds?

For each task the method with the lowest median final loss is compared with every other method
by a two-sided Mann-Whitney U test on their final losses (seeds are independent runs; no
assumption on the shape of the distribution). With ``n`` seeds per method the smallest p-value
possible is ``2 / C(2n, n)``: 0.1 with 3 seeds, 0.0079 with 5, so three seeds can never show a
difference at the 5 % level.
"""

from __future__ import annotations

from math import comb

import numpy as np
from scipy.stats import mannwhitneyu

ALPHA = 0.05


def versus_best(finals: dict[str, list[float]]) -> tuple[str, dict[str, float]]:
    """The method with the lowest median final loss and, for every other method, the two-sided
    Mann-Whitney U p-value of its final losses against the best's (1 when both are constant)."""
    best = min(finals, key=lambda m: (float(np.median(finals[m])), m))
    p = {}
    for m, losses in finals.items():
        if m != best:
            value = mannwhitneyu(finals[best], losses, alternative="two-sided").pvalue
            p[m] = 1.0 if np.isnan(value) else float(value)
    return best, p


def smallest_p(n1: int, n2: int) -> float:
    """The smallest two-sided p-value the exact test can give for samples of ``n1`` and ``n2``."""
    return min(1.0, 2 / comb(n1 + n2, n1))


def significance_section(
    finals: list[tuple[str, dict[str, list[float]]]], methods: list[str]
) -> list[str]:
    """Markdown lines from ``(task, {method: final losses})`` rows: per task, each method's
    p-value against the best median, then per method on how many tasks it is the best or not
    distinguishable from it at ``ALPHA``, counted over the tasks whose seeds could show a
    difference (every method's against the best's)."""
    head = "| task | best median | " + " | ".join(methods) + " |"
    rows = [head, "|---" * (2 + len(methods)) + "|"]
    level = dict.fromkeys(methods, 0)  # best, or p >= ALPHA against the best (testable tasks)
    clear: list[str] = []  # tasks whose best is ahead of every other method at ALPHA
    testable: list[str] = []  # tasks where every comparison could reach p < ALPHA
    for task, losses in finals:
        best, p = versus_best(losses)
        n_best = len(losses[best])
        can_show = all(smallest_p(n_best, len(losses[m])) < ALPHA for m in p)
        testable += [task] if can_show else []
        cells = []
        for m in methods:
            if m not in losses:
                cells.append("")
            elif m == best:
                cells.append("best")
                level[m] += can_show
            else:
                cells.append(f"{p[m]:.2g}" + ("" if p[m] < ALPHA else " (tie)"))
                level[m] += can_show and p[m] >= ALPHA
        if p and max(p.values()) < ALPHA:
            clear.append(f"{task} ({best})")
        rows.append(f"| {task} | {best} | " + " | ".join(cells) + " |")
    return [
        "## Is the best median ahead? Two-sided Mann-Whitney U p-value against the best method",
        "",
        f'"(tie)": p >= {ALPHA}, the seeds cannot tell the method from the best. The smallest '
        "p possible is 0.1 with 3 seeds per method and 0.0079 with 5.",
        "",
        *rows,
        "",
        f"On the {len(testable)} tasks whose seeds can show a difference at p < {ALPHA}, best or "
        f"tied with the best (p >= {ALPHA}): "
        + ", ".join(f"{m} {level[m]}" for m in methods)
        + f". Best and ahead of every other method at p < {ALPHA}: "
        + (", ".join(clear) if clear else "none")
        + ".",
    ]
