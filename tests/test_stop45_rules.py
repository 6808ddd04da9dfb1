"""Rules from the stop-45 study of the benchmark (issue 9), each on a real log read in place, with
real twins:

- slow_progress: a classification accuracy whose best is its first evaluation's value, printed
  identically at most of 4+ evaluations of a 50+ example set and never beaten, is the score of
  predictions that did not change: training never improved on them.
- divergence: a loss at 1e15 or more on every report to the end, in a log that does not show it
  there from the start of training, blew up: no working run's loss reaches that scale.
- performance_reversal: an error rate (WER, CER) at twice its best or more at every one of the
  last 3+ evaluations, a best that was not the first, beyond the scatter of those evaluations.
- readers: "epoch 3 mAP is 0.3790 ..." (simple-faster-rcnn-pytorch's train.py) is a mAP.
- divergence is withdrawn where the logged LR starts a new warm-up at the onset: a new stage.
- slow_progress: any evaluation column named as a ROC AUC or a correlation is read by the
  negligible-correlation rule, not only the task-metric roles.
- readers: a Keras-callback card's split metric names ("Train Matthews Correlation").
- divergence is a warning, not an error, while the warm-up still raises the LR over the whole rise
  and the loss stays below twice its best.
- performance_reversal: an accuracy that falls from a best to only the two constant-predictor rates
  a and 1 - a of a two-class set.
"""

from __future__ import annotations

import re

import torch
from bench_logs import real_log
from trained_digits import digits_mlp, warned, write_lines

import lrdoctor

_RULE = "never beat the first evaluation's repeated value"
_HUBERT = "fresh230/hf-hubert-gokuls-fsc-h-stuck/training_results.md"


def _never_beat(report) -> bool:
    f = warned(report, at_least=2).get("slow_progress")
    return f is not None and f.evidence.get("rule") == _RULE


def _hubert_rows() -> list[list[str]]:
    """The card's rows, read by hand: "No log", epoch, step, validation loss, accuracy."""
    return [line.split()[2:] for line in open(real_log(_HUBERT)).read().splitlines()[1:]]


def test_an_accuracy_that_never_beat_its_repeated_first_value_is_no_learning():
    # HuBERT on an intent set: accuracy 0.2557 at five of six evaluations, 0.2383 at the other,
    # the validation loss flat at 1.72 (1.7232 -> 1.7203)
    f = warned(lrdoctor.diagnose(real_log(_HUBERT)), at_least=2)["slow_progress"]
    assert f.evidence["rule"] == _RULE
    assert f.evidence["value"] == 0.2557 and f.evidence["points"] == 6
    # DeBERTa-XL on a three-way task: 0.405, 0.385, 0.405, 0.405
    assert _never_beat(lrdoctor.diagnose(real_log("fresh53/pancode-deberta-xl-mnli-task1/training_results.md")))


def test_an_accuracy_that_left_its_first_value_for_good_is_not_judged_so():
    # DistilBERT: 0.6267 at epochs 1-4 of 19, then 0.49-0.61 as the validation loss climbs 3.5x:
    # four of nineteen evaluations at the first value are no constant predictor's run
    report = lrdoctor.diagnose(real_log("fresh408/zjun028-results-distilbert/training_results.md"))
    assert not _never_beat(report)
    assert "overfitting" in warned(report)


def _csv(rows: list[list[str]]) -> list[str]:
    """The rows as a CSV evaluated every 120 steps from step 120 (a logger's first period: the start)."""
    return ["step,eval_loss,eval_accuracy"] + [f"{120 * (i + 1)},{r[2]},{r[3]}" for i, r in enumerate(rows)]


def test_the_same_rows_with_a_better_last_evaluation_learned(tmp_path):
    rows = _hubert_rows()
    assert _never_beat(lrdoctor.diagnose(write_lines(tmp_path / "log.csv", _csv(rows))))  # as logged
    rows[-1][-1] = "0.3125"  # the last evaluation beats the repeated first value
    assert not _never_beat(lrdoctor.diagnose(write_lines(tmp_path / "log.csv", _csv(rows))))


def test_the_same_rows_from_mid_run_are_not_judged(tmp_path):
    # the rows shifted to start at step 1205 of 120-step evaluations: an excerpt may begin after the model converged
    lines = ["step,eval_loss,eval_accuracy"] + [f"{1205 + 120 * i},{r[2]},{r[3]}" for i, r in enumerate(_hubert_rows())]
    assert not _never_beat(lrdoctor.diagnose(write_lines(tmp_path / "log.csv", lines)))


_ASTRONN = "fresh208/astronn-14-apogeebcnn-huge-loss/paste.txt"


def _absurd(report) -> bool:
    f = warned(report, at_least=2).get("divergence")
    return f is not None and f.evidence.get("rule", "").startswith("absurd scale")


def test_a_loss_at_an_absurd_scale_to_the_end_blew_up():
    # astroNN's Keras fit, epochs 10-12 of 30 pasted: loss 2.26e18, 2.27e18, 2.27e18 (the first
    # line, above any "Epoch N/30" header, is no epoch's record)
    f = warned(lrdoctor.diagnose(real_log(_ASTRONN)), at_least=2)["divergence"]
    assert f.evidence["rule"].startswith("absurd scale") and f.evidence["points_above"] == 2
    assert f.evidence["loss_at_onset"] == 2272228464851419136.0
    # TorchMD-Net's checkpoint names: validation loss 2.8e25 at every epoch from the first (an
    # evaluation is made after training began)
    f = warned(lrdoctor.diagnose(real_log("fresh125/torchmd-net-357-ckpt-val-loss-blowup/paste.txt")), at_least=2)["divergence"]
    assert f.evidence["rule"].startswith("absurd scale") and f.evidence["metric"] == "val_loss"


def test_the_same_losses_from_the_first_epoch_are_an_initial_loss_not_a_divergence(tmp_path):
    # the astroNN lines renumbered as epochs 1-3: the first report of training is the initial loss
    lines = [x.replace("Epoch 11/30", "Epoch 2/30").replace("Epoch 12/30", "Epoch 3/30")
             for x in open(real_log(_ASTRONN)).read().splitlines()]
    lines = ["Epoch 1/30"] + [x for x in lines if "ReduceLROnPlateau" not in x and not x.startswith("Epoch 13")]
    assert sum("loss: 22" in x for x in lines) == 3  # two of them after an epoch header
    assert not _absurd(lrdoctor.diagnose(write_lines(tmp_path / "fit.txt", lines)))


def test_unnormalised_regression_targets_train_at_a_large_scale_without_a_divergence(tmp_path):
    # a real fit of "prices": the digits' pixels to 2e5 + 1e5 x label, squared error summed over
    # batches of 100 (about 4e13 at the start); epochs 11-30 of the run, an excerpt from mid-run
    torch.set_num_threads(1)
    x, y, model = digits_mlp(0)
    price = (2e5 + 1e5 * y.float()).unsqueeze(1)
    head = torch.nn.Linear(10, 1)
    torch.nn.init.zeros_(head.weight)
    opt = torch.optim.Adam([*model.parameters(), *head.parameters()], lr=0.02)
    lines = []
    for epoch in range(1, 31):
        total = 0.0
        for i in range(0, 1400, 100):
            loss = ((head(model(x[i:i + 100])) * 1e5 - price[i:i + 100]) ** 2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        if epoch > 10:
            lines += [f"Epoch {epoch}/30", f"14/14 - 0s - loss: {total / 14:.4f}"]
    first, last = float(lines[1].split()[-1]), float(lines[-1].split()[-1])
    assert 1e11 < last < first < 1e15  # a working run at the scale of unnormalised targets
    report = lrdoctor.diagnose(write_lines(tmp_path / "fit.txt", lines))
    assert "divergence" not in warned(report)


_GIT = "fresh223/hfcard-rharris117-git-base-pokemon-7695d97/training_results.md"


def _doubled(report) -> bool:
    f = warned(report).get("performance_reversal")
    return f is not None and "rise_factor" in f.evidence


def _git_rows() -> list[list[str]]:
    """The card's rows, read by hand: training loss, epoch, step, validation loss, WER."""
    return [line.split() for line in open(real_log(_GIT)).read().splitlines()[1:]]


def test_an_error_rate_that_doubled_from_its_best_and_stayed_is_a_reversal():
    # GIT captioning pokemon: WER 8.17, 7.89, 0.4367 (step 150), then 1.37, 2.02 ... 1.90 to step 600
    f = warned(lrdoctor.diagnose(real_log(_GIT)))["performance_reversal"]
    assert f.evidence["metric"] == "eval_wer_score" and f.evidence["peak"] == 0.4367 and f.evidence["peak_step"] == 150
    assert f.evidence["rise_factor"] > 3


def test_an_error_rate_that_comes_back_or_keeps_falling_is_no_reversal(tmp_path):
    rows = _git_rows()
    lines = ["step,loss,eval_loss,eval_wer"] + [f"{r[2]},{r[0]},{r[3]},{r[4]}" for r in rows]
    assert _doubled(lrdoctor.diagnose(write_lines(tmp_path / "log.csv", lines)))  # as logged
    lines[-1] = lines[-1].rsplit(",", 1)[0] + ",0.61"  # the last evaluation back within 2x of the best
    assert not _doubled(lrdoctor.diagnose(write_lines(tmp_path / "log.csv", lines)))
    # wav2vec2 on the TIMIT demo: WER 1.0153 -> 0.3535 as the model learns
    assert not _doubled(lrdoctor.diagnose(real_log("fresh407/asini-wav2vec2-timit-demo/training_results.md")))


def test_a_map_printed_in_prose_is_read_and_judged():
    # simple-faster-rcnn-pytorch: "epoch N mAP is 0.3790 ..." at all ten epochs: a detector that never changed
    report = lrdoctor.diagnose(real_log("fresh440/sfrcnn-map-frozen/train.log"))
    f = warned(report, at_least=2)["slow_progress"]
    assert f.evidence["value"] == 0.379 and f.evidence["points"] == 10


def test_the_word_map_in_lower_case_prose_is_no_metric(tmp_path):
    lines = [f"epoch {i} loss is {2.0 / (i + 1):.4f}, the map is {i + 3} tiles wide" for i in range(6)]
    run = lrdoctor.read(write_lines(tmp_path / "train.log", lines))
    assert "loss" in run and not any("map" in str(n).lower() for n in run.metrics)


def test_a_keras_callback_header_with_split_metric_names_is_read():
    # "Train Loss Validation Loss Train Matthews Correlation Epoch" over four values a row (the
    # Keras callback's card, borders lost): "Train" starts the name after it
    run = lrdoctor.read(real_log("fresh447/tkah-roberta-mcc/training_results.md"))
    assert list(run.metrics["train_matthews_correlation"]) == [0.5498, 0.5727, 0.5982]
    assert list(run.metrics["validation_loss"]) == [0.4198, 0.4965, 0.5199]
    assert run.meta.roles["eval_loss"] == "validation_loss"


_PHASES = "fresh444/chat-hamner-v3-phases/v3_metrics.csv"


def test_a_loss_that_rises_where_the_lr_starts_a_new_warmup_is_a_new_stage_not_a_divergence(tmp_path):
    # a curriculum: loss 1.46 on its first data phase; at step 3800 the next phase begins and the
    # LR falls from 3e-4 to 3.3e-5 to warm up again, and the loss rises to 2.9-4.3
    assert "divergence" not in warned(lrdoctor.diagnose(real_log(_PHASES)))
    # the same rows with the LR held at 3e-4 from step 3800: nothing marks a new stage
    lines = open(real_log(_PHASES)).read().splitlines()
    col = lines[0].split(",").index("learning_rate")
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        if int(cells[1]) >= 3800:
            cells[col] = "3.000000e-04"
        out.append(",".join(cells))
    assert "divergence" in warned(lrdoctor.diagnose(write_lines(tmp_path / "metrics.csv", out)), at_least=2)


_COVID = "fresh450/synergyai-vit-covid-ct-stuck/training_results.md"


def _auc_finding(report):
    f = warned(report, at_least=2).get("slow_progress")
    return f if f is not None and f.evidence.get("metric") == "eval_auc" else None


def test_a_roc_auc_at_chance_beside_a_majority_share_accuracy_is_no_learning(tmp_path):
    # ViT on COVID CT: accuracy 0.9062 (the positive share) and AUC exactly 0.5 at four
    # evaluations, 0.4943-0.4971 at the other four: a constant scorer
    f = _auc_finding(lrdoctor.diagnose(real_log(_COVID)))
    assert f is not None and f.evidence["value"] == 0.5 and f.evidence["points"] == 8
    # the same rows with an AUC that learns are not judged so
    lines = open(real_log(_COVID)).read().splitlines()
    learned = [lines[0], lines[1]] + [
        "|".join(c if j != 6 else f" {0.6 + 0.04 * i:.4f} " for j, c in enumerate(row.split("|")))
        for i, row in enumerate(lines[2:])]
    assert _auc_finding(lrdoctor.diagnose(write_lines(tmp_path / "training_results.md", learned))) is None


_D2_WARMUP = "fresh74/nyu-semi-d2-ft-lr004-warmup/train.log"


def test_a_bounded_rise_while_the_warmup_raises_the_lr_is_a_warning(tmp_path):
    # Faster R-CNN fine-tuned from a trained checkpoint while its warm-up raises the LR 0.020 ->
    # 0.040: total loss 0.146 -> 0.19 (+30%), below twice its best
    f = warned(lrdoctor.diagnose(real_log(_D2_WARMUP)))["divergence"]
    assert f.severity.rank == 1 and "warm-up" in f.summary
    # the same lines with the LR held at its first value: the rise is an error, as before
    lines = [re.sub(r"lr: [0-9.e-]+", "lr: 0.02038", x) for x in open(real_log(_D2_WARMUP)).read().splitlines()]
    assert sum("lr: 0.02038" in x for x in lines) > 40
    assert warned(lrdoctor.diagnose(write_lines(tmp_path / "train.log", lines)), at_least=2)["divergence"].kind == "divergence"


_FAKENEWS = "fresh468/denyol-fakenews-deberta-base-punct/training_results.md"


def _two_class_collapse(report) -> bool:
    f = warned(report).get("performance_reversal")
    return f is not None and "two values" in f.summary


def test_an_accuracy_that_fell_to_the_two_constant_predictor_rates_is_a_reversal(tmp_path):
    # a DeBERTa fake-news classifier: accuracy 0.8374, then 0.5234, 0.5234, 0.4766, 0.5234 (one
    # class for every input, then the other, on a set split 52/48) as its loss rose to ln 2
    f = warned(lrdoctor.diagnose(real_log(_FAKENEWS)))["performance_reversal"]
    assert "two values" in f.summary and f.evidence["peak"] == 0.8374 and f.evidence["end"] == 0.5234
    # the same rows with a last evaluation that is neither rate are not judged so
    lines = open(real_log(_FAKENEWS)).read().splitlines()
    lines[-1] = lines[-1].replace("0.5234", "0.6117")
    assert not _two_class_collapse(lrdoctor.diagnose(write_lines(tmp_path / "training_results.md", lines)))
