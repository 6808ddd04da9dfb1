"""Stop 81's change to ``divergence``, on synthetic series, real logs read in place and a healthy twin.

**The few-point rules' relative floor is measured on the perplexity a log prints** (``floor_on_printed_scale``):
where the log prints only a perplexity, the reader derives the loss as its logarithm, and ``relative_floor``
(10% of |best|) applied to that logarithm asked a perplexity 1.5x its best at a loss of 4.1 nats. The floor
is a materiality of the quantity the user reads: 10% of the perplexity, ``log1p(0.10)`` = 0.095 nats at any
level. A loss the log prints keeps the 10% of itself."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from bench_logs import real_findings, real_log
from trained_digits import write_lines

import lrdoctor
from lrdoctor.detect import divergence
from lrdoctor.detect._common import derived_from_perplexity
from lrdoctor.detect.divergence import DEFAULTS, floor_on_printed_scale, rising_tail
from lrdoctor.finding import Severity

torch.set_num_threads(1)

#: GPT-2 fine-tuned on PTB with DeepSpeed as the warm-up raised the LR: validation perplexity 61.7 -> 90.8
_GPT2_PTB = "fresh32/deepspeed-dataeff-gpt2-ptb-ppl-rise/training_excerpt.log"
#: the same model and data, another run of the thread: its perplexity climbs 1.5x+ (found before, by the trend)
_GPT2_PTB_MYIMPL = "fresh32/deepspeed-randomltd-gpt2-ptb-myimpl/train_my_implementation.log"
#: a healthy OpenNMT run printing per-iteration perplexity that ends on a few higher prints (21.5 -> 28.8)
_OPENNMT_HEALTHY = "fresh17/opennmt-issue431-epoch2/issue431.log"

#: a perplexity climbing at every report from its best: 60 -> 71.4, +19%, a loss only 4.2% above its best
_PPL_CLIMB = [64.0, 62.0, 60.0, 61.5, 63.5, 66.0, 68.5, 71.4]


def _log(tmp_path: Path, column: str, values) -> lrdoctor.Run:
    rows = [f"step,{column}"] + [f"{10 * (i + 1)},{v}" for i, v in enumerate(values)]
    return lrdoctor.read(write_lines(tmp_path / "log.csv", rows))


def _div(run: lrdoctor.Run) -> list:
    return [f for f in divergence.detect(run) if f.severity.rank >= 1]


# -- the arithmetic ----------------------------------------------------------------------------------------


def test_the_floor_on_a_derived_loss_is_ten_percent_of_the_perplexity(tmp_path):
    """A log printing only ``ppl``: its loss is ln ppl, and the floor is log1p(0.10) nats over the lowest
    loss, so a rise clears it exactly when the perplexity rose more than 10% above its best."""
    run = _log(tmp_path, "ppl", _PPL_CLIMB)
    assert derived_from_perplexity(run, "loss")
    x = run.series("loss").finite().values
    floor = floor_on_printed_scale(run, "loss", x, DEFAULTS.relative_floor)
    assert math.isclose(floor * x.min(), math.log1p(DEFAULTS.relative_floor))
    assert floor < DEFAULTS.relative_floor
    # the climb: at 10% of the loss it is no climb (4.2% above its best), at 10% of the perplexity it is
    assert rising_tail(x, DEFAULTS.few_rises, DEFAULTS.relative_floor) is None
    assert rising_tail(x, DEFAULTS.few_rises, floor) == (2, 3)


def test_a_perplexity_climbing_at_every_report_is_a_divergence_warning(tmp_path):
    found = _div(_log(tmp_path, "ppl", _PPL_CLIMB))
    assert [f.severity for f in found] == [Severity.WARNING]
    assert found[0].evidence["best_loss"] == np.log(60.0)


def test_a_printed_loss_keeps_ten_percent_of_itself(tmp_path):
    """The same numbers printed as the loss (ln of the perplexities above): the user reads a loss 4.2% above
    its best, below the 10% floor, and nothing is reported; the floor is the printed loss's own."""
    run = _log(tmp_path, "loss", [math.log(v) for v in _PPL_CLIMB])
    assert not derived_from_perplexity(run, "loss")
    x = run.series("loss").finite().values
    assert floor_on_printed_scale(run, "loss", x, DEFAULTS.relative_floor) == DEFAULTS.relative_floor
    assert _div(run) == []


def test_a_perplexity_that_rose_under_ten_percent_is_no_climb(tmp_path):
    """60 -> 65.4 at every report (+9%): below 10% of the perplexity, silent."""
    assert _div(_log(tmp_path, "ppl", [64.0, 62.0, 60.0, 61.0, 62.2, 63.5, 64.4, 65.4])) == []


# -- real logs ---------------------------------------------------------------------------------------------


def test_gpt2_on_ptb_whose_perplexity_climbed_with_the_warm_up_is_found():
    """Validation perplexity 61.71, 61.77, 62.25, ... 86.24, 90.79 at every report (+47%): its logarithm
    4.122 -> 4.509 is only 9.4% above its best, under the 10% a printed loss is asked."""
    found = real_findings(_GPT2_PTB, "divergence")
    assert found and found[0].severity is Severity.WARNING
    assert found[0].evidence["final_loss"] / found[0].evidence["best_loss"] < 1 + DEFAULTS.relative_floor
    assert math.exp(found[0].evidence["final_loss"] - found[0].evidence["best_loss"]) > 1 + DEFAULTS.relative_floor
    ev = found[0].evidence  # the evidence says on which scale the floor was read
    assert "perplexity" in ev["rule"] and math.isclose(ev["relative_floor"] * 4.12238, math.log1p(0.1), rel_tol=1e-4)


def test_the_other_gpt2_ptb_run_still_reads_as_before():
    """The thread's other run climbs 1.5x in perplexity: the floor is no part of why it is found."""
    run = lrdoctor.read(real_log(_GPT2_PTB_MYIMPL))
    assert derived_from_perplexity(run, "loss")
    found = real_findings(_GPT2_PTB_MYIMPL, "divergence")
    assert found and found[0].severity is Severity.ERROR


def test_a_healthy_perplexity_log_ending_on_higher_prints_stays_silent():
    """OpenNMT per-iteration perplexity, a healthy run: its last prints are higher than its best (21.5 ->
    28.8, the loss 3.07 -> 3.36) but they scatter up and down, no climb at every report and no trend."""
    run = lrdoctor.read(real_log(_OPENNMT_HEALTHY))
    assert derived_from_perplexity(run, "loss")
    assert real_findings(_OPENNMT_HEALTHY, "divergence") == []
