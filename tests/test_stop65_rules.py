"""Rules and readers from the stop-65 study (issue 9), on real logs read in place and on a
really trained segmentation head.

* spaCy v2.0 abbreviates its table header with dots ("Itn.", "NER P."): the table was refused.
* flair's evaluation line "DEV : loss 0.83 - f1-score (micro avg)  0.0" lost its F-score: a
  parenthesised qualifier ended the name.
* HF's results table copied without borders splits ``f_beta`` into "F Beta": the columns shifted.
* ``initial_loss_anomaly`` on a summed loss judges its cross-entropy term; mmsegmentation's
  ``decode.loss_seg`` (a per-pixel cross-entropy) was not recognised as one, so a first loss 20x
  ln K was silent.
* ``divergence``'s runaway and joint-jump rules now ask the training loss to give back a tenth of
  what it learned: a loss 50x below its start that moves 5x near its floor is noise, and a training
  loss that wobbles near its floor beside a climbing evaluation loss is overfitting.
"""

from __future__ import annotations

import math

import pytest

from bench_logs import real_log
from trained_logistic import imbalanced_logistic_log

import lrdoctor

torch = pytest.importorskip("torch")


def _kinds(report, at_least: int = 1) -> set[str]:
    return {f.kind for f in report.findings if f.severity.rank >= at_least}


# ---------------------------------------------------------------- readers

def test_spacy_v2_0_table_with_abbreviation_dots_is_read():
    run = lrdoctor.read(real_log("fresh949/spacy-2357-v2-cli-table/paste.log"))
    assert run.meta.step_unit == "epoch" and run.n_steps == 3
    assert run.series("loss").values[0] == pytest.approx(4618.857 + 2910.004)  # Dep Loss + NER Loss
    assert run.meta.roles["eval_accuracy"] == "dev_ner_f1"
    assert list(run.series("eval_accuracy").values) == pytest.approx([88.732, 82.680, 84.494])


def test_flair_f_score_with_a_parenthesised_qualifier_is_read():
    run = lrdoctor.read(real_log("fresh949/flair-3439-dev-f1-zero/paste.log"))
    assert run.meta.roles["eval_loss"] == "dev_loss"
    assert run.meta.roles["eval_accuracy"] == "dev_f1-score_(micro_avg)"
    assert list(run.series("eval_accuracy").values) == [0.0]


def test_trainer_table_without_borders_keeps_f_beta_one_column():
    run = lrdoctor.read(real_log("fresh959/deberta-pii-finetuned-c6408b5/training_results.md"))
    assert run.meta.roles["eval_accuracy"] == "eval_f_beta"
    assert run.series("eval_accuracy").values[0] == pytest.approx(0.9594)
    assert run.series("eval_precision").values[0] == pytest.approx(0.9851)  # not shifted by one column


# ---------------------------------------------------------------- initial_loss_anomaly: mmseg's summed loss

def test_mmseg_decode_loss_seg_is_judged_against_ln_k(tmp_path):
    """GANav on 6 classes: decode.loss_seg 36.87 + aux.loss_seg 0.65 = loss 37.52 at iteration 50."""
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("num_classes: 6\n")
    report = lrdoctor.diagnose(real_log("fresh951/ganav-issue14-bs2-highinit/paste.log"), config=cfg)
    ila = [f for f in report.findings if f.kind == "initial_loss_anomaly"]
    assert len(ila) == 1 and ila[0].evidence["term"] == "decode.loss_seg"
    assert ila[0].evidence["first_loss"] == pytest.approx(36.8659)


def _mmseg_log(path, logit_scale: float, k: int = 6, iters: int = 60, every: int = 10) -> None:
    """Train a per-pixel classifier with a decode head and a 0.4-weighted auxiliary head, as
    mmsegmentation does, and write its mean losses every ``every`` iterations in mmseg's text-log
    format. ``logit_scale`` multiplies the decode head's initial weights (1: a normal init)."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    mix = torch.randn(k, 3)
    decode, aux = torch.nn.Conv2d(3, k, 1), torch.nn.Conv2d(3, k, 1)
    with torch.no_grad():
        decode.weight.mul_(logit_scale)
        decode.bias.mul_(logit_scale)
    opt = torch.optim.SGD(list(decode.parameters()) + list(aux.parameters()), lr=0.05)
    lines, acc = [], {"decode": 0.0, "aux": 0.0}
    for it in range(1, iters + 1):
        x = torch.randn(8, 3, 8, 8)
        y = torch.einsum("kc,bchw->bkhw", mix, x).argmax(1)
        ld = torch.nn.functional.cross_entropy(decode(x), y)
        la = 0.4 * torch.nn.functional.cross_entropy(aux(x), y)
        opt.zero_grad()
        (ld + la).backward()
        opt.step()
        acc["decode"] += ld.item() / every
        acc["aux"] += la.item() / every
        if it % every == 0:
            d, a = acc["decode"], acc["aux"]
            lines.append(f"2022-07-26 11:33:46,558 - mmseg - INFO - Iter [{it}/{iters}]\tlr: 5.000e-02, eta: 0:00:01, "
                         f"time: 0.010, data_time: 0.001, memory: 10, decode.loss_seg: {d:.4f}, decode.acc_seg: 50.0000, "
                         f"aux.loss_seg: {a:.4f}, aux.acc_seg: 50.0000, loss: {d + a:.4f}")
            acc = {"decode": 0.0, "aux": 0.0}
    path.write_text("\n".join(lines) + "\n")


def test_mmseg_trained_head_with_huge_initial_logits_is_flagged_and_its_twin_is_not(tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("num_classes: 6\n")
    bad, good = tmp_path / "bad.log", tmp_path / "good.log"
    _mmseg_log(bad, logit_scale=40.0)
    _mmseg_log(good, logit_scale=1.0)
    first_good = lrdoctor.read(good).series("decode.loss_seg").values[0]
    assert first_good < 1.5 * math.log(6)  # the twin starts near ln K
    report = lrdoctor.diagnose(bad, config=cfg)
    ila = [f for f in report.findings if f.kind == "initial_loss_anomaly"]
    assert ila and ila[0].evidence["term"] == "decode.loss_seg"
    assert "initial_loss_anomaly" not in _kinds(lrdoctor.diagnose(good, config=cfg))


# ---------------------------------------------------------------- divergence: give back what was learned

def test_a_loss_near_its_floor_that_moves_5x_is_no_runaway_and_a_blow_up_still_is():
    # a Trainer log in a transformers issue: 0.565 -> 0.0116 -> 0.0175 -> 0.0563 (8% of its fall back; labelled healthy)
    near_floor = lrdoctor.diagnose(real_log("fresh952/transformers-sdpa-loss-issue34640/paste.log"))
    assert "divergence" not in _kinds(near_floor)
    # w2v-BERT on Common Voice: 1.31 -> 0.082 -> 0.096 -> 0.37 (24% back; labelled divergence)
    blow_up = lrdoctor.diagnose(real_log("fresh713/sw-w2vbert2-cv8-dmusingu/training_results.md"))
    assert "divergence" in _kinds(blow_up, 2)


def test_a_wobbling_training_loss_beside_a_climbing_evaluation_is_overfitting_not_divergence():
    # Whisper on AMI: training 0.27 -> 0.029 -> 0.053 -> 0.033 while the validation loss climbs 0.33 -> 0.43
    report = lrdoctor.diagnose(real_log("fresh958/fpg-whisper-small-ami/training_results.md"))
    assert "divergence" not in _kinds(report) and "overfitting" in _kinds(report)
    # T5-base under fp16: the training loss 1.75 -> 1.90 -> 2.43 rises with the evaluation loss (labelled divergence)
    twin = lrdoctor.diagnose(real_log("fresh648/zekunli-t5-base-extraction-fs005-jump/training_results.md"))
    assert "divergence" in _kinds(twin, 2)


# ---------------------------------------------------------------- slow_progress: a constant accuracy beside a loss at ln K

def test_loss_at_ln_2_with_one_accuracy_at_every_evaluation_is_stuck():
    """ResNet-50 at lr 5e-6: loss 0.6927 -> 0.686 (ln 2 = 0.693) and accuracy 0.9310, the majority
    share, at all ten evaluations: far from 1/2, but the predictions never moved."""
    report = lrdoctor.diagnose(real_log("fresh974/resnet50-jayanthspratap-stuck/training_results.md"))
    stuck = [f for f in report.findings if f.kind == "slow_progress"]
    assert stuck and stuck[0].severity.rank == 2 and stuck[0].evidence["constant_accuracy"] is True
    assert stuck[0].evidence["num_classes"] == 2


def test_a_trained_classifier_frozen_at_ln_2_is_stuck_and_its_learning_twin_is_not(tmp_path):
    frozen, learning = tmp_path / "frozen.csv", tmp_path / "learning.csv"
    imbalanced_logistic_log(frozen, lr=1e-6)  # from a zero init on a 93/7 split: loss ln 2
    imbalanced_logistic_log(learning, lr=0.5)
    acc = lrdoctor.read(frozen).series("eval_accuracy").values
    assert float(acc.min()) == float(acc.max()) == pytest.approx(0.93)  # the majority share, every time
    stuck = [f for f in lrdoctor.diagnose(frozen).findings if f.kind == "slow_progress"]
    assert stuck and stuck[0].evidence.get("constant_accuracy") is True
    assert "slow_progress" not in _kinds(lrdoctor.diagnose(learning))
