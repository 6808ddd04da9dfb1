"""Series read under the role their file names (stop 80, roles): each reader fix on a few synthetic
lines, on real logs of the benchmark read in place, and on a twin of the same shape whose reading
must not move.

- mmcv's ``log.json``: a record whose ``"mode"`` is ``"val"`` holds the validation's numbers
  (``val/accuracy_top-1``, ``val/loss``), not the training's (``records._mode_fields``);
- ACNet's "val at epoch 5, top1=..., loss=..." after a logger named "train" is a validation line;
- Open3D-ML's "loss train: 10.7  eval: 8.7" names the evaluation's loss after the training one;
- CNTK's "EvalErr[0]PerSample = 0.29" is one key, the training minibatches' error rate;
- a WaveGlow fork's "step_78620:<TAB>loss_4191.68" and a note's "Epoch3: 55.7map" are read under
  the words they carry (both were unreadable)."""

from pathlib import Path

import numpy as np

import lrdoctor
from lrdoctor.io import read
from lrdoctor.io.records import _mode_fields
from lrdoctor.io.textlog.key_value import _key_values

LOGS = Path(__file__).resolve().parents[1] / "bench" / "detection_logs"


def _roles(path: Path) -> dict:
    return dict(read(path).meta.roles)


def _kinds(path: Path) -> set[str]:
    return {f.kind for f in lrdoctor.diagnose(str(path)).findings}


# --- mmcv log.json: "mode": "val" -------------------------------------------------------------

def test_a_val_mode_record_files_its_measurements_under_the_split():
    rec = {"mode": "val", "epoch": 18, "iter": 19, "lr": 0.0004, "accuracy_top-1": 85.3, "loss": 0.40}
    assert _mode_fields(rec) == {"mode": "val", "epoch": 18, "iter": 19, "lr": 0.0004,
                                 "val/accuracy_top-1": 85.3, "val/loss": 0.40}
    train = {"mode": "train", "epoch": 18, "iter": 140, "loss": 0.32}
    assert _mode_fields(train) is train


def test_mmcv_records_keep_the_validation_loss_out_of_the_training_loss(tmp_path):
    lines = []
    for ep in range(1, 7):
        for it in (10, 20):
            lines.append(f'{{"mode": "train", "epoch": {ep}, "iter": {it}, "lr": 0.1, "loss": {2.0 / (ep + it / 100):.4f}}}')
        # (mmcv writes the validation record at the epoch's last iteration)
        lines.append(f'{{"mode": "val", "epoch": {ep}, "iter": 20, "lr": 0.1, "loss": 9.5, "accuracy_top-1": {50 + ep}}}')
    p = tmp_path / "log.json"
    p.write_text("\n".join(lines) + "\n")
    run = read(p)
    assert run.meta.roles["eval_accuracy"] == "val/accuracy_top-1"
    assert run.meta.roles["eval_loss"] == "val/loss"
    loss = run.series("loss").finite().values
    assert loss.size == 12 and float(np.max(loss)) < 9.5  # no validation loss among the training ones


def test_a_real_mmcls_log_json_reads_its_validation_records_as_the_validation():
    """mmcls issue 993 (healthy): its val records carry the validation loss 0.403, which the
    training loss column held before; the top-1 accuracy is the evaluation's."""
    run = read(LOGS / "fresh832/mmcls-993-logjson-epoch18-19/paste.log")
    assert run.meta.roles["eval_accuracy"] == "val/accuracy_top-1"
    assert run.meta.roles["eval_loss"] == "val/loss"
    assert 0.40347 not in set(run.series("loss").finite().values.tolist())


def test_a_real_mmpretrain_val_only_log_reads_its_accuracy_as_the_evaluation():
    """mmpretrain issue 449 (edge): log.json holds validation records only."""
    assert _roles(LOGS / "fresh41/mmpretrain-449-val-top1/log.json")["eval_accuracy"] == "val/accuracy_top-1"
    assert _roles(LOGS / "fresh97/mmpretrain-944-custom-val-acc/train.log")["eval_accuracy"] == "val/accuracy_top-1"


def test_a_real_mace_metrics_log_reads_its_eval_records_as_the_validation():
    """MACE's MetricsLogger (healthy): "mode": "opt" per training batch, "eval" per validation;
    the eight validation losses were among the training loss's 60 points."""
    run = read(LOGS / "fresh125/mace-tutorial-mace02-com3-train-jsonl-epochs0-12/mace02_com3_run-567_train.txt")
    assert run.meta.roles["eval_loss"] == "eval/loss"
    assert run.series("eval_loss").finite().values.size == 8
    assert 14.201 not in {round(v, 3) for v in run.series("loss").finite().values.tolist()}


def test_a_healthy_mmdet_log_json_stays_silent():
    """mmdet issue 4927 (healthy twin): train and val records; its reading gains the split's
    names (val/bbox_mAP) and no finding."""
    path = LOGS / "fresh186/mmdet-4927-logjson-epoch2-3/log.json"
    assert _roles(path)["eval_accuracy"] == "val/bbox_mAP"
    assert _kinds(path) == set()


# --- ACNet: "val at epoch N, ..." after a logger named "train" ---------------------------------

def test_a_val_at_epoch_line_is_the_validation_even_after_the_logger_name():
    rec = _key_values("train INFO: val at epoch 5, top1=60.48000, top5=97.16000, loss=1.444115", {})
    assert rec["val_loss"] == 1.444115 and "loss" not in rec
    assert rec["epoch"] == 5.0
    # the twin: the same logger's training line keeps its loss
    assert _key_values("train INFO: epoch 5, loss=1.444115", {})["loss"] == 1.444115


def test_real_acnet_log_has_no_training_loss_only_its_validation():
    """ACNet issue 26 (edge): every line is a validation's."""
    roles = _roles(LOGS / "fresh97/acnet-26-resnet56-cifar10-val/train.log")
    assert roles["eval_loss"] == "val_loss" and roles["eval_accuracy"] == "val_top1"
    assert "loss" not in roles


# --- Open3D-ML: "loss train: x  eval: y" -------------------------------------------------------

def test_eval_after_a_train_key_is_that_key_of_the_evaluation():
    rec = _key_values("loss train: 10.721  eval: 8.661", {})
    assert rec == {"loss_train": 10.721, "loss_eval": 8.661}


def test_real_open3d_logs_read_the_evaluation_columns_as_the_evaluation():
    """Open3D-ML issues 407 (edge) and 203 (edge): loss/acc/iou, each "train: x  eval: y"."""
    for rel in ("fresh161/open3dml-407-randlanet-tf-semantic3d/train.log", "fresh161/open3dml-203-randlanet-semantic3d/train.log"):
        roles = _roles(LOGS / rel)
        assert roles["loss"] == "loss_train" and roles["eval_loss"] == "loss_eval"
        assert roles["eval_accuracy"] == "acc_eval"


# --- CNTK: "EvalErr[0]PerSample" ---------------------------------------------------------------

def test_cntk_node_index_stays_inside_its_key():
    rec = _key_values(" Epoch[10 of 30]-Minibatch[   1- 500, 64.02%]: SamplesSeen = 32000; TrainLossPerSample =  0.85505237; "
                      "EvalErr[0]PerSample = 0.28478125; TotalTime = 60.9339s", {})
    assert rec["eval_err_per_sample"] == 0.28478125
    assert "eval_err" not in rec and "per_sample" not in rec


def test_real_cntk_logs_read_no_validation_loss_from_the_training_error():
    """CNTK issues 194 (healthy) and 406 (unhealthy, nonfinite): the error rate of the training
    minibatches was read as an evaluation loss; the NaN of issue 406 is still found."""
    healthy = LOGS / "fresh719/cntk-issue-194-cifar10/paste.log"
    assert "eval_loss" not in _roles(healthy)
    assert _kinds(healthy) == set()
    nan = LOGS / "fresh131/cntk-406-cifar-qnan/paste.txt"
    assert "eval_loss" not in _roles(nan)
    assert "nonfinite" in _kinds(nan)


# --- words glued to their numbers: WaveGlow fork, an epoch's mAP ------------------------------

def test_waveglow_named_step_and_loss_are_read():
    run = read(LOGS / "fresh77/waveglow-issue32-single-step-blowup/train.log")
    assert run.meta.roles["loss"] == "loss"
    assert 4191.68359375 in run.series("loss").values.tolist()


def test_epoch_value_metric_lines_are_read_as_the_evaluation():
    """Grounding DINO issue 166: "Epoch4: 46.3map" (unhealthy, the map falls) and its twin run
    (healthy, the map rises to 56.8), both unreadable before; the twin stays silent."""
    down = read(LOGS / "fresh886/gdino-166-finetune-lrdrop-8-11/paste.log")
    assert down.meta.roles["eval_accuracy"] == "map"
    assert down.series("eval_accuracy").values.tolist() == [55.2, 55.5, 55.7, 46.3, 44.1]
    twin = LOGS / "fresh886/gdino-166-finetune-lrdrop-4-8/paste.log"
    assert _roles(twin)["eval_accuracy"] == "map"
    assert _kinds(twin) == set()


# --- fairseq: "| epoch 028 | valid on 'valid' subset | loss 9.329 | ..." ------------------------

def test_a_fairseq_subset_cell_makes_the_line_that_subsets():
    from lrdoctor.io.textlog.tables import _pipe_table

    rec = _pipe_table("| epoch 006 | valid on 'valid' subset | loss 4.878 | nll_loss 3.103 | ppl 8.59 | num_updates 2000 | best_loss 4.87848", {})
    assert rec == {"epoch": 6.0, "valid_loss": 4.878, "valid_nll_loss": 3.103, "valid_ppl": 8.59,
                   "num_updates": 2000.0, "valid_best_loss": 4.87848}
    # the twin: the training summary of the same epoch keeps its loss
    assert _pipe_table("| epoch 006 | loss 5.375 | nll_loss 3.66 | num_updates 2036", {})["loss"] == 5.375


def test_real_fairseq_logs_keep_the_validation_loss_apart_from_the_training_one():
    """fairseq issue 1529 (the validation at update 9165 overwrote the training loss of the same
    update) and the mock run of fresh68 (healthy: "valid" then "train" summaries at update 10)."""
    gap = read(LOGS / "fresh111/fairseq-1529-fp16-scale-zero-valid-gap/train.log")
    assert gap.meta.roles["eval_loss"] == "valid_loss"
    assert gap.series("loss").values.tolist() == [3.976] and gap.series("eval_loss").values.tolist() == [9.329]
    mock = LOGS / "fresh68/fairseq-mock-runsimple/train.log"
    run = read(mock)
    assert run.series("eval_loss").values.tolist() == [9.189]
    assert run.series("loss").values.tolist() == [16.264, 14.191, 11.87]
    assert _kinds(mock) == set()


# --- PaddlePaddle's timers: batch_cost, reader_cost, data_cost --------------------------------

def test_paddle_stage_costs_are_timers_not_loss_terms():
    from lrdoctor.names import loss_term_kind

    for name in ("batch_cost", "reader_cost", "data_cost", "avg_batch_cost"):
        assert loss_term_kind(name) is None, name
    for name in ("cost", "train_cost", "data_loss", "batch_loss"):
        assert loss_term_kind(name) == "train", name


def test_real_paddleseg_logs_have_no_loss_term_besides_the_loss():
    """PaddleSeg issues 1436 and 1722 (healthy): "loss: 0.2745, lr: ..., batch_cost: 0.4066,
    reader_cost: 0.00017, ips: ..."; the timers were counted among the training loss terms."""
    from lrdoctor.detect._common import training_loss_terms

    for rel in ("fresh50/paddleseg-1436-train-iters/issue1436.log", "fresh50/paddleseg-1722-first-iters/issue1722.log"):
        path = LOGS / rel
        assert training_loss_terms(read(path)) == []
        assert _kinds(path) == set()


# --- a training loss column that repeats the validation loss ----------------------------------

def _cols(train, val):
    from lrdoctor.run import RunMeta

    cols = {"training_loss": np.array(train, float), "validation_loss": np.array(val, float)}
    masks = {k: np.isfinite(v) for k, v in cols.items()}
    return cols, masks, RunMeta(source="t", format="text-log")


def test_a_training_loss_equal_to_the_validation_loss_at_every_row_is_dropped():
    from lrdoctor.io.records import drop_copied_loss

    cols, masks, meta = _cols([1.58, 1.66, 1.88, 2.16], [1.58, 1.66, 1.88, 2.16])
    drop_copied_loss(cols, masks, meta)
    assert list(cols) == ["validation_loss"] and "copy" in meta.warnings[0]
    # twins that stay: one row apart, too few rows, a constant pair, two losses at the rounding floor
    for train, val in (([1.58, 1.66, 1.88, 2.16], [1.58, 1.66, 1.88, 2.17]), ([1.58, 1.66], [1.58, 1.66]),
                       ([0.69, 0.69, 0.69], [0.69, 0.69, 0.69]), ([0.0001, 0.0, 0.0, 0.0], [0.0001, 0.0, 0.0, 0.0])):
        cols, masks, meta = _cols(train, val)
        drop_copied_loss(cols, masks, meta)
        assert "training_loss" in cols and not meta.warnings


def test_a_real_card_whose_training_loss_copies_the_validation_loss_is_judged_on_the_validation():
    """XLS-R Assamese (unhealthy: overfitting from step 800): the hand-edited table repeats the
    validation loss in the Training Loss column; read as a training loss it diverged (a false
    divergence); read as the copy it is, the validation loss's rise is the overfitting."""
    path = LOGS / "fresh93/hfcard-infinitejoy-xlsr-assamese/training_results.md"
    assert "loss" not in _roles(path)
    kinds = _kinds(path)
    assert "overfitting" in kinds and "divergence" not in kinds


def test_a_healthy_card_of_the_same_shape_keeps_its_training_loss():
    """XLS-R Kurdish and Abkhaz (healthy): the same table shape with a real training loss."""
    for rel in ("fresh93/hfcard-infinitejoy-xlsr-kurdish/training_results.md", "fresh93/hfcard-infinitejoy-xlsr-abkhaz/training_results.md"):
        path = LOGS / rel
        assert _roles(path)["loss"] == "training_loss"
        assert _kinds(path) == set()


def test_a_loop_that_prints_two_equal_losses_of_its_own_keeps_its_training_loss():
    """DeepXDE (unhealthy: divergence, nonfinite): "Train loss" and "Test loss" are equal when the
    test points are the training ones; only the Trainer's results-table pair is read as a copy."""
    path = LOGS / "fresh164/deepxde-1208-lbfgs-blowup/paste.txt"
    assert _roles(path)["loss"] == "train_loss"
    kinds = _kinds(path)
    assert {"divergence", "nonfinite"} <= kinds and "overfitting" not in kinds


def test_two_losses_equal_at_their_rounding_floor_are_no_copy():
    """Whisper fine-tunes memorising a tiny set (healthy and edge): "0.0001 | ... | 0.0001", then
    "0.0 | ... | 0.0000" on every row; they agree by rounding, and the training loss stays."""
    for rel in ("fresh1450/pollitoconpapass-whisper-small-finetuned/training_results.md",
                "fresh651/usmanaxai-whisper-small-ft-custom/training_results.md"):
        assert _roles(LOGS / rel)["loss"] == "training_loss"
