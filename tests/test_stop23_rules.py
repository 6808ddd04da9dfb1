"""Readers and rules from the stop-23 study of the benchmark (issue 9), each on a real public log
with a twin where one can be made:

- readers: flair's ModelTrainer log ("epoch 28 - iter 1/1 - loss ...", "EPOCH 28 done: loss
  15.2876 - lr 0.0016", "DEV : loss 10.32 - score 0.0"): a label before the pair, and a
  within-epoch counter that never moves; HTML tables (HF Trainer's notebook progress table, a
  DataFrame's to_html), with evaluate's dict in a cell; PaddleVideo's "epoch:[ 7/80 ] val step:0"
  lines and TensorFlow Federated's "Eval metrics:" lines hold the evaluation's fields; a unit in
  parentheses closing a table header cell (pytorch-tabnet, Turi Create); Ultralytics 8.3's
  box-drawing progress bars; Megatron's "validation loss at iteration N | lm loss value: X" lines
  (the step and the validation loss, not an evaluation loss of N; a "loss PPL" is no loss); a
  separation score (SI-SNR, SDR) logged negated is the loss (SpeechBrain's separation recipes);
  fastai 0.7's bare "[ 0.  1.38  1.39 ]" fit rows when they count epochs from 0; "[INFO] Episode N score: X"
  (a bracketed log level, an episode counter);
- roles: scores of generated text (ROUGE, BLEU, METEOR, chrF, exact match) are evaluation metrics,
  and so are correlations named as an evaluation's (Spearman, Pearson, Matthews);
- nonfinite: an evaluation loss that is NaN at every evaluation beside a training loss of exactly 0
  is the blow-up, not an evaluation that skipped its loss; a training loss column that is NaN
  from the objective's last finite report on (ST-GCN's "mean_loss: nan");
- slow_progress: an error rate (a fraction) never below 99%, with exact 1.0 prints; a loss at
  ln K to 5+ significant digits for K a power of two (or one less) or of ten (a uniform output);
- overfitting: an accuracy still setting new bests vetoes the UP rules only below GL_5;
- loss_spike: a last-report jump that continues a rise already 2x above every earlier report is
  divergence's, not a lone spike;
- performance_reversal: an evaluation accuracy that collapses to exactly 1/K (K known) after a
  best of at least 2/K;
"""

import numpy as np
import pytest
import torch

import lrdoctor
from bench_logs import real_log

torch.set_num_threads(1)


def _kinds(run) -> set[str]:
    return {f.kind for f in lrdoctor.diagnose(run).findings}


def test_real_flair_log_keeps_one_report_per_epoch_and_the_dev_loss():
    run = lrdoctor.read(real_log("fresh35/flair-1429-stuck-score-zero/training.log"))
    loss = run.series("loss").finite()
    # two epochs (28 and 29), each "iter 1/1": the counter within the epoch must not merge them
    assert loss.values.size == 2
    assert loss.values[0] == pytest.approx(15.2876, abs=1e-3) and loss.values[1] == pytest.approx(15.2855, abs=1e-3)
    ev = run.series("eval_loss").finite()
    assert ev.values.tolist() == pytest.approx([10.322088241577148, 10.319738388061523])


def test_flair_epoch_summaries_alone_read_as_loss_and_dev_loss(tmp_path):
    # the "EPOCH N done" and "DEV :" lines without the iteration lines (python logging's
    # "HH:MM:SS,mmm" timestamps give every line one comma: not a CSV)
    lines = []
    for e, (tr, dv) in enumerate([(0.91, 0.80), (0.62, 0.71), (0.45, 0.69)], start=1):
        lines += [f"2020-02-16 09:39:5{e},077 EPOCH {e} done: loss {tr:.4f} - lr 0.1000",
                  f"2020-02-16 09:39:5{e},143 DEV : loss {dv} - score 0.{e}"]
    p = tmp_path / "training.log"
    p.write_text("\n".join(lines) + "\n")
    run = lrdoctor.read(p)
    assert run.series("loss").values.tolist() == pytest.approx([0.91, 0.62, 0.45])
    assert run.series("eval_loss").values.tolist() == pytest.approx([0.80, 0.71, 0.69])
    assert run.series("lr").values.tolist() == pytest.approx([0.1, 0.1, 0.1])


def test_real_hf_notebook_html_table_reads_every_epoch():
    # HF Trainer's progress table in a notebook's saved output: <th>/<td> rows, and the metric
    # cell holds evaluate's dict ("{'accuracy': 0.9272}")
    run = lrdoctor.read(real_log("fresh48/dlm-distilbert-hf-imdb-trainer/trainer_output.html"))
    assert run.series("loss").values.tolist() == pytest.approx([0.2202, 0.1591, 0.1249])
    assert run.series("eval_loss").values.tolist() == pytest.approx([0.195231, 0.198446, 0.202979])
    assert run.series("eval_accuracy").values.tolist() == pytest.approx([0.9272, 0.9272, 0.9312])
    assert run.series("loss").steps.tolist() == [1, 2, 3]


def test_html_table_of_a_diverging_run_is_diagnosed(tmp_path):
    # the same table shape (DataFrame.to_html of a history), a loss that blows up by decades
    rows = "".join(f"<tr><td>{i}</td><td>{l}</td><td>{v}</td><td>{{'f1': 0.5, 'precision': 0.4}}</td></tr>\n"
                   for i, (l, v) in enumerate([(2.3, 2.2), (1.9, 1.8), (40.0, 38.0), (900.0, 870.0), (2e4, 2e4)], 1))
    p = tmp_path / "out.html"
    p.write_text("<table border='1'>\n<thead><tr><th>Step</th><th>Training Loss</th><th>Validation Loss</th>"
                 f"<th>Metrics</th></tr></thead>\n<tbody>\n{rows}</tbody></table>\n")
    run = lrdoctor.read(p)
    assert run.series("loss").values.tolist() == pytest.approx([2.3, 1.9, 40.0, 900.0, 2e4])
    assert run.series("eval_f1").values.tolist() == pytest.approx([0.5] * 5)  # a dict's keys are its columns
    assert "divergence" in _kinds(run)


def test_real_paddlevideo_validation_lines_are_the_evaluation():
    # "epoch:[  7/80 ] val step:0  loss: 0.03661": a validation batch's loss, not a training loss;
    # read as training losses they made an edge run look diverged (0.037 -> 0.259)
    run = lrdoctor.read(real_log("fresh50/paddlevideo-650-pptsm-tiny/issue650.log"))
    assert run.series("loss").finite().values.tolist() == pytest.approx([0.21596, 0.25887])
    assert run.series("eval_loss").finite().values.tolist() == pytest.approx([0.03661, 0.07857])
    assert run.series("loss").steps.tolist() == [8, 9]  # the epoch of "epoch:[  8/80 ]"
    assert "divergence" not in _kinds(run)


def test_real_tff_eval_metrics_lines_are_the_evaluation():
    # TensorFlow Federated's "\\Eval metrics: loss=0.899, accuracy=0.750" beside "\\tTrain metrics: ..."
    run = lrdoctor.read(real_log("fresh50/tff-2793-text-rounds-nan-start/issue2793.log"))
    assert run.series("eval_loss").finite().values.tolist() == pytest.approx([13883295744.0, 0.899, 0.656, 0.656])
    loss = run.series("loss").values
    assert np.isnan(loss[0]) and loss[1:].tolist() == pytest.approx([0.947, 0.946, 0.946])


def _digits_run(tmp_path, blow_up_at: int | None):
    """A 10-class MLP on scikit-learn's digits, evaluated each epoch on a balanced set (30 images
    per class). With ``blow_up_at``, the LR jumps to 50 at that epoch."""
    from sklearn.datasets import load_digits

    torch.manual_seed(0)
    X, y = load_digits(return_X_y=True)
    X = torch.tensor(X / 16.0, dtype=torch.float32)
    y = torch.tensor(y)
    ev = torch.cat([torch.nonzero(y == c).flatten()[:30] for c in range(10)])
    tr = torch.tensor(sorted(set(range(len(y))) - set(ev.tolist())))
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    lines = ["epoch,train_loss,test_acc"]
    for epoch in range(1, 8):
        if blow_up_at is not None and epoch == blow_up_at:
            for g in opt.param_groups:
                g["lr"] = 50.0
        for i in range(0, len(tr), 64):
            idx = tr[i:i + 64]
            loss = torch.nn.functional.cross_entropy(model(X[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            acc = (model(X[ev]).argmax(1) == y[ev]).float().mean().item() * 100
        lines.append(f"{epoch},{loss.item():.4f},{acc:.2f}")
    p = tmp_path / f"digits_{blow_up_at}.csv"
    p.write_text("\n".join(lines) + "\n")
    return lrdoctor.read(p, config={"num_classes": 10}), lines


def test_accuracy_collapsing_to_exactly_chance_is_a_reversal(tmp_path):
    run, lines = _digits_run(tmp_path, blow_up_at=5)
    acc = run.series("eval_accuracy").values
    assert acc[3] > 80 and acc[-1] == pytest.approx(10.0), lines  # a real collapse to one class
    f = [f for f in lrdoctor.diagnose(run).findings if f.kind == "performance_reversal"]
    assert f and "chance for 10 classes" in f[0].summary, lines


def test_trained_digits_twin_without_the_lr_jump_has_no_reversal(tmp_path):
    run, lines = _digits_run(tmp_path, blow_up_at=None)
    assert run.series("eval_accuracy").values[-1] > 80, lines
    assert "performance_reversal" not in _kinds(run)


def test_real_tch_rs_cifar_run_collapsing_to_ten_percent():
    path = next(real_log("fresh50/tchrs-244-cifar-run2-collapse").iterdir())
    f = [f for f in lrdoctor.diagnose(lrdoctor.read(path, config={"num_classes": 10})).findings
         if f.kind == "performance_reversal"]
    assert f and f[0].evidence["peak"] == pytest.approx(75.72) and f[0].evidence["end"] == pytest.approx(10.0)


def test_real_seq2seq_card_whose_rouge_still_improves_is_not_overfitting():
    # flan-t5 on SAMSum: validation loss 1.3730 -> 1.3739 -> 1.3767 -> 1.3776 (+0.3%) while Rouge1
    # sets its best at the last evaluation: growing over-confidence, not lost generalisation
    path = next(real_log("fresh53/ibmrecycle-flan-t5-samsum-shaiman12").iterdir())
    run = lrdoctor.read(path)
    assert run.meta.roles["eval_accuracy"] == "eval_rouge1"
    assert "overfitting" not in _kinds(run)


def test_seq2seq_card_twin_whose_rouge_falls_is_overfitting(tmp_path):
    path = next(real_log("fresh53/ibmrecycle-flan-t5-samsum-shaiman12").iterdir())
    text = path.read_text().replace("| 47.5929 |", "| 46.1002 |")  # the last Rouge1 below its best
    twin = tmp_path / "README.md"
    twin.write_text(text)
    assert "overfitting" in _kinds(lrdoctor.read(twin))


@pytest.mark.parametrize("name", ["eval_rouge1", "Rougelsum", "eval_bleu", "sacrebleu", "eval_meteor", "eval_exact_match",
                                  "eval_spearmanr", "eval_pearson", "eval_matthews_correlation"])
def test_generation_scores_are_evaluation_metrics(name):
    from lrdoctor.names import resolve_aliases

    assert resolve_aliases(["step", "loss", "eval_loss", name])["eval_accuracy"][0] == name


def test_real_ctc_card_whose_wer_never_leaves_one_is_stuck():
    path = next(real_log("fresh52/hfcard-sewd-mid-librispeech-stuck").iterdir())
    f = [f for f in lrdoctor.diagnose(lrdoctor.read(path)).findings if f.kind == "slow_progress"]
    assert f and f[0].severity.name == "ERROR" and f[0].evidence["metric"] == "eval_wer"
    assert f[0].evidence["value"] == pytest.approx(0.9919)


def test_ctc_card_twins_that_learn_or_print_percentages_are_not_stuck(tmp_path):
    path = next(real_log("fresh52/hfcard-sewd-mid-librispeech-stuck").iterdir())
    text = path.read_text()
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and ln.count("|") == 6 and ln[2].isdigit()]
    # the model breaks out late: the last evaluation's WER 0.62
    learns = text.replace(rows[-1], rows[-1].rsplit("|", 2)[0] + "| 0.6200 |")
    # a percentage WER near 1% (an excellent model): no value exactly 1.0, and no halving of the
    # validation loss to prove a fraction (stop 42): the card from step 1300 on, where the validation
    # loss only creeps 2.57 -> 2.36 while the WER prints 1.04-1.13
    late = [ln for ln in rows if int(ln.split("|")[3]) >= 1300]
    percent = "\n".join(ln for ln in text.splitlines() if ln not in rows or ln in late)
    assert "| 1.0    |" not in percent and len(late) >= 10
    for name, body in (("learns", learns), ("percent", percent)):
        p = tmp_path / f"{name}.md"
        p.write_text(body)
        got = [f for f in lrdoctor.diagnose(lrdoctor.read(p)).findings if f.kind == "slow_progress"]
        assert not any("never went below" in f.summary for f in got), name


def test_real_card_with_nan_validation_beside_a_zero_training_loss_is_nonfinite():
    # HF card, flan-t5: training loss 4495794.176, then exactly 0.0, 0.0; "Validation Loss" nan at
    # every evaluation. A zero loss is no working model: the NaN evaluation is the blow-up.
    path = next(real_log("fresh45/hf-flant5-small-tuquyennnn-nan-head-card").iterdir())
    f = [f for f in lrdoctor.diagnose(lrdoctor.read(path)).findings if f.kind == "nonfinite"]
    assert f and "validation_loss" in f[0].summary


def test_nan_validation_beside_a_working_training_loss_stays_never_computed(tmp_path):
    # the YOLOv8 case: validation ran without its loss, the training loss is healthy. Only a
    # machine-written file gets this reading (stop 31): every text log in the benchmark that
    # prints a NaN validation loss at every evaluation is a labelled blow-up
    p = tmp_path / "results.csv"
    p.write_text("epoch,train/loss,val/loss\n1,2.31,nan\n2,1.72,nan\n3,1.40,nan\n")
    run = lrdoctor.read(p)
    assert any("never computed" in w for w in run.meta.warnings)
    assert "nonfinite" not in _kinds(run)


def test_real_stgcn_log_whose_epoch_mean_loss_is_nan_is_a_blow_up():
    # mmskeleton prints "loss: 1.4058" on the first iteration line only, then "mean_loss: nan" for
    # every epoch: the objective's own column stopped, the loss still printed is NaN
    path = next(real_log("fresh24/mmskeleton-stgcn-nan").iterdir())
    f = [f for f in lrdoctor.diagnose(lrdoctor.read(path)).findings if f.kind == "nonfinite"]
    assert f and f[0].severity.name == "ERROR" and f[0].evidence["metric"] == "mean_loss"


def test_stgcn_twins_finite_epoch_means_or_a_dead_term_beside_a_live_objective(tmp_path):
    path = next(real_log("fresh24/mmskeleton-stgcn-nan").iterdir())
    text = path.read_text()
    means = iter(["1.3012", "1.1021", "1.0433", "0.9876", "0.9511", "0.9304", "0.9101", "0.9002"])
    finite = "\n".join(ln.replace("mean_loss: nan", f"mean_loss: {next(means)}") if "mean_loss: nan" in ln else ln
                       for ln in text.splitlines())
    # a term NaN throughout while the objective is printed finite on every epoch (DAFormer's dead term)
    live = "\n".join(ln + (f"\n[02.06.24|21:13:31] \tIter 1 Done. | loss: 1.2{i} | lr: 0.010000" if "mean_loss: nan" in ln else "")
                     for i, ln in enumerate(text.splitlines()))
    for name, body in (("finite", finite), ("live", live)):
        p = tmp_path / f"{name}.log"
        p.write_text(body + "\n")
        got = [f for f in lrdoctor.diagnose(lrdoctor.read(p)).findings if f.kind == "nonfinite" and f.severity.name == "ERROR"]
        assert not got, (name, [f.summary for f in got])


def test_real_tabnet_table_with_a_unit_in_its_header():
    # pytorch-tabnet: "| EPOCH |  train  |   valid  | total time (s)", rows with no closing bar
    run = lrdoctor.read(real_log("fresh55/tabnet-forestcover-colab/tabnet_fit.log"))
    assert run.meta.step_column == "epoch"
    assert run.series("task_metric").values[:3].tolist() == pytest.approx([0.52858, 0.62094, 0.65459])
    assert run.series("eval_accuracy").values[:3].tolist() == pytest.approx([0.37865, 0.45245, 0.52065])


def test_real_turi_create_table_with_units_in_its_header():
    run = lrdoctor.read(real_log("fresh19/turicreate-issue1931-dc/issue1931.log"))
    assert run.series("loss").values.tolist() == pytest.approx([2.931, 2.631, 2.417, 2.388])


def test_real_ultralytics_83_console_with_box_drawing_bars():
    # "5/30  0G  1.079  1.422  0.004131  141  640: 100% ━━━━━━━━━━━━ 12/12 1.3s/it 15.1s"
    run = lrdoctor.read(real_log("fresh55/yolo-ultralytics-pr24425-console/pr24425_turn3.log"))
    assert run.series("loss").steps.tolist()[:3] == [5, 6, 7]
    assert run.series("loss").values[0] == pytest.approx(1.079 + 1.422 + 0.004131)
    assert run.series("metrics/map50-95").values[:2].tolist() == pytest.approx([0.628, 0.65])


def test_real_swav_loss_at_ln_512_is_a_collapse():
    # lightly's SwAV example with 512 prototypes: 6.28696, 6.23867, 6.23839, 6.23837, 6.23836, 6.23836
    run = lrdoctor.read(next(real_log("fresh54/lightly-1521-swav-voc").iterdir()))
    f = [f for f in lrdoctor.diagnose(run).findings if f.kind == "slow_progress"]
    assert f and f[0].evidence["num_classes"] == 512 and f[0].severity.name == "ERROR"


def _zero_init_run(tmp_path, zero: bool):
    """A 16-way MLP classifier on random features with balanced labels, trained full-batch; with
    ``zero`` every parameter is initialised to 0 (a dead network: identical logits, no gradient
    reaches the first layer, and balanced labels give the bias none either)."""
    torch.manual_seed(0)
    X = torch.randn(256, 8)
    y = torch.arange(256) % 16
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 16))
    if zero:
        for p in model.parameters():
            torch.nn.init.zeros_(p)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    lines = ["step,loss"]
    for step in range(40):
        loss = torch.nn.functional.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        lines.append(f"{step},{loss.item():.6f}")
    p = tmp_path / f"zero_{zero}.csv"
    p.write_text("\n".join(lines) + "\n")
    return lrdoctor.read(p), lines


def test_dead_zero_initialised_network_sits_at_ln_16(tmp_path):
    run, lines = _zero_init_run(tmp_path, zero=True)
    f = [f for f in lrdoctor.diagnose(run).findings if f.kind == "slow_progress"]
    assert f and f[0].evidence["num_classes"] == 16, lines[-3:]


def test_default_initialised_twin_is_not_at_uniform(tmp_path):
    run, lines = _zero_init_run(tmp_path, zero=False)
    assert run.series("loss").values[-1] < 0.9 * np.log(16), lines[-3:]
    assert not any(f.kind == "slow_progress" and f.evidence.get("num_classes") == 16
                   for f in lrdoctor.diagnose(run).findings)


def test_real_simcse_spearman_that_falls_from_its_best_is_a_reversal():
    # SimCSE's evaluation dicts: eval_stsb_spearman 0.7339 (epoch 0.44), then 0.7307, 0.6512,
    # 0.6061, 0.5705 at every later evaluation
    run = lrdoctor.read(next(real_log("fresh54/simcse-62-unsup-stsb").iterdir()))
    assert run.meta.roles["eval_accuracy"] == "eval_stsb_spearman"
    f = [f for f in lrdoctor.diagnose(run).findings if f.kind == "performance_reversal"]
    assert f and f[0].evidence["peak"] == pytest.approx(0.7339, abs=1e-4)


def test_real_megatron_validation_line_is_the_evaluation_at_its_iteration():
    # " validation loss at iteration 7000 | lm loss value: 7.174200E+00 | lm loss PPL: 1.305315E+03 |"
    run = lrdoctor.read(real_log("fresh10/megatron-bigscience-tr8-104b-exp1-glitch/train.log"))
    assert run.meta.roles["eval_loss"] == "validation_lm_loss"
    ev = run.series("eval_loss").finite()
    assert ev.values.tolist() == pytest.approx([7.1742]) and ev.steps.tolist() == [7000]
    assert run.series("loss").values.tolist() == pytest.approx([6.444662, 11.42026, 7.155109])


def test_real_qlora_divergence_is_not_also_a_last_report_spike():
    # 2.183, 3.3851, 9.2042, 50.7927: the last report continues a rise already 2x above every report
    # before it; divergence says so, and a "spike or divergence?" warning beside it would be noise
    kinds = _kinds(lrdoctor.read(next(real_log("fresh53/qlora-78-paged-adamw-8bit-diverge").iterdir())))
    assert "divergence" in kinds and "loss_spike" not in kinds


def test_qlora_twin_whose_only_jump_is_the_last_report_is_still_flagged(tmp_path):
    p = tmp_path / "trainer.log"
    p.write_text("".join(f"{{'loss': {v}, 'learning_rate': 0.0002, 'epoch': {e}}}\n"
                         for v, e in ((2.183, 0.14), (2.0512, 0.29), (1.9042, 0.43), (9.7927, 0.57))))
    f = [f for f in lrdoctor.diagnose(lrdoctor.read(p)).findings if f.kind == "loss_spike"]
    assert f and f[0].evidence.get("last_report") is True


def test_real_speechbrain_separation_log_reads_the_negated_si_snr_as_its_loss():
    # "epoch: 1, lr: 1.50e-04 - train si-snr: -5.72e+00 - valid si-snr: -7.85e+00": the negative
    # SI-SNR SpeechBrain's separation recipes optimise, logged under the score's name
    run = lrdoctor.read(real_log("fresh62/sb-issue2471-dprnn-wsj0mix-epochs/train_log.txt"))
    assert run.meta.roles["loss"] == "train_si-snr_loss" and run.meta.roles["eval_loss"] == "valid_si-snr_loss"
    assert run.series("loss").values[:3].tolist() == pytest.approx([-5.72, -9.33, -10.8])


def test_a_positive_si_snr_score_keeps_its_name(tmp_path):
    # the score itself (higher is better, in dB): no loss, however it moves
    p = tmp_path / "train_log.txt"
    p.write_text("".join(f"epoch: {e}, lr: 1.50e-04 - train loss: {l} - valid si-snr: {v}\n"
                         for e, (l, v) in enumerate([(0.9, 3.1), (0.7, 7.9), (0.6, 10.2), (0.55, 11.8)], 1)))
    run = lrdoctor.read(p)
    assert run.meta.roles["loss"] == "train_loss" and "valid_si-snr" in run.metrics
    assert "eval_loss" not in run.meta.roles


def test_real_fastai07_fit_rows_read_as_epoch_train_and_valid_loss():
    # "[ 0.       0.84581  0.82454]": fastai 0.7's [epoch, trn_loss, val_loss] array, header lost
    run = lrdoctor.read(real_log("fresh33/fastai07-lesson5-movielens-collab/fit.log"))
    assert run.series("loss").values.tolist() == pytest.approx([0.84581, 0.75627, 0.29527])
    assert run.series("eval_loss").values.tolist() == pytest.approx([0.82454, 0.93568, 0.89037])
    assert run.series("loss").steps.tolist() == [0, 1, 2]


def test_bracketed_numbers_that_do_not_count_epochs_are_no_fastai_rows(tmp_path):
    p = tmp_path / "out.txt"
    p.write_text("[ 3.       0.5   0.6 ]\n[ 7.       0.4   0.5 ]\n[ 2.       0.3   0.4 ]\n")
    with pytest.raises(lrdoctor.errors.InputError):
        lrdoctor.read(p)


def test_real_cola_run_whose_eval_loss_doubles_is_overfitting_though_its_mcc_still_rises():
    # eval loss 0.5675 -> 0.5881 -> 0.8826 -> 1.1314 (GL 99%) while eval_matthews_correlation rose
    # 0.27 -> 0.43: past Prechelt's GL_5 the held-out loss is materially worse, not over-confidence
    path = next(real_log("fresh33/hfnb-textcls-hpsearch-trial0").iterdir())
    run = lrdoctor.read(path, config={"num_classes": 2})
    assert run.meta.roles["eval_accuracy"] == "eval_matthews_correlation"
    assert "overfitting" in _kinds(run)


def test_real_rl_agents_episode_lines_under_a_bracketed_log_level():
    # "[INFO] Episode 595 score: 30.1": the episode is the step, the score the return
    run = lrdoctor.read(next(real_log("fresh19/rlagents-issue21-highway").iterdir()))
    assert run.meta.roles["ep_return"] == "score"
    ret = run.series("ep_return")
    assert ret.steps[:2].tolist() == [595, 596] and ret.values[:2].tolist() == pytest.approx([30.1, 29.8])
