"""Stop 81 (slowfp): three slow_progress readings that a second column, or the score's ceiling, refutes.

* The rate rule (the training loss's first half fell under 1% per 100 steps) stays silent when the
  evaluation loss fell by a fifth of its first report with a downward Mann-Kendall trend at 5%
  (``material_fall``, ``rate_trend_p``): the evaluated model improves materially (a GPT-2 on MIDI
  tokens, healthy: validation loss 0.7969 -> 0.5771, lower at each of 21 evaluations).
* An error rate at its floor (WER never below 90%) is not "the model recognises nothing" when another
  error rate of the same evaluations fell by a fifth with a downward trend (a wav2vec2 CTC fine-tune,
  healthy: WER 0.9999, 1.0, 1.0, 0.9701 while CER went 0.9815 -> 0.6014). A word is right only when
  all its characters are, so the WER lags the CER.
* An error rate held above its floor that itself fell by a fifth with a downward trend, beside a loss
  that learned, is no finding (it was a warning since stop 80): the model learns materially (a
  whisper-tiny on Sinhala, healthy: WER 221.9 -> 136.3 -> 97.7 -> 92.3 as the validation loss fell).
* A loss term frozen at one value is no dead head when it is an epoch aggregate (Lightning's
  ``train_loss_epoch``) whose equal prints span fewer than ``frozen_points`` epochs: the aggregate
  changes only when an epoch ends (anomalib's progress bar, edge: -7.94e+5 at the end of epoch 2 and
  on the first four batches of epoch 3).
* "No gain over a finished schedule" is no finding for a bounded score that ends at its perfect value
  (1, or 100%): a solved evaluation has nothing left to gain (MIDAM on 6 test bags, healthy: test AUC
  1.0 from epoch 5 to 99).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from bench_logs import real_log

import lrdoctor
from lrdoctor.detect._progress.chance import _another_rate_fell
from lrdoctor.detect._progress.common import fell_materially
from lrdoctor.detect._progress.frozen import EPOCH_AGGREGATE_WORD, _epoch_aggregate_within_few_epochs
from lrdoctor.detect._progress.schedule import _ends_at_perfect
from lrdoctor.detect._stats import trend_p_down
from lrdoctor.detect.progress import DEFAULTS, _eval_fell_materially

#: healthy: GPT-2 config on MIDI tokens, validation loss lower at each of 21 evaluations (0.7969 -> 0.5771)
#: while the training loss's first half fell 0.54% per 100 steps (29% over the run)
_MIDI_HEALTHY = "fresh921/katpeeler-midi-model-3/training_results.md"
#: healthy: wav2vec2 CTC fine-tune, WER 0.9999, 1.0, 1.0, 0.9701 while CER fell 0.9815 -> 0.6014
_CTC_HEALTHY = "fresh1267/hemantrao-config-2/training_results.md"
#: healthy: MIDAM on 6 histopathology test bags, test AUC 1.0 at every epoch from 5 to 99, LR decayed to 1%
_AUC_HEALTHY = "fresh175/libauc-13-midam-att-breast-histopathology/train_output.txt"
#: healthy: whisper-tiny on Sinhala, WER 221.9 -> 92.3 (58%, falling at each evaluation), validation loss falling
_WHISPER_SINHALA = "fresh1292/ransaka-whisper-tiny-sinhala-20k/training_results.md"
#: labelled slow_progress, warning kept: whisper-tiny on Tamil, WER 186.3 -> 165.7 (11%, under a fifth)
_WHISPER_TAMIL = "fresh1347/dineshkumars-whisper-tiny-tamil-language/training_results.md"
#: labelled slow_progress (edge), warning kept: whisper-small on Danish, WER 197.5 -> 142.4 (28%, no trend at 5%)
_WHISPER_DANISH = "fresh1352/jstoone-whisper-small-da-cv11/training_results.md"
#: edge: anomalib's Lightning progress bar, train_loss_epoch -7.94e+5 on 4 lines over epochs 2-3
_ANOMALIB_EDGE = "fresh42/anomalib-1651-flow-negative-loss/progress.log"
#: labelled slow_progress: CenterNet's hm_loss 9.208497 at every epoch from 2 on while wh_loss moves (a term, not an aggregate)
_CENTERNET_FROZEN_HM = "fresh20/centernet-issue342-frozenhm/issue342.log"
#: labelled slow_progress, rate rule kept: XLS-R 1B on Arabic, validation loss 1.287 -> 1.141 (11%, under a fifth)
_XLSR_ARABIC = "fresh275/hfcard-andrewmcdowell-xlsr1b-arabic/training_results.md"
#: labelled slow_progress, rate rule kept: GPT-2 on WikiQA, validation loss 0.7699 -> 0.7131 (7%, no trend)
_GPT2_WIKIQA = "fresh1192/vedarutvija-output-gpt2-wikiqa/training_results.md"
#: labelled slow_progress, WER-floor error kept: XLS-R, CER 1.0 -> 0.9762 at the end (a fall of 2%)
_XLSR_KYAGABA = "fresh408/kyagaba-extra-xlsr/training_results.md"
#: labelled slow_progress, WER-pinned error kept: XLS-R on English, CER 1.0 -> 0.9877
_XLSR_EN = "fresh606/tsrivatsav-xlsr-en-colab/training_results.md"
#: labelled slow_progress, finished-schedule rule kept: a PPO reward that never rose (not a bounded score at 1)
_PPO_FLAT = "fresh/hf-llamafactory-issue856-ppo-flat/issue856.log"


def _slow(path: str | Path, config: dict | None = None) -> list:
    return [f for f in lrdoctor.diagnose(lrdoctor.read(path, config=config)).findings
            if f.kind == "slow_progress" and f.severity.rank >= 1]


def _csv(tmp_path: Path, rows: list[tuple]) -> Path:
    path = tmp_path / "log.csv"
    path.write_text("step,loss,eval_loss\n" + "".join(",".join(str(x) for x in r) + "\n" for r in rows))
    return path


# (a) the arithmetic


def test_material_fall_is_the_one_fifth_with_a_trend():
    assert DEFAULTS.material_fall == 0.2 and DEFAULTS.rate_trend_p == 0.05
    # four reports falling at each one: the exact Mann-Kendall p is 1/4! = 0.042, under 5%
    assert math.isclose(trend_p_down(np.array([0.9815, 0.9582, 0.9539, 0.6014])), 1 / 24, rel_tol=1e-9)
    fell = {"wer": np.array([0.9999, 1.0, 1.0, 0.9701]), "cer": np.array([0.9815, 0.9582, 0.9539, 0.6014])}
    assert _another_rate_fell(fell, "wer", DEFAULTS)
    # a CER that fell by 2% (kyagaba) or rose is no witness, nor one that fell once without a trend
    assert not _another_rate_fell({"wer": fell["wer"], "cer": np.array([1.0, 0.9124, 0.95, 0.9762])}, "wer", DEFAULTS)
    assert not _another_rate_fell({"wer": fell["wer"], "cer": np.array([1.0, 1.1, 1.2, 1.3])}, "wer", DEFAULTS)
    assert not _another_rate_fell({"wer": fell["wer"], "cer": np.array([0.9, 0.5, 0.95, 0.7])}, "wer", DEFAULTS)
    assert not _another_rate_fell({"wer": fell["wer"]}, "wer", DEFAULTS)  # the rate itself is not its own witness


def test_fell_materially_on_its_own_scale():
    assert fell_materially(np.array([221.9058, 136.3423, 97.6638, 92.3279]), DEFAULTS)  # 58%, p = 1/24
    assert not fell_materially(np.array([186.2744, 180.0, 170.0, 165.7107]), DEFAULTS)  # 11%: under a fifth
    assert not fell_materially(np.array([197.5434, 120.0, 150.0, 142.3619]), DEFAULTS)  # 28%, no trend at 5%
    assert not fell_materially(np.array([0.0, 0.0, 0.0, 0.0]), DEFAULTS)  # no positive first report


def test_epoch_aggregate_counts_epochs_not_lines(tmp_path):
    assert EPOCH_AGGREGATE_WORD == "epoch"
    rows = ["step,epoch,loss,train_loss_epoch"]
    rows += [f"{s},{1 + s // 4},{5.0 - 0.1 * s + 0.05 * (s % 2)},{-7.94 if s >= 4 else -6.0}" for s in range(12)]
    path = tmp_path / "lightning.csv"
    path.write_text("\n".join(rows) + "\n")
    run = lrdoctor.read(path)
    f = run.series("train_loss_epoch").finite()
    # frozen from step 4 (epoch 2) to step 11 (epoch 3): two epochs, fewer than frozen_points = 3
    assert _epoch_aggregate_within_few_epochs(run, "train_loss_epoch", f, 4, DEFAULTS)
    # the same equal prints from step 0 would span epochs 1-3: three epochs, judged as a term
    assert not _epoch_aggregate_within_few_epochs(run, "train_loss_epoch", f, 0, DEFAULTS)
    assert not _epoch_aggregate_within_few_epochs(run, "loss", run.series("loss").finite(), 4, DEFAULTS)  # no aggregate


def test_eval_loss_fell_materially_on_a_synthetic_log(tmp_path):
    falls = lrdoctor.read(_csv(tmp_path, [(100, 1.0, 0.80), (200, 0.9, 0.75), (300, 0.8, 0.70), (400, 0.7, 0.62)]))
    assert _eval_fell_materially(falls, DEFAULTS)  # 0.80 -> 0.62 is 22.5%, lower at each evaluation
    (tmp_path / "b").mkdir()
    small = lrdoctor.read(_csv(tmp_path / "b", [(100, 1.0, 0.80), (200, 0.9, 0.78), (300, 0.8, 0.75), (400, 0.7, 0.70)]))
    assert not _eval_fell_materially(small, DEFAULTS)  # 12.5%: under a fifth
    (tmp_path / "c").mkdir()
    noisy = lrdoctor.read(_csv(tmp_path / "c", [(100, 1.0, 0.80), (200, 0.9, 0.50), (300, 0.8, 0.90), (400, 0.7, 0.60)]))
    assert not _eval_fell_materially(noisy, DEFAULTS)  # a fifth, but no trend (as many rises as falls)


def test_perfect_score_ceiling():
    assert _ends_at_perfect(np.array([0.875, 0.875, 1.0, 0.875, 1.0, 1.0]))
    assert _ends_at_perfect(np.array([87.5, 100.0, 100.0]))  # a percentage
    assert not _ends_at_perfect(np.array([0.875, 1.0, 0.875]))  # left its ceiling at the end
    assert not _ends_at_perfect(np.array([0.6, 0.7, 0.7]))  # a level below perfect can still gain
    assert not _ends_at_perfect(np.array([-1.0, 0.5, 1.0]))  # not a share of right answers


# (b) labelled slow_progress the rules keep


def test_rate_rule_kept_where_the_evaluation_loss_fell_under_a_fifth_or_without_trend():
    for rel in (_XLSR_ARABIC, _GPT2_WIKIQA):
        found = _slow(real_log(rel))
        assert found and "drop_per_100_steps" in found[0].evidence, rel


def test_wer_floor_kept_where_the_cer_did_not_fall_by_a_fifth():
    for rel in (_XLSR_KYAGABA, _XLSR_EN):
        found = _slow(real_log(rel))
        assert found and found[0].severity.name == "ERROR" and "error rate" in found[0].evidence["rule"], rel


def test_error_rate_warning_kept_where_the_rate_fell_under_a_fifth_or_without_trend():
    for rel in (_WHISPER_TAMIL, _WHISPER_DANISH):
        found = _slow(real_log(rel))
        assert found and found[0].severity.name == "WARNING" and "rate_trend_p" in found[0].evidence, rel


def test_frozen_term_kept_on_a_dead_head_that_is_no_epoch_aggregate():
    found = _slow(real_log(_CENTERNET_FROZEN_HM))
    assert found and found[0].evidence["rule"].startswith("frozen term")


def test_finished_schedule_rule_kept_on_a_reward_that_never_rose():
    found = _slow(real_log(_PPO_FLAT))
    assert found and found[0].evidence["rule"].startswith("no gain over a finished schedule")


# (c) the healthy runs the rules silence


def test_healthy_midi_gpt2_whose_validation_loss_fell_materially_is_not_slow():
    assert _eval_fell_materially(lrdoctor.read(real_log(_MIDI_HEALTHY)), DEFAULTS)
    assert _slow(real_log(_MIDI_HEALTHY)) == []


def test_healthy_ctc_fine_tune_whose_cer_left_the_floor_is_not_stuck():
    assert _slow(real_log(_CTC_HEALTHY)) == []


def test_healthy_auc_at_its_ceiling_is_not_slow():
    assert _slow(real_log(_AUC_HEALTHY)) == []


def test_healthy_whisper_whose_wer_fell_by_more_than_a_fifth_is_not_stuck():
    assert _slow(real_log(_WHISPER_SINHALA)) == []


def test_edge_lightning_epoch_aggregate_carried_on_step_lines_is_no_frozen_head():
    assert _slow(real_log(_ANOMALIB_EDGE)) == []
