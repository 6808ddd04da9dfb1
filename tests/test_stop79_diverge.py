"""Three changes of stop 79 to ``divergence``, on synthetic series, real logs read in place and their twins.

**An RL critic that steps up while the return collapses** (:func:`divergence._rl_collapse`, an error):
the TD/value loss steps to at least ``few_factor`` x the median level it held, beyond ``noise_k`` sigmas
of its log scatter, and stays there to the end (:func:`step_above_level`), while every return from that
onset on lies below every return before it, by more than ``relative_floor``, an order exchangeable
returns give with probability 1/C(n, m) below ``shift_p`` (:func:`return_collapse`). A TD loss that grows
while the agent learns larger returns stays silent, as the bound rule's reason asks.

**An RL blow-up at the last report** (:func:`divergence._rl_last_jump`, an error): ``final_jump``'s three
decades at the last report, beside ``rl_bound_factor``'s bound (the root of the loss 100x the largest
|return|), on two reports or more.

**A joint climb** (:func:`joint_climb`, a warning): after the evaluation loss's best, both losses climb
with a Mann-Kendall trend at p < ``climb_p`` each over ``climb_points``+ reports, the evaluation loss
ending ``joint_jump`` above its best. Overfitting keeps its training loss falling or flat; the training
loss's own significant climb is what tells the fit getting worse from the generalisation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from bench_logs import real_log
from trained_digits import write_lines

import lrdoctor
from lrdoctor.detect import divergence
from lrdoctor.detect.divergence import DEFAULTS, joint_climb, return_collapse, step_above_level
from lrdoctor.finding import Severity
from lrdoctor.run import Series
from series_helpers import divergence_findings as _divergence

torch.set_num_threads(1)

_TFAGENTS_DQN = "fresh/text-tfagents-issue316-dqn-collapse/issue316.log"
_FINRL_SAC = "fresh16/finrl-issue1251-sac-blowup/issue1251.log"
_HOPPER_DT = "fresh129/mindt-hopper-medium-v2-0212/dt_hopper-medium-v2_log_22-02-12-09-43-59.csv"
_QWEN_PCT = "fresh177/hfcard-imdatta0-qwen2-7b-pct-ortho/training_results.txt"
_WHISPER_DISTIL = "fresh637/rohitp1-whisper-base-libri360-noisy-distil/training_results.md"
_VOXREX_NAN = "fresh317/wav2vec2-voxrex-npsc-nan/training_results.md"
_DEIT_HEALTHY = "fresh966/hushem1x-deit-adamax0001-f5/training_results.md"



def _with_rl_roles(path: str) -> lrdoctor.Run:
    from lrdoctor.diagnosis import apply_roles

    return apply_roles(lrdoctor.read(path), {"loss": "td_loss", "ep_return": "episode_return"})


def _table(tmp_path: Path, loss, eval_loss) -> lrdoctor.Run:
    """A Trainer-like table, one row per evaluation: step, training loss, evaluation loss."""
    rows = ["step,loss,eval_loss"] + [f"{100 * (i + 1)},{a},{b}" for i, (a, b) in enumerate(zip(loss, eval_loss))]
    return lrdoctor.read(write_lines(tmp_path / "log.csv", rows))


# -- RL: a critic that steps up while the return collapses ----------------------------------------------

_TD_LEVEL = [1000.0, 1500.0, 800.0, 1200.0, 30000.0, 1100.0, 900.0, 1300.0]  # one isolated spike (30000)
_TD_UP = [40000.0, 52000.0, 45000.0, 60000.0]


def test_step_above_level_measures_the_median_level_not_the_best_or_a_spike():
    """Eight reports at a level of ~1,100 (median 1,150) with one isolated spike of 30,000, then four at
    40,000-60,000: the step is at the ninth report, 35x the median level, far beyond the log scatter of
    the reports before it. Against the minimum (800) or past the spike (no report above every earlier
    one) the rules of the few-point family see no step; the median is the level the loss held."""
    x = np.array(_TD_LEVEL + _TD_UP)
    level, onset = step_above_level(x, DEFAULTS.few_factor, DEFAULTS.noise_k, DEFAULTS.few_after)
    assert onset == 8 and level == float(np.median(x[:8]))
    assert step_above_level(np.array(_TD_LEVEL + [1400.0, 1000.0]), DEFAULTS.few_factor, DEFAULTS.noise_k,
                            DEFAULTS.few_after) is None  # no step: the loss stays at its level


def test_return_collapse_is_an_order_exchangeable_returns_rarely_give():
    """Twelve returns at 190-200 then five at 12-32: every late return below every earlier one, 84% down,
    and 1/C(17, 5) = 1/6188 < shift_p. Three late returns at 185-189 are below every earlier one too but
    only 5% down (under ``relative_floor``); two late returns are no level (fewer than few_after + 1)."""
    steps = np.arange(17.0)
    good = [200.0, 195.0, 190.0, 200.0, 198.0, 196.0, 200.0, 199.0, 197.0, 200.0, 193.0, 200.0]
    r = Series("ep_return", steps, np.array(good + [31.8, 15.3, 12.4, 13.7, 14.2]))
    assert return_collapse(r, 12.0, DEFAULTS.shift_p, DEFAULTS.relative_floor, DEFAULTS.few_after + 1) == (190.0, 31.8)
    dip = Series("ep_return", np.arange(15.0), np.array(good + [189.0, 185.0, 187.0]))
    assert return_collapse(dip, 12.0, DEFAULTS.shift_p, DEFAULTS.relative_floor, DEFAULTS.few_after + 1) is None
    short = Series("ep_return", np.arange(14.0), np.array(good + [20.0, 15.0]))
    assert return_collapse(short, 12.0, DEFAULTS.shift_p, DEFAULTS.relative_floor, DEFAULTS.few_after + 1) is None


def test_rl_collapse_finds_the_step_with_the_collapse_and_not_with_rising_returns(tmp_path):
    """The TD loss stepping up while the return falls below everything before it is an error; the same
    step while the return keeps rising (a critic fitting larger values as the agent learns) is silent."""
    loss = _TD_LEVEL + _TD_UP
    collapsed = _with_rl_roles(write_lines(tmp_path / "a.csv", ["step,td_loss,episode_return"] + [
        f"{100 * (i + 1)},{a},{b}" for i, (a, b) in enumerate(zip(loss, [100 + 10 * i for i in range(8)] + [20, 15, 12, 14]))]))
    [f] = divergence.detect(collapsed)
    assert f.severity is Severity.ERROR and f.start_step == 900 and "the return fell below every earlier one" in f.summary
    learning = _with_rl_roles(write_lines(tmp_path / "b.csv", ["step,td_loss,episode_return"] + [
        f"{100 * (i + 1)},{a},{100 + 10 * i}" for i, a in enumerate(loss)]))
    assert divergence.detect(learning) == []


def test_rl_collapse_on_the_tf_agents_dqn_labelled_divergence():
    """TF-Agents' DQN on CartPole: TD loss 250-14,000 (median level 5,202) with isolated spikes of 1e6 and
    an average return of 200 at twelve evaluations, then 93,515-680,585 on every report from step 124,200
    while the return fell to 31.8, 15.3, 12.4, 13.7, 14.2. The bound rule (a TD error 100x the largest
    return, 20,000) cannot see it: the root of the loss is 300-800."""
    [f] = _divergence(lrdoctor.diagnose(lrdoctor.read(real_log(_TFAGENTS_DQN))))
    assert f.severity is Severity.ERROR and f.start_step == 124200
    assert f.evidence["level_before"] < 6000 and f.evidence["score_best"] == 200.0
    assert "critic broke" in f.summary


def test_rl_last_jump_on_the_finrl_sac_labelled_divergence():
    """FinRL's SAC: critic loss 3.53e6 at 7,048 steps, then 2.72e13 at 14,096 (7.7e6x) with rewards of
    4.96: two reports, too few for the bound rule's ``few_after``, but three decades up at the last
    report and a TD error of 5.2e6 against returns of 5 is no value being learned."""
    [f] = _divergence(lrdoctor.diagnose(lrdoctor.read(real_log(_FINRL_SAC))))
    assert f.severity is Severity.ERROR and f.start_step == 14096
    assert f.evidence["ratio_to_best"] > DEFAULTS.final_jump and "blew up at the last report" in f.summary


def test_rl_last_jump_needs_the_bound(tmp_path):
    """The same thousand-fold last report beside returns of 1e6 (a TD error of ~5e6 is a few times a
    return of that size: values being learned) is silent; a jump under three decades is too."""
    run = _with_rl_roles(write_lines(tmp_path / "c.csv", ["step,td_loss,episode_return", "1,3.5e6,4.9", "2,2.7e13,1e6"]))
    assert divergence.detect(run) == []
    small = _with_rl_roles(write_lines(tmp_path / "d.csv", ["step,td_loss,episode_return", "1,3.5e6,4.9", "2,3.5e8,4.9"]))
    assert divergence.detect(small) == []


def test_rl_rules_twin_a_healthy_rl_run_stays_silent():
    """A healthy offline-RL run (a decision transformer on hopper-medium: action loss 0.65 -> 0.067, eval
    return 10 -> ~2,000 over 200 reports) with both columns these rules read: silent. (No healthy or edge
    RL log of the benchmark has a TD loss that steps up; the synthetic twin above covers that shape.)"""
    run = lrdoctor.read(real_log(_HOPPER_DT))
    assert run.is_rl
    assert not _divergence(lrdoctor.diagnose(run))


# -- a joint climb ------------------------------------------------------------------------------------

_EVAL_CLIMB = [2.00, 1.99, 2.01, 2.02, 2.04, 2.05, 2.06, 2.07, 2.08, 2.09, 2.11]


def test_joint_climb_arithmetic(tmp_path):
    """The evaluation loss climbs at every report after its best (1.99 -> 2.11, +6%); a training loss
    climbing with it (Mann-Kendall p < 0.01) is a joint climb, onset at the report after the best; one that
    falls beside it is overfitting's shape; a climb of the evaluation loss by 3% is under ``joint_jump``."""
    train_up = [2.08, 2.04, 2.06, 2.05, 2.08, 2.10, 2.09, 2.12, 2.15, 2.13, 2.16]
    run = _table(tmp_path, train_up, _EVAL_CLIMB)
    assert joint_climb(run, DEFAULTS.climb_p, DEFAULTS.climb_points, DEFAULTS.joint_jump) == (1, 2)
    [f] = _divergence(lrdoctor.diagnose(run))
    assert f.severity is Severity.WARNING and f.start_step == 300 and "both losses are climbing" in f.summary
    train_down = [2.08, 2.04, 2.00, 1.98, 1.95, 1.93, 1.90, 1.88, 1.85, 1.83, 1.80]
    assert joint_climb(_table(tmp_path, train_down, _EVAL_CLIMB), DEFAULTS.climb_p, DEFAULTS.climb_points, DEFAULTS.joint_jump) is None
    small = [2.00, 1.99, 2.00, 2.00, 2.01, 2.01, 2.02, 2.02, 2.03, 2.04, 2.05]
    assert joint_climb(_table(tmp_path, train_up, small), DEFAULTS.climb_p, DEFAULTS.climb_points, DEFAULTS.joint_jump) is None


def test_joint_climb_on_the_qwen_lora_card_labelled_divergence():
    """A Qwen2-7B LoRA at lr 3e-4: validation loss 1.989 at its second evaluation, then a steady climb to
    2.109 over 20 evaluations (p < 1e-4) while the training loss climbed 2.04 -> 2.13-2.23 (p < 0.001).
    Neither loss rose by 10% (the climb and tail rules' floor) and no report jumped: a warning."""
    [f] = _divergence(lrdoctor.diagnose(lrdoctor.read(real_log(_QWEN_PCT))))
    assert f.severity is Severity.WARNING and f.start_step == 24 and "both losses are climbing" in f.summary


def test_joint_climb_finds_the_climb_of_other_cards_labelled_divergence():
    """Two cards labelled divergence whose climb an earlier rule already reports (a distilled Whisper whose
    training and validation loss rise together from the first evaluation; a wav2vec2 run whose two losses
    climb for 15 evaluations before turning NaN): the joint climb reads the same climb on both."""
    for rel, got in ((_WHISPER_DISTIL, (0, 1)), (_VOXREX_NAN, (26, 27))):
        run = lrdoctor.read(real_log(rel))
        assert joint_climb(run, DEFAULTS.climb_p, DEFAULTS.climb_points, DEFAULTS.joint_jump) == got, rel
        assert _divergence(lrdoctor.diagnose(run)), rel


def test_joint_climb_twin_a_healthy_card_whose_evaluation_loss_climbs_alone():
    """A healthy DeiT card: the validation loss climbs from its best 0.5785 to 0.6252 (+8%, Mann-Kendall
    p < 1e-4) while the training loss falls 8e-4 -> 4e-4: overfitting's shape (which overfitting reports
    as a warning), no divergence."""
    run = lrdoctor.read(real_log(_DEIT_HEALTHY))
    assert joint_climb(run, DEFAULTS.climb_p, DEFAULTS.climb_points, DEFAULTS.joint_jump) is None
    assert not _divergence(lrdoctor.diagnose(run))
