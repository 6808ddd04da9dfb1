"""Rules from the stop-62 study (issue 9), on the real log that met them, read in place, with a twin
the rule must leave alone:

- the Mann-Kendall trend test takes its p-value from the exact null distribution of S on up to
  ``MK_EXACT_MAX`` values, ties included (Kendall 1975's tables; the q-multinomial counts the
  orderings of tied values by inversions), not from the normal approximation,
  which is conservative on the few points of an epoch log: the overfitting trend rule's 1% (the
  ``1/6!`` its docstring reasons with) was out of reach on 6 evaluations.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from bench_logs import real_log
from trained_digits import warned, write_lines

import lrdoctor
from lrdoctor.detect._stats import MK_EXACT_MAX, trend_p_down, trend_p_up

# IndoBERT on TyDi QA (labelled unhealthy, overfitting): validation loss best 2.1436 at epoch 5, then
# 2.1978, 2.2780, 2.2481, 2.2912, 2.3210 (8% above it) while the training loss falls at every epoch
INDOBERT = "fresh518/andreaschandra-indobert-tydiqa/training_results.txt"


def _brute_p_down(x: list[float]) -> float:
    """P(S <= S(x)) over every distinct ordering of the values of x: the definition, enumerated."""
    n = len(x)

    def s_of(seq) -> int:
        return sum((seq[j] > seq[i]) - (seq[j] < seq[i]) for i in range(n) for j in range(i + 1, n))

    s = s_of(x)
    orderings = set(itertools.permutations(x))
    return sum(s_of(p) <= s for p in orderings) / len(orderings)


def test_the_trend_p_value_on_few_distinct_points_is_the_exact_one():
    rng = np.random.default_rng(0)
    for n in range(4, 8):
        for _ in range(4):
            x = [float(v) for v in rng.permutation(n)]
            assert abs(trend_p_down(x) - _brute_p_down(x)) < 1e-12, x
    assert trend_p_up([1, 2, 3, 4, 5, 6]) == 1 / 720  # six values in increasing order: 1/6!
    assert abs(trend_p_up([2.1436, 2.1978, 2.2780, 2.2481, 2.2912, 2.3210]) - 6 / 720) < 1e-12  # one pair out of order


def test_tied_values_get_the_exact_p_value_too():
    # printed epoch logs repeat values (an accuracy of 0.7250 at three evaluations)
    rng = np.random.default_rng(1)
    for n in range(4, 8):
        for levels in (2, 3):
            x = [float(v) for v in rng.integers(0, levels, n)]
            if len(set(x)) > 1:
                assert abs(trend_p_down(x) - _brute_p_down(x)) < 1e-12, x
    assert abs(trend_p_up([1.0, 2.0, 2.0, 3.0]) - 1 / 12) < 1e-12  # 4!/2! = 12 orderings; only the sorted one has S = 5


def test_long_curves_keep_the_normal_approximation():
    long = list(range(MK_EXACT_MAX + 1))
    assert trend_p_up(long) > 1 / math.factorial(MK_EXACT_MAX + 1)  # the approximation's floor, far above exact


def test_a_validation_loss_climbing_five_evaluations_after_its_minimum_is_overfitting():
    # the trend rule's 1% on the minimum and its 5 successors: exact 6/720 = 0.008, approximated 0.012
    report = lrdoctor.diagnose(real_log(INDOBERT))
    f = warned(report).get("overfitting")
    assert f is not None, [x.summary for x in report.findings]
    assert f.start_step == 1205  # the minimum's step: where early stopping would have stopped
    assert "Mann-Kendall" in f.summary


def test_the_same_climb_less_ordered_is_not_overfitting(tmp_path):
    # the IndoBERT log with its 6th and 9th validation losses swapped: the same minimum, the same 8% at
    # the end, but the climb out of order after the minimum (exact p = 259/720 = 0.36, above 5%). (Until
    # stop 81 the 7th and 9th were swapped, p = 20/720 = 0.028; beside this training loss, fitted apart
    # from the held-out one, the trend is now read at 5%, ``trend_p_fitted``: tests/test_stop81_overfitmiss.py)
    lines = real_log(INDOBERT).read_text().splitlines()
    rows = [ln.split() for ln in lines[1:]]
    rows[5][3], rows[8][3] = rows[8][3], rows[5][3]
    path = write_lines(tmp_path / "swapped.txt", [lines[0]] + [" ".join(r) for r in rows])
    report = lrdoctor.diagnose(path)
    assert "overfitting" not in warned(report), [x.summary for x in report.findings]
