"""Rules from the stop-41 study of the benchmark (issue 9), each on a really trained run or a real
log read in place, with a twin:

- slow_progress: an F-score (F1, spaCy's ``spans_sc_f``, a per-class ``f1_9``) below 0.05 at every
  one of 3+ evaluations (5+ from the start of a run, unless its config's plan ended there): the
  model never found the class it scores, whatever the accuracy says (a digits MLP whose 9s were
  relabelled as 8s: accuracy 0.10 -> 0.78, F1 of the 9s 0 throughout); a CER
  beside a WER pinned at exactly 1.0 is read on the WER's fraction scale (1.46 is 146%);
- overfitting: an evaluation loss whose first reading is its best and that no later reading came
  back within 10% of, while the training loss fell (a spike among them no longer hides it);
- nonfinite: TensorFlow's "Nan in summary histogram" crash (capital N); a policy entropy a text
  log printed as nan on every update;
- readers: a results-table cell holding a list is dropped; "Wer Ortho" is one name of a borderless
  HF table; a TensorBoard CSV export of a run named for a split is that split's tag.
"""

from __future__ import annotations

import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, held_out_loss, warned, write_lines

import lrdoctor
from lrdoctor.detect._progress.chance import is_f_score

torch.set_num_threads(1)


def _nines_run(lr: float, epochs: int) -> list[str]:
    """A 64-32-2 MLP trained for real to tell the digit 9 from the rest (10% positives), printed as
    a CSV of the epoch's mean training loss, the held-out loss and the held-out F1 of the 9s."""
    from sklearn.metrics import f1_score

    x, y, _ = digits_mlp(0)
    nines = (y == 9).long()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    lines = ["epoch,loss,eval_loss,eval_f1"]
    for e in range(epochs):
        mean, _ = fit_epoch(model, opt, x, nines)
        with torch.no_grad():
            logits = model(x[1400:])
            held = torch.nn.functional.cross_entropy(logits, nines[1400:]).item()
        f1 = f1_score(nines[1400:].numpy(), logits.argmax(1).numpy(), zero_division=0)
        lines.append(f"{e + 1},{mean:.4f},{held:.4f},{f1:.4f}")
    return lines


def _nine_relabelled_run(epochs: int) -> list[str]:
    """The 64-32-10 digits MLP trained for real on labels where a mapping bug wrote every 9 as an
    8: it learns the other digits (held-out accuracy 0.10 -> 0.78 in five epochs) and never
    predicts a 9. Printed as a CSV with the held-out accuracy and the F1 of the 9s."""
    from sklearn.metrics import f1_score

    x, y, model = digits_mlp(0)
    wrong = y.clone()
    wrong[wrong == 9] = 8
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    lines = ["epoch,loss,eval_loss,eval_accuracy,eval_f1_9"]
    for e in range(epochs):
        mean, _ = fit_epoch(model, opt, x, wrong)
        with torch.no_grad():
            pred = model(x[1400:]).argmax(1)
        acc = (pred == y[1400:]).float().mean().item()
        f1 = f1_score((y[1400:] == 9).numpy(), (pred == 9).numpy(), zero_division=0)
        lines.append(f"{e + 1},{mean:.4f},{held_out_loss(model, x, y):.4f},{acc:.4f},{f1:.4f}")
    return lines


def test_an_f1_that_never_left_the_floor_is_a_class_never_found(tmp_path):
    # the 9s relabelled as 8s: accuracy climbs 0.10 -> 0.78 and the loss falls, so no accuracy or
    # loss rule speaks, but the F1 of the 9s is 0 at all five epochs (``pinned_points``)
    lines = _nine_relabelled_run(epochs=5)
    rows = [l.split(",") for l in lines[1:]]
    assert [float(r[4]) for r in rows] == [0.0] * 5 and float(rows[-1][3]) > 0.7
    f = warned(lrdoctor.diagnose(write_lines(tmp_path / "stuck.csv", lines)))["slow_progress"]
    assert f.evidence["rule"].startswith("F-score below 0.05") and f.evidence["metric"] == "eval_f1_9"


def test_three_zero_f1s_from_the_start_count_only_at_the_planned_end(tmp_path):
    # the first three epochs of the same run: with no plan in the config they may be the start of
    # a run that learns its class later (see test_stop26's prior-initialised F1); with num_epochs 3
    # they are the whole run, and the delivered model never finds a 9
    path = write_lines(tmp_path / "start.csv", _nine_relabelled_run(epochs=3))
    assert "slow_progress" not in warned(lrdoctor.diagnose(path), 0)
    f = warned(lrdoctor.diagnose(path, config={"num_epochs": 3}))["slow_progress"]
    assert f.evidence["metric"] == "eval_f1_9"


def test_an_f1_that_starts_at_zero_and_then_rises_is_no_finding(tmp_path):
    # the 9-vs-rest MLP at lr 0.1: F1 0.0 for two epochs, then the 9s are found (0.47 by epoch 4)
    lines = _nines_run(lr=0.1, epochs=6)
    assert max(float(l.split(",")[3]) for l in lines[1:]) > 0.4
    report = lrdoctor.diagnose(write_lines(tmp_path / "learns.csv", lines))
    assert "slow_progress" not in warned(report, 0), report.findings


_NER_CARD = "fresh98/hfcard-dooglak-tagged-one-50v0-ner/training_results.md"


def test_an_ner_card_whose_entity_f1_stayed_at_zero_to_its_planned_end_is_slow_progress(tmp_path):
    # BERT NER on a 50-sentence wikigold split, num_epochs 3: entity F1 0.0, 0.0, 0.0005 at epochs
    # 1-3 while token accuracy sat at the all-"O" rate 0.78: the delivered model finds no entity
    path = real_log(_NER_CARD)
    f = warned(lrdoctor.diagnose(path))["slow_progress"]
    assert f.evidence["rule"].startswith("F-score below 0.05") and f.evidence["metric"] == "eval_f1"
    assert f.evidence["value"] == 0.0005
    # the twin: the same figures as a CSV without the hyperparameter list, so nothing says the run
    # ended there (the Trainer's own table, without its list, still does since stop 42: the Trainer
    # writes it from the whole run's history)
    rows = [[c.strip() for c in l.strip("|").split("|")] for l in path.read_text().splitlines()
            if l.startswith("| ") and not l.startswith("| Training")]
    csv = ["epoch,eval_loss,eval_f1"] + [f"{r[1]},{r[3]},{r[6]}" for r in rows]
    assert len(csv) == 4
    assert "slow_progress" not in warned(lrdoctor.diagnose(write_lines(tmp_path / "table.csv", csv)), 0)


def test_spacy_spans_f_beside_spans_p_and_spans_r_is_an_f_score():
    # spaCy spancat with a mismatched spans key: SPANS_SC_F 0.00 at all seven evaluations
    report = lrdoctor.diagnose(real_log("fresh160/spacy-13090-spancat-key-mismatch/paste.txt"))
    assert warned(report)["slow_progress"].evidence["metric"] == "spans_sc_f"


def test_a_trailing_f_without_its_precision_and_recall_is_no_f_score():
    # MACE's "mae_f" is the forces' mean absolute error: a log of a healthy tutorial run
    assert not is_f_score("mae_f", frozenset({"mae_f", "mae_e"}))
    assert not is_f_score("eval_rouge2_fmeasure")
    assert is_f_score("ents_f", frozenset({"ents_f", "ents_p", "ents_r"}))
    report = lrdoctor.diagnose(real_log("fresh125/mace-tutorial-mace02-com3-train-jsonl-epochs0-12/mace02_com3_run-567_train.txt"))
    assert "slow_progress" not in warned(report, 0), report.findings


def test_a_cer_above_one_beside_a_wer_pinned_at_one_is_read_as_a_fraction():
    # XLS-R 300M on FLEURS Zulu: WER exactly 1.0 at all four evaluations while CER went 1.4645 ->
    # 1.5012: 146% character errors on the WER's fraction scale, not 1.46% that "learned"
    report = lrdoctor.diagnose(real_log("fresh329/mubarakb-xlsr300m-zu-fleurs-1hr/training_results.md"))
    f = warned(report)["slow_progress"]
    assert f.evidence["metric"] == "eval_wer" and f.evidence["rule"] == "error rate pinned at 100%"


def test_a_wer_pinned_at_one_beside_a_cer_that_learned_stays_silent(tmp_path):
    # the twin, written from the Zulu card with the CER of a model that learned (0.28 at the end on
    # the same fraction scale, as Cantonese's WER beside its CER): the pinned WER is no finding
    lines = ["| Training Loss | Epoch | Step | Validation Loss | Wer | Cer |", "|---|---|---|---|---|---|",
             "| No log | 1.0 | 6 | 23.3703 | 1.0 | 0.9645 |", "| No log | 2.0 | 13 | 12.3671 | 1.0 | 0.6680 |",
             "| No log | 3.0 | 19 | 3.3600 | 1.0 | 0.4756 |", "| No log | 4.0 | 26 | 1.3411 | 1.0 | 0.2812 |"]
    assert "slow_progress" not in warned(lrdoctor.diagnose(write_lines(tmp_path / "learned.md", lines)), 0)


def test_an_evaluation_loss_that_never_came_back_near_its_first_reading_is_overfitting():
    # bloomz-560m at lr 5e-4: validation loss 4.3998 (first, best) -> 5.4109 -> 14.7274 -> 7.4367
    # -> 7.6816 while the training loss fell 3.3093 -> 2.4579; the spike inflated the GL rule's
    # scatter guard, but no later evaluation came within 10% of the first
    report = lrdoctor.diagnose(real_log("fresh333/jysssacc-bloomz-560m-fine-lr0.0005/training_results.md"))
    f = warned(report)["overfitting"]
    assert f.evidence["eval_min"] == 4.3998 and f.evidence["eval_min_step"] == 63.0


def test_an_evaluation_that_came_back_within_ten_percent_of_the_first_is_no_never_beaten_run(tmp_path):
    # the twin of the same card: the third evaluation came back to 4.6 (within 10% of 4.3998), so
    # the rise is judged by the GL rule's scatter guard, which the spike still inflates
    lines = ["Training Loss Epoch Step Validation Loss", "No log 1.0 63 4.3998", "3.3093 2.0 126 5.4109",
             "3.3093 3.0 189 14.7274", "3.2195 4.0 252 4.6000", "2.4579 5.0 315 7.6816"]
    report = lrdoctor.diagnose(write_lines(tmp_path / "came_back.md", lines))
    assert "overfitting" not in warned(report, 0), report.findings


def test_a_tensorflow_crash_on_a_nan_histogram_is_nonfinite(tmp_path):
    # DeepLab on TF 1.x: "Total loss is :[4.87157393]", then InvalidArgumentError: "Nan in summary
    # histogram for: clone_0/image_pooling/BatchNorm/moving_variance" (capital N: the prefilter
    # looked for "nan" and "aN" only)
    path = real_log("fresh199/tfmodels-6416-deeplab-bn-nan/paste.txt")
    assert "nonfinite" in warned(lrdoctor.diagnose(path))
    # the twin: the same paste cut before the traceback: three finite, falling losses
    lines = path.read_text().splitlines()
    cut = next(i for i, l in enumerate(lines) if l.startswith("Traceback"))
    assert "nonfinite" not in warned(lrdoctor.diagnose(write_lines(tmp_path / "before.txt", lines[:cut])), 0)


def test_a_policy_entropy_printed_as_nan_on_every_update_is_nonfinite(tmp_path):
    # a PPO trainer on HumanoidBulletEnv: "KL divergence: nan Entropy: nan" on all seven update
    # epochs of iteration 3571: the policy's output distribution is NaN
    path = real_log("fresh12/pybulletgym-issue10-ppo-kl-nan/issue10.log")
    f = warned(lrdoctor.diagnose(path))["nonfinite"]
    assert f.evidence["metric"] == "entropy"
    # the twin with a finite entropy: the surrogate loss and the rewards are finite, nothing to report
    lines = [l.replace("Entropy: nan", "Entropy: 1.4187") for l in path.read_text().splitlines()]
    assert "nonfinite" not in warned(lrdoctor.diagnose(write_lines(tmp_path / "finite.log", lines)), 0)


def test_a_results_table_with_a_list_cell_is_read_without_that_column(tmp_path):
    # a T5 text-to-SPARQL card: "Sacrebleu-precisions" prints evaluate's list as it is, and the row's
    # training loss is nan: read, the nan is a non-finite training loss (it was an unreadable table)
    report = lrdoctor.diagnose(real_log("fresh342/hfcard-t5-sparql-2021-10-18/training_results.md"))
    assert "sacrebleu-precisions" not in report.run.names
    assert report.run.series("eval_loss").values.tolist() == [0.1294]
    assert warned(report)["nonfinite"].evidence["metric"] == "loss"


def test_a_borderless_whisper_table_with_wer_ortho_is_read():
    # the HF audio course's Whisper fine-tune names "Wer Ortho" then "Wer"; copied from a rendered
    # page with its borders lost, the header has one word more than a row has values
    report = lrdoctor.diagnose(real_log("fresh340/wishwa98-asrforcommonvoice/training_results.md"))
    assert report.run.series("eval_wer_ortho").values.tolist()[:2] == [16.3784, 16.6496]
    assert report.run.series("eval_wer").values.tolist()[:2] == [11.5941, 11.8450]


def test_a_tensorboard_export_of_the_validation_run_is_the_evaluation_loss(tmp_path):
    # Keras' TensorBoard callback writes one tag, epoch_loss, under the runs train and validation:
    # the download of the validation curve was read as the training loss (and its rise as divergence)
    path = real_log("fresh348/spectral-subclass-mixed-val-loss/subclass-mixed-input-subclass_validation-tag-epoch_loss.csv")
    report = lrdoctor.diagnose(path)
    assert report.run.meta.roles == {"eval_loss": "validation_epoch_loss"}
    assert "overfitting" in warned(report) and "divergence" not in warned(report, 0)
    # the twin: the train run's export of the same tag is the training loss
    train = real_log("fresh348/spectral-subclass-mixed-train-loss/subclass-mixed-input-subclass_train-tag-epoch_loss.csv")
    assert lrdoctor.read(train).meta.roles == {"loss": "epoch_loss"}
    # and the standard download name of TensorBoard's UI
    std = tmp_path / "run-validation-tag-epoch_loss.csv"
    std.write_text(path.read_text())
    assert lrdoctor.read(std).meta.roles == {"eval_loss": "validation_epoch_loss"}
