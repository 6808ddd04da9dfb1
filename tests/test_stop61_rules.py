"""Rules from the stop-61 study (issue 9), each on a really trained curve or the real log that met
it, read in place, with twins that the rule must leave alone:

- ``initial_loss_anomaly`` asks a first loss to be ``min_excess_nats`` (1 nat) above ln K as well
  as 1.5x it: on two classes, 1.5x ln 2 is a third of a nat, the start of a head whose logits
  spread 1.5 instead of 1 (a small CNN's epoch-1 mean, a pretrained encoder's new head);
- TensorFlow's eager repr ``tf.Tensor(0.0937, shape=(), dtype=float32)`` in a text log's cell is
  its value, as torch's ``tensor(0.0937)`` was (a Keras-callback card whose metric was a tensor),
  and so is a CSV cell that holds one: both readers test for the openers of ``io/tensor_repr.py``.
"""

from __future__ import annotations

import torch

from bench_logs import real_log
from trained_digits import warned, write_lines

import lrdoctor

# Coursera "happyModel" CNN on the 600-image Happy House set (binary; labelled edge, oscillation): the
# epoch-1 mean loss 1.2817 is 1.85x ln 2, 0.59 nats above it, and the run then trains to 0.07
HAPPY = "fresh302/tfex-cnn-happymodel/train_output.txt"
# StellarGraph GCN link prediction on Cora (binary; labelled unhealthy, initial_loss_anomaly): the first
# loss is 2.58x ln 2, 1.1 nats above it
LINKPRED = "fresh300/stellargraph-gcn-linkpred-cora-keras/training_output.txt"
# t5-small article generator, Keras-callback card stored space-separated, its RougeL a tensor repr
TF_TENSOR = "fresh860/seungjun-articlegenerator-v1-1/training_results.md"


def _binary_digits_log(path, scale: float, lr: float) -> str:
    """A 64-32-2 MLP trained on the digits as two classes (0-4 against 5-9) with SGD at ``lr``, its
    head's initial weights multiplied by ``scale`` (wider logits: a larger loss at initialisation);
    one ``step N loss X`` line per minibatch of 50."""
    from sklearn.datasets import load_digits

    torch.set_num_threads(1)
    d = load_digits()
    x = torch.tensor(d.data / 16.0, dtype=torch.float32)
    y = torch.tensor((d.target >= 5).astype(int))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    with torch.no_grad():
        model[2].weight.mul_(scale)
        model[2].bias.mul_(scale)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    lines = []
    for step, i in enumerate(range(0, 1500, 50), 1):
        loss = torch.nn.functional.cross_entropy(model(x[i:i + 50]), y[i:i + 50])
        opt.zero_grad()
        loss.backward()
        opt.step()
        lines.append(f"step {step} loss {loss.item():.4f}")
    return write_lines(path, lines)


def test_a_binary_start_a_third_of_a_nat_above_ln_2_is_no_initial_loss_anomaly(tmp_path):
    run = lrdoctor.read(_binary_digits_log(tmp_path / "wide.log", 10.0, 0.005), config={"num_classes": 2})
    first = float(sorted(run.series("loss").values[:3])[1])  # the rule's start: the median of the first 3
    assert 1.5 * 0.6931 < first < 0.6931 + 1.0, first  # above the old ratio bar, under the nat floor
    assert "initial_loss_anomaly" not in warned(lrdoctor.diagnose(run))


def test_a_binary_start_nats_above_ln_2_is_still_an_initial_loss_anomaly(tmp_path):
    # the twin: the head's weights 30x, so the first losses are 3.5 nats, 2.8 above ln 2
    run = lrdoctor.read(_binary_digits_log(tmp_path / "hot.log", 30.0, 0.0005), config={"num_classes": 2})
    f = warned(lrdoctor.diagnose(run)).get("initial_loss_anomaly")
    assert f is not None
    assert f.evidence["first_loss"] - f.evidence["expected_ln_k"] > 2.0


def test_real_binary_starts_are_judged_by_their_excess_over_ln_2():
    happy = lrdoctor.diagnose(lrdoctor.read(real_log(HAPPY), config={"num_classes": 2}))
    assert "initial_loss_anomaly" not in warned(happy)
    linkpred = lrdoctor.diagnose(lrdoctor.read(real_log(LINKPRED), config={"num_classes": 2}))
    f = warned(linkpred).get("initial_loss_anomaly")
    assert f is not None and f.evidence["first_loss"] - f.evidence["expected_ln_k"] >= 1.0


def test_a_tensorflow_tensor_repr_in_a_table_cell_is_its_value():
    run = lrdoctor.read(real_log(TF_TENSOR))
    assert list(run.series("loss").values) == [4.9876, 4.3219, 4.1754, 4.0892]
    assert list(run.series("eval_loss").values) == [4.0661, 3.8884, 3.7968, 3.7369]
    rouge = [c for c in run.names if "rouge" in c]
    assert rouge and abs(run.series(rouge[0]).values[0] - 0.09371002) < 1e-9


def test_torch_tensor_reprs_are_still_read_beside_tensorflow_ones(tmp_path):
    log = write_lines(tmp_path / "t.log", [f"step {i} loss tensor({2.3 - 0.1 * i:.4f}, grad_fn=<NllLossBackward0>) "
                                           f"acc tf.Tensor({0.1 + 0.05 * i:.4f}, shape=(), dtype=float32)"
                                           for i in range(1, 6)])
    run = lrdoctor.read(log)
    assert [round(v, 4) for v in run.series("loss").values] == [2.2, 2.1, 2.0, 1.9, 1.8]
    assert [round(v, 4) for v in run.series("acc").values] == [0.15, 0.2, 0.25, 0.3, 0.35]


def test_a_tensorflow_tensor_repr_in_a_csv_cell_is_its_value(tmp_path):
    # the CSV reader makes the same test as the text-log reader (io/tensor_repr.py's openers)
    csv = tmp_path / "history.csv"
    csv.write_text("epoch,loss,val_loss\n" + "".join(
        f'{i},"tf.Tensor({1.0 - 0.1 * i:.2f}, shape=(), dtype=float32)",{1.1 - 0.1 * i:.2f}\n' for i in range(5)))
    run = lrdoctor.read(csv)
    assert [round(v, 2) for v in run.series("loss").values] == [1.0, 0.9, 0.8, 0.7, 0.6]
