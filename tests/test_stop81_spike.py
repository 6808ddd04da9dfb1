"""Stop 81's change to ``loss_spike``'s sustained-rise rule (the loss_spike pool), on series built by
hand and on real logs of the benchmark read in place.

**A sustained rise is a spike only when it is sudden or tall** (``loss_spike._sudden_or_tall``). The
spike rules ask a single report two things: to stand ``noise_k``=7 sigmas of the log-scale scatter
out, and ``relative``=50% above the level it is judged against. A sustained rise (the trend above its
best for divergence's ``min_points``, then back) now passes one of the two, read for a rise: it
arrives with a jump (one report above the report before it by more than ``noise_k`` sigmas), or its
peak is more than ``relative`` above the best before it. A creep whose every step the curve's own
report-to-report noise explains, and which stays under 1.5x its best, is the curve drifting (a
penalty term growing, a progressive average over new examples, a slow wander), not a transient: it
reaches ``_rise_out_of_noise``'s 5 sigmas only because its small steps run one way. No new
threshold: the spike rules' own two bars.
"""

from __future__ import annotations

import numpy as np

from bench_logs import real_log

import lrdoctor
from lrdoctor.detect import loss_spike
from lrdoctor.detect._trend import trend
from lrdoctor.detect.divergence import above_best, sustained_rises
from lrdoctor.detect.loss_spike import DEFAULTS, _log_noise, _sudden_or_tall
from lrdoctor.finding import Severity
from lrdoctor.run import Series

# healthy: a slow noisy decline with a wander 0.0454 -> 0.0567 over six reports (1.25x, steps < 4 sigmas)
_RVSA_OSCD = "fresh183/mtp-oscd-rvsa-l-mae-epochs48-74/rvsa-l-mae.log"
# healthy: VW's progressive average of a 0/1 loss, 0.50 -> 0.90 over the first pass (1.35x, steps < 7 sigmas)
_VW_OAA = "fresh127/vw-bootstrap-oaa-two-pass/bootstrap_and_oaa.stderr"
# edge (labelled divergence and overfitting): the training loss creeps 0.64 -> 0.80 over 20 epochs
_AFN_KKBOX = "fresh68/bars-afn-kkbox/train.log"
# unhealthy, labelled loss_spike: GRU at lr 20, 5.16 -> 7.64 (1.48x) in a jump of 15 sigmas: sudden, not tall
_GRU_WIKITEXT = "fresh12/nlpia2-gru-wikitext2-spike/model_GRU_nlayers_2_epochs_12.log"
# edge, labelled loss_spike: an LSTM's per-batch loss 0.23 -> 0.52 (2.2x) in steps of 4.4 sigmas: tall, not sudden
_LSTM_PACKED = "fresh15/rasbt-rnn-lstm-packed-imdb/train.log"


def _rising(step: float, reports: int, noise: float = 0.01):
    """The trend of 60 reports at level 1.0 with log-normal scatter ``noise``, where reports 30 to
    30 + ``reports`` - 1 each rise by the factor ``step`` over the one before and then fall back."""
    k = np.arange(60)
    up = np.where((k >= 30) & (k < 30 + reports), k - 29, 0)
    level = step ** np.minimum(up, reports)
    scatter = np.exp(noise * np.random.default_rng(0).standard_normal(60))
    return trend(Series("loss", 10.0 * k, level * scatter))


def _judge(t) -> list[bool]:
    """``_sudden_or_tall`` of each sustained rise of trend ``t`` that ``loss_spike`` would weigh."""
    above, _, _ = above_best(t, loss_spike.DIV)
    logs = _log_noise(t)
    return [_sudden_or_tall(t, logs, a, b, DEFAULTS) for a, b in sustained_rises(t, loss_spike.DIV, above) if b < t.n]


def _warnings(rel: str) -> list:
    run = lrdoctor.read(real_log(rel))
    return [f for f in lrdoctor.diagnose(run).findings if f.kind == "loss_spike" and f.severity is not Severity.INFO]


# -- (a) the arithmetic ---------------------------------------------------------------------------

def test_a_creep_of_small_steps_is_neither_sudden_nor_tall():
    """Twelve steps of 2% each (1.27x at the peak, each step 2 sigmas of a 1% scatter): a rise well out
    of the noise as a whole, made of steps the noise explains."""
    assert DEFAULTS.noise_k == 7.0 and DEFAULTS.relative == 0.5
    assert _judge(_rising(1.02, 12)) == [False]


def test_a_jump_of_the_same_height_is_sudden():
    """The same 1.27x reached in one report (24 sigmas) and held for twelve."""
    k = np.arange(60)
    level = np.where((k >= 30) & (k < 42), 1.27, 1.0)
    t = trend(Series("loss", 10.0 * k, level * np.exp(0.01 * np.random.default_rng(0).standard_normal(60))))
    assert _judge(t) == [True]


def test_a_creep_past_half_again_its_best_is_tall():
    """Twelve steps of 4% (1.6x at the peak, each step 4 sigmas): not sudden, but more than ``relative``."""
    assert _judge(_rising(1.04, 12)) == [True]


def test_a_loss_below_zero_keeps_the_rule_as_it_was():
    """No log scale, no judgement: the rise is weighed as before (``logs`` None)."""
    t = _rising(1.02, 12)
    assert _sudden_or_tall(t, None, 30, 42, DEFAULTS)


# -- (b) labelled sustained spikes keep their warning, one through each bar -------------------------

def test_a_sudden_rise_under_half_again_its_best_still_warns():
    gru = _warnings(_GRU_WIKITEXT)
    assert gru and gru[0].evidence.get("sustained")


def test_a_tall_rise_of_noise_sized_steps_still_warns():
    lstm = _warnings(_LSTM_PACKED)
    assert lstm and lstm[0].evidence.get("sustained")


# -- (c) healthy and edge runs whose curve drifts stay silent ---------------------------------------

def test_a_healthy_wander_and_a_progressive_average_are_no_spike():
    for rel in (_RVSA_OSCD, _VW_OAA):
        assert not _warnings(rel), rel


def test_a_training_loss_creeping_up_for_twenty_epochs_is_no_spike():
    assert not _warnings(_AFN_KKBOX)
