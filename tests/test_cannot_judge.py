"""A rule that cannot conclude raises ``CannotJudge``; ``check`` lists its kind as not checked.

Stop 63 made twelve checks say "not checked" where their rules could not conclude, by writing
requirements that restated the rules' early returns (a flat stretch, an LR cut, the cycles
logged). Those requirements read the default thresholds, so thresholds passed to ``check`` moved
the rule and not its requirement: a log long enough for the caller's windows was still "not
checked", and one too short for them read "checked" and silent. The condition now lives in the
rule, which raises ``CannotJudge`` with the reason, so the two cannot drift apart. The curves are
trained here (digits, as in tests/test_stop63_rules.py).
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from test_stop63_rules import _csv, _flat_run, _learning_run, _stepped

import lrdoctor
from lrdoctor.detect import SPECS, CannotJudge, check
from lrdoctor.detect.lr_beyond_stability import LrResponseThresholds
from lrdoctor.detect.progress import ProgressThresholds

torch.set_num_threads(1)


def test_lr_beyond_stability_judges_the_windows_the_caller_asked_for(tmp_path):
    # 8 reports of a learning MLP, the LR cut 10x at the fifth: too short for the default windows
    # (10 reports, 5 before the cut), long enough for windows of 6 and 3
    run = lrdoctor.read(_csv(tmp_path / "short.csv", _stepped(_learning_run()[:8], 35, 10), with_lr=True))
    _, default = check(run)
    assert default.skipped["lr_beyond_stability"].startswith("only 8 loss point(s); needs 10")
    _, small = check(run, {"lr_beyond_stability": LrResponseThresholds(min_points=6, min_before=3)})
    assert "lr_beyond_stability" in small.ran and "lr_beyond_stability" not in small.skipped
    # and the other way: windows larger than the log's say so, with the caller's numbers
    _, large = check(run, {"lr_beyond_stability": LrResponseThresholds(min_points=6, min_before=3, min_after=5)})
    assert large.skipped["lr_beyond_stability"] == (
        "4 loss report(s) before the LR cut at step 35 and 4 from it; needs 3 and 5")


def test_plateau_asks_for_an_lr_only_where_the_callers_thresholds_see_a_flat_stretch(tmp_path):
    # a linear classifier on half-noisy labels: learns, then sits at its floor for most of the run
    run = lrdoctor.read(_csv(tmp_path / "nolr.csv", _flat_run(), with_lr=False))
    _, default = check(run)
    assert "no learning-rate column" in default.skipped["plateau"]
    # asked to call a plateau only a run with no new best for 99% of its reports, it sees none:
    # the check ran (no LR needed to clear it), and found nothing
    findings, strict = check(run, {"plateau": ProgressThresholds(plateau_min_budget=0.99)})
    assert "plateau" in strict.ran and "plateau" not in {f.kind for f in findings}


def test_a_rule_that_cannot_judge_is_listed_with_its_reason_and_never_raises(monkeypatch, tmp_path):
    p = _csv(tmp_path / "learn.csv", _learning_run(), with_lr=True)
    ran = set(lrdoctor.diagnose(p).coverage.ran)
    assert "divergence" in ran

    def cannot(run, th):
        raise CannotJudge("the test's reason")

    monkeypatch.setitem(SPECS, "divergence", dataclasses.replace(SPECS["divergence"], detect=cannot))
    monkeypatch.setenv("LRDOCTOR_STRICT", "1")  # not a bug: strict mode does not re-raise it
    report = lrdoctor.diagnose(p)
    assert report.coverage.skipped["divergence"] == "the test's reason"
    assert set(report.coverage.ran) == ran - {"divergence"}
    with pytest.raises(CannotJudge):  # the detector itself raises it, for callers of DETECTORS
        SPECS["divergence"].detect(lrdoctor.read(p), SPECS["divergence"].defaults)


def test_a_requirement_that_counts_reports_counts_the_callers_windows(tmp_path):
    """The requirements that ask for a number of reports (oscillation's two windows, entropy's,
    the plateau's minimum, ...) take the thresholds the check runs with: windows widened past the
    log say "not checked" (before, the requirement read the defaults, listed the check as run,
    and the rule returned nothing: checked and silent), and narrowed ones let a short log be judged."""
    from lrdoctor.detect.oscillation import OscillationThresholds

    run = lrdoctor.read(_csv(tmp_path / "learn.csv", _learning_run(), with_lr=True))  # 120 loss reports
    _, default = check(run)
    assert "oscillation" in default.ran
    _, wide = check(run, {"oscillation": OscillationThresholds(window=70)})
    assert wide.skipped["oscillation"].startswith("only 120 loss point(s); needs 140 (two 70-point windows")
    short = lrdoctor.read(_csv(tmp_path / "short.csv", _learning_run()[:15], with_lr=True))
    _, narrow = check(short, {"oscillation": OscillationThresholds(window=5)})
    assert "oscillation" in narrow.ran and "oscillation" in check(short)[1].skipped
