"""The significance section of a comparison's summary (zg_control.bench.stats)."""

from __future__ import annotations

import pytest

from zg_control.bench.stats import significance_section, smallest_p, versus_best


def test_versus_best_picks_the_lowest_median_and_tests_the_others():
    finals = {
        "a": [1.0, 2.0, 3.0, 4.0, 5.0],
        "b": [6.0, 7.0, 8.0, 9.0, 10.0],
        "c": [0.5, 2.5, 3.5, 4.5, 5.5],
    }
    best, p = versus_best(finals)
    assert best == "a" and set(p) == {"b", "c"}
    assert p["b"] == pytest.approx(2 / 252)  # fully separated, 5 vs 5: the exact minimum
    assert p["c"] > 0.5  # interleaved: no evidence either way


def test_constant_losses_are_a_tie_not_nan():
    best, p = versus_best({"x": [-1.5, -1.5, -1.5], "y": [-1.5, -1.5, -1.5]})
    assert best == "x" and p == {"y": 1.0}  # equal medians: the first name in sorted order


def test_section_marks_ties_and_counts_clear_wins():
    rows = [
        ("clear", {"a": [0, 1, 2, 3, 4], "b": [5, 6, 7, 8, 9]}),
        ("close", {"a": [1, 3, 5, 7, 9], "b": [0, 2, 4, 6, 8]}),
    ]
    text = "\n".join(significance_section(rows, ["a", "b"]))
    assert "| clear | a | best | 0.0079 |" in text
    assert "| close | b | 0.69 (tie) | best |" in text
    assert "On the 2 tasks whose seeds can show a difference at p < 0.05, best or " in text
    assert "tied with the best (p >= 0.05): a 2, b 1." in text
    assert "ahead of every other method at p < 0.05: clear (a)." in text


def test_tasks_with_too_few_seeds_to_show_a_difference_are_not_counted():
    assert smallest_p(3, 3) == pytest.approx(0.1) and smallest_p(5, 5) == pytest.approx(2 / 252)
    rows = [
        ("three", {"a": [0, 1, 2], "b": [5, 6, 7]}),  # p = 0.1 at best
        ("five", {"a": [0, 1, 2, 3, 4], "b": [5, 6, 7, 8, 9]}),
    ]
    text = "\n".join(significance_section(rows, ["a", "b"]))
    assert "| three | a | best | 0.1 (tie) |" in text
    assert "On the 1 tasks whose seeds can show a difference" in text and ": a 1, b 0." in text
