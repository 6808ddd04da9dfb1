"""Stop 81, the rolling median's edges (the edges pool).

**A sustained rise whose padded tail came back is a recovered loss spike**
(``loss_spike._came_back``). The trend's last ``window // 2`` points copy the median of the last
full window (``_stats.rolling_median``), so a rise inside that window is carried to the end of the
trend whatever the last reports did. ``divergence`` already declines such a rise when every report
of the padded tail is back within its threshold (``divergence.padded_tail_came_back``: "a transient,
reported by loss_spike"), but ``loss_spike`` only took sustained rises that ended before the log did,
so the rise fell between the two detectors: the spike was reported from its peak alone, against
the padded level the spike itself set (OLMo-1B fine-tuned: 2.166 "against a trend of 0.9982", the
padded copy of the spike's own report, and onset at the peak). Now the rise counts as the recovered
transient it is, measured from the level before it and from its onset.
"""

from __future__ import annotations

import numpy as np
from bench_logs import real_findings, real_log
from series_helpers import columns_run, findings_of

import lrdoctor
from lrdoctor.detect._trend import trend
from lrdoctor.detect.divergence import DEFAULTS as DIV
from lrdoctor.detect.divergence import above_best, padded_tail_came_back, sustained_rises

# unhealthy, labelled loss_spike at 120 (and plateau): train 0.15 flat, then 0.2446, 0.2972, 2.1659,
# 0.9982 at steps 120-150, back to 0.1558 by 170; the padded trend ends at the spike's 0.9982
_OLMO_SPIKE = "fresh889/litzy619-olmo1b-o0503hma10/training_results.md"

# a flat loss, a four-report blow-up in the last full window, then two reports back at the level
_FLAT_THEN_LATE_SPIKE = [0.150, 0.152, 0.149, 0.151, 0.150, 0.148, 0.151, 0.149, 0.150, 0.152, 0.150,
                         0.240, 0.300, 2.170, 1.000, 0.163, 0.156]


def _rises_to_the_end(loss: list[float]) -> tuple[bool, list[tuple[int, int]]]:
    t = trend(columns_run(loss=loss).series("loss"))
    above, rise, thr = above_best(t, DIV)
    return padded_tail_came_back(t, rise, thr), [(a, b) for a, b in sustained_rises(t, DIV, above) if b == t.n]


def test_a_rise_carried_to_the_end_by_the_padded_tail_came_back() -> None:
    came_back, to_end = _rises_to_the_end(_FLAT_THEN_LATE_SPIKE)
    assert to_end and came_back  # the trend's copied tail stays up; the two reports there are back


def test_a_rise_still_up_at_the_last_reports_did_not_come_back() -> None:
    still_up = _FLAT_THEN_LATE_SPIKE[:-2] + [0.9, 0.95]
    came_back, to_end = _rises_to_the_end(still_up)
    assert to_end and not came_back


def test_the_late_spike_is_measured_from_its_onset_and_the_level_before_it() -> None:
    run = columns_run(loss=_FLAT_THEN_LATE_SPIKE)
    (f,) = findings_of(lrdoctor.diagnose(run), "loss_spike")
    assert f.evidence.get("sustained") == 1
    assert f.start_step == 12.0  # the rise's first report, not the peak (step 14)
    assert f.evidence["largest"]["trend"] < 0.16  # the level before the rise, not the padded 1.0


def test_olmo_spike_onset_is_the_labelled_one() -> None:
    (f,) = real_findings(_OLMO_SPIKE, "loss_spike")
    assert f.start_step == 120.0  # labelled onset 120 (the peak is at 140)
    assert f.evidence.get("sustained") == 1
    assert f.evidence["largest"]["trend"] < 0.16  # the 0.15 plateau, not the padded 0.9982


def test_a_late_rise_still_up_at_the_end_is_no_loss_spike() -> None:
    run = columns_run(loss=_FLAT_THEN_LATE_SPIKE[:-2] + [0.9, 0.95])
    assert all(f.evidence.get("sustained") is None for f in findings_of(lrdoctor.diagnose(run), "loss_spike"))


# healthy: a batch-size-1 LoRA whose training loss swings 0.36-0.90; its trend rises to the end
# (a sustained rise reaching the last report) and the padded tail's reports did not come back
_PHI3_LORA_HEALTHY = "fresh775/codephi3-128k-appslora3k/training_results.md"


def test_healthy_twin_a_rise_to_the_end_that_did_not_come_back_stays_silent() -> None:
    t = trend(lrdoctor.read(real_log(_PHI3_LORA_HEALTHY)).series("loss"))
    above, rise, thr = above_best(t, DIV)
    assert any(b == t.n for _, b in sustained_rises(t, DIV, above))  # the shape the rule reads
    assert not padded_tail_came_back(t, rise, thr)
    assert real_findings(_PHI3_LORA_HEALTHY, "loss_spike") == []
