"""Rules from the stop-59 study (issue 9), each on the real log that met it, read in place, or on a
model trained here, with twins that the rule must leave alone:

- grad_explosion: a sustained rise of the gradient norm is not an explosion while the training loss
  keeps falling through it by 10% or more (the gradient growth of early training);
- initial_loss_anomaly: a training loss that is the sum of logged terms is judged on its
  cross-entropy term, the one whose scale at initialisation is ln K;
- overfitting's trend rule on a log with no training loss to compare (HF's "No log", or one value
  carried along every row): a held-out loss that climbs from its best with a Mann-Kendall trend;
- nonfinite: an evaluation loss non-finite at two or more evaluations, half of all or more, is a
  warning, not the info of a one-off transient.
"""

from __future__ import annotations

import json

import torch
from bench_logs import real_log
from trained_digits import digits_mlp, warned

import lrdoctor

# mmaction2 CSN with a BMN head on a 4-class video set (labelled healthy): grad_norm 7.0 at
# iteration 20, 38-107 from iteration 60 on at a constant LR of 1e-5, while the loss (loss_bmn +
# loss_cls) fell 3.61 -> 2.49 and top-1 accuracy rose 0.23 -> 0.67
CSN_BMN = "fresh814/loveu-csn-bmn-4cls-2s/20210511_032855.log.json"
# fairseq with clip-norm 100 (labelled unhealthy, grad_explosion): the norm climbs to the clip and
# stays there while the loss barely moves
FAIRSEQ_CLIP100 = "tuning/text-fairseq-issue311-clip100/issue311_log.txt"
# distilgpt2 on a small poem corpus (labelled unhealthy, overfitting): validation loss 4.6495 at its
# first epoch, then higher at each of the 14 later ones (4.8145, +3.5%); the training loss "No log"
# for 8 epochs, then one value, 4.2244, repeated on every row
KATPOEMS = "fresh624/andrewr-distilgpt2-katpoems-15-epoch/training_results.md"
# distilbert-base-cased (labelled unhealthy, nonfinite): validation loss nan at epochs 1 and 2, then 2.4795
NAN_EVALS = "fresh423/distilbert-cased-nan-val-brownnie/training_results.md"


def _csn_bmn():
    return lrdoctor.read(real_log(CSN_BMN), config={"num_classes": 4})


def test_a_gradient_norm_that_grows_while_the_loss_keeps_falling_is_not_an_explosion():
    run = _csn_bmn()
    g, loss = run.series("grad_norm").values, run.series("loss").values
    assert g[-10:].min() >= 5 * g[0] and g.max() >= 10 * g[0]  # the norm grew by an order of magnitude
    assert loss[-1] < 0.75 * loss[0] and loss.max() == loss[0]  # while the loss kept falling, never above its start
    assert "grad_explosion" not in warned(lrdoctor.diagnose(run))


def test_a_gradient_norm_that_stays_up_while_the_loss_does_not_fall_is_still_an_explosion():
    f = warned(lrdoctor.diagnose(real_log(FAIRSEQ_CLIP100))).get("grad_explosion")
    assert f is not None and f.evidence["ratio"] >= 10


def _multitask_log(path, cls_scale: float) -> str:
    """A real multi-task fit written as mmcv JSON lines: a digits MLP with a classification head
    (cross-entropy over 10 classes) and a reconstruction head (squared error summed over the 64
    pixels), trained on their sum; ``cls_scale`` multiplies the classification head's initial
    weights (large confident logits at init when far above 1)."""
    torch.set_num_threads(1)
    x, y, _ = digits_mlp(0)
    torch.manual_seed(0)
    trunk = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU())
    cls, rec = torch.nn.Linear(32, 10), torch.nn.Linear(32, 64)
    with torch.no_grad():
        cls.weight.mul_(cls_scale)
    params = [*trunk.parameters(), *cls.parameters(), *rec.parameters()]
    opt = torch.optim.Adam(params, lr=3e-3)
    lines = []
    for it, i in enumerate(range(0, 1400, 50), start=1):
        h = trunk(x[i:i + 50])
        loss_cls = torch.nn.functional.cross_entropy(cls(h), y[i:i + 50])
        loss_rec = torch.nn.functional.mse_loss(rec(h), x[i:i + 50], reduction="sum") / 50
        loss = loss_cls + loss_rec
        opt.zero_grad()
        loss.backward()
        opt.step()
        c, r = round(loss_cls.item(), 5), round(loss_rec.item(), 5)
        lines.append(json.dumps({"mode": "train", "iter": it, "lr": 3e-3, "loss_cls": c, "loss_rec": r,
                                 "loss": round(loss.item(), 5)}))
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_a_summed_loss_is_judged_on_its_cross_entropy_term(tmp_path):
    # the real log: loss 3.61 = loss_bmn 2.22 + loss_cls 1.40, and loss_cls is ln 4 = 1.386
    assert "initial_loss_anomaly" not in warned(lrdoctor.diagnose(_csn_bmn()))
    # a model trained here: its total starts far above 1.5 ln 10 (the reconstruction term), its
    # cross-entropy term at ln 10
    healthy = lrdoctor.read(_multitask_log(tmp_path / "healthy.log.json", 1.0), config={"num_classes": 10})
    first = healthy.series("loss").values[0]
    assert first > 1.5 * 2.3026 and abs(healthy.series("loss_cls").values[0] - 2.3026) < 0.3
    assert "initial_loss_anomaly" not in warned(lrdoctor.diagnose(healthy))


def test_a_cross_entropy_term_far_above_ln_k_is_still_an_initial_loss_anomaly(tmp_path):
    # the twin: the classification head starts with 30x its weights, so its cross-entropy starts far above ln 10
    bad = lrdoctor.read(_multitask_log(tmp_path / "hot.log.json", 30.0), config={"num_classes": 10})
    f = warned(lrdoctor.diagnose(bad)).get("initial_loss_anomaly")
    assert f is not None
    assert f.evidence["term"] == "loss_cls" and f.evidence["first_loss"] > 1.5 * 2.3026
    assert "loss_cls" in f.summary and "cross-entropy term" in f.summary
    # a sum of terms with no cross-entropy among them has no ln K to judge
    lines = [json.loads(s) for s in (tmp_path / "hot.log.json").read_text().splitlines()]
    for row in lines:
        row["loss_box"] = row.pop("loss_cls")
    (tmp_path / "boxes.log.json").write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    boxes = lrdoctor.read(tmp_path / "boxes.log.json", config={"num_classes": 10})
    assert "initial_loss_anomaly" not in warned(lrdoctor.diagnose(boxes))


def test_a_held_out_loss_climbing_from_its_best_with_no_training_loss_logged_is_overfitting(tmp_path):
    f = warned(lrdoctor.diagnose(real_log(KATPOEMS))).get("overfitting")
    assert f is not None
    assert f.evidence["eval_min"] == 4.6495 and f.evidence["eval_last"] == 4.8145
    assert "Mann-Kendall" in f.summary and "no training loss logged" in f.summary
    # the twin: the same table's first five evaluations, too few for a trend test at 1% (a 1.1% rise)
    lines = real_log(KATPOEMS).read_text().splitlines()
    short = tmp_path / "training_results.md"
    short.write_text("\n".join(lines[:7]) + "\n")
    assert lrdoctor.read(short).series("eval_loss").values.size == 5
    assert "overfitting" not in warned(lrdoctor.diagnose(short))


def _evaluations_with_empty_passes(path, empty: set[int]) -> str:
    """A digits MLP trained for 8 epochs, its held-out cross-entropy after each written as a Trainer
    results table; at the epochs in ``empty`` the evaluation ran on an empty slice (torch's mean
    cross-entropy of no examples is nan: an evaluation pass that produced no loss)."""
    from trained_digits import fit_epoch, held_out_loss

    torch.set_num_threads(1)
    x, y, model = digits_mlp(0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    rows = ["| Training Loss | Epoch | Step | Validation Loss |", "|:---:|:---:|:---:|:---:|"]
    for epoch in range(1, 9):
        train, _ = fit_epoch(model, opt, x, y)
        val = held_out_loss(model, x, y, start=len(y) if epoch in empty else 1400)
        rows.append(f"| {train:.4f} | {epoch}.0 | {28 * epoch} | {val:.4f} |")
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def test_an_evaluation_loss_nan_at_most_evaluations_is_a_warning_not_a_transient(tmp_path):
    f = warned(lrdoctor.diagnose(real_log(NAN_EVALS))).get("nonfinite")
    assert f is not None and f.severity is lrdoctor.Severity.WARNING
    assert f.evidence["nonfinite_points"] == 2 and f.evidence["logged_points"] == 3
    assert "2 of its 3 reports" in f.summary
    # a model trained here whose evaluation pass was empty at 5 of its 8 evaluations
    most = lrdoctor.diagnose(_evaluations_with_empty_passes(tmp_path / "most.md", {2, 3, 5, 6, 8}))
    assert warned(most).get("nonfinite") is not None
    # the twin: the same run with one empty evaluation among eight stays the info of a transient
    once = lrdoctor.diagnose(_evaluations_with_empty_passes(tmp_path / "once.md", {3}))
    assert "nonfinite" not in warned(once)
    assert [x.severity for x in once.findings if x.kind == "nonfinite"] == [lrdoctor.Severity.INFO]
