"""Stop 80, slow_progress misses: the evaluated model at chance while the training loss falls.

``_stuck_at_chance`` judges the training loss wherever one is logged, and without a K in the config
names K from that loss's later half within ``chance_infer_tol``: a training loss that drifts a little
under ln K, or falls as the model memorises, names none, and the rule stays silent while the held-out
picture is a model that predicts uniformly: the evaluation loss sits at ln K from its first evaluation
to its last and the accuracy never leaves 1/K. ``_held_out_at_chance`` reads that picture as a
warning, not while either loss still falls through ln K (the stuck rule's ``chance_drift`` guard). K is the config's, or the one the *first* evaluation loss names (within
``chance_infer_tol`` of ln K, K up to ``chance_infer_max_k``): the first evaluation reads the head
closest to its initialisation, where a classifier's cross-entropy is ln K (Karpathy 2019). Every
evaluation must stay within ``chance_tol`` of ln K, and every logged accuracy within
``chance_acc_margin`` of 1/K at each of ``chance_acc_points``+ evaluations (for an inferred K above
``chance_unconfirmed_max_k`` its median also within ``chance_acc_factor`` x 1/K): two readings of one
K. No new threshold: each is the stuck-at-chance rule's own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from bench_logs import real_log

import lrdoctor
from lrdoctor.detect._progress.chance import HELD_OUT_AT_CHANCE_RULE, _held_out_at_chance
from lrdoctor.detect.progress import DEFAULTS
from lrdoctor.finding import Severity

torch.set_num_threads(1)

#: BERT on MedQA's four options: validation loss 1.3851 -> 1.4239 around ln 4, accuracy 0.26-0.30
_MEDQA = "fresh165/hfcard-shaier-medqa-generic-bert/Shaier_medqa_fine_tuned_generic_bert_README.md"
#: ResNet-50 on ten classes: validation loss 2.2994 -> 2.2726 at ln 10, accuracy 0.112-0.199
_RESNET_TEN = "fresh522/phuong-resnet50-finetuned/training_results.md"
#: BERT on a SWAG-style two-option set, evaluations only: validation loss 0.6945 -> 0.6935, accuracy 0.36-0.41
_SWAG_LN2 = "fresh605/zlxi-bert-swag-ln2-chance/training_results.md"
#: wav2vec2 on MInDS-14's 14 intents: validation loss 2.627-2.641 at ln 14 = 2.639, accuracy 0.04-0.09 (K from the loss, confirmed)
_MINDS14 = "fresh528/hf-w2v2-minds14-all-rowjak/training_results.md"
#: edge twin: Keras issue 12707, validation loss 1.79-1.86 at ln 6 and val_acc 0.16-0.24, but the
#: training loss falls through ln 6 (1.88 -> 1.72 over its second half): still learning
_KERAS_12707 = "fresh3/keras-keras-issue12707-val-at-chance/issue12707.log"
#: healthy twin: CamemBERT QLoRA on eight classes, validation loss 2.091 at ln 8, then down to 1.603;
#: accuracy 0.05 -> 0.45
_CAMEMBERT_QLORA = "fresh1258/antoined-camembert-classification-tools-qlora/training_results.md"
#: healthy twin: a five-class fine-tune whose first validation loss is 1.608 = ln 5, then 0.93; accuracy 0.15 -> 0.77
_RASI_FIVE = "fresh1052/rasi1610-model-result-c7d00ef/training_results.md"


def _csv(tmp_path: Path, val_loss: list[float], val_acc: list[float], train: list[float] | None = None,
         config: dict | None = None) -> lrdoctor.Run:
    """A per-epoch CSV: a training loss that drifts under ln 3 = 1.0986 and settles there (its later
    median 1.070 is 0.029 nats off, so the training-loss chance rule names no K; its second half falls
    by 0.007, under ``chance_drift``), the validation loss and accuracy as given."""
    train = train or [1.10, 1.09, 1.075, 1.07, 1.068][:len(val_loss)]
    rows = ["epoch,loss,val_loss,val_accuracy"] + [f"{i + 1},{t},{v},{a}" for i, (t, v, a) in enumerate(zip(train, val_loss, val_acc))]
    path = tmp_path / "fit.csv"
    path.write_text("\n".join(rows) + "\n")
    return lrdoctor.read(path, config=config or {})


def _slow(run: lrdoctor.Run):
    return [f for f in lrdoctor.diagnose(run).findings if f.kind == "slow_progress"]


_AT_LN3 = [1.100, 1.095, 1.094, 1.099, 1.090]  # ln 3 = 1.0986: the first within 0.02, all within 5%
_AT_THIRD = [0.33, 0.37, 0.38, 0.38, 0.40]  # never above 1/3 + 0.1 = 0.433


def test_the_held_out_loss_at_ln_k_beside_an_accuracy_at_chance_is_a_warning(tmp_path):
    run = _csv(tmp_path, _AT_LN3, _AT_THIRD)
    f = _held_out_at_chance(run, DEFAULTS)
    assert f is not None and f.severity == Severity.WARNING
    ev = f.evidence
    assert ev["rule"] == HELD_OUT_AT_CHANCE_RULE and ev["num_classes"] == 3 and ev["points"] == 5
    assert ev["num_classes_source"].startswith("inferred")
    assert abs(ev["ln_k"] - np.log(3)) < 1e-12 and abs(ev["chance"] - 1 / 3) < 1e-12
    assert abs(ev["loss_min"] - 1.090) < 1e-12 and abs(ev["accuracy_median"] - 0.38) < 1e-12
    # the training loss settled 0.03 nats under ln 3: the training-loss chance rule is silent, this one speaks
    assert [g.evidence.get("rule") for g in _slow(run)] == [HELD_OUT_AT_CHANCE_RULE]


def test_an_accuracy_off_chance_a_loss_off_the_band_or_a_first_evaluation_off_ln_k_is_silent(tmp_path):
    # one evaluation at 0.44 > 1/3 + 0.1: the model learned something
    assert _held_out_at_chance(_csv(tmp_path, _AT_LN3, [0.33, 0.37, 0.44, 0.38, 0.40]), DEFAULTS) is None
    # the last evaluation 1.03, 6% under ln 3: the evaluated model left the chance band
    assert _held_out_at_chance(_csv(tmp_path, [1.100, 1.095, 1.094, 1.060, 1.030], _AT_THIRD), DEFAULTS) is None
    # a first evaluation at 1.07, 0.029 nats from ln 3 and nearer no other ln K: no K named
    assert _held_out_at_chance(_csv(tmp_path, [1.070, 1.095, 1.094, 1.099, 1.090], _AT_THIRD), DEFAULTS) is None
    # two evaluations are fewer than chance_acc_points
    assert _held_out_at_chance(_csv(tmp_path, _AT_LN3[:2], _AT_THIRD[:2]), DEFAULTS) is None


def test_a_training_loss_still_falling_through_ln_k_is_silent(tmp_path):
    # its second half 0.98 -> 0.62 falls by 0.36, beyond chance_drift x ln 3 = 0.055: still learning
    falling = [1.10 - 0.12 * i for i in range(5)]
    assert _held_out_at_chance(_csv(tmp_path, _AT_LN3, _AT_THIRD, train=falling), DEFAULTS) is None
    # the same on the evaluation loss itself: 1.15 -> 1.05 over its second half, inside the 5% band
    assert _held_out_at_chance(_csv(tmp_path, [1.10, 1.12, 1.15, 1.10, 1.05], _AT_THIRD), DEFAULTS) is None


def test_a_configured_k_is_used_and_no_accuracy_means_no_finding(tmp_path):
    # the config's K = 3 names the band whatever the first evaluation: 1.07 is within 5% of ln 3
    run = _csv(tmp_path, [1.070, 1.095, 1.094, 1.099, 1.090], _AT_THIRD, config={"num_classes": 3})
    f = _held_out_at_chance(run, DEFAULTS)
    assert f is not None and f.evidence["num_classes_source"].startswith("config")
    # without an accuracy nothing confirms the K that the loss names
    path = tmp_path / "noacc.csv"
    settled = [1.10, 1.09, 1.075, 1.07, 1.068]
    path.write_text("epoch,loss,val_loss\n" + "".join(f"{i + 1},{t},{v}\n" for i, (t, v) in enumerate(zip(settled, _AT_LN3))))
    assert _held_out_at_chance(lrdoctor.read(path), DEFAULTS) is None


def _rules(rel: str) -> list:
    return [f.evidence.get("rule") for f in lrdoctor.diagnose(real_log(rel)).findings if f.kind == "slow_progress"]


def test_real_runs_whose_evaluated_model_stayed_at_chance_are_found():
    for rel, k in ((_MEDQA, 4), (_RESNET_TEN, 10), (_SWAG_LN2, 2), (_MINDS14, 14)):
        assert _rules(rel) == [HELD_OUT_AT_CHANCE_RULE], rel
        f = _held_out_at_chance(lrdoctor.read(real_log(rel)), DEFAULTS)
        assert f.evidence["num_classes"] == k and f.severity == Severity.WARNING, rel


def test_healthy_twins_whose_first_evaluation_sits_at_ln_k_stay_silent():
    # the same first evaluation at ln K, then the evaluated model learns: the loss leaves the band
    # and the accuracy climbs off 1/K
    for rel in (_CAMEMBERT_QLORA, _RASI_FIVE, _KERAS_12707):
        assert _held_out_at_chance(lrdoctor.read(real_log(rel)), DEFAULTS) is None, rel
        assert _rules(rel) == [], rel


def test_a_first_evaluation_far_above_any_ln_k_names_no_k(tmp_path):
    # a first validation loss in the millions (a mobilebert card at 3126378.25) is no K, and no overflow
    run = _csv(tmp_path, [3126378.25, 2613.95, 6.62, 0.71, 0.69], [0.45, 0.45, 0.45, 0.55, 0.54])
    assert _held_out_at_chance(run, DEFAULTS) is None
    assert _held_out_at_chance(lrdoctor.read(real_log("fresh670/cippppy-mobilebert-500exs-10timesteps/training_results.md")), DEFAULTS) is None
