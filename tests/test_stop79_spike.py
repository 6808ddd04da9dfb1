"""A change of stop 79 to ``loss_spike`` (the loss_spike pool), on synthetic series and real logs read in place.

**A training blip that stays under the run's lowest evaluation loss is no warning by its height.**
A single spike warned when it at least tripled the level it stood above (``warn_ratio``). On a
fine-tune that has driven its training loss to the printing floor, far below anything the model
scores on held-out data, every blip is hundreds of times its trend: the ratio measures how deep the
memorisation went, not how large the instability was. A peak that still fits the training batches
better than the model ever scored on data it has not fitted gave back part of the memorised gap, not
what the model had learned. Such a peak now warns only by the share of the descent it undoes
(``warn_undo``), by recurring (``warn_count``) or by standing above the start, as a peak judged
against a printed zero already did. AST on GTZAN: training loss 0.0002, 0.1367, 0.0001 (683x) beside
a validation loss never under 0.3534, labelled healthy. Labelled spikes of the same shape that undo
half the descent (AST on GTZAN, 0.0001 -> 0.4493 -> 0.0001 after a 0.83 -> 1.40 swing) or rise above
the first report (distilhubert: 0.1489, 0.0001, 0.3174, 0.0001) still warn.

**A sustained rise of a positive loss must stand out of the loss's own scatter on the log scale.** A
rise that met ``divergence``'s bars for its length and came back was always a warning; its noise bar
(``noise_k``=5 sigmas) was measured on the residuals in the loss's own units, which a short rolling
median pulls towards 0. It is now measured as the spike rules measure noise (``_noise_sigma``: log
scale, successive differences as well as residuals), at divergence's same 5 sigmas: two high single
batches of 4 in a row (2.6 sigmas of their scatter) or a warm-up's creep with the LR (4.3 sigmas) are
no transient; a GRU at lr 20 (5.16 -> 7.64, 32 sigmas) is.

**A loss that prints zeros is judged on the log scale too.** The trend rule judged a loss on the log
scale only when every report was positive; a fine-tune whose loss prints 0.0 (the HF Trainer's 4
decimals) was judged in its own units, where the MAD of mostly-zero differences is 0 and any bump
stands infinitely many sigmas out. Its zeros are now read as half the printing step, as the neighbour
rule already read them (``_zeros_at_half_a_step``), and its noise is measured on the log scale.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from bench_logs import real_findings
from trained_digits import write_lines

import lrdoctor
from lrdoctor.detect import loss_spike
from lrdoctor.detect.loss_spike import DEFAULTS, _log_noise, _log_scale, _rise_out_of_noise, _tall
from lrdoctor.finding import Severity
from series_helpers import trainer_card_lines

_AST_KARANJAKHAR = "fresh251/hf-ast-karanjakhar-gtzan/training_results.md"  # healthy: 0.0002 -> 0.1367 -> 0.0001
_AST_JBJOYCE = "fresh548/hf-jbjoyce-ast-gtzan/training_results.md"  # healthy: 0.0002 -> 0.1201 -> 0.0002
_WHISPER_BASHKIR = "fresh317/whisper-small-bashkir-cv11/training_results.md"  # edge (overfitting): 0.0023 -> 0.0621
_VIVIT_MEDIAPIPE = "fresh255/vivit-kkumtori-0511-mediapipe/training_results.md"  # edge (overfitting): 0.0007 -> 0.265
_AST_KFAHN = "fresh884/kfahn-ast-gtzan-v1/training_results.md"  # edge loss_spike: undoes 54% of the descent
_DISTILHUBERT_V2 = "fresh758/cryptoque-distilhubert-gtzan-v2/training_results.md"  # unhealthy loss_spike: above the start


def _warnings(rel: str) -> list:
    return [f for f in real_findings(rel, "loss_spike") if f.severity is not Severity.INFO]


def _card(tmp_path: Path, train: list[float], evals: list[float] | None) -> str:
    """An HF Trainer results table: one row per epoch, the training loss and (when given) the
    validation loss."""
    lines = trainer_card_lines(train, evals, step_every=100)
    tmp_path.mkdir(parents=True, exist_ok=True)
    return write_lines(tmp_path / "README.md", lines)


# a fine-tune fitted to the floor with one blip at epoch 9: 683x its trend, 13% of the descent undone
_TRAIN = [1.0693, 0.6084, 0.5394, 0.1575, 0.0049, 0.0014, 0.0002, 0.0002, 0.1367, 0.0001]
_EVALS = [0.6245, 0.5320, 0.4683, 0.5772, 0.4796, 0.4202, 0.4796, 0.3534, 0.3734, 0.3639]


def test_tall_needs_the_ratio_and_the_held_out_level():
    """The arithmetic: 3x the level is tall when no evaluation loss is logged (held-out level 0) or
    the peak reaches it; a peak under the lowest evaluation loss is not, whatever its ratio."""
    assert DEFAULTS.warn_ratio == 3.0
    assert _tall(0.1367, 0.0002, 0.0, DEFAULTS)
    assert not _tall(0.1367, 0.0002, 0.3534, DEFAULTS)
    assert _tall(0.40, 0.0002, 0.3534, DEFAULTS)
    assert not _tall(0.0005, 0.0002, 0.0, DEFAULTS)  # 2.5x: under warn_ratio
    assert not _tall(0.5, 0.0, 0.0, DEFAULTS)  # no positive level, no ratio


def test_a_blip_under_the_held_out_loss_is_info(tmp_path):
    """The same training curve warns as a 683x spike with no evaluation loss beside it, and is info
    beside a validation loss that never went under 0.3534."""
    alone = loss_spike.detect(lrdoctor.read(_card(tmp_path / "a", _TRAIN, None)))
    assert [f.severity for f in alone] == [Severity.WARNING]
    beside = loss_spike.detect(lrdoctor.read(_card(tmp_path / "b", _TRAIN, _EVALS)))
    assert [f.severity for f in beside] == [Severity.INFO]
    assert beside[0].evidence["largest"]["loss"] == 0.1367


def test_a_blip_that_reaches_the_held_out_loss_still_warns(tmp_path):
    """The blip at 0.40, above the lowest validation loss 0.3534, warns by its height as before."""
    train = [*_TRAIN[:8], 0.40, _TRAIN[9]]
    found = loss_spike.detect(lrdoctor.read(_card(tmp_path, train, _EVALS)))
    assert [f.severity for f in found] == [Severity.WARNING]


def test_healthy_fine_tunes_with_a_blip_under_their_validation_loss_are_silent():
    """Two AST fine-tunes on GTZAN labelled healthy (a one-row blip of the training loss from its
    0.0002 floor, validation loss 0.35-0.63) and two edge runs labelled overfitting alone
    (Whisper-small on Bashkir, ViViT on a gesture set): no loss_spike warning."""
    for rel in (_AST_KARANJAKHAR, _AST_JBJOYCE, _WHISPER_BASHKIR, _VIVIT_MEDIAPIPE):
        found = real_findings(rel, "loss_spike")
        assert found and all(f.severity is Severity.INFO for f in found), rel


def test_labelled_floor_spikes_still_warn():
    """Labelled spikes of the same shape keep their warning by the measures the rule leaves: AST
    (kfahn) 0.0001 -> 0.4493 -> 0.0001 undoes 54% of its descent (``warn_undo``); distilhubert's
    0.3174 stands above its first report 0.1489, both under validation losses of 0.5 and 1.26+."""
    assert _warnings(_AST_KFAHN)
    assert _warnings(_DISTILHUBERT_V2)


# --- a sustained rise must clear divergence's noise_k sigmas of the loss's own log-scale scatter ---

_GRU_WIKITEXT = "fresh12/nlpia2-gru-wikitext2-spike/model_GRU_nlayers_2_epochs_12.log"  # unhealthy loss_spike: 5.16 -> 7.64
_QTCA_V0 = "fresh99/qtca-v0-ep0-74/metrics.csv"  # edge loss_spike (a sustained rise 1.7x its best)
_UWARG_BATCHES = "fresh165/uwarg-bootcamp-torch-per-batch-terminal/terminal_output.txt"  # edge, no kind
_DETECTRON_WARMUP = "fresh74/nyu-semi-d2-ft-lr004-warmup/train.log"  # edge, no kind


def _bumped_trend(log_sigma: float):
    """The trend of 60 reports falling from 2.0 to 0.5, 1.8x higher for reports 30-35, with
    log-normal scatter of ``log_sigma`` per report."""
    from lrdoctor.detect._trend import trend
    from lrdoctor.run import Series

    k = np.arange(60)
    level = (0.5 + 1.5 * np.exp(-k / 10)) * np.where((k >= 30) & (k < 36), 1.8, 1.0)
    noise = np.exp(log_sigma * np.random.default_rng(0).standard_normal(60))
    return trend(Series("loss", 10.0 * k, level * noise))


def test_a_sustained_rise_is_measured_against_the_log_scale_scatter():
    """The arithmetic: a 1.8x rise over six reports is ln 1.8 = 0.59 above the best, 29 sigmas of a
    2% scatter and about one sigma of a 50% one; only the first clears ``noise_k``=5."""
    assert loss_spike.DIV.noise_k == 5.0
    assert _rise_out_of_noise(_log_noise(_bumped_trend(0.02)), 30, 36)
    assert not _rise_out_of_noise(_log_noise(_bumped_trend(0.5)), 30, 36)


def test_labelled_sustained_spikes_still_warn():
    """A GRU on WikiText-2 at lr 20 (5.16 -> 7.64 over four reports of 168, back to 5.9 after) and a
    QTCA run (a rise 1.7x its best for ten reports that comes back), both found by the sustained rule."""
    gru = _warnings(_GRU_WIKITEXT)
    assert gru and gru[0].evidence.get("sustained")
    assert _warnings(_QTCA_V0)


def test_noise_and_warmup_creep_are_no_sustained_spike():
    """Single batches of 4 printed every 2000 steps (two high batches in a row, 2.6 sigmas of their
    scatter) and a detectron2 warm-up whose loss creeps up with the LR (0.144 -> 0.164, 4.3 sigmas):
    no loss_spike warning on either edge run."""
    for rel in (_UWARG_BATCHES, _DETECTRON_WARMUP):
        assert not _warnings(rel), rel


# --- printed zeros are read at half the printing step, and the trend rule judges on the log scale ---

_AST_IWOREUSHANKAONCE = "fresh967/hfcard-iworeushankaonce-ast-gtzan/training_results.md"  # healthy, zeros from epoch 13
_VIVIT_SURF = "fresh613/vivit-surf-analytics-runpod/training_results.md"  # edge loss_spike: 0 -> 0.5976, 0.0001 -> 0.5026
_AST_FUNCPHENOMENON = "fresh455/funcphenomenon-ast-gtzan/training_results.md"  # edge loss_spike: 0.0006 -> 0.4962 -> 0


def _trend_of(values: list[float]):
    from lrdoctor.detect._trend import trend
    from lrdoctor.run import Series

    return trend(Series("loss", 100.0 * np.arange(1, len(values) + 1), np.asarray(values)))


def test_log_scale_reads_printed_zeros_at_half_a_step():
    """The arithmetic: on a loss printed to 4 decimals, 0.0 is read as 0.00005 (half the 0.0001
    step) in the reports, their bin maxima and the trend; a loss with a negative report has no log
    scale, and one with no zero is only logged."""
    lmid, lhi, lsm = _log_scale(_trend_of([0.4932, 0.3541, 0.0619, 0.0044, 0.0001, 0.0, 0.0001, 0.0, 0.0]))
    assert np.allclose(np.exp(lmid), [0.4932, 0.3541, 0.0619, 0.0044, 0.0001, 0.00005, 0.0001, 0.00005, 0.00005])
    assert np.isclose(np.exp(lsm).min(), 0.00005) and np.isclose(np.exp(lhi).min(), 0.00005)
    assert _log_scale(_trend_of([0.5, -0.1, 0.3, 0.2, 0.1, 0.05])) is None
    assert np.allclose(np.exp(_log_scale(_trend_of([0.5, 0.4, 0.3, 0.2, 0.1]))[0]), [0.5, 0.4, 0.3, 0.2, 0.1])


def test_an_early_bump_of_a_loss_that_reaches_zero_is_no_spike():
    """AST on GTZAN, labelled healthy: 0.4932, 0.3541, 0.5743, 0.6256, then 0.0619 down to 0.0 from
    epoch 13. In the loss's own units the MAD of its differences is 0 and 0.6256 read as a spike
    that undid 1.95x the progress; on the log scale it is inside the run's scatter, and the one blip
    left (0.0010 -> 0.1854 -> 0.0001, under the 0.3266 validation loss) is info."""
    found = real_findings(_AST_IWOREUSHANKAONCE, "loss_spike")
    assert found and all(f.severity is Severity.INFO for f in found)
    assert found[0].evidence["spikes"] == 1


def test_labelled_spikes_of_losses_that_print_zeros_still_warn():
    """ViViT on a surf set (0 -> 0.5976 -> 0.1188 and 0.0001 -> 0.5026 -> 0) and AST on GTZAN
    (0.0006 -> 0.4962 -> 0, above its first report 0.0155), both labelled loss_spike, keep their warning."""
    assert _warnings(_VIVIT_SURF)
    assert _warnings(_AST_FUNCPHENOMENON)
