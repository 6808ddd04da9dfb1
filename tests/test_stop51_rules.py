"""Rules from the stop-51 study of the benchmark (issue 9), each on a real log read in place, with
real twins:

- readers: a verb between a key and its separator ("epoch is: 3, eval success rate is: 89.000",
  MAML's evaluation prints) is no part of the key's name; a ``rouge_score`` facet after a ROUGE
  word in a borderless Trainer table ("Rougel Fmeasure") is that score's facet;
- divergence: both losses jump at one report and the evaluation loss then stays above every
  earlier evaluation to the end (``DivergenceThresholds.joint_jump``);
- a blow-up explains the slow progress after it, not an error-level slow_progress (a model stuck
  from its first evaluation) that began before a divergence.
"""

from __future__ import annotations

import numpy as np
from bench_logs import real_log
from trained_digits import warned

import lrdoctor


def test_a_verb_before_the_separator_is_not_part_of_the_name():
    # cbfinn/maml #86: "epoch is: 1, eval success rate is: 89.000" for 24 epochs. Unread, the
    # log was refused ("no training metric recognised": eval_success_rate_is, epoch_is)
    report = lrdoctor.diagnose(real_log("fresh645/maml-meta-rl-success-collapse/eval.log"))
    run = report.run
    assert run.meta.step_column == "epoch"
    s = run.series("success_rate")
    assert s is not None and s.values.size == 24
    assert s.values[1] == 89.0 and s.values[-1] == 19.0 and s.steps[-1] == 23
    # the success rate fell from 89 to 16-24 over the last epochs: a reversal, found
    assert "performance_reversal" in warned(report)


def test_a_verb_in_a_name_written_without_a_separator_stays(tmp_path):
    # the twin: "is" inside a key that has no separator after it, and a one-word key "is" itself,
    # keep their words; only the verb right before ":" or "=" goes
    log = tmp_path / "train.log"
    log.write_text("".join(f"step {i}: loss is: {2.0 / (i + 1):.4f}, this_is_acc = {0.1 * i:.2f}\n" for i in range(6)))
    run = lrdoctor.read(log)
    assert np.allclose(run.series("loss").values, [2.0 / (i + 1) for i in range(6)], atol=1e-4)
    assert "this_is_acc" in run.names and "loss_is" not in run.names


def _kinds(report) -> dict[str, str]:
    return {f.kind: f.severity.name for f in report.findings}


def test_both_losses_jump_and_the_evaluation_never_comes_back():
    # Zekunli's T5-base under fp16 (blind slice fresh648): both losses fall to step 2200
    # (validation 1.76), then at 2400 validation 2.14 and training 1.75 -> 1.90, and for the five
    # evaluations to the end validation stays at 2.36-2.37, above its very first 1.93
    report = lrdoctor.diagnose(real_log("fresh648/zekunli-t5-base-extraction-fs005-jump/training_results.md"))
    f = next(f for f in report.findings if f.kind == "divergence")
    assert f.severity.name == "ERROR" and f.start_step == 2400
    assert f.evidence["eval_worst_before"] == 1.9264 and f.evidence["eval_at_onset"] == 2.1358
    # AdaLoRA at lr 0.05: 6.10 / 4.32 at the first epoch, 15.36 / 8.45 at the second, and the
    # validation loss never back below 4.32 (too few reports above 2x for the few-point rise)
    report = lrdoctor.diagnose(real_log("fresh593/jysssacc-roberta-base-adalora-lr005/training_results.md"))
    assert _kinds(report).get("divergence") == "ERROR"


def test_a_joint_rise_that_the_evaluation_recovers_from_is_no_divergence():
    # the healthy twins: both losses rise by 10%+ at one report, then the evaluation loss comes
    # back below an earlier one (Swin: 0.30 -> 0.34 at the second evaluation, 0.28 at the end;
    # DistilHuBERT on GTZAN: 0.57 -> 0.65 at the eighth, 0.59 at the last, below the 0.72 before)
    for log in ("fresh137/hfcard-karoladelk-swin-classification/training_results.md",
                "fresh251/hf-distilhubert-jcr987-gtzan/training_results.md"):
        report = lrdoctor.diagnose(real_log(log))
        assert "divergence" not in _kinds(report), log
        assert not any(f.severity.name == "ERROR" for f in report.findings), log


def test_a_model_stuck_before_it_diverged_keeps_its_stuck_finding():
    # RemBERT on a 95%-majority two-class set: the minority class's F1 is 0 from the first
    # evaluation (step 104); both losses jump at the second (0.46 -> 1.36, 0.62 -> 1.23) and the
    # validation loss never returns to 0.62. Two problems, two findings
    report = lrdoctor.diagnose(real_log("fresh617/rembert-populism-408-majority-class/training_results.md"))
    found = {f.kind: f.start_step for f in report.findings if f.severity.name == "ERROR"}
    assert found == {"slow_progress": 104, "divergence": 208}


def test_what_a_divergence_leaves_behind_is_still_explained_by_it():
    # the twin: t5-small at lr 0.01 diverges at the second evaluation and then prints 10.375 (ln
    # of its vocabulary) for twelve reports; the frozen loss that follows the blow-up is its
    # aftermath, reported once, as the divergence
    report = lrdoctor.diagnose(real_log("fresh583/moanlb-t5-small-informal-to-formal/training_results.md"))
    kinds = _kinds(report)
    assert kinds.get("divergence") == "ERROR" and "slow_progress" not in kinds


def test_a_rouge_facet_in_a_borderless_trainer_table_belongs_to_its_score():
    # clee9's T5-small card (blind slice fresh648), copied without borders: "Training Loss Epoch Step
    # Validation Loss Rougel Fmeasure Bertscore F1 Combined Score" over rows of 7 numbers. Unread
    # ("unknown format"): six metric words for three values
    run = lrdoctor.read(real_log("fresh648/clee9-t5-small-rougel-bertscore/training_results.md"))
    assert {"eval_rougel_fmeasure", "eval_bertscore_f1", "eval_combined_score"} <= set(run.names)
    assert run.series("eval_rougel_fmeasure").values.tolist() == [0.113, 0.1227, 0.1246, 0.1247]
    assert run.series("eval_bertscore_f1").values[0] == -0.0448


def test_a_rouge_word_and_a_precision_column_stay_apart_when_the_counts_match(tmp_path):
    # the twin: as many words as values, so nothing is joined ("Rouge1" and "Precision" are two columns)
    log = tmp_path / "training_results.md"
    rows = "".join(f"{1.0 / e:.4f} {e}.0 {10 * e} {1.2 / e:.4f} {0.2 + e / 100:.4f} {0.5 + e / 100:.4f}\n" for e in range(1, 5))
    log.write_text("Training Loss Epoch Step Validation Loss Rouge1 Precision\n" + rows)
    run = lrdoctor.read(log)
    assert "eval_rouge1" in run.names and "eval_precision" in run.names
    assert run.series("eval_precision").values[-1] == 0.54


def test_a_joint_jump_the_evaluation_gives_back_is_a_spike_not_a_divergence():
    # BEiT on a segmentation set (blind slice fresh657, edge): both losses rise at the third
    # evaluation (validation 0.0277 -> 0.0788) and the last one, 0.0412, is still above every
    # earlier evaluation, but it gave back 62% of the jump (log domain): measured blind, the
    # joint rule called it a divergence error; ``joint_hold`` asks the end to keep half of it
    report = lrdoctor.diagnose(real_log("fresh657/ydmeira-beit-finetuned-pokemon/training_results.md"))
    assert "divergence" not in _kinds(report)
    assert not any(f.severity.name == "ERROR" for f in report.findings)
