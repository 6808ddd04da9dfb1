"""Stop 77: a performance_reversal kept beside the overfitting that would otherwise fold it.

A reversal whose score peaked at or after the evaluation-loss minimum of an ``overfitting`` finding
is left to that overfitting (one cause, one finding). Overfitting erodes a held-out score as the
model grows over-confident where it is wrong: its loss climbs while its accuracy slides by a few
points. A score that ends at half its best, or an error rate that ends at twice its best, is more:
the model lost what it had learned, and the reported checkpoint is far worse than the best one. The
factor is the reversal's own ``error_rise_factor`` (2, ``divergence``'s doubling), read on the task's
ratio scale: upwards for an error rate, downwards for a score, the same distance in the log domain.
A reversal that falls by less (a ROUGE-1 at two thirds of its best beside a climbing validation
loss) is still the overfitting's."""

from __future__ import annotations

from bench_logs import real_log

import lrdoctor
from lrdoctor.detect import filter_findings
from lrdoctor.finding import Finding, Severity

#: Whisper-small card: WER 91.67 at steps 1000-3000, then 277.78 twice, validation loss rising from its first evaluation
_WHISPER_TRIPLED = "fresh1152/jamese360-whisper-small-ig/training_results.txt"
#: SetFit distilbert on SST-2, 8 examples a class: accuracy 0.75 at epoch 1, then 0.25 to epoch 11
_SETFIT_QUARTER = "fresh250/setfit-sst2-8-8/training_results.md"
#: GIT captioning on pokemon: WER score 0.47 at its best, 2.86 at the end
_GIT_POKEMON = "fresh542/hfcard-sofa566-git-base-pokemon/training_results.md"
#: edge twin of the SetFit run: SetFit distilbert on SUBJ, 8 examples a class: accuracy 0.75, then 0.5 (two thirds)
_SETFIT_SUBJ_EDGE = "fresh332/setfit-distilbert-subj-8-5/training_results.md"
#: edge twin of the Whisper run: Whisper-small on a tiny Mandarin set, CER 35.44, then 44.30 (1.25x) at three evaluations
_WHISPER_CER_EDGE = "fresh932/svetlana0303-whisper-small-cn-1/training_results.md"


def _pair(metric: str, peak: float, end: float) -> list[Finding]:
    """An overfitting whose evaluation-loss minimum comes at step 1, and a reversal peaked at step 2."""
    over = Finding("overfitting", Severity.WARNING, 1.0, 5.0, "", {"eval_min_step": 1.0})
    rev = Finding("performance_reversal", Severity.WARNING, 2.0, 5.0, "",
                  {"metric": metric, "peak_step": 2.0, "peak": peak, "start": peak, "end": end})
    return [over, rev]


def _kinds(findings: list[Finding]) -> set[str]:
    return {f.kind for f in findings}


def test_a_score_that_halved_is_kept_beside_overfitting():
    assert "performance_reversal" in _kinds(filter_findings(_pair("eval_accuracy", 0.8, 0.4)))
    assert "performance_reversal" in _kinds(filter_findings(_pair("eval_accuracy", 0.8, 0.1)))


def test_a_score_that_fell_by_less_than_half_stays_folded():
    assert "performance_reversal" not in _kinds(filter_findings(_pair("eval_accuracy", 0.8, 0.41)))
    assert "performance_reversal" not in _kinds(filter_findings(_pair("eval_rouge1", 53.3, 34.7)))


def test_an_error_rate_is_read_upwards():
    assert "performance_reversal" in _kinds(filter_findings(_pair("eval_wer", 20.0, 40.0)))
    assert "performance_reversal" not in _kinds(filter_findings(_pair("eval_wer", 20.0, 39.0)))
    # a WER that fell to half its best is an improvement, never a reversal kept by this rule
    assert "performance_reversal" not in _kinds(filter_findings(_pair("eval_wer", 20.0, 10.0)))


def test_a_score_off_the_ratio_scale_stays_folded():
    # a return on an interval scale: no ratio to its best
    assert "performance_reversal" not in _kinds(filter_findings(_pair("eval_return", -10.0, -40.0)))
    assert "performance_reversal" not in _kinds(filter_findings(_pair("eval_return", 10.0, -40.0)))


def _report(rel: str) -> dict[str, Finding]:
    findings = lrdoctor.diagnose(lrdoctor.read(real_log(rel))).findings
    return {f.kind: f for f in findings if f.severity.rank >= 1}


def test_real_error_rates_that_ran_away_beside_overfitting():
    for rel in (_WHISPER_TRIPLED, _GIT_POKEMON):
        found = _report(rel)
        assert "overfitting" in found, rel
        assert "performance_reversal" in found, rel


def test_real_accuracy_that_fell_to_a_third_beside_overfitting():
    found = _report(_SETFIT_QUARTER)
    assert {"overfitting", "performance_reversal"} <= set(found)
    assert found["performance_reversal"].evidence["end"] * 2 <= found["performance_reversal"].evidence["peak"]


def test_edge_twins_that_fell_by_less_stay_overfittings():
    for rel in (_SETFIT_SUBJ_EDGE, _WHISPER_CER_EDGE):
        found = _report(rel)
        assert "overfitting" in found, rel
        assert "performance_reversal" not in found, rel
