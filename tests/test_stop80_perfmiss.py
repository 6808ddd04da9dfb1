"""Stop 80 (perfmiss): two returns' reversals that ``performance_reversal`` could not see.

1. A fall at the end of a long log (20+ reports), past the trend rule's smoothing: the rolling
   median's edges use the nearest full window, so the last half-window of reports never moves the
   smoothed end. The raw best followed by a fall at every later report (``few_falls`` of them, the
   few-point rule's count), each fall beyond ``noise_k`` sigmas of the curve's noise, the drop a fifth
   of the gain (``_falls_past_the_smoothing``).
2. A return logged from the untrained policy's step 0 that fell at every one of its later reports,
   fewer than ``untrained_points`` of them (``_fell_at_every_report``): the few-point rule's order
   statistic in place of the count, the untrained return in place of a gain.
3. (a false finding removed) The error-rate collapse at the last evaluation no longer starts from a
   best of exactly 0, which its own stop-79 branch and the doubling and stay rules already read as a
   placeholder, not a learned level.

No new threshold. Real logs of the benchmark are read in place; healthy and edge twins of the same
shapes stay silent."""

from __future__ import annotations

import numpy as np
from bench_logs import real_findings, real_log

import lrdoctor
from lrdoctor.detect.rl.returns import DEFAULTS, _collapse_at, _fell_at_every_report, detect_reversal


def _return_log(tmp_path, values, every=100):
    path = tmp_path / "returns.csv"
    path.write_text("step,episode_reward\n" + "".join(f"{i * every},{x:.4f}\n" for i, x in enumerate(values)))
    return lrdoctor.read(path)


# ---------------------------------------------------------------- the rules' arithmetic


def test_a_fall_in_the_last_half_window_of_a_long_log_is_found(tmp_path):
    climb = list(np.linspace(-500.0, -100.0, 20))
    run = _return_log(tmp_path, climb + [-150.0, -220.0, -300.0])
    found = detect_reversal(run)
    assert found and found[0].evidence["peak"] == -100.0 and found[0].evidence["fall_step"] == 2000.0
    assert found[0].evidence["drop_share_of_gain"] == 0.5  # 200 of the 400 gained
    assert "fell at every one of the 3 later reports" in found[0].summary


def test_two_falls_at_the_end_are_too_few(tmp_path):
    climb = list(np.linspace(-500.0, -100.0, 20))
    assert not detect_reversal(_return_log(tmp_path, climb + [-220.0, -300.0]))


def test_a_fall_smaller_than_a_fifth_of_the_gain_is_no_reversal(tmp_path):
    climb = list(np.linspace(-500.0, -100.0, 20))
    assert not detect_reversal(_return_log(tmp_path, climb + [-110.0, -140.0, -170.0]))  # 70 of 400


def test_falls_within_the_curves_noise_are_no_reversal(tmp_path):
    rng = np.random.default_rng(0)
    noisy = list(np.linspace(0.0, 100.0, 30) + rng.normal(0.0, 15.0, 30))
    top = max(noisy) + 5.0
    run = _return_log(tmp_path, noisy + [top, top - 10.0, top - 20.0, top - 30.0])
    assert not detect_reversal(run)  # each fall (10) is under 3 sigma of a scatter of 15


def test_falls_at_every_report_from_the_untrained_policy():
    assert _fell_at_every_report(np.array([-9.0, -28.7, -69.0, -78.3, -80.3]), DEFAULTS)
    assert not _fell_at_every_report(np.array([-9.0, -28.7, -69.0, -60.0, -80.3]), DEFAULTS)  # one rise
    assert not _fell_at_every_report(np.array([-9.0, -28.7, -69.0]), DEFAULTS)  # two falls: fewer than few_falls


def test_a_short_log_from_step_0_that_fell_at_every_report_is_found(tmp_path):
    run = _return_log(tmp_path, [-9.0, -28.7, -69.0, -78.3, -80.3], every=10)
    found = detect_reversal(run)
    assert found and "untrained policy (step 0)" in found[0].summary
    assert found[0].start_step == 10.0


def test_a_best_of_zero_is_no_level_to_collapse_from():
    assert _collapse_at(np.array([0.0, 116.15, 122.69]), 100.0, DEFAULTS) is None
    assert _collapse_at(np.array([0.5, 116.15, 122.69]), 100.0, DEFAULTS) == (0, 2)  # a positive best still counts


def test_the_count_and_noise_are_the_rules_own():
    assert (DEFAULTS.few_falls, DEFAULTS.noise_k, DEFAULTS.min_gain_share, DEFAULTS.untrained_points) == (3, 3.0, 0.2, 5)


# ---------------------------------------------------------------- real logs


def test_angela_policy_gradient_on_pendulum_falling_at_the_end():
    # the 100-episode average climbs -5804 -> -769 over 19 reports, then -843, -1150, -1996 as the
    # per-episode spread explodes: labelled performance_reversal (onset 2000) in both slices
    for rel in ("fresh22/angela-pgmd-pendulum/pendulum_pg.log", "fresh28/angela-pendulum-pg-collapse/pendulum_pg.log"):
        found = real_findings(rel, "performance_reversal")
        assert found and found[0].evidence["peak"] == -768.6462 and found[0].evidence["end"] == -1996.473


def test_acme_d4pg_return_falling_from_the_untrained_policy():
    # Acme's D4PG: -9.0 at learner step 0, then -28.7, -69.0, -78.3, -80.3 (labelled reversal, onset 1)
    found = real_findings("fresh930/acme-issue262-d4pg-return-falling/paste.log", "performance_reversal")
    assert found and found[0].evidence["peak_step"] == 0.0 and found[0].start_step == 1.0


# ---------------------------------------------------------------- healthy and edge twins


def test_a_healthy_return_that_fell_at_its_last_reports_within_its_noise_stays_silent():
    # rl-replicas VPG on Walker2d (healthy): best 66.1 near the end, then 65.4, 60.3, 60.1 -- falls
    # at every report, but 9% of the gain and within the curve's noise
    assert not real_findings("fresh96/rlrep-walker2d-vpg-s1/experiment.log", "performance_reversal")


def test_an_rlhf_reward_whose_last_falls_are_its_noise_stays_silent():
    # DeepSpeed-Chat step 3 (edge, no kind): a reward of pure noise around 0 ends 1.136, 0.711, 0.187,
    # -0.521; each fall is under 3 sigma (0.83) of the curve's scatter
    assert not real_findings("fresh9/text-deepspeedchat-step3-rlhf-first30/actor_opt-1.3b_critic_opt-350m.log",
                             "performance_reversal")


def test_a_short_log_from_step_0_that_dipped_and_recovered_stays_silent():
    # TorchRL multi-agent PPO on VMAS (healthy): 0.0 at step 0, -0.68, then 0.12 -> 1.74
    assert not real_findings("fresh377/torchrl-main-multiagent-ppo-vmas/train.log", "performance_reversal")


def test_a_training_wer_printed_as_0_after_four_updates_is_no_collapse():
    # wav2letter (edge, slow_progress): train-WER 0.00 at 4 updates, then 116.15 and 122.69, while the
    # validation WER went 100 -> 186.14 -> 100.57; the 0 is a placeholder, not a learned best
    rel = "fresh929/wav2letter-i667-early-ler-stuck/paste.log"
    assert lrdoctor.read(real_log(rel)).series("train-wer").values[0] == 0.0
    assert not real_findings(rel, "performance_reversal")


def test_a_collapse_to_100_percent_from_a_positive_best_is_still_found():
    # SpeechBrain CRDNN: CER 35.4 at the first evaluation, then above 100% to the end (labelled reversal)
    assert real_findings("fresh11/speechbrain-pr2216-crdnn-wer-jump/pr2216.log", "performance_reversal")
