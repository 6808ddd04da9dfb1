"""nonfinite on metrics a reader of the log sees as NaN/inf (stop 78, the nonfinite/loss_spike pool).

**A metric printed NaN from its first evaluation, but finite at others, was computed.** A text log
that prints an evaluation metric as ``nan`` at every report computed it (``_printed_nan``); one that
printed it ``nan`` at the first report and finite later was skipped as "never computed". A metric
printed finite at some evaluations is computed at every one, so NaN at the first is the
computation's; at ``transient_share`` or more of the reports (NaN more often than not) it is no
transient (XLM-R on a relatedness set: Spearman nan at 7 of 9 evaluations from the first).

**A column that is +inf at every report overflowed.** A column no other rule judges that is +inf
at each of its ``persistent_points`` or more reports was computed and overflowed or divided by
zero every time (a MAPE over targets that include 0, a perplexity of a loss beyond the float
range). NaN at every report is also what a logger prints for a metric it did not compute, and
-inf is the start of a running best of a maximised quantity, or a message: both stay silent.
"""

from __future__ import annotations

from pathlib import Path

from bench_logs import real_log
from trained_digits import write_lines

import lrdoctor
from lrdoctor.detect.nonfinite import DEFAULTS, _mostly_nonfinite
from lrdoctor.finding import Severity

_XLMR_SPEARMAN = "fresh427/shijia-xlmr-ary-corr-1e-4/training_results.md"
_ROBERTA_PEARSON = "fresh739/roberta-large-zse-ep1-lr5e-5/training_results.md"
_MAPE_INF = "fresh669/mou11209203-ptt-regression/training_results.md"
_PPL_INF = "fresh20/fairseq-issue782-pplinf/issue782.log"
_LIGHTGBM_BEST_GAIN = "fresh927/lightgbm-issue-3697-valid-auc/paste.log"  # healthy: "best gain: -inf" on every line
_ESPNET_CER_CTC = "fresh11/espnet-issue4813-csj-transducer-epochs/issue4813.log"  # healthy: cer_ctc nan on every epoch


def _nonfinite(report):
    return [f for f in report.findings if f.kind == "nonfinite"]


def _correlation_card(tmp_path: Path, nan_at: set[int]) -> str:
    """An HF card's results table of 9 evaluations of a regression fine-tune, losses flat and
    finite, a Spearman column printed ``nan`` at the evaluations in ``nan_at`` (0-based)."""
    lines = ["Training Loss | Epoch | Step | Validation Loss | Spearman Corr |", "---|---|---|---|---|"]
    for i in range(9):
        corr = "nan" if i in nan_at else f"{0.01 * (i + 1):.4f}"
        lines.append(f"{0.0490 - 0.0001 * i:.4f} | {i + 1:.1f} | {200 * (i + 1)} | {0.0470 - 0.0001 * i:.4f} | {corr} |")
    return write_lines(tmp_path / "README.md", lines)


def _csv(tmp_path: Path, column: str, values: list[str]) -> str:
    lines = [f"step,loss,eval_loss,{column}"]
    lines += [f"{100 * (i + 1)},{1.0 - 0.1 * i:.2f},{1.1 - 0.1 * i:.2f},{v}" for i, v in enumerate(values)]
    return write_lines(tmp_path / "metrics.csv", lines)


def test_mostly_nonfinite_is_two_or_more_and_at_least_half():
    """The ``transient_share`` arithmetic both rules read: 7 of 9 and 2 of 4 are no transient, one
    NaN is, and 2 of 5 is under half."""
    assert DEFAULTS.transient_share == 0.5
    assert _mostly_nonfinite(7, 9, DEFAULTS) and _mostly_nonfinite(2, 4, DEFAULTS)
    assert not _mostly_nonfinite(1, 1, DEFAULTS) and not _mostly_nonfinite(1, 9, DEFAULTS)
    assert not _mostly_nonfinite(2, 5, DEFAULTS)


def test_a_metric_nan_from_the_first_evaluation_at_most_of_them_is_found(tmp_path):
    """Spearman nan at evaluations 1-5, 8 and 9, finite at 6 and 7: computed, NaN more often than
    not, beside finite losses: the constant-predictions cause."""
    [f] = _nonfinite(lrdoctor.diagnose(_correlation_card(tmp_path, {0, 1, 2, 3, 4, 7, 8})))
    assert f.severity.rank >= Severity.WARNING.rank and f.start_step == 200.0
    assert f.evidence["losses_finite"] and f.evidence.get("undefined_correlation")


def test_one_nan_at_the_first_evaluation_stays_silent(tmp_path):
    """The twin: nan at the first evaluation only, finite at the 8 after it: a transient (or a
    first evaluation with nothing to correlate), not the metric's computation failing."""
    assert _nonfinite(lrdoctor.diagnose(_correlation_card(tmp_path, {0}))) == []


def test_the_xlmr_spearman_card_is_nonfinite():
    """The card read in place: Spearman nan at 7 of 9 evaluations from step 200."""
    report = lrdoctor.diagnose(real_log(_XLMR_SPEARMAN))
    [f] = _nonfinite(report)
    assert f.severity.rank >= Severity.WARNING.rank and f.start_step == 200.0
    assert f.evidence["nonfinite_points"] == 7 and f.evidence.get("undefined_correlation")


def test_the_roberta_pearson_card_is_nonfinite():
    """Pearson nan at 16 of 25 evaluations from step 500, the losses finite throughout."""
    [f] = _nonfinite(lrdoctor.diagnose(real_log(_ROBERTA_PEARSON)))
    assert f.severity.rank >= Severity.WARNING.rank and f.start_step == 500.0
    assert f.evidence["nonfinite_points"] == 16


def test_a_column_inf_at_every_report_warns(tmp_path):
    """A MAPE column +inf at 3 reports beside falling losses: a warning naming the column."""
    [f] = _nonfinite(lrdoctor.diagnose(_csv(tmp_path, "eval_mape", ["inf", "inf", "inf"])))
    assert f.severity is Severity.WARNING and f.evidence["metric"] == "eval_mape"
    assert f.evidence["nonfinite_points"] == 3 and f.evidence["losses_finite"]


def test_a_column_not_inf_at_every_report_stays_silent(tmp_path):
    """Twins: two reports (under ``persistent_points``), a finite report among them, NaN at every
    report (a metric never computed), -inf at every report (a running best's start)."""
    for values in (["inf", "inf"], ["inf", "12.5", "inf"], ["nan", "nan", "nan"], ["-inf", "-inf", "-inf"]):
        assert _nonfinite(lrdoctor.diagnose(_csv(tmp_path, "eval_mape", values))) == [], values


def test_the_mape_card_is_nonfinite():
    """An HF regression card read in place: Mape inf at all 5 evaluations (targets that include 0)."""
    [f] = _nonfinite(lrdoctor.diagnose(real_log(_MAPE_INF)))
    assert f.severity is Severity.WARNING and f.evidence["metric"] == "eval_mape"
    assert f.evidence["nonfinite_points"] == 5


def test_the_fairseq_ppl_inf_log_is_nonfinite():
    """fairseq epochs 43-45: ppl inf on every line, the per-token loss in the thousands."""
    [f] = _nonfinite(lrdoctor.diagnose(real_log(_PPL_INF)))
    assert f.severity is Severity.WARNING and f.evidence["metric"] == "ppl"


def test_a_minus_inf_message_at_every_line_stays_silent():
    """Healthy twin read in place: LightGBM prints "best gain: -inf" on every line (no split with a
    positive gain), a message, not an overflow."""
    assert _nonfinite(lrdoctor.diagnose(real_log(_LIGHTGBM_BEST_GAIN))) == []


def test_a_metric_nan_at_every_epoch_of_a_healthy_run_stays_silent():
    """Healthy twin read in place: ESPnet prints cer_ctc nan on every epoch of a transducer run that
    computes no CTC output: never computed, not an overflow."""
    assert _nonfinite(lrdoctor.diagnose(real_log(_ESPNET_CER_CTC))) == []
