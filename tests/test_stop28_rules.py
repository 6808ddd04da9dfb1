"""Rules from the stop-28 study of the benchmark (issue 9), each on a real log or a really
trained run, with a twin:

- overfitting: a memorised training set (the training loss an order of magnitude below a held-out
  loss that stays above its minimum) is judged without the scatter guard.
- overfitting: where the training loss was not logged yet at the evaluation minimum (HF's "No
  log"), the GL rule compares from its first report after it, as the UP rules did.
- slow_progress: a Matthews correlation (or kappa) exactly 0 at three evaluations.
- readers: a NaN printed as ``nan.0``; XGBoost's cross-validation "mean+std" values and its
  ``cv-train-`` columns; ``nloglik`` metrics; LightGBM's R output ("[5]:") and its ``l2`` metrics.
"""

from __future__ import annotations

import pytest
import torch
from bench_logs import real_log

import lrdoctor

torch.set_num_threads(1)


def _warned(report) -> dict:
    return {f.kind: f for f in report.findings if f.severity.rank >= 1}


def _digits_run(n_train: int, seed: int, epochs: int = 30, eval_batch: int = 16) -> list[tuple[int, float, float]]:
    """A 64-256-10 MLP on ``n_train`` digits (Adam 1e-2, batch 16). Each epoch reports the loss on
    the whole training set and, as many training scripts do, the loss on one random batch of 16
    held-out digits: a noisy evaluation. On 40 digits the training set is memorised (loss ~0.002)
    while the held-out loss stays near 1; on 1200 both go to ~0."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = torch.tensor(X / 16, dtype=torch.float32), torch.tensor(y)
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(y), generator=g)
    tr, ev = idx[:n_train], idx[n_train:n_train + 400]
    torch.manual_seed(seed)
    m = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    ce = torch.nn.functional.cross_entropy
    rows = []
    for epoch in range(1, epochs + 1):
        for b in range(0, n_train, 16):
            j = tr[b:b + 16]
            loss = ce(m(X[j]), y[j])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            k = ev[torch.randperm(400, generator=g)[:eval_batch]]
            rows.append((epoch, float(ce(m(X[tr]), y[tr])), float(ce(m(X[k]), y[k]))))
    return rows


def _digits_log(tmp_path, n_train: int, seed: int) -> lrdoctor.Run:
    p = tmp_path / f"digits_{n_train}_{seed}.csv"
    p.write_text("epoch,train_loss,val_loss\n" + "".join(f"{e},{a:.5f},{b:.5f}\n" for e, a, b in _digits_run(n_train, seed)))
    return lrdoctor.read(p)


def test_a_memorised_training_set_with_a_noisy_evaluation_is_overfitting(tmp_path):
    # seed 2: the held-out batch loss ends 51% above its minimum, below the two-evaluation rule's
    # doubling and with no ordered rise: only the memorisation rule judges it
    f = _warned(lrdoctor.diagnose(_digits_log(tmp_path, 40, 2))).get("overfitting")
    assert f is not None and "memorised" in f.summary
    assert f.evidence["eval_last"] >= 10 * f.evidence["train_last"]


@pytest.mark.parametrize("seed", [4, 5])
def test_memorised_training_sets_are_overfitting_by_one_rule_or_another(tmp_path, seed):
    assert "overfitting" in _warned(lrdoctor.diagnose(_digits_log(tmp_path, 40, seed)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_enough_training_data_with_a_noisy_evaluation_is_no_overfitting(tmp_path, seed):
    assert "overfitting" not in _warned(lrdoctor.diagnose(_digits_log(tmp_path, 1200, seed)))


@pytest.mark.parametrize("rel", [
    # a PEFT notebook's MLP: train 0.0008, eval 0.2068 at epoch 6 then 0.22-0.36 to the end
    "fresh15/peft-mlp-full-finetune/train.log",
    # distilhubert on GTZAN: train 0.16 -> 0.007, validation 0.58 (first) -> 0.59 ... 0.69
    "fresh41/hf-distilhubert-gtzan-ychuang-card/training_results.txt",
])
def test_real_memorised_runs_are_overfitting(rel):
    f = _warned(lrdoctor.diagnose(real_log(rel))).get("overfitting")
    assert f is not None and "memorised" in f.summary, rel


def test_real_fine_tune_with_a_smaller_gap_is_not_memorised():
    # XLS-R 300M: validation 10% above its minimum over 52 later evaluations, but only ~3.7x the
    # training loss: no order-of-magnitude gap, and its scatter covers the rise
    report = lrdoctor.diagnose(real_log("fresh29/hfcard-xlsr300m-finetuned-5p33ch3xpr/training_results.md"))
    assert "overfitting" not in _warned(report)


def _kinds(rel: str) -> dict:
    """Each kind's most severe finding on the real log ``rel``."""
    report = lrdoctor.diagnose(real_log(rel))
    out: dict = {}
    for f in report.findings:
        if f.kind not in out or f.severity.rank > out[f.kind].severity.rank:
            out[f.kind] = f
    return out


def test_a_nan_printed_with_decimals_is_read():
    # EveryVoice (Lightning's bar): training/pitch_loss=0.950, then pitch_loss=nan.0 on every line
    f = _kinds("fresh109/everyvoice-232-cpu-nan/train.log").get("nonfinite")
    assert f is not None and f.severity.name == "ERROR"


def test_xgboost_cross_validation_mean_plus_std():
    # "[170] cv-test-logloss:0.044242+0.000575 cv-train-logloss:0.043290+0.000668", then nan+nan
    run = lrdoctor.read(real_log("fresh111/xgboost-90-cv-logloss-nan/train.log"))
    assert run.meta.roles["loss"] == "cv-train-logloss" and run.meta.roles["eval_loss"] == "cv-test-logloss"
    loss = run.series("loss")
    assert loss.values[1] == pytest.approx(0.04329)  # the mean, not the spread
    f = lrdoctor.diagnose(run)
    assert any(x.kind == "nonfinite" and x.severity.name == "ERROR" for x in f.findings)


def test_xgboost_spread_keeps_the_mean_on_healthy_cv():
    from lrdoctor.io.textlog import parse_lines

    recs, _ = parse_lines(["[2135]\ttrain-logloss:0.528952+0.000417\ttest-logloss:0.529975+0.003388"])
    assert recs[0]["train-logloss"] == pytest.approx(0.528952) and recs[0]["test-logloss"] == pytest.approx(0.529975)


def test_a_nloglik_metric_is_a_loss_even_when_every_value_is_nan():
    # XGBoost gamma regression: "[0]\ttrain-gamma-nloglik:nan" on every round (a tab-separated
    # file, first sniffed as a table)
    run = lrdoctor.read(real_log("fresh111/xgboost-6723-gamma-nloglik-nan/train.log"))
    assert run.meta.roles["loss"] == "train-gamma-nloglik"
    assert "nonfinite" in _kinds("fresh111/xgboost-6723-gamma-nloglik-nan/train.log")


def test_lightgbm_r_output_is_a_text_log_with_l2_losses():
    # "[5]:    train's l2:0.0950898    valid's l2:0.100327" was taken for a JSON array
    run = lrdoctor.read(real_log("fresh111/lightgbm-3145-r-l2-healthy/train.log"))
    assert run.meta.roles["loss"] == "train_l2" and run.meta.roles["eval_loss"] == "valid_l2"
    assert not [f for f in lrdoctor.diagnose(run).findings if f.severity.rank >= 1]


def test_a_bare_l2_is_no_loss(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("step,loss,weight_l2,grad_l2\n1,2.0,10.0,1.0\n2,1.5,10.5,0.9\n3,1.2,11.0,0.8\n")
    run = lrdoctor.read(p)
    assert run.meta.roles["loss"] == "loss" and "eval_loss" not in run.meta.roles


def test_a_matthews_correlation_exactly_zero_at_every_evaluation_is_a_constant_predictor():
    # FNet-large on CoLA: MCC 0.0 at all three epochs, loss 0.62 (the 70/30 label prior's entropy)
    f = _kinds("fresh113/hfcard-gchhablani-fnet-large-cola/training_results.md").get("slow_progress")
    assert f is not None and f.severity.name == "ERROR" and f.evidence["metric"] == "eval_matthews_correlation"


def test_a_matthews_correlation_that_rose_is_learning():
    # BERT-base on CoLA, same author and table: MCC 0.53 -> 0.5957
    assert "slow_progress" not in _kinds("fresh113/hfcard-gchhablani-bert-base-cola/training_results.md")


def test_a_zero_matthews_correlation_on_two_evaluations_is_too_few(tmp_path):
    p = tmp_path / "cola.csv"
    p.write_text("epoch,train_loss,eval_loss,eval_matthews_correlation\n1,0.62,0.65,0.0\n2,0.61,0.63,0.0\n")
    assert "slow_progress" not in {f.kind for f in lrdoctor.diagnose(lrdoctor.read(p)).findings}


def test_a_rise_from_an_evaluation_with_no_training_loss_yet_is_judged():
    # DeBERTa-v3-small on CoLA: "No log" at epoch 1, validation loss 0.4051 -> 0.8047 at every
    # later epoch while the (carried) training loss falls 0.3371 -> 0.1305
    f = _kinds("fresh113/hfcard-mrm8488-deberta-v3-small-cola/training_results.md").get("overfitting")
    assert f is not None and f.evidence["eval_min"] == pytest.approx(0.4051) and f.evidence["train_at_eval_min"] == pytest.approx(0.3371)


def test_a_single_late_rise_is_no_overfitting():
    # BERT-base on CoLA, same table shape: validation 0.5283 -> 0.5133 -> 0.6747, a single rise at
    # the last epoch while the Matthews correlation reaches its best
    assert "overfitting" not in _kinds("fresh113/hfcard-gchhablani-bert-base-cola/training_results.md")


def test_a_tqdm_postfix_whose_keys_keep_their_colon_is_read():
    # zoubohao's DDPM: "625/625 [03:20<00:00, 3.12it/s, epoch=4, loss: =6.78, img shape:
    # =torch.Size([80, 3, 32, 32]), LR=0.00012]": the bracket inside the postfix is no bar's end
    run = lrdoctor.read(real_log("fresh112/ddpm-zoubohao-40-flat-loss/train.log"))
    assert run.series("loss").values.tolist() == [6.78, 8.38, 6.01, 9.78, 6.75]
    assert run.steps.tolist() == [4, 5, 168, 169, 170]


def test_a_bar_before_a_record_is_still_dropped():
    from lrdoctor.io.textlog import parse_lines

    recs, _ = parse_lines([" 10%|###  | 31/312 [06:29<55:54, 11.94s/it] step 31: loss 0.52"])
    assert recs and recs[0].get("loss") == 0.52


def test_the_tail_of_a_monitor_csv_is_no_start_of_training(tmp_path):
    # rl-trained-agents' TQC PandaPush: the last 495 episodes of the file (t from 41,201 s, about
    # 2 s an episode), converged at 94% success: its first rows are no untrained start
    src = real_log("fresh115/sb3zoo-tqc-pandapush-tail/0.monitor.csv")
    assert "slow_progress" not in {f.kind for f in lrdoctor.diagnose(src).findings}
    # the same episodes with their clock moved to the Monitor's start read as a run that began
    # where it ended, and never rose above its start
    lines = src.read_text().splitlines()
    head = [ln for ln in lines if ln.startswith("#") or ln.startswith("r,")]
    rows = [ln.split(",") for ln in lines if ln not in head]
    t0 = float(rows[0][2]) - 2.0
    moved = [",".join([r[0], r[1], f"{float(r[2]) - t0:.6f}", *r[3:]]) for r in rows]
    p = tmp_path / "0.monitor.csv"
    p.write_text("\n".join(head + moved) + "\n")
    assert "slow_progress" in {f.kind for f in lrdoctor.diagnose(p).findings}


def test_tuples_of_bare_numbers_are_bare_columns():
    # a completion script printing (step, loss): "(50, 2176.6125)" on each line, no names
    run = lrdoctor.read(real_log("fresh120/bamos-completion-11-loss/train.log"))
    assert run.meta.format == "bare-columns" and run.n_steps == 51
    assert run.steps[:3].tolist() == [0, 50, 100]
    assert "slow_progress" in lrdoctor.diagnose(run, roles={"loss": "train"}).coverage.ran  # judged once named


def test_improved_wgan_tab_pairs(tmp_path):
    # igul222/improved_wgan_training's plot.flush: "iter 99<TAB>disc cost<TAB>-0.811114370823"
    run = lrdoctor.read(real_log("fresh120/igulwgan-5-gan-toy-disc-cost/train.log"))
    assert run.meta.roles.get("d_loss") == "disc_cost" and run.n_steps == 11
    assert run.series("d_loss").values[0] == pytest.approx(-0.811114370823)
    from lrdoctor.io.textlog import parse_lines

    recs, _ = parse_lines(["iter 199\ttrain gen cost\t1.5\ttime\t0.12\n", "iter 5\tnot a value\tabc\n"])
    assert recs[0] == {"iter": 199.0, "train_gen_cost": 1.5, "time": 0.12}
    assert "not_a_value" not in recs[1]  # a pair whose value is no number is no tab-pair record


def test_keras_gan_rows_carry_their_step_and_each_players_fields():
    # eriklindernoren's Keras-GAN: "410 [D loss: nan, acc: 50.00%, op_acc: 21.88%] [G loss: nan, mse: nan]"
    run = lrdoctor.read(real_log("fresh120/kerasgan-6-ccgan-nan/train.log"))
    assert run.steps[0] == 410 and run.meta.roles["d_loss"] == "d_loss" and run.meta.roles["g_loss"] == "g_loss"
    f = _kinds("fresh120/kerasgan-6-ccgan-nan/train.log")["nonfinite"]
    assert f.start_step == 410
    from lrdoctor.io.textlog import parse_lines

    recs, _ = parse_lines(["48: [D loss: 7.971192, acc: 0.500000]  [A loss: 0.000000, acc: 1.000000]\n"])
    assert recs == [{"step": 48.0, "d_loss": 7.971192, "d_acc": 0.5, "a_loss": 0.0, "a_acc": 1.0}]


def test_a_keras_dcgan_whose_every_report_is_identical_is_stuck():
    # "48: [D loss: 7.971192, acc: 0.500000]  [A loss: 0.000000, acc: 1.000000]" on every step
    # 48-62: read as one row before its step was read
    f = _kinds("fresh120/dlexp-2-dcgan-keras-dead/train.log").get("slow_progress")
    assert f is not None and f.start_step == 48


def test_deepxde_display_rows_are_read_as_summed_loss_terms():
    # DeepXDE: "1000      [1.16e+02, 7.83e+02, ...]    [7.88e+01, ...]    []" under "Step  Train loss  Test loss  Test metric"
    run = lrdoctor.read(real_log("fresh121/deepxde-85-lotka-volterra/train.log"))
    # its test rows print the boundary terms as 0 (never computed on the test points): their sum is
    # the residual alone, kept without the evaluation-loss role (stop 79)
    assert run.meta.roles["loss"] == "train_loss" and "eval_loss" not in run.meta.roles
    assert run.series("loss").values[0] == pytest.approx(3.75e-02 + 1.59e+00 + 1.00e+04 + 2.25e+02)
    assert run.series("test_residual").values[0] == pytest.approx(3.72e-02 + 1.59e+00)
    every = lrdoctor.read(real_log("fresh801/deepxde-pr1705-jax-transform/paste.log"))
    assert every.meta.roles["eval_loss"] == "test_loss"


def test_deepxde_nan_rows_and_its_best_model_summary():
    # "[nan]" from step 2000 on, then "Best model at step 0: / train loss: 5.47e+03": the summary
    # restates a row and is no new report, so the NaN runs to the end
    run = lrdoctor.read(real_log("fresh121/deepxde-pr491-nan/train.log"))
    assert run.steps.tolist() == [0, 1000, 2000, 3000]
    f = _kinds("fresh121/deepxde-pr491-nan/train.log")["nonfinite"]
    assert f.severity.name == "ERROR" and f.start_step == 2000


def test_a_loss_that_underflows_with_a_residue_is_solved_not_collapsed(tmp_path):
    # Optax's getting-started parity MLP at peak LR 1.0: 5.83, then 0.0, 1.23e-18, 0.0, ...
    src = real_log("fresh123/optax-gettingstarted-mlp-adamw-clip-cosine/train.log")
    assert "slow_progress" not in _kinds("fresh123/optax-gettingstarted-mlp-adamw-clip-cosine/train.log")
    # the twin: the same lines with every report after the first exactly 0 (a masked or zeroed
    # loss) is the collapse
    p = tmp_path / "train.log"
    p.write_text(src.read_text().replace("1.2290412909483864e-18", "0.0"))
    f = {x.kind: x for x in lrdoctor.diagnose(p).findings}.get("slow_progress")
    assert f is not None and f.severity.name == "ERROR"


def test_a_rising_eval_loss_confirmed_by_a_falling_eval_accuracy_is_overfitting(tmp_path):
    # Deep Learning with Python's IMDB conv1d: val_loss 0.4040 (epoch 6) -> 0.4059 -> 0.4147 ->
    # 0.4296 -> 0.4296, inside the scatter of its fast early fall; val_acc 0.8382 -> 0.8240 ->
    # 0.8098 -> 0.7878 -> 0.7600 while the training loss falls
    src = real_log("fresh122/dlwp1-6.4-imdb-conv1d/train.log")
    f = _kinds("fresh122/dlwp1-6.4-imdb-conv1d/train.log").get("overfitting")
    assert f is not None and f.evidence["metric"] == "val_acc" and f.start_step == 6
    # the twin: the same losses with an accuracy that keeps rising is no overfitting
    text = src.read_text()
    for old, new in (("val_acc: 0.8240", "val_acc: 0.8390"), ("val_acc: 0.8098", "val_acc: 0.8401"),
                     ("val_acc: 0.7878", "val_acc: 0.8412"), ("val_acc: 0.7600", "val_acc: 0.8420")):
        text = text.replace(old, new)
    p = tmp_path / "train.log"
    p.write_text(text)
    assert "overfitting" not in {x.kind for x in lrdoctor.diagnose(p).findings if x.severity.rank >= 1}


def test_boosting_error_metrics_named_after_their_split_are_losses(tmp_path):
    # XGBoost "[50] test-error:0.027193 train-error:0.010229"; brain.js "training error: 0.0338"
    run = lrdoctor.read(real_log("fresh111/xgboost-1692-test-error-frozen/train.log"))
    assert run.meta.roles["loss"] == "train-error" and run.meta.roles["eval_loss"] == "test-error"
    assert lrdoctor.read(real_log("fresh19/brainjs-issue544-lstm/issue544.log")).meta.roles["loss"] == "training_error"
    # a loss column keeps the role, and an error rate of another name stays one
    p = tmp_path / "m.csv"
    p.write_text("step,loss,train_error,valid_wer\n1,2.0,0.5,0.9\n2,1.5,0.4,0.8\n3,1.2,0.3,0.7\n")
    roles = lrdoctor.read(p).meta.roles
    assert roles["loss"] == "loss" and "eval_loss" not in roles
