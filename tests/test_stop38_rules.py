"""Rules from the stop-38 study of the benchmark (issue 9), each on a really trained run or a real
log read in place, with a twin:

- performance_reversal: a score on a ratio scale (an accuracy, a ROUGE) that collapses to 1/100
  of its best and stays there to the end, after a best of a tenth of its range reached without
  touching that floor, is a collapse even on two reports (``collapse_factor``); not when a loss
  went non-finite (nonfinite explains it), nor from a best at the floor;
- slow_progress: an error rate printed as a fraction, exactly 1.0 at one evaluation and never
  below it at any of the others, recognises nothing (a WER of 1.0, 1.0001, ... 1.021);
- readers: a two-column markdown table of numbers is read by its header, not as SB3's dump;
- slow_progress (frozen): a full-batch fit that creeps into its printed resolution on a short log
  has converged; a frozen evaluation loss beside an accuracy that moves is not frozen;
- grad_explosion: the level a norm rises from is one it held for a window, not a dip into a
  cluster of near-zero batches.
"""

from __future__ import annotations

import torch
from trained_digits import warned, write_lines

import lrdoctor

torch.set_num_threads(1)


def _forgetting_run(lr: float, epochs: int = 5) -> list[tuple[float | None, float]]:
    """(fine-tuning loss, old task's held-out accuracy) per epoch, epoch 0 before fine-tuning.

    A 16-64-20 MLP learns 20 Gaussian blobs (scikit-learn) to 100% held-out accuracy; it is then
    fine-tuned at ``lr`` on a new task over the same inputs whose class ids are the old ones
    shifted by one, while its accuracy on the old task is evaluated each epoch: catastrophic
    forgetting, as a CLIP zero-shot accuracy measured while fine-tuning on another dataset."""
    from sklearn.datasets import make_blobs

    xs, ys = make_blobs(n_samples=[60] * 20, n_features=16, cluster_std=1.0, random_state=0)
    x, y = torch.tensor(xs, dtype=torch.float32), torch.tensor(ys)
    held = torch.cat([torch.nonzero(y == c).flatten()[:20] for c in range(20)])
    train = torch.ones(len(y), dtype=torch.bool)
    train[held] = False
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 20))

    def fit(labels: torch.Tensor, opt: torch.optim.Optimizer) -> float:
        xt, yt, total = x[train], labels[train], []
        for i in range(0, len(yt), 50):
            loss = torch.nn.functional.cross_entropy(model(xt[i:i + 50]), yt[i:i + 50])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total.append(loss.item())
        return sum(total) / len(total)

    def old_accuracy() -> float:
        with torch.no_grad():
            return (model(x[held]).argmax(1) == y[held]).float().mean().item()

    pretrain = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(5):
        fit(y, pretrain)
    out: list[tuple[float | None, float]] = [(None, old_accuracy())]
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        out.append((fit((y + 1) % 20, opt), old_accuracy()))
    return out


def _csv(tmp_path, rows: list[tuple[float | None, float]], nan_at: int | None = None) -> str:
    lines = ["epoch,loss,val_accuracy"]
    for i, (loss, acc) in enumerate(rows):
        cell = "" if loss is None else ("nan" if i == nan_at else f"{loss:.4f}")
        lines.append(f"{i},{cell},{acc:.4f}")
    return write_lines(tmp_path / "finetune.csv", lines)


def test_an_accuracy_that_collapses_to_nothing_is_a_reversal(tmp_path):
    rows = _forgetting_run(lr=1e-2)
    accs = [a for _, a in rows]
    assert accs[0] == 1.0 and max(accs[1:]) <= 0.01  # 100% before, under 1% from the first epoch on
    report = lrdoctor.diagnose(_csv(tmp_path, rows))
    f = warned(report).get("performance_reversal")
    assert f is not None and "collapsed" in f.summary and f.evidence["peak"] == 1.0, report.findings


def test_a_fine_tune_that_keeps_the_old_task_is_not_a_reversal(tmp_path):
    rows = _forgetting_run(lr=1e-5)
    assert min(a for _, a in rows) >= 0.9
    report = lrdoctor.diagnose(_csv(tmp_path, rows))
    assert "performance_reversal" not in warned(report), report.findings
    assert "performance_reversal" in report.coverage.ran  # judged on 6 reports, and found healthy


def test_a_collapse_beside_a_non_finite_loss_is_left_to_nonfinite(tmp_path):
    rows = _forgetting_run(lr=1e-2)
    report = lrdoctor.diagnose(_csv(tmp_path, rows, nan_at=3))
    assert "performance_reversal" not in warned(report), report.findings
    assert "nonfinite" in warned(report)


def test_two_reports_of_a_rouge_that_fell_to_zero_are_a_collapse():
    # LED-large on ~100 examples: ROUGE-1 13.28 -> 0.0 as every generation hit the 512-token cap
    from bench_logs import real_log

    report = lrdoctor.diagnose(real_log("fresh257/hf-led-large-cammy-rouge-collapse/training_results.md"))
    f = warned(report).get("performance_reversal")
    assert f is not None and f.evidence["peak"] == 13.2756 and f.evidence["end"] == 0.0, report.findings


def test_a_score_at_its_floor_that_falls_to_zero_is_no_collapse():
    # EQTransformer's demo: detector F1 0.0443 over the first epoch, then 0.0: an untrained
    # model's score at the floor, not something learned and lost
    from bench_logs import real_log

    report = lrdoctor.diagnose(real_log("fresh208/eqtransformer-training-notebook-demo/train_output.txt"))
    assert "performance_reversal" not in warned(report), report.findings


def _wer_rows(path) -> list[str]:
    return [line.rstrip("\n") for line in open(path) if line.startswith("|")]


def test_a_wer_never_below_one_with_one_exact_one_recognises_nothing():
    # XLS-R 300M on Common Voice hi: WER 1.0, 1.0001, 1.0074 ... 1.021 at all 19 evaluations
    # while the validation loss fell 5.15 -> 0.75
    from bench_logs import real_log

    report = lrdoctor.diagnose(real_log("fresh273/gagan3012-xlsr300m-hi/training_results.md"))
    f = warned(report, 2).get("slow_progress")
    assert f is not None and f.evidence["metric"] == "eval_wer" and f.evidence["points"] == 19, report.findings


def test_the_same_wers_without_the_exact_one_are_not_judged(tmp_path):
    # without its first rows no print is exactly 1.0, and 1.0065-1.021 may be a percentage's 1%:
    # from step 2000 on the validation loss only creeps 1.03 -> 0.75, no halving to prove a
    # fraction (stop 42; the rows from step 1000 on, where it fell 3.34 -> 0.75, now do)
    from bench_logs import real_log

    rows = _wer_rows(real_log("fresh273/gagan3012-xlsr300m-hi/training_results.md"))
    assert rows[2].split("|")[5].strip() == "1.0"
    late = [r for r in rows[2:] if int(r.split("|")[3]) >= 2000]
    twin = write_lines(tmp_path / "training_results.md", rows[:2] + late)
    assert "slow_progress" not in warned(lrdoctor.diagnose(twin), 2)
    proven = write_lines(tmp_path / "from_1000.md", rows[:2] + rows[3:])
    assert warned(lrdoctor.diagnose(proven), 2)["slow_progress"].evidence["metric"] == "eval_wer"


def test_a_two_column_keras_card_table_is_read_as_its_columns():
    # a Keras-callback card's results table "| Train Loss | Epoch |" with rows "| 1.2720 | 0 |"
    # was taken for SB3's "| key | value |" dump (keys "1.2720", ...): refused as unreadable
    from bench_logs import real_log

    run = lrdoctor.read(real_log("fresh280/nickmuchi-bert-finetuned-squad/training_results.md"))
    assert run.meta.roles["loss"] == "train_loss" and run.series("loss").values.tolist() == [1.272, 0.7798, 0.5685]
    assert run.series("epoch").values.tolist() == [0, 1, 2]


def test_an_sb3_table_is_still_read_as_key_value_rows(tmp_path):
    table = ["-----------------------------", "| rollout/           |      |",
             "|    ep_len_mean     | 21.3 |", "|    ep_rew_mean     | 21.3 |", "| time/              |      |",
             "|    total_timesteps | 2048 |", "-----------------------------"]
    run = lrdoctor.read(write_lines(tmp_path / "sb3.log", table + [t.replace("21.3", "35.5").replace("2048", "4096") for t in table]))
    assert run.series("ep_return").values.tolist() == [21.3, 35.5]


def _coin_map(stop_lr_at: int | None = None, iters: int = 251) -> list[str]:
    """Pyro-style prints of a full-batch MAP fit (Adam, lr 0.05) of a coin's bias from 6 heads and
    4 tails under a Beta(10, 10) prior: a deterministic loss that converges into its printed
    resolution. ``stop_lr_at``: the LR is set to 0 at that iteration (a schedule that ends early),
    so the loss stops mid-descent."""
    z = torch.zeros((), requires_grad=True)  # the logit of the bias
    opt = torch.optim.Adam([z], lr=0.05)
    out = []
    for it in range(iters):
        if it == stop_lr_at:
            for g in opt.param_groups:
                g["lr"] = 0.0
        p = torch.sigmoid(z)
        loss = -(6 * torch.log(p) + 4 * torch.log1p(-p)) - (9 * torch.log(p) + 9 * torch.log1p(-p))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if it % 50 == 0:
            out.append(f"[iter {it}]  loss: {loss.item():.4f}")
    return out


def test_a_full_batch_fit_that_creeps_into_its_printed_resolution_has_converged(tmp_path):
    lines = _coin_map()
    values = [float(line.split()[-1]) for line in lines]
    assert values[2:] == [values[-1]] * (len(values) - 2) and values[1] - values[2] <= 3e-4  # one print step in
    report = lrdoctor.diagnose(write_lines(tmp_path / "map.txt", lines))
    assert "slow_progress" not in warned(report), report.findings


def test_the_same_fit_whose_lr_drops_to_zero_mid_descent_is_frozen(tmp_path):
    lines = _coin_map(stop_lr_at=20)
    report = lrdoctor.diagnose(write_lines(tmp_path / "map.txt", lines))
    f = warned(report, 2).get("slow_progress")
    assert f is not None and "frozen" in f.summary, report.findings


def _skorch_rows(path) -> list[str]:
    return [line.rstrip("\n") for line in open(path)]


def test_a_frozen_evaluation_loss_beside_a_moving_accuracy_is_not_frozen(tmp_path):
    # skorch's IMDB RNN: valid_loss 0.5429 at epochs 3-5 while valid_acc went 0.7220, 0.7380, 0.7404
    from bench_logs import real_log

    path = real_log("fresh290/skorch-rnn-imdb-5ep/training_output.txt")
    assert "slow_progress" not in warned(lrdoctor.diagnose(path), 2)
    # the twin: the same table with the accuracy column also unchanged over those epochs: the frozen
    # evaluation is read (since stop 71 as a plateau warning: the validation loss had fallen first)
    rows = _skorch_rows(path)
    twin = [r.replace("0.7380", "0.7220").replace("0.7404", "0.7220") for r in rows]
    f = warned(lrdoctor.diagnose(write_lines(tmp_path / "skorch.txt", twin)), 1).get("plateau")
    assert f is not None and f.evidence["rule"] == "frozen evaluation after learning" and f.evidence["value"] == 0.5429, f


def test_a_dip_of_a_heavy_tailed_gradient_norm_is_no_level_to_rise_from(tmp_path):
    # TFP's Bayesian MLP on MNIST: sum_norm_grad spans 0.004-11.7 late in the run, a cluster of
    # near-zero batches dips the rolling median to 0.2 between levels of 3-5
    from bench_logs import real_log

    path = real_log("fresh291/tfp-mnist-variational-bnn/training_output.txt")
    assert "grad_explosion" not in warned(lrdoctor.diagnose(path)), path
    # the twin: the last 12 reports' norms 100x larger, a real climb out of the run's level
    rows = _skorch_rows(path)

    def scaled(row: str) -> str:
        head, _, norm = row.rpartition("sum_norm_grad:")
        return f"{head}sum_norm_grad:{float(norm) * 100:.4f}"

    twin = rows[:-12] + [scaled(r) for r in rows[-12:]]
    assert "grad_explosion" in warned(lrdoctor.diagnose(write_lines(tmp_path / "bnn.txt", twin)))


def test_a_split_named_after_the_step_makes_its_fields_the_evaluations(tmp_path):
    # DeepChem's ValidationCallback: "Step 1000 validation: roc_auc_score=0.74314"; ROC-AUC
    # 0.743 -> best 0.768 at step 4000, then lower at each of the 4 later evaluations
    from bench_logs import real_log

    path = real_log("fresh292/deepchem-hyperopt-trial09/training_output.txt")
    report = lrdoctor.diagnose(path)
    assert report.run.meta.roles.get("eval_accuracy") == "validation_roc_auc_score", report.run.meta.roles
    assert "performance_reversal" in warned(report), report.findings
    # a training line of the same shape keeps its keys: "Step 1000 train: loss=..." is the training loss
    lines = ["Step 1000 train: loss=0.74314", "Step 1000 validation: loss=0.757408",
             "Step 2000 train: loss=0.7", "Step 2000 validation: loss=0.8"]
    run = lrdoctor.read(write_lines(tmp_path / "log.txt", lines))
    assert run.series("loss").values.tolist() == [0.74314, 0.7]
    assert run.series("eval_loss").values.tolist() == [0.757408, 0.8]
