"""slow_progress beside a non-finite loss: a score of generated text held above 0.

``filter_findings`` drops slow_progress once a non-finite error fires: the blow-up explains a
metric that stopped moving after it. Not a score of generated text (BLEU, ROUGE, chrF, METEOR)
printed one value **above 0** at every evaluation: a network whose weights went non-finite emits
NaN logits, whose argmax is token 0 (T5's pad) at every position, an empty decode that each of
these scores rates exactly 0. A score held above 0 is real text, the same at every evaluation:
finite weights no update changed (an fp16 loss whose every step the scaler skipped), a model that
never trained, which the NaN loss alone does not say. **That slow_progress error now stays beside
the nonfinite one.** An accuracy pinned at one value is no such proof (a non-finite network
answers class 0 and prints its share at every evaluation): it is still dropped, as is a text
score that never left 0.
"""

from __future__ import annotations

from bench_logs import real_log

import lrdoctor
from lrdoctor.detect import filter_findings
from lrdoctor.detect._progress.chance import NEVER_LEFT_ZERO_RULE, UNCHANGED_RULE
from lrdoctor.finding import Finding, Severity

_T5_LARGE = "fresh138/hfcard-adityay1221-t5large-runx3-nan/training_results.md"
_FLAN_XSUM = "fresh489/kranasian-flan-t5-base-xsum-nan-frozen/training_results.md"
_MT5_ZH = "fresh342/hfcard-mt5-small-zh-tmp-nan/training_results.md"
# edge: a T5 card of the same shape (NaN training loss beside a sacreBLEU that moved)
_T5_SPARQL_EDGE = "fresh342/hfcard-t5-sparql-2021-10-18/training_results.md"
# unhealthy, labelled nonfinite only: a GAN's discriminator accuracy pinned at 50 beside NaN losses
_CCGAN = "fresh120/kerasgan-6-ccgan-nan/train.log"


def _kinds(report) -> dict[str, Severity]:
    return {f.kind: f.severity for f in report.findings}


def _nan_loss() -> Finding:
    return Finding("nonfinite", Severity.ERROR, 1.0, 5.0, "eval_loss nan", {"metric": "eval_loss"}, "")


def _pinned(metric: str, value: float, rule: str = UNCHANGED_RULE) -> Finding:
    ev = {"metric": metric, "value": value, "points": 5, "rule": rule}
    return Finding("slow_progress", Severity.ERROR, 1.0, 5.0, f"{metric} pinned", ev, "")


def test_text_score_above_zero_survives_the_nonfinite_filter():
    kept = filter_findings([_nan_loss(), _pinned("eval_bleu", 0.5945)])
    assert [f.kind for f in kept] == ["nonfinite", "slow_progress"]
    kept = filter_findings([_nan_loss(), _pinned("eval_rouge1", 37.215)])
    assert "slow_progress" in [f.kind for f in kept]


def test_zero_text_score_and_pinned_accuracy_stay_explained_by_the_blowup():
    # exactly 0 is what an empty decode of NaN logits scores
    assert [f.kind for f in filter_findings([_nan_loss(), _pinned("eval_bleu", 0.0)])] == ["nonfinite"]
    assert [f.kind for f in filter_findings([_nan_loss(), _pinned("eval_bleu", 0.0002, NEVER_LEFT_ZERO_RULE)])] == ["nonfinite"]
    # class 0's share is what a NaN network's argmax prints
    assert [f.kind for f in filter_findings([_nan_loss(), _pinned("eval_accuracy", 0.0715)])] == ["nonfinite"]


def test_real_t5_cards_keep_slow_progress_beside_nan():
    for rel in (_T5_LARGE, _FLAN_XSUM, _MT5_ZH):
        kinds = _kinds(lrdoctor.diagnose(real_log(rel)))
        assert kinds.get("nonfinite") is Severity.ERROR, rel
        assert kinds.get("slow_progress") is Severity.ERROR, rel


def test_twins_stay_without_slow_progress():
    # same shape (a seq2seq card, NaN loss beside a text score), but the score moved: no slow_progress
    kinds = _kinds(lrdoctor.diagnose(real_log(_T5_SPARQL_EDGE)))
    assert kinds.get("nonfinite") is Severity.ERROR and "slow_progress" not in kinds
    # an accuracy pinned beside NaN losses is still the blow-up's own doing
    kinds = _kinds(lrdoctor.diagnose(real_log(_CCGAN)))
    assert kinds.get("nonfinite") is Severity.ERROR and "slow_progress" not in kinds
