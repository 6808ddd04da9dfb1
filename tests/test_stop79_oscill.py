"""oscillation (stop 79): a loss spike inside an oscillating stretch is one of its swings.

**One cause, one finding.** ``oscillation`` counts a spike and its return as one swing each way and
calls the repeat of such swings an oscillation; ``loss_spike`` reports a transient of an otherwise
stable run. When both fire and the spike's whole span (first to last spike) lies inside the
oscillation's stretch, the spike is one of the oscillation's swings, and the step at the edge of
stability that the oscillation names explains it: ``filter_findings`` keeps the oscillation and
drops the spike (``detect._oscillation_explains``), as it keeps overfitting and drops the score
reversal it explains. A spike outside the stretch, or one at a higher severity than the
oscillation, is its own event and stays. No threshold: inside the stretch, or not.

The arithmetic on findings built by hand, then real logs of the benchmark read in place."""

from __future__ import annotations

import lrdoctor
from bench_logs import real_log

from lrdoctor.detect import SPECS, filter_findings
from lrdoctor.finding import Finding, Severity

# both fired on one event: the spike lies inside the oscillation's stretch
_CONVNEXT_BREAKHIS = "fresh615/alm-convnextv2-breakhis-shuffled/training_results.md"  # labelled loss_spike
_CLINICAL_BERT = "fresh406/hf-bioclinicalbert-npark95/training_results.md"  # labelled overfitting, oscillation
_NEURALPROPHET = "fresh299/np-untitled-ar100-validate/Untitled_cell3_metrics.txt"  # labelled loss_spike
# edge twin: a validation loss that jumps and comes back several times, with no oscillation finding
_W2V2_LIBRI_EDGE = "fresh246/w2v2-libri-train100-12896305417/training_results.md"  # labelled loss_spike


def _finding(kind: str, start: float, end: float, severity: Severity = Severity.WARNING) -> Finding:
    return Finding(kind, severity, start, end, f"{kind} {start}-{end}")


def _kinds(findings: list[Finding]) -> list[str]:
    return [f.kind for f in findings]


def _raw_and_reported(rel: str) -> tuple[list[str], list[str]]:
    """The kinds the oscillation and loss_spike detectors raise on the benchmark log ``rel`` before
    the filter, and the kinds ``diagnose`` reports after it."""
    run = lrdoctor.read(real_log(rel))
    raw = [f.kind for k in ("oscillation", "loss_spike") for f in SPECS[k].detect(run, SPECS[k].defaults)]
    return raw, _kinds(lrdoctor.diagnose(run).findings)


# -- (a) the arithmetic ---------------------------------------------------------------------------

def test_a_spike_inside_the_stretch_is_dropped():
    """An oscillation from step 10 to 50 and a spike from 20 to 30: the spike is one of its swings."""
    osc, spike = _finding("oscillation", 10, 50), _finding("loss_spike", 20, 30)
    assert _kinds(filter_findings([osc, spike])) == ["oscillation"]
    # the ends count as inside: a spike at the oscillation's last swing (a ConvNeXt-V2 card's 2587)
    assert _kinds(filter_findings([_finding("oscillation", 1791, 2587), _finding("loss_spike", 2587, 2587)])) == ["oscillation"]


def test_a_spike_outside_or_across_the_stretch_stays():
    """A spike after the stretch, or one that starts before it, is its own event."""
    osc = _finding("oscillation", 10, 50)
    assert _kinds(filter_findings([osc, _finding("loss_spike", 60, 60)])) == ["oscillation", "loss_spike"]
    assert _kinds(filter_findings([osc, _finding("loss_spike", 5, 30)])) == ["oscillation", "loss_spike"]
    assert _kinds(filter_findings([_finding("loss_spike", 20, 30)])) == ["loss_spike"]


def test_a_spike_above_the_oscillations_severity_stays():
    """An error-level spike says more than a warning-level oscillation: it is kept beside it."""
    found = filter_findings([_finding("oscillation", 10, 50), _finding("loss_spike", 20, 30, Severity.ERROR)])
    assert _kinds(found) == ["oscillation", "loss_spike"]


# -- (b) real logs where both fired on one event ------------------------------------------------------

def test_convnext_validation_swings_with_their_largest_swing():
    """ConvNeXt-V2 on BreakHis (labelled loss_spike): the validation loss swings 0.054, 0.088, 0.138,
    0.051, 0.083, 0.040, 0.347, 0.085 from step 1791 to 2587, two up and two down; its jump to 0.347
    at 2587 is the last of those swings. Both detectors fire; one finding is reported, the
    oscillation, which the benchmark counts for a labelled loss_spike."""
    raw, reported = _raw_and_reported(_CONVNEXT_BREAKHIS)
    assert "oscillation" in raw and "loss_spike" in raw
    assert "oscillation" in reported and "loss_spike" not in reported


def test_clinical_bert_training_spike_inside_validation_swings():
    """A clinical BERT card (labelled overfitting and oscillation): the validation loss swings from
    step 216 to 360 (three up, two down) and the training loss's one spike at step 288 lies inside
    that stretch. The spike was a false finding beside the labelled oscillation; it is now dropped."""
    raw, reported = _raw_and_reported(_CLINICAL_BERT)
    assert "oscillation" in raw and "loss_spike" in raw
    assert "oscillation" in reported and "overfitting" in reported and "loss_spike" not in reported


def test_neuralprophet_swings_around_its_blow_up():
    """NeuralProphet (labelled loss_spike): the SmoothL1 loss swings ±50% around its trend from epoch 2
    to 18 and the spike reported over epochs 6-12 lies inside that stretch: one finding."""
    raw, reported = _raw_and_reported(_NEURALPROPHET)
    assert "oscillation" in raw and "loss_spike" in raw
    assert "oscillation" in reported and "loss_spike" not in reported


# -- (c) the edge twin: spikes with no oscillation keep their finding --------------------------------------

def test_spikes_without_an_oscillation_keep_their_finding():
    """wav2vec2 on LibriSpeech train-100 (edge, labelled loss_spike): the validation loss jumps to
    0.713, 0.408, 0.342, 0.775, 0.588 and comes back each time, with no oscillation finding: the
    spike finding stays, at its severity."""
    raw, reported = _raw_and_reported(_W2V2_LIBRI_EDGE)
    assert "oscillation" not in raw and "loss_spike" in raw
    assert "loss_spike" in reported
    spikes = [f for f in lrdoctor.diagnose(lrdoctor.read(real_log(_W2V2_LIBRI_EDGE))).findings if f.kind == "loss_spike"]
    assert spikes[0].severity is Severity.WARNING
