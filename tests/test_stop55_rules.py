"""Reader fixes from the stop-55 blind slices (issue 9), each on the real log that met it, read in
place, and on a twin written by a really trained model in the same print format:

- DGCNN's "Train 26, loss: ..." / "Test 26, loss: ..." lines: the number is the epoch and the Test
  line's loss the evaluation's (the two losses alternated in one training column, and a bare
  "train" read from "Train 26" overwrote the logged training accuracy with the epoch numbers);
- "Acc@1:47.33%" keys and a "Test Epoch: [5/1000]" epoch (a kNN monitor of self-supervised runs);
- a line led by "Best" restates the best report (ReChorus' "Best Iter(dev)= 21 dev=(HR@5:...)"), and
  ReChorus' "Test After Training: (...)" is the test split's: neither overwrites the last epoch;
- a value printed as a change, "loss: 8.3066 -> nan" (FL-bench): the new value is the line's;
- a key of its own that starts with a unit word, "min_episode_rewards" (a pandas Series print),
  kept whole instead of losing "min" as minutes.
"""

from __future__ import annotations

import numpy as np
import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, held_out_loss, warned, write_lines

import lrdoctor

DGCNN_AT_CHANCE = "fresh724/dgcnn-issue81-modelnet40-chance/paste.log"


def _accuracy(model, x, y) -> float:
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def _digits_run(epochs: int, lr: float):
    """(epoch, mean training loss, training accuracy, held-out loss, held-out accuracy) of a
    digits MLP fitted with SGD at ``lr``."""
    torch.set_num_threads(1)
    x, y, model = digits_mlp(0)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for epoch in range(1, epochs + 1):
        train, _ = fit_epoch(model, opt, x, y)
        yield (epoch, train, _accuracy(model, x[:1400], y[:1400]), held_out_loss(model, x, y),
               _accuracy(model, x[1400:], y[1400:]))


def test_dgcnn_lines_read_epochs_and_the_test_split():
    run = lrdoctor.read(real_log(DGCNN_AT_CHANCE))
    assert run.meta.step_column == "epoch"
    assert list(run.series("loss").steps) == [26, 27, 28, 29]
    assert list(run.series("eval_loss").values) == [3.640235, 3.637559, 3.636188]
    # the logged training accuracy, not the epoch numbers a bare "train" word carried
    assert list(run.series("train_acc").values) == [0.075407, 0.072358, 0.073272, 0.071545]


def test_dgcnn_run_at_ln_40_is_stuck_at_chance():
    # ModelNet40: the training loss 3.677-3.691 at ln 40 = 3.689 from epoch 26 on, the class-balanced
    # accuracy 0.031 ~ 1/40; read as one column alternating train and test losses it was silent
    report = lrdoctor.diagnose(lrdoctor.read(real_log(DGCNN_AT_CHANCE), config={"num_classes": 40}))
    f = warned(report, 2).get("slow_progress")
    assert f is not None and f.evidence["num_classes"] == 40


def test_dgcnn_format_of_a_model_that_learns(tmp_path):
    # the twin: a digits MLP printing DGCNN's two lines per epoch; it learns, so the same reading
    # finds it healthy, and its test loss is the evaluation loss
    lines = []
    for epoch, train, acc, test, test_acc in _digits_run(8, 0.1):
        lines.append(f"Train {epoch}, loss: {train:.6f}, train acc: {acc:.6f}, train avg acc: {acc:.6f}")
        lines.append(f"Test {epoch}, loss: {test:.6f}, test acc: {test_acc:.6f}, test avg acc: {test_acc:.6f}")
    run = lrdoctor.read(write_lines(tmp_path / "log.txt", lines), config={"num_classes": 10})
    assert list(run.series("loss").steps) == list(range(1, 9))
    assert run.series("eval_loss").values[-1] < run.series("eval_loss").values[0]
    assert run.series("train_acc").values.max() <= 1.0
    assert not warned(lrdoctor.diagnose(run))


def test_acc_at_k_keys_and_a_bracketed_test_epoch():
    # Barlow-Twins-HSIC's kNN monitor: "Test Epoch: [5/1000] Acc@1:47.33% Acc@5:92.49%" was refused
    # ("no line looks like a training log")
    run = lrdoctor.read(real_log("fresh723/barlow-twins-hsic-cifar10-knn/paste.log"))
    assert run.meta.step_column == "epoch"
    assert run.meta.roles["eval_accuracy"] == "test_acc@1"  # the line is the test split's
    acc = run.series("test_acc@1")
    assert acc.steps[0] == 5 and acc.steps[-1] == 50 and acc.values[0] == 47.33 and acc.values[-1] == 72.38
    assert not warned(lrdoctor.diagnose(run))


def test_a_value_printed_as_a_change_takes_the_new_value():
    # FL-bench's FedDyn: "loss: 8.3066 -> nan accuracy: 48.70% -> 30.98%" on all 17 lines; the loss
    # read was the value before ("8.3066"), the NaN after it was lost and "nan accuracy" became a key
    run = lrdoctor.read(real_log("fresh722/flbench-issue133-feddyn-nan/paste.log"))
    assert np.isnan(run.series("loss").values).all()
    assert run.series("loss_before").values[0] == 8.3066
    assert run.series("accuracy").values[0] == 30.98 and run.series("accuracy_before").values[0] == 48.70
    assert "nan_accuracy" not in run.names
    f = warned(lrdoctor.diagnose(run), 2).get("nonfinite")
    assert f is not None and f.start_step == 52


def test_a_change_to_a_finite_value_is_no_blow_up(tmp_path):
    # the twin: a digits MLP printing its loss before and after each epoch in the same shape
    lines, before = [], None
    for epoch, train, acc, _, _ in _digits_run(8, 0.1):
        if before is not None:
            lines.append(f"Epoch: {epoch} loss: {before:.4f} -> {train:.4f} accuracy: {100 * acc:.2f}% -> {100 * acc:.2f}%")
        before = train
    run = lrdoctor.read(write_lines(tmp_path / "log.txt", lines))
    assert np.isfinite(run.series("loss").values).all()
    assert run.series("loss").values[-1] < run.series("loss_before").values[0]
    assert not warned(lrdoctor.diagnose(run), 2)


def test_a_key_starting_with_min_keeps_its_word():
    # ConceptPPO's W&B console: a pandas Series per update ("min_episode_rewards   0.000000"); the
    # minimum lost its "min_" and took the return's role (0 -> 4, "swinging"), not the mean 1.4 -> 24.8
    run = lrdoctor.read(real_log("fresh721/conceptppo-mxaehod4/output.log"))
    assert run.meta.roles["ep_return"] == "mean_episode_rewards"
    assert "min_episode_rewards" in run.names and "episode_rewards" not in run.names
    assert not warned(lrdoctor.diagnose(run))


def test_a_unit_word_before_a_key_still_belongs_to_the_value(tmp_path):
    # the rule the fix keeps: "0.831s loss=1.19" is the loss, not an "s_loss"
    run = lrdoctor.read(write_lines(tmp_path / "log.txt", [f"step {i} 0.831s loss={2.0 / i:.3f}" for i in range(1, 8)]))
    assert "loss" in run.names and "s_loss" not in run.names


RECHORUS = "fresh47/rechorus-neumf-coclick-emb128/NeuMF__coclick_1d__0__lr=0.0005__l2=1e-07__emb_size=128__layers=[64].txt"


def test_closing_best_and_test_lines_do_not_overwrite_the_last_epoch():
    # ReChorus (NeuMF): "Epoch 34 ... dev=(HR@5:0.9115,NDCG@5:0.7671)", then "Best Iter(dev)=   21
    # dev=(HR@5:0.9142,NDCG@5:0.7762)" and "Test After Training: (HR@5:0.9161,NDCG@5:0.7829,...)"
    run = lrdoctor.read(real_log(RECHORUS))
    ndcg = run.series("ndcg@5")
    assert ndcg.steps.size == 34 and ndcg.values[0] == 0.7099 and ndcg.values[-1] == 0.7671
    assert run.series("best_ndcg@5").values[-1] == 0.7762
    assert run.series("test_ndcg@5").values[-1] == 0.7829


def test_a_best_led_line_in_a_trained_runs_log(tmp_path):
    # the twin: a digits MLP (SGD at lr 1.0) printing its held-out accuracy per epoch as ReChorus
    # prints its dev scores, closed by the "Best Iter(dev)=" line restating the best epoch's score
    # (epoch 4's 0.8917); the last epoch keeps its own 0.8866
    lines, accs, best_acc, best_epoch = [], [], -1.0, 0
    for epoch, train, _, _, dev in _digits_run(6, 1.0):
        lines.append(f"Epoch {epoch}     loss={train:.4f} [1.0 s]    dev=(acc:{dev:.4f}) [0.1 s]")
        accs.append(round(dev, 4))
        if dev > best_acc:
            best_acc, best_epoch = dev, epoch
    lines.append(f"Best Iter(dev)=   {best_epoch}\t dev=(acc:{best_acc:.4f}) [6.0 s]")
    assert best_epoch < 6  # (the seeded run peaks before its end, so an overwrite would show)
    run = lrdoctor.read(write_lines(tmp_path / "log.txt", lines))
    assert list(run.series("acc").values) == accs
    assert list(run.series("loss").steps) == list(range(1, 7))
