"""Readers and rules from the stop-24 study of the benchmark (issue 9), each on a real public log
with a twin (really trained where a run can make the pathology):

- readers: FuxiCTR/BARS logs (an epoch trailer "Epoch=N end" closes the epoch above it, "[Metrics]"
  lines are the validation's, "P<pid>" before the level is a prefix); a "Training finished." line
  ends the training records; DeepSpeed's OVERFLOW lines; YOLACT's console; Demucs-family "Grad=";
  fairseq's NanDetector line; fastai v1 tables copied single-spaced; lucidrains' "G: | D:"
  letters; history dumps with other names; llm.c's "s:/trl:/tel:" lines; Trax's metric lines;
  one-element tensors; an evaluation's multi-word key is not read again by its tail;
- nonfinite: fp16 overflows that go on at the loss scaler's floor;
- slow_progress: GRPO batches with no advantage (frac_reward_zero_std 1.0), a per-token
  cross-entropy worse than uniform throughout, a return exactly 0 throughout; a lone blow-up no
  longer sets the collapse-to-zero scale; a GAN's feature-matching term is no objective;
- overfitting: UP_3 ignores a rise immaterial on both scales (under 0.1% of the level and 5% of the
  progress); the training loss is compared from its first report inside the rise ("No log" rows);
- initial_loss_anomaly: the first report of a regular logger's first period is the initial loss,
  and a log whose epoch column starts past 1 has none.
"""

import numpy as np
import pytest
import torch

import lrdoctor
from bench_logs import real_log

torch.set_num_threads(1)

_TS = "2020-02-22 05:37:13,353 P7379 INFO "


def _kinds(run) -> set[str]:
    return {f.kind for f in lrdoctor.diagnose(run).findings if f.severity.rank >= 1}


def _fuxictr_lines(n_train: int, lr: float, epochs: int, seed: int = 0) -> list[str]:
    """A real binary classifier (digit 3 against the rest, scikit-learn's digits) trained with
    Adam, logged as FuxiCTR logs: the validation's "[Metrics]" line, the epoch's mean training
    loss, then the epoch trailer; after training, the final model's evaluations."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x / 16.0, dtype=torch.float32)
    y = torch.tensor((y == 3).astype(np.float32))
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    tr, va = idx[:n_train], idx[-500:]
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 1))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    bce = torch.nn.BCEWithLogitsLoss()
    lines = ["2020-02-22 05:02:26,414 P7379 INFO **** Start training: 2 batches/epoch ****"]
    best = None
    for ep in range(1, epochs + 1):
        total = 0.0
        for b in torch.split(tr, 32):
            opt.zero_grad()
            loss = bce(model(x[b]).squeeze(1), y[b])
            loss.backward()
            opt.step()
            total += loss.item() * len(b)
        with torch.no_grad():
            vl = bce(model(x[va]).squeeze(1), y[va]).item()
        best = vl if best is None else min(best, vl)
        lines += [f"{_TS}[Metrics] logloss: {vl:.6f} - AUC: 0.950000",
                  f"{_TS}Train loss: {total / len(tr):.6f}",
                  f"{_TS}************ Epoch={ep} end ************"]
    lines += [f"{_TS}Training finished.", f"{_TS}****** Train/validation evaluation ******",
              f"{_TS}[Metrics] logloss: 0.001000 - AUC: 0.999000", f"{_TS}[Metrics] logloss: {best:.6f} - AUC: 0.950000"]
    return lines


def test_fuxictr_trailers_file_each_epoch_under_its_own_number(tmp_path):
    lines = _fuxictr_lines(40, 3e-2, 15)
    p = tmp_path / "AFN_run.log"
    p.write_text("\n".join(lines) + "\n")
    run = lrdoctor.read(p)
    loss, ev = run.series("loss").finite(), run.series("eval_loss").finite()
    printed_train = [float(s.split("loss: ")[1]) for s in lines if "Train loss" in s]
    printed_val = [float(s.split("logloss: ")[1].split()[0]) for s in lines[:-4] if "logloss" in s]
    assert loss.steps.tolist() == list(range(1, 16)) and loss.values.tolist() == pytest.approx(printed_train)
    # the validation's line comes first in its epoch: filed under that epoch, not the one before
    assert ev.steps.tolist() == list(range(1, 16)) and ev.values.tolist() == pytest.approx(printed_val)
    # the final model's evaluations after "Training finished." are not epoch 15's
    assert ev.values[-1] == pytest.approx(printed_val[-1])
    assert any("training is over" in w for w in run.meta.warnings)
    assert run.meta.roles["eval_loss"] == "val_logloss"


def test_fuxictr_overfitting_run_is_found_and_its_healthy_twin_is_not(tmp_path):
    over, fine = tmp_path / "over.log", tmp_path / "fine.log"
    over.write_text("\n".join(_fuxictr_lines(40, 3e-2, 15)) + "\n")  # 40 examples, a 256-unit MLP
    fine.write_text("\n".join(_fuxictr_lines(1200, 1e-3, 15)) + "\n")
    assert "overfitting" in _kinds(lrdoctor.read(over))
    assert _kinds(lrdoctor.read(fine)) == set()


def test_real_fuxictr_logs_early_stopped_and_settled():
    # AFN+ on Avazu: validation logloss 0.3702 -> 0.4036 -> 0.4770 over three epochs while the
    # training loss falls 0.3803 -> 0.2453 (early stopping ends it at epoch 3, no trailer)
    afn = lrdoctor.read(real_log("fresh47/bars-afn-plus-avazu-x4/AFN_avazu_x4_003_24bfb45b.log"))
    assert afn.series("eval_loss").finite().values.tolist() == pytest.approx([0.370202, 0.403646, 0.477018])
    assert afn.series("loss").finite().steps.tolist() == [1, 2, 3]
    assert "overfitting" in _kinds(afn)
    # AFM on Criteo (labelled healthy): logloss 0.4574 -> 0.44743 over 27 epochs, then a 0.03% turn
    afm = lrdoctor.read(real_log("fresh47/bars-afm-criteo-x1/AFM_criteo_x1_004_954c0ecc.log"))
    assert afm.series("eval_loss").finite().values.size == 31
    assert "overfitting" not in _kinds(afm)


def test_epoch_trailer_variants_and_a_line_with_values_is_no_trailer(tmp_path):
    p = tmp_path / "t.log"
    p.write_text("val_loss: 0.95\nloss: 0.8\nEnd of epoch 1\nval_loss: 0.75\nloss: 0.6\nEpoch 2 finished\n"
                 "val_loss: 0.7\nloss: 0.5\n")
    run = lrdoctor.read(p)
    # the report after the last trailer is epoch 3's (an epoch cut short)
    assert run.series("loss").steps.tolist() == [1, 2, 3]
    assert run.series("eval_loss").steps.tolist() == [1, 2, 3]
    assert run.series("eval_loss").values.tolist() == pytest.approx([0.95, 0.75, 0.7])
    q = tmp_path / "examples.log"
    q.write_text("| end of epoch   1 | time: 36.96s | valid loss  5.60 | valid ppl   271.23\n"
                 "| end of epoch   2 | time: 36.12s | valid loss  5.31 | valid ppl   202.39\n")
    ev = lrdoctor.read(q).series("eval_loss")
    assert ev.steps.tolist() == [1, 2] and ev.values.tolist() == pytest.approx([5.60, 5.31])


def test_up3_turn_of_a_hair_is_not_overfitting_but_one_that_undoes_progress_is():
    from lrdoctor.detect.overfitting import detect
    from lrdoctor.run import build_run

    steps = np.arange(1, 11, dtype=float)
    train = np.linspace(0.5, 0.3, 10)
    settled = np.array([0.4574, 0.452, 0.450, 0.4485, 0.4478, 0.44745, 0.44743, 0.44745, 0.44750, 0.44755])
    turned = np.array([0.4574, 0.452, 0.450, 0.4485, 0.4478, 0.44745, 0.44743, 0.4480, 0.4490, 0.4500])
    # the hair: 1.2e-4 back, 1.2% of the 0.01 of progress and 0.03% of the level; the turn:
    # 2.6e-3 back, 26% of the progress (0.6% of the level)
    assert detect(build_run(steps, {"loss": train, "eval_loss": settled})) == []
    assert [f.kind for f in detect(build_run(steps, {"loss": train, "eval_loss": turned}))] == ["overfitting"]


def test_hf_summary_after_training_completed_is_not_a_training_record(tmp_path):
    # HF Trainer's stdout: the run summary's train_loss is the mean over the whole run; filed
    # under the last epoch it would read as the training loss jumping back up (0.21 -> 0.62)
    rows = [f"{{'loss': {loss}, 'learning_rate': 5e-05, 'epoch': {e}.0}}" for e, loss in ((1, 1.05), (2, 0.41), (3, 0.21))]
    rows += ["Training completed. Do not forget to share your model on huggingface.co/models =)",
             "{'train_runtime': 81.2, 'train_samples_per_second': 36.9, 'train_loss': 0.6233, 'epoch': 3.0}"]
    p = tmp_path / "stdout.txt"
    p.write_text("\n".join(rows) + "\n")
    run = lrdoctor.read(p)
    assert run.series("loss").values.tolist() == pytest.approx([1.05, 0.41, 0.21])
    assert "train_runtime" not in run.names
    # a line that only tells the duration ends training as well; one with a metric does not
    q = tmp_path / "llmfs.log"
    q.write_text("Ep 1 (Step 000050): Train loss 0.52, Val loss 0.61\nEp 2 (Step 000100): Train loss 0.31, Val loss 0.40\n"
                 "Training completed in 13.70 minutes.\nTest accuracy: 10.00%\n")
    assert "test_accuracy" not in lrdoctor.read(q).names


# -- mixed precision: overflows at the loss scaler's floor -------------------------------------------

def test_deepspeed_overflows_at_the_scalers_floor_are_nonfinite_and_its_calibration_is_not():
    # T5-11B under ZeRO-2: "Attempted loss scale: 1, reducing to 1" on every step shown
    stuck = lrdoctor.diagnose(real_log("fresh63/hf-transformers-issue14531-ds-overflow-scale1/issue14531.log"))
    errors = [f for f in stuck.findings if f.severity.rank == 2]
    assert [f.kind for f in errors] == ["nonfinite"] and errors[0].evidence["value"] == 1.0
    # the dynamic scale coming down from 2^32 (and from 65536 with hysteresis): calibration
    for rel in ("fresh63/deepspeed-issue386-lossscale-calibration/issue386.log",
                "fresh12/deepspeed-issue931-loss-scale/issue931.log"):
        report = lrdoctor.diagnose(real_log(rel))
        assert "nonfinite" in report.coverage.ran
        assert report.findings == []


def test_overflow_lines_at_one_scale_are_distinct_steps(tmp_path):
    line = "[2021-11-27 00:36:54,800] [INFO] [stage2.py:1628:step] [deepscale] OVERFLOW! Rank 0 Skipping step. Attempted loss scale: {a}, reducing to {b}"
    p = tmp_path / "ds.log"
    # the scale halves to its floor and stays there for two more steps: two repeats, not three
    p.write_text("\n".join([line.format(a=4, b=2), line.format(a=2, b=1), line.format(a=1, b=1), line.format(a=1, b=1)]) + "\n")
    run = lrdoctor.read(p)
    assert run.series("overflow_scale").values.tolist() == [4, 2, 1, 1]
    assert not [f for f in lrdoctor.diagnose(run).findings if f.kind == "nonfinite"]
    p.write_text(p.read_text() + line.format(a=1, b=1) + "\n")
    assert [f.kind for f in lrdoctor.diagnose(lrdoctor.read(p)).findings] == ["nonfinite"]


# -- YOLACT's console, Demucs-family "Grad=" ----------------------------------------------------------

def test_yolact_rows_read_as_iterations_with_the_total_loss():
    run = lrdoctor.read(real_log("fresh65/yolact-issue164-epoch17/train.log"))
    loss = run.series("loss")
    assert run.meta.step_column == "iteration" and loss.steps[:2].tolist() == [12950, 12960]
    assert loss.values[:2].tolist() == pytest.approx([12.029, 12.096])
    assert run.series("mask_loss").values[0] == pytest.approx(5.012)


def test_demucs_style_grad_column_is_the_gradient_norm_and_its_inf_is_found():
    run = lrdoctor.read(real_log("fresh63/scnet-issue11-amp-grad-inf/issue11.log"))
    assert run.meta.roles["grad_norm"] == "grad"
    assert run.series("grad_norm").values[:2].tolist() == pytest.approx([9164.2812, 16170.3185])
    assert "nonfinite" in _kinds(run)


# -- GRPO: every prompt group degenerate ----------------------------------------------------------------

def test_grpo_batch_with_no_advantage_is_no_learning_and_a_partial_one_is_not():
    none_left = lrdoctor.diagnose(real_log("fresh63/trl-issue3857-grpo-zero-std/issue3857.log"))
    assert [(f.kind, f.severity.rank) for f in none_left.findings] == [("slow_progress", 2)]
    assert none_left.findings[0].evidence["metric"] == "frac_reward_zero_std"
    # ms-swift: 52% and 39% of the groups degenerate, the rest carry an advantage: the zero
    # gradient norm is the finding, not the rewards
    partial = lrdoctor.diagnose(real_log("fresh9/jsonl-msswift-issue5890-grpo-zero-grad/issue5890.jsonl"))
    assert "slow_progress" not in {f.kind for f in partial.findings}
    assert "grad_vanishing" in {f.kind for f in partial.findings}


# -- collapse to zero: a lone blow-up does not set the scale ---------------------------------------------

def test_values_after_a_lone_blow_up_are_not_a_collapse_to_zero():
    # qlearning4k: TD loss 2214, then 6.05e21 at epoch 144, then 7.36, 11.0, 33.2, 32.7
    run = lrdoctor.read(real_log("fresh64/qlearning4k-issue13-loss-blowup/train_log.txt"))
    kinds = _kinds(run)
    assert "slow_progress" not in kinds and "loss_spike" in kinds
    # Caffe DetectNet: 317.7, then -0.0 on four reports: still a collapse
    assert "slow_progress" in _kinds(lrdoctor.read(real_log("fresh18/caffe-issue5144-detectnet-zero/issue5144.log")))


# -- studied fresh66-68 ---------------------------------------------------------------------------------

def test_eval_line_with_a_multiword_key_is_not_also_a_training_loss():
    # Pointnet_Pointnet2_pytorch: "Training mean loss: 0.817511" and "eval mean loss: 0.767204";
    # the tail "mean loss" of the eval line had been read as a second training loss
    run = lrdoctor.read(real_log("fresh66/pointnet2-semseg-s3dis-resumed/pointnet2_sem_seg.txt"))
    assert run.meta.roles["eval_loss"] == "eval_mean_loss"
    # (epochs from the framed headings since stop 30: the run was resumed at epoch 4, whose second
    # training, 0.374252, replaces the first, 0.411783; "later rows win")
    assert run.series("loss").values[:4].tolist() == pytest.approx([0.817511, 0.539021, 0.459765, 0.374252])
    kinds = {f.kind: f.severity.rank for f in lrdoctor.diagnose(run).findings}
    assert kinds == {"overfitting": 1}  # eval loss 0.7259 -> 0.7856 while training loss falls


def test_fairseq_nan_detector_line_is_a_nonfinite_loss():
    run = lrdoctor.read(real_log("fresh68/fairseq-mock-bigrun1-inf/train.log"))
    errors = [f for f in lrdoctor.diagnose(run).findings if f.severity.rank == 2]
    assert [(f.kind, f.start_step) for f in errors] == [("nonfinite", 2575)]


def test_hf_card_whose_first_row_has_no_training_loss_still_shows_overfitting(tmp_path):
    # bert on MRPC: "No log" at epoch 1; eval loss 0.366 -> 0.5355 -> 0.6581 while the training
    # loss falls 0.5003 -> 0.2654 (the rise starts where no training loss was logged yet)
    run = lrdoctor.read(real_log("fresh67/card-olwflynn-test-trainer-init/model_card_training.md"))
    over = [f for f in lrdoctor.diagnose(run).findings if f.kind == "overfitting"]
    assert over and over[0].evidence["train_last"] == pytest.approx(0.2654)
    # its twin: the eval loss falls with the training loss
    rows = ["| Training Loss | Epoch | Step | Validation Loss | Accuracy |", "|:---:|:---:|:---:|:---:|:---:|",
            "| No log | 1.0 | 459 | 0.4660 | 0.8105 |", "| 0.5003 | 2.0 | 918 | 0.4355 | 0.8407 |",
            "| 0.3654 | 3.0 | 1377 | 0.4181 | 0.8503 |"]
    p = tmp_path / "README.md"
    p.write_text("\n".join(rows) + "\n")
    assert not [f for f in lrdoctor.diagnose(lrdoctor.read(p)).findings if f.kind == "overfitting"]


def test_a_counter_within_a_later_epoch_is_no_start_of_training():
    # PointNet TF2: "Epoch: 5", then "Training loss at step 0: 1.64" over 40 classes
    report = lrdoctor.diagnose(real_log("fresh66/pointnet-issue233-tf2-stuck/train.log"), config={"num_classes": 40})
    assert "initial_loss_anomaly" in report.coverage.skipped
    assert "initial_loss_anomaly" not in {f.kind for f in report.findings}


def _bigram_lm_lines(lr: float, steps: int = 60, vocab: int = 64) -> list[str]:
    """A real embedding bigram model trained with Adam on a Markov token stream, printed as
    OpenNMT-py prints (``ppl`` = exp(min(loss, 100)))."""
    import math

    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, vocab, (4096,), generator=g)
    nxt = torch.where(torch.rand(4096, generator=g) < 0.8, (x * 7 + 3) % vocab, torch.randint(0, vocab, (4096,), generator=g))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Embedding(vocab, 128), torch.nn.Linear(128, vocab))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    out = []
    for s in range(1, steps + 1):
        i = torch.randint(0, 4096, (256,), generator=g)
        logits = model(x[i])
        loss = torch.nn.functional.cross_entropy(logits, nxt[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if s % 5 == 0:
            acc = 100.0 * float((logits.argmax(1) == nxt[i]).float().mean())
            out.append(f"Epoch  1,  {s:4d}/   60; acc: {acc:6.2f}; ppl: {math.exp(min(loss.item(), 100)):.2f}; 3324 src tok/s;")
    return out


def test_per_token_loss_worse_than_uniform_throughout_is_no_learning(tmp_path):
    # OpenNMT-py at Adam lr 1.0: ppl printed at its cap e^100 on every report
    stuck = lrdoctor.diagnose(real_log("fresh68/opennmt-issue253-adam-lr1/train.log"))
    assert {(f.kind, f.severity.rank) for f in stuck.findings} == {("slow_progress", 2), ("initial_loss_anomaly", 1)}
    # the same pathology really trained (lr 30), and its twin at lr 1e-2
    bad, good = tmp_path / "bad.log", tmp_path / "good.log"
    bad.write_text("\n".join(_bigram_lm_lines(30.0)) + "\n")
    good.write_text("\n".join(_bigram_lm_lines(1e-2)) + "\n")
    assert "slow_progress" in _kinds(lrdoctor.read(bad))
    assert _kinds(lrdoctor.read(good)) == set()


def test_fastai_v1_table_copied_single_spaced_reads_its_two_word_names(tmp_path):
    # fastai issue 941: "epoch train loss valid loss accuracy_thresh f2_opt", then "0 nan nan ..."
    run = lrdoctor.read(real_log("fresh67/fastai-issue941-nan-fp16/train.log"))
    assert run.meta.roles["loss"] == "train_loss" and run.meta.roles["eval_loss"] == "valid_loss"
    assert [f.kind for f in lrdoctor.diagnose(run).findings if f.severity.rank == 2] == ["nonfinite"]
    # a healthy table of the same shape: every row read, no finding
    p = tmp_path / "fit.txt"
    p.write_text("epoch train loss valid loss accuracy\n1 0.412 0.331 0.884\n2 0.305 0.281 0.902\n"
                 "3 0.262 0.270 0.907\n")
    ok = lrdoctor.read(p)
    assert ok.series("eval_loss").values.tolist() == pytest.approx([0.331, 0.281, 0.270])
    assert _kinds(ok) == set()


# -- studied fresh69-71 ---------------------------------------------------------------------------------

def test_lucidrains_gan_letters_are_the_two_players_losses():
    # stylegan2-pytorch's bar: "G: 1.51 | D: 0.21 | GP: 0.00 | PL: 0.00"
    run = lrdoctor.read(real_log("fresh70/stylegan2-lucidrains-issue26-early/train.log"))
    assert run.meta.roles["g_loss"] == "g_loss" and run.meta.roles["d_loss"] == "d_loss"
    assert run.is_gan and run.series("g_loss").values[:2].tolist() == pytest.approx([1.51, 2.06])
    assert lrdoctor.diagnose(run).findings == []


def test_gan_feature_matching_term_is_no_objective_of_the_run():
    # GauGAN: disc_loss, gen_loss and feat_loss (a generator term that rises as the game starts)
    run = lrdoctor.read(real_log("fresh70/keras-io-gaugan-15ep/train.log"))
    assert run.is_gan
    assert "slow_progress" not in _kinds(run)


def test_history_dump_with_other_metric_names_is_read_as_a_history(tmp_path):
    import json

    p = tmp_path / "history.json"
    p.write_text(json.dumps({"lr": 0.01, "train_loss": [1.2, 0.8, 0.6, 0.5], "test_acc": [0.61, 0.72, 0.76, 0.78]}))
    run = lrdoctor.read(p)
    assert run.meta.format == "keras-history" and run.series("loss").values.tolist() == [1.2, 0.8, 0.6, 0.5]


# -- studied fresh72-74 ---------------------------------------------------------------------------------

def test_llmc_main_log_lines_read_step_losses_lr_and_grad_norm(tmp_path):
    # karpathy/llm.c's main.log (modded-nanogpt's early records)
    run = lrdoctor.read(real_log("fresh72/modded-nanogpt-llmc-baseline-head/main_head.log"))
    assert run.meta.roles["loss"] == "train_loss" and run.meta.roles["grad_norm"] == "grad_norm"
    assert run.series("loss").steps[:2].tolist() == [0, 1]
    assert run.series("loss").values[:2].tolist() == pytest.approx([11.0091, 10.9598])
    assert run.series("eval_loss").values[0] == pytest.approx(11.0092)
    assert lrdoctor.diagnose(run).findings == []


def test_first_report_at_the_end_of_the_first_logging_period_is_the_initial_loss(tmp_path):
    # detectron2's metrics.json reports at iterations 19, 39, 59: 156.05 at iteration 19 over
    # 100 classes is far above ln 100
    report = lrdoctor.diagnose(real_log("fresh74/nyu-semi-d2-sup-metrics-scratch/metrics.json"), config={"num_classes": 100})
    assert "initial_loss_anomaly" in {f.kind for f in report.findings}
    # a paste from deep in a run (steps 30020, 30040, ...) is still no start
    p = tmp_path / "late.log"
    p.write_text("".join(f"step: {s}, loss: {v}\n" for s, v in ((30020, 9.1), (30040, 9.0), (30060, 8.9))))
    late = lrdoctor.diagnose(p, config={"num_classes": 10})
    assert "initial_loss_anomaly" in late.coverage.skipped


def _chain_reinforce(length: int, episodes: int = 60, seed: int = 0) -> list[tuple[int, float]]:
    """REINFORCE with a small policy net on a chain of ``length`` states: action 1 moves right,
    action 0 back to the start; the only reward, 1.0, is at the chain's end, within 2 x length
    steps. A short chain is found by chance and learned; a long one never pays anything."""
    torch.manual_seed(seed)
    policy = torch.nn.Sequential(torch.nn.Linear(length, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))
    opt = torch.optim.Adam(policy.parameters(), lr=1e-2)
    rows = []
    for ep in range(1, episodes + 1):
        state, logps, ret = 0, [], 0.0
        for _ in range(2 * length):
            x = torch.nn.functional.one_hot(torch.tensor(state), length).float()
            dist = torch.distributions.Categorical(logits=policy(x))
            a = dist.sample()
            logps.append(dist.log_prob(a))
            state = state + 1 if a.item() == 1 else 0
            if state == length - 1:
                ret = 1.0
                break
        loss = -ret * torch.stack(logps).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        rows.append((ep, ret))
    return rows


def test_return_exactly_zero_on_every_report_is_no_learning(tmp_path):
    # Dopamine's DQN on Montezuma's Revenge: 0.0 at all 199 iterations
    report = lrdoctor.diagnose(real_log("fresh73/dopamine-montezumarevenge-dqn-run1/montezumarevenge.json"))
    assert [f.kind for f in report.findings] == ["slow_progress"]
    bad, good = tmp_path / "long.csv", tmp_path / "short.csv"
    for path, length in ((bad, 40), (good, 3)):
        path.write_text("episode,episode_reward\n" + "".join(f"{e},{r}\n" for e, r in _chain_reinforce(length)))
    assert "slow_progress" in _kinds(lrdoctor.read(bad))
    assert "slow_progress" not in _kinds(lrdoctor.read(good))


# -- studied fresh75-77 ---------------------------------------------------------------------------------

def test_trax_metric_lines_and_one_element_tensors_are_read():
    trax = lrdoctor.read(real_log("fresh76/trax-intro-imdb-sentiment/train.log"))
    assert trax.meta.roles["loss"] == "train_WeightedCategoryCrossEntropy"
    assert trax.series("loss").steps[:2].tolist() == [1, 500]
    assert trax.series("loss").values[:2].tolist() == pytest.approx([0.69192106, 0.50712883])
    assert trax.series("eval_loss").values[0] == pytest.approx(0.69349981)
    # ESPnet2's GAN trainer prints one-element tensors: "tensor([427.9323], device='cuda:0')"
    vits = lrdoctor.read(real_log("fresh77/espnet-pr3423-vits-disc-loss-swings/train.log"))
    assert vits.series("d_loss").values[:3].tolist() == pytest.approx([427.9323, 143.3864, 24.3638])
