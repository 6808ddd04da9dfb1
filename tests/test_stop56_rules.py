"""Rules from the stop-56 study (issue 9), each on the real log that met it, read in place, and on
a twin written by a really trained model:

- overfitting's trend rule: a held-out loss that stays above its minimum at every one of 5+ later
  evaluations (a third of the run or more) and climbs from it with a Mann-Kendall trend, at least
  GL_1 at the end, while the training loss fell and every held-out score logged ended worse. GL_5 and the UP
  rules miss such a drift when it is under 5% or too noisy to rise three times in a row;
- overfitting's memorisation rule with a training loss printed as 0 (under the log's last decimal):
  fitted to its floor, unless the held-out accuracy still sets new bests.
"""

from __future__ import annotations

import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, held_out_loss, noisy_label_fit, warned, write_lines

import lrdoctor
from lrdoctor.detect.overfitting import DEFAULTS as OVERFIT_DEFAULTS
from lrdoctor.detect.overfitting import _rising_trend

SPEECHT5_DRIFT = "fresh471/kingmhd1519-speecht5-mehdi-as-1/training_results.md"
XLSR_WER_IMPROVES = "fresh109/hfcard-anuragshas-xlsr-mr/training_results.md"


def _noisy_sgd_run(epochs: int, noise: float, lr: float):
    """(epoch, mean training loss, held-out loss) of :func:`noisy_label_fit` with SGD (momentum 0.9,
    batches of 20): at a high LR its held-out loss is noisy, and it climbs as the noise is memorised."""
    torch.set_num_threads(1)
    x, y, _ = digits_mlp(0)
    sgd = lambda params: torch.optim.SGD(params, lr=lr, momentum=0.9)  # noqa: E731
    for epoch, train, model in noisy_label_fit(noise, epochs, sgd, batch=20):
        yield epoch, train, held_out_loss(model, x, y)


def _trend_finding(report):
    f = warned(report).get("overfitting")
    return f if f is not None and "Mann-Kendall" in f.summary else None


def test_a_drift_under_gl5_that_never_comes_back_is_overfitting():
    # speecht5 TTS: validation loss 0.4964 at step 800, then above it at all 7 later evaluations
    # (0.5092 ... 0.5202, 4% up, never three rises in a row) while the training loss fell
    # 0.4721 -> 0.4357; GL_5 and the UP rules were silent
    report = lrdoctor.diagnose(lrdoctor.read(real_log(SPEECHT5_DRIFT)))
    f = _trend_finding(report)
    assert f is not None
    assert f.start_step == 800
    assert 0.01 < f.evidence["generalization_loss"] < 0.05


def test_a_loss_drift_beside_an_improving_wer_is_not_overfitting():
    # wav2vec2 XLS-R on Marathi (labelled healthy): the validation loss climbs from its minimum
    # while the WER keeps improving; over-confidence, not lost generalisation (Guo et al. 2017)
    report = lrdoctor.diagnose(lrdoctor.read(real_log(XLSR_WER_IMPROVES)))
    assert "overfitting" not in warned(report)


def test_a_trained_model_memorising_noisy_labels_at_a_high_lr(tmp_path):
    # the twin: at lr 0.2 the held-out loss of a model memorising 15% noisy labels swings
    # 0.8-1.75 around a climb from its minimum: too noisy for GL_5's scatter guard or three rises
    # in a row, and the trend rule reads it
    lines = [f"epoch {e} train_loss {t:.4f} val_loss {h:.4f}" for e, t, h in _noisy_sgd_run(40, 0.15, 0.2)]
    run = lrdoctor.read(write_lines(tmp_path / "log.txt", lines))
    v = run.series("eval_loss").values
    assert v[-5:].mean() > 1.2 * v.min()  # the climb is real: the curve did turn
    # the report names it overfitting; which rule speaks first depends on the curve the machine's
    # floating point trains (on some CPUs the swings are small enough for GL_5's scatter guard),
    # so the trend rule is also asked on its own
    assert "overfitting" in warned(lrdoctor.diagnose(run))
    trend = _rising_trend(run, run.series("eval_loss"), run.series("loss"), OVERFIT_DEFAULTS)
    assert trend and "Mann-Kendall" in trend[0].summary


def test_a_trained_model_that_generalises_gets_no_overfitting(tmp_path):
    # the healthy twin: the same model on clean labels at a moderate LR for a few epochs, its
    # held-out loss falling
    torch.set_num_threads(1)
    x, y, _ = digits_mlp(0)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    lines = []
    for epoch in range(1, 9):
        train, _ = fit_epoch(model, opt, x, y, end=1400, batch=20)
        lines.append(f"epoch {epoch} train_loss {train:.3f} val_loss {held_out_loss(model, x, y):.3f}")
    run = lrdoctor.read(write_lines(tmp_path / "log.txt", lines))
    assert run.series("eval_loss").values[-1] < run.series("eval_loss").values[0]
    assert "overfitting" not in warned(lrdoctor.diagnose(run))


GTZAN_TRAIN_AT_ZERO = "fresh758/cryptoque-distilhubert-gtzan-v2/training_results.md"
AST_SOLVED = "fresh734/alirzb-s1-m1-r3-ast/training_results.md"


def test_a_training_loss_printed_as_zero_is_memorised():
    # distilhubert on GTZAN: training loss 0.0001 -> 0.0 while the validation loss sits 21% above
    # its minimum at all 4 later epochs; the memorisation rule asked a positive training loss for
    # its 10x ratio and stayed silent
    f = warned(lrdoctor.diagnose(lrdoctor.read(real_log(GTZAN_TRAIN_AT_ZERO)))).get("overfitting")
    assert f is not None
    assert f.start_step == 678 and f.evidence["train_last"] == 0.0
    assert "printed as 0" in f.summary


def test_a_training_loss_at_zero_beside_a_new_best_accuracy_is_not_overfitting():
    # an AST that solved its task (labelled healthy): training loss 0.0003 -> 0.0, the validation
    # loss wobbling 0.0044-0.0093 in the third decimal while the accuracy ends at its best 0.9992
    assert "overfitting" not in warned(lrdoctor.diagnose(lrdoctor.read(real_log(AST_SOLVED))))

