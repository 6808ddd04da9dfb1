"""Rules from the stop-52 study of the benchmark (issue 9), each on a real log read in place, with
real twins:

- an error rate's single 1.0 proves a fraction only at the first evaluation: reached after a
  descent from 52.6 it is a percentage's best;
- a training-loss blip is measured against the held-out loss too: a loss that starts at its floor
  has no descent for ``floor_share`` to measure against;
- overfitting's rise starts after the *last* evaluation at the minimum (a tie repeats the best);
- readers: HF's results table with its borders lost is no console table, whatever its metric names
  ("R Squared": "R" is YOLO's recall);
- initial_loss_anomaly: with no training loss logged ("No log"), a Trainer table's first evaluation
  loss is judged against the largest-vocabulary bound (above it only).
"""

from __future__ import annotations

from bench_logs import real_log
from trained_digits import warned

import lrdoctor


def _kinds(report) -> dict[str, str]:
    return {f.kind: f.severity.name for f in report.findings}


def test_a_percentage_that_touched_one_is_no_fraction():
    # a GIT captioner (blind slice fresh666): "Wer Score" 52.6, 22.4, 21.9, 18.7, 12.2, 4.5, 1.0 at
    # step 350, then 7.0-8.4 to the end. Read as a fraction pinned at 100%+ errors, it was an
    # error-level "recognises nothing"; it is a percentage whose best was 1% and that then got worse
    report = lrdoctor.diagnose(real_log("fresh666/git-base-naruto-sunfu-chou/training_results.md"))
    assert "slow_progress" not in _kinds(report)
    assert not any(f.severity.name == "ERROR" for f in report.findings)
    assert warned(report)["performance_reversal"].start_step == 350


def test_a_fraction_that_starts_at_one_is_still_read_as_one():
    # the twins: XLS-R on Common Voice Hindi, WER 1.0 at the first evaluation and 1.0001-1.02 after,
    # while the validation loss falls from the blank stage: every transcript wrong, an error
    for log in ("fresh273/gagan3012-xlsr300m-hi/training_results.md",
                "fresh287/yaswanth-xlsr-hindi1/training_results.md"):
        report = lrdoctor.diagnose(real_log(log))
        f = warned(report, 2).get("slow_progress")
        assert f is not None and f.evidence["rule"] == "error rate (a fraction) never below 90%", log


def test_a_blip_far_below_the_held_out_loss_is_info():
    # Whisper-small on Persian at lr 1e-8 (blind slice fresh661): training loss 0.0002 at every
    # evaluation but one 0.0015 (step 500), beside a validation loss of 0.87. The model fitted its
    # training set before the log began; the blip is 0.0013 nats. It was a loss_spike warning
    report = lrdoctor.diagnose(real_log("fresh661/makhataei-whisper-small-fa-lr1e-08-1000/training_results.md"))
    spike = next(f for f in report.findings if f.kind == "loss_spike")
    assert spike.severity.name == "INFO" and spike.start_step == 500
    # the same card at lr 1e-7: blips to 0.0262 and 0.0267 beside a validation loss of 0.71
    report = lrdoctor.diagnose(real_log("fresh661/makhataei-whisper-small-fa-lr1e-07-3000/training_results.md"))
    assert "loss_spike" not in warned(report)


def test_a_spike_that_reaches_the_held_out_level_still_warns():
    # the twin: ViViT whose training loss prints 0.0 and then jumps to 0.5976, near its validation
    # loss's best of 0.6512: the batch lost all it had fitted, a warning as before
    report = lrdoctor.diagnose(real_log("fresh613/vivit-surf-analytics-runpod/training_results.md"))
    assert "loss_spike" in warned(report)


def test_overfitting_starts_after_the_last_tie_at_the_minimum():
    # a GIT captioner (blind slice fresh666): validation loss 0.0361 at steps 150 and 200, then
    # 0.0381, 0.0393, ... 0.0434, 0.0429 (+19%) while the training loss falls 0.127 -> 0.0056. The
    # second 0.0361 counted as "not above the minimum" and hid the rise
    report = lrdoctor.diagnose(real_log("fresh666/git-base-naruto-miketeng/training_results.txt"))
    f = warned(report)["overfitting"]
    assert f.start_step == 200 and f.evidence["eval_min"] == 0.0361


def test_a_borderless_results_table_with_r_squared_is_read():
    # a regression head's card (blind slice fresh669): "Training Loss Epoch Step Validation Loss Mse
    # Mae Rmse Mape R Squared", the console-table rule took the header (its "R" is YOLO's recall) and
    # then no row matched: the log was refused as "no line looks like a training log"
    run = lrdoctor.read(real_log("fresh669/mou11209203-ptt-regression/training_results.md"))
    assert run.series("eval_r_squared").values.tolist() == [0.0, -0.0011, 0.0, 0.0, 0.0]
    assert run.series("eval_loss").values.tolist() == [1.8809, 1.8831, 1.8809, 1.8809, 1.8809]
    # the labelled problem: an R^2 of 0 (the mean's prediction) and a frozen validation loss
    report = lrdoctor.diagnose(real_log("fresh669/mou11209203-ptt-regression/training_results.md"))
    assert "slow_progress" in warned(report, 2)
    run = lrdoctor.read(real_log("fresh669/mou11209203-dcard-regression/training_results.md"))
    assert run.series("eval_r_squared").values[6] == 0.6036 and run.series("loss").values[0] == 1.0667


def test_an_absurd_first_evaluation_loss_without_a_training_loss():
    # MobileBERT on 500 examples (blind slice fresh670): "No log" for the training loss, validation
    # loss 3,126,378 at the first epoch beside an accuracy of 0.45: not checked before (no training loss)
    report = lrdoctor.diagnose(real_log("fresh670/cippppy-mobilebert-500exs-10timesteps/training_results.md"))
    f = warned(report)["initial_loss_anomaly"]
    assert f.start_step == 16 and f.evidence["first_loss"] == 3126378.25
    assert f.evidence["num_classes"] == 262_144


def test_a_first_evaluation_loss_under_the_bound_is_no_anomaly():
    # the twin: T5-small on LegalBench, "No log" and a first validation loss of 10.86 beside its ROUGE
    # columns: high, but under 1.5 ln 2^18 = 18.7 nats, so the bound says nothing
    report = lrdoctor.diagnose(real_log("fresh630/hfcard-prithviraj-t5-small-legalbench/training_results.txt"))
    assert "initial_loss_anomaly" not in _kinds(report)
    assert "initial_loss_anomaly" in report.coverage.ran  # checked (it was "not checked" before), and healthy


def test_a_first_evaluation_before_the_first_training_loss_is_judged():
    # SwinV2 at lr 0.05 on a small image folder (blind slice fresh674): "No log" at the first two
    # evaluations (steps 3 and 7, epochs 0.86 and 2.0: irregular steps, a table from the start), the
    # validation loss 22.41 at the first, the training loss 15.44 only from step 10
    report = lrdoctor.diagnose(real_log("fresh674/augusto777-swinv2-tiny-dmae-5e-2/training_results.md"))
    f = warned(report)["initial_loss_anomaly"]
    assert f.start_step == 3 and f.evidence["first_loss"] == 22.4107
    # the twin: a first evaluation at chance (0.719) before a training loss of 70,646 at step 504:
    # the evaluation says nothing, and the training loss's own first report is still judged
    report = lrdoctor.diagnose(real_log("fresh670/cippppy-mobilebert-500exs-run0/training_results.md"))
    f = warned(report)["initial_loss_anomaly"]
    assert f.start_step == 504 and f.evidence["first_loss"] > 70000
