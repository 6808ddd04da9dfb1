"""Changes of stop 80 to ``loss_spike``'s last-report rule (the loss_spike pool), on findings and
series built by hand and on real logs of the benchmark read in place.

**A last-report jump that a divergence finding already names is dropped.** ``_last_report_jump``
says a last report that jumped to ``warn_ratio`` x every earlier one, which no later report can show
to be a spike (it comes back) or divergence (it stays): said rather than left silent. Where a
``divergence`` finding of the same run, at a severity no lower, reaches that last report (the loss
rose faster at each report since its best, or training and evaluation loss jumped together), the
jump is not silent and the hedge is answered: ``filter_findings`` keeps the divergence and drops the
spike (``detect._divergence_explains``), as it drops a spike inside an oscillating stretch. One
cause, one finding. No threshold: the divergence reaches the report, or not.

**A last-report jump below the run's lowest evaluation loss is info.** The rule measures the jump by
its height alone; stop 79 made height alone no warning for a peak that stays under the held-out
loss (``_tall``): a training loss that still fits its batches better than the model ever scored on
data it has not fitted moved inside the memorised gap. The last-report rule now reads the same bar.
"""

from __future__ import annotations

from pathlib import Path

from bench_logs import real_log

import lrdoctor
from lrdoctor.detect import SPECS, filter_findings, loss_spike
from lrdoctor.finding import Finding, Severity
from series_helpers import trainer_card_lines

# unhealthy, labelled divergence: the last report's jump is the divergence's
_SSD_386 = "fresh215/ssdpytorch-386-comment-divergence-nan/paste.txt"  # 25.61, 39.68, 148.2, then nan
_W2V2_ESPEAK = "fresh29/hfcard-wav2vec2-espeak-colab-nithiwat/training_results.md"  # 0.76, 1.05, 7.55
_W2V_BERT = "fresh729/w2v-bert-output-dir-xinliu/training_results.md"  # 27.08, 26.91, 165.6; eval 26.98 -> 376.3
# unhealthy, labelled slow_progress and overfitting: training loss 0.0003, 0.0002, 0.0016 beside eval 2.83-3.52
_ROBERTA_AUTEXT = "fresh535/arincon-openai-detector-autext-run1/training_results.md"
# edge twin, labelled loss_spike: a last-report jump with no divergence and no evaluation loss beside it
_DEEPXDE_68 = "fresh164/deepxde-68-adam-lbfgs-dropout/paste.txt"


def _finding(kind: str, start: float, end: float, severity: Severity = Severity.WARNING,
             evidence: dict | None = None) -> Finding:
    return Finding(kind, severity, start, end, f"{kind} {start}-{end}", evidence or {})


def _last_jump(step: float) -> Finding:
    return _finding("loss_spike", step, step, evidence={"spikes": 1, "last_report": True})


def _kinds(findings: list[Finding]) -> list[str]:
    return [f.kind for f in findings]


def _raw_and_reported(rel: str) -> tuple[dict[str, str], dict[str, str]]:
    """kind -> severity of the divergence and loss_spike detectors on the benchmark log ``rel`` before
    the filter, and of every finding ``diagnose`` reports after it."""
    run = lrdoctor.read(real_log(rel))
    raw = {f.kind: f.severity.value for k in ("divergence", "loss_spike") for f in SPECS[k].detect(run, SPECS[k].defaults)}
    return raw, {f.kind: f.severity.value for f in lrdoctor.diagnose(run).findings}


def _card(path: Path, train: list[float], evals: list[float] | None) -> Path:
    """An HF Trainer results table, one row per epoch: the training loss and (when given) the validation loss."""
    lines = trainer_card_lines(train, evals, step_every=10)
    path.mkdir(parents=True, exist_ok=True)
    out = path / "README.md"
    out.write_text("\n".join(lines) + "\n")
    return out


# -- (a) the arithmetic ---------------------------------------------------------------------------

def test_a_last_jump_that_a_divergence_reaches_is_dropped():
    """A divergence from step 10 to 20 and a last-report jump at 20: the divergence names it."""
    found = filter_findings([_finding("divergence", 10, 20, Severity.ERROR), _last_jump(20)])
    assert _kinds(found) == ["divergence"]
    # a warning-level divergence reaching the report explains a warning-level jump too
    assert _kinds(filter_findings([_finding("divergence", 10, 20), _last_jump(20)])) == ["divergence"]


def test_a_last_jump_the_divergence_does_not_reach_stays():
    """A divergence that ended before the last report, one below the jump's severity, or no divergence
    at all leaves the jump standing; so does a spike of the other rules (no ``last_report``)."""
    assert _kinds(filter_findings([_finding("divergence", 10, 15, Severity.ERROR), _last_jump(20)])) == ["divergence", "loss_spike"]
    assert _kinds(filter_findings([_finding("divergence", 10, 20, Severity.INFO), _last_jump(20)])) == ["divergence", "loss_spike"]
    assert _kinds(filter_findings([_last_jump(20)])) == ["loss_spike"]
    spike = _finding("loss_spike", 20, 20, evidence={"spikes": 1})
    assert _kinds(filter_findings([_finding("divergence", 10, 20, Severity.ERROR), spike])) == ["divergence", "loss_spike"]


_TRAIN = [0.0003, 0.0002, 0.0016]  # the last report 5.3x every earlier one


def test_a_last_jump_under_the_held_out_loss_is_info(tmp_path):
    """The same three training reports warn with no evaluation loss beside them, and beside a validation
    loss that stayed under the jump; beside one that never went under 2.83 they are info."""
    def severities(name: str, evals: list[float] | None) -> list[Severity]:
        return [f.severity for f in loss_spike.detect(lrdoctor.read(_card(tmp_path / name, _TRAIN, evals)))]

    assert severities("alone", None) == [Severity.WARNING]
    assert severities("low_eval", [0.0012, 0.0010, 0.0011]) == [Severity.WARNING]
    assert severities("high_eval", [2.8320, 3.2171, 3.5239]) == [Severity.INFO]


# -- (b) real logs: the divergence is reported, the doubled finding is gone ------------------------------

def test_ssd_blow_up_into_nan_is_one_divergence():
    """SSD on VOC (labelled divergence, nonfinite): 25.61, 39.68, 148.2, then nan. Both detectors fire on
    the last finite report; only the divergence is reported."""
    raw, reported = _raw_and_reported(_SSD_386)
    assert raw == {"divergence": "error", "loss_spike": "warning"}
    assert reported.get("divergence") == "error" and "loss_spike" not in reported


def test_wav2vec2_espeak_blow_up_is_one_divergence():
    """wav2vec2 on espeak (labelled divergence, nonfinite, slow_progress): training loss 0.7628, 1.0544,
    7.5478 beside an infinite validation loss: the runaway is divergence's."""
    raw, reported = _raw_and_reported(_W2V2_ESPEAK)
    assert raw == {"divergence": "error", "loss_spike": "warning"}
    assert reported.get("divergence") == "error" and "loss_spike" not in reported


def test_w2v_bert_joint_jump_is_one_divergence():
    """w2v-BERT (labelled divergence): training loss 27.08, 26.91, 165.6 while the validation loss went
    26.98 -> 176.3 -> 376.3, both at the last report: divergence's joint rule names it."""
    raw, reported = _raw_and_reported(_W2V_BERT)
    assert raw == {"divergence": "error", "loss_spike": "warning"}
    assert reported.get("divergence") == "error" and "loss_spike" not in reported


def test_roberta_jump_inside_the_memorised_gap_is_info():
    """RoBERTa on a two-class set (labelled slow_progress, overfitting): training loss 0.0003, 0.0002,
    0.0016 beside a validation loss of 2.83 at best. The jump stays info; the labelled kinds stay."""
    run = lrdoctor.read(real_log(_ROBERTA_AUTEXT))
    found = {f.kind: f.severity for f in lrdoctor.diagnose(run).findings}
    assert found.get("loss_spike") is Severity.INFO
    assert "slow_progress" in found and found.get("overfitting") is Severity.WARNING


# -- (c) the edge twin: a last-report jump with no divergence keeps its warning ---------------------------

def test_deepxde_last_jump_with_no_divergence_still_warns():
    """DeepXDE, Adam then L-BFGS with dropout (edge, labelled loss_spike): the last report jumps, no
    divergence finding reaches it and no evaluation loss is logged: the warning stays."""
    raw, reported = _raw_and_reported(_DEEPXDE_68)
    assert "divergence" not in raw
    assert reported.get("loss_spike") == "warning"
