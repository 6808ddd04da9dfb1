"""Stop 81, overfitting false findings: a training loss that moved less than GL_1 has settled.

Every overfitting rule asks a second witness beside the held-out rise: the training loss fell from
the held-out minimum to the end (the training set is being fitted, ``overfitting._fell``). Stop 80
set that fall at the loss's third significant digit (0.1%); it is now ``train_fall`` = 1% of the
level, GL_1, the smallest generalisation loss Prechelt evaluated and the detector's own ``trend_gl``,
by which a held-out loss that moved less has settled. The training loss is read at two reports only
(the minimum's and the last), so its size alone must carry it. Real logs read in place: a distilled
WNLI model pinned at the majority class (slow_progress kept, overfitting gone), a translator trained
at 100x its usual rate with BLEU at 0, an XLS-R restarted on new data mid-run, and, as the twins
that keep their warning, a Keras PPNP on Cora and a SpeechT5 card whose training losses fell 1.2%
and 1.6%."""

from __future__ import annotations

from pathlib import Path

from bench_logs import real_log

import lrdoctor
from lrdoctor.detect.overfitting import DEFAULTS, _fell
from lrdoctor.finding import Severity


def _findings(path: Path, config: dict | None = None) -> dict[str, Severity]:
    report = lrdoctor.diagnose(lrdoctor.read(path, config=config or {}))
    return {f.kind: f.severity for f in report.findings if f.severity.rank >= 1}


def _table(tmp_path: Path, train: list[float], held: list[float]) -> Path:
    """An HF Trainer results table, one row an epoch."""
    path = tmp_path / "training_results.md"
    lines = ["| Training Loss | Epoch | Step | Validation Loss |", "|:---:|:---:|:---:|:---:|"]
    lines += [f"| {t} | {i} | {100 * i} | {v} |" for i, (t, v) in enumerate(zip(train, held), start=1)]
    path.write_text("\n".join(lines) + "\n")
    return path


HELD = [1.0, 0.8, 0.7, 0.72, 0.76, 0.80, 0.84]  # 20% above its minimum, rising at every later evaluation


def test_the_fall_must_reach_gl_1():
    assert DEFAULTS.train_fall == 0.01 == DEFAULTS.trend_gl
    assert _fell(0.5000, 0.4940, DEFAULTS)          # 1.2%
    assert not _fell(0.5000, 0.4975, DEFAULTS)      # 0.5%: settled
    assert not _fell(0.3477, 0.3472, DEFAULTS)      # 0.14%: the distilled WNLI model's
    assert not _fell(1.052, 1.051, DEFAULTS)        # 0.1%: the restarted XLS-R's
    assert not _fell(0.5000, 0.5100, DEFAULTS)      # a rise
    assert _fell(-2.0, -2.03, DEFAULTS)             # a negative log-likelihood reads on its magnitude
    assert not _fell(-2.0, -2.01, DEFAULTS)


def test_a_held_out_rise_beside_a_settled_training_loss_is_no_overfitting(tmp_path):
    settled = _table(tmp_path, [0.600, 0.550, 0.500, 0.4990, 0.4985, 0.4980, 0.4975], HELD)  # 0.5% since the minimum
    assert "overfitting" not in _findings(settled)
    fitted = _table(tmp_path, [0.600, 0.550, 0.500, 0.490, 0.480, 0.470, 0.460], HELD)       # 8%
    assert _findings(fitted).get("overfitting") is Severity.WARNING


def test_a_distilled_wnli_model_at_the_majority_class_keeps_only_its_slow_progress():
    # fresh747 (unhealthy, labelled slow_progress and plateau): accuracy 0.5634 at all ten epochs,
    # validation 0.3441 -> 0.3453 rising at each of the last three while the training loss printed
    # 0.3477 -> 0.3472 (0.14%): nothing was fitted
    path = real_log("fresh747/gokuls-distilbert-logit-kd-wnli-96/training_results.md")
    kinds = _findings(path, {"num_classes": 2})
    assert "overfitting" not in kinds and "slow_progress" in kinds


def test_a_translator_at_100x_its_rate_and_a_restarted_xlsr_report_no_overfitting():
    # fresh45 (unhealthy, labelled slow_progress and oscillation): BLEU at 0, validation swinging
    # 3.97-6.55 while the training loss sat at 1.991 -> 1.979 (0.6%)
    opus = real_log("fresh45/hf-opusmt-enfr-wmt14-lr2e-3-bleu-zero-head-card/training_results_head.md")
    assert "overfitting" not in _findings(opus)
    # fresh364 (edge, labelled loss_spike): the epoch column jumps 0.62 -> 2.13 at a restart on new
    # data, validation 0.2173 -> 0.2481 while the training loss read 1.052 -> 1.051 (0.1%)
    restart = real_log("fresh364/perelluis13-xlsr300m-ca-resumed/training_results.md")
    assert "overfitting" not in _findings(restart)


def test_the_twins_whose_training_loss_fell_just_past_gl_1_keep_their_warning():
    # fresh300 (edge, labelled overfitting): Keras PPNP on Cora, validation 12% above its minimum
    # while the training loss fell 0.7451 -> 0.7359 (1.2%)
    ppnp = real_log("fresh300/stellargraph-ppnp-cora-keras/training_output.txt")
    assert _findings(ppnp, {"num_classes": 7}).get("overfitting") is Severity.WARNING
    # fresh1009 (edge, labelled overfitting): SpeechT5, validation back above its first evaluation
    # while the training loss fell 0.4538 -> 0.4464 (1.6%)
    t5 = real_log("fresh1009/mihael974-speecht5-finetuned-voxpopuli-hr-v2/training_results.md")
    assert _findings(t5).get("overfitting") is Severity.WARNING
