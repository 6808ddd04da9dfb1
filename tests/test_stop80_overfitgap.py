"""Stop 80 (overfitting's gaps): the measured-turn rule and the chance rule.

The measured-turn rule judges a log of 5-6 evaluations whose minimum has fewer than three
evaluations after it: too long for the few-point undone rule (2-4 evaluations), too short after the
minimum for the GL rule's three. It reads the rise by the GL rule's own criteria (GL_5, a rise at
each evaluation after the minimum, ``noise_k`` sigmas of the GL guard's scatter, which five
evaluations can measure, and a training loss that fell).

The chance rule reads no overfitting from a held-out loss within slow_progress's ``chance_tol`` of
ln K at every evaluation, K from the config or 2 on a preference-tuning (DPO) log: a model at chance
has nothing to overfit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from bench_logs import real_log

import lrdoctor
from lrdoctor.detect.overfitting import DEFAULTS, _chance_k, _evaluated_at_chance, _gl_scatter, _measured_turn, detect
from lrdoctor.detect.progress import DEFAULTS as PROGRESS
from lrdoctor.names import is_preference_statistic

_CANINE = "fresh1277/gwatkinson-canine-c-300k-all-xnli-14d1916/training_results.md"  # edge, overfitting
_T5_SUM = "fresh447/tgoktug-t5-large-sum/training_results.md"  # edge, overfitting
_RESNET = "fresh85/pt2-resnet50-cifar10-titan-compiled-multirun"  # edge, overfitting (folder)
_PHRASEBANK = "fresh1390/farshid-roberta-large-financial-phrasebank-allagree1/training_results.md"  # healthy
_HU_NER = "fresh737/hu-wiki-ner/training_results.md"  # healthy


def _csv(path: Path, train: list[float], held: list[float]) -> Path:
    path.write_text("step,loss,eval_loss\n" + "".join(f"{100 * (k + 1)},{t},{e}\n" for k, (t, e) in enumerate(zip(train, held))))
    return path


def _overfitting(path: Path, config: dict | None = None) -> list:
    return detect(lrdoctor.read(path, config=config or {}))


def test_synthetic_turn_after_the_fourth_of_five_evaluations(tmp_path):
    train = [1.0, 0.8, 0.6, 0.45, 0.3]
    held = [0.90, 0.85, 0.83, 0.82, 0.95]  # 16% above its minimum at index 3, one rise
    run = lrdoctor.read(_csv(tmp_path / "turn.csv", train, held))
    e, tr = run.series("eval_loss").finite(), run.series("loss")
    v = e.values
    assert v[-1] - v[3] >= DEFAULTS.noise_k * _gl_scatter(v, 3, DEFAULTS)
    got = _measured_turn(run, e, tr, DEFAULTS)
    assert got and got[0].evidence["eval_min_step"] == 400.0
    assert got[0].evidence["generalization_loss"] == np.float64(0.95 / 0.82 - 1)
    assert [f.kind for f in detect(run)] == ["overfitting"]


def test_synthetic_turn_within_the_scatter_or_below_gl5_is_silent(tmp_path):
    train = [1.0, 0.8, 0.6, 0.45, 0.3]
    # a curve that already swings by as much as its last rise: within the GL guard's scatter
    swinging = [0.90, 0.70, 0.88, 0.68, 0.76]
    assert detect(lrdoctor.read(_csv(tmp_path / "swing.csv", train, swinging))) == []
    # a 3% rise: under GL_5
    assert detect(lrdoctor.read(_csv(tmp_path / "small.csv", train, [0.90, 0.85, 0.83, 0.82, 0.845]))) == []
    # the training loss rose too: no fitting of the training set
    assert detect(lrdoctor.read(_csv(tmp_path / "rose.csv", [1.0, 0.8, 0.6, 0.45, 0.6], [0.90, 0.85, 0.83, 0.82, 0.95]))) == []
    # seven evaluations: past 2 x min_after, the GL rule's min_after case
    assert detect(lrdoctor.read(_csv(tmp_path / "long.csv", [1.0, 0.9, 0.8, 0.7, 0.6, 0.45, 0.3],
                                     [0.95, 0.92, 0.90, 0.85, 0.83, 0.82, 0.95]))) == []


def test_real_five_evaluation_turns_are_found():
    for rel in (_CANINE, _T5_SUM):
        got = _overfitting(real_log(rel))
        assert [f.kind for f in got] == ["overfitting"], rel
        assert "after its minimum" in got[0].summary
    folder = real_log(_RESNET)
    files = [p for p in folder.iterdir() if p.is_file()]
    got = _overfitting(files[0], {"num_classes": 10})
    assert [f.kind for f in got] == ["overfitting"]


def test_healthy_twins_of_the_same_shape_stay_silent():
    # five evaluations, the minimum at the fourth, the last 25% and 6% above it, the training loss
    # falling: both rises lie within their curves' own eval-to-eval scatter
    for rel in (_PHRASEBANK, _HU_NER):
        run = lrdoctor.read(real_log(rel))
        v = run.series("eval_loss").finite().values
        assert v.size == 5 and int(np.argmin(v)) == 3 and v[-1] >= 1.05 * v[3]
        assert detect(run) == [], rel


# --- the chance rule ---------------------------------------------------------------------------

_SETFIT = "fresh332/setfit-distilbert-subj-8-5/training_results.md"  # edge, slow_progress, K = 2 in its config
_DPO_AT_LN2 = "fresh389/saahil1801-openhermes-gptq-dpo/training_results.md"  # edge, slow_progress
_DPO_LEFT_LN2 = "fresh159/hfcard-louissanna-dpo-model-output/training_results.txt"  # labelled overfitting
_WNLI_LEFT_LN2 = "fresh869/tiny-mlm-qnli-target-wnli/training_results.md"  # unhealthy, overfitting, K = 2


def test_synthetic_held_out_loss_at_ln_k_throughout_is_no_overfitting(tmp_path):
    assert DEFAULTS.chance_tol == PROGRESS.chance_tol
    train = [0.70, 0.62, 0.50, 0.38, 0.28, 0.20]
    held = [0.675, 0.680, 0.690, 0.700, 0.710, 0.718]  # within 5% of ln 2 at every evaluation
    path = _csv(tmp_path / "chance.csv", train, held)
    run = lrdoctor.read(path, config={"num_classes": 2})
    assert _chance_k(run) == 2
    assert _evaluated_at_chance(run, run.series("eval_loss").finite(), DEFAULTS)
    assert detect(run) == []
    # the same curve with no K in the config, or with K = 10: the rise is read
    assert [f.kind for f in _overfitting(path)] == ["overfitting"]
    assert [f.kind for f in _overfitting(path, {"num_classes": 10})] == ["overfitting"]
    # one evaluation past the band (ln 2 x 1.05 = 0.728): the model left chance, the rise is read
    left = _csv(tmp_path / "left.csv", train, held[:-1] + [0.80])
    assert [f.kind for f in _overfitting(left, {"num_classes": 2})] == ["overfitting"]


def test_preference_statistics_name_k_2():
    assert is_preference_statistic("eval_rewards/margins") and is_preference_statistic("Rewards/chosen")
    assert not is_preference_statistic("eval_reward") and not is_preference_statistic("episode_reward")


def test_real_runs_at_ln_2_lose_their_overfitting():
    path = real_log(_SETFIT)
    assert _overfitting(path, {"num_classes": 2}) == []
    assert [f.kind for f in _overfitting(path)] == ["overfitting"]  # without the config's K
    run = lrdoctor.read(real_log(_DPO_AT_LN2))
    assert _chance_k(run) == 2
    assert detect(run) == []


def test_runs_that_left_ln_2_keep_their_overfitting():
    assert [f.kind for f in _overfitting(real_log(_DPO_LEFT_LN2))] == ["overfitting"]
    assert [f.kind for f in _overfitting(real_log(_WNLI_LEFT_LN2), {"num_classes": 2})] == ["overfitting"]


def test_a_curve_of_another_shape_never_reaches_the_score_vetoes():
    # five evaluations, the minimum at the last: the measured-turn rule returns before it reads the
    # held-out scores (this card's empty score column made _held_out_scores raise through them)
    run = lrdoctor.read(next(p for p in real_log("fresh383/hfcard-q2jlbar-segformer-b0-brooks-or-dunn").iterdir() if p.is_file()))
    assert detect(run) == []


def test_an_empty_score_column_is_no_held_out_score_and_raises_nothing():
    # the segformer card above prints "nan" in every accuracy cell: each caller of _held_out_scores
    # reached np.ptp of an empty array, which has no maximum (a ValueError)
    from lrdoctor.detect.overfitting import _held_out_scores

    run = lrdoctor.read(real_log("fresh383/hfcard-q2jlbar-segformer-b0-brooks-or-dunn/training_results.md"))
    assert "eval_accuracy" in run and run.series("eval_accuracy").finite().values.size == 0
    assert _held_out_scores(run) == []
