"""A change of stop 77 to ``divergence``, on its arithmetic and real logs read in place.

**A training loss that ends above where the log started.** A stable descent does not end above its
own start: gradient descent at a step size below the curvature's stability bound lowers the training
loss it follows, and a logged average over a window of steps carries little noise. When the training
loss, from some report to the end (three reports or more: a level), lies above every report before it
and more than ``relative_floor`` (10%) above its *first* report, keeps at least ``joint_hold`` (half)
of its climb at the end, and the evaluation loss also ends above its first evaluation, the run made
net negative progress on the data it fits and the held-out data agrees: a ``divergence`` warning
(``held_above_start``, the few-point ``start`` rule, tried after every rule that could call it an
error). A training loss above its start beside an evaluation loss that improved is the batch order's,
and stays silent (an edge T5 title generator and a healthy Mixtral fine-tune)."""

from __future__ import annotations

import numpy as np
from bench_logs import real_findings, real_log

import lrdoctor
from lrdoctor.detect.divergence import DEFAULTS, held_above_start
from lrdoctor.finding import Severity

_ROBERTA_FAKENEWS = "fresh1143/denyol-fakenews-roberta-large-grad/training_results.md"
_YEMEN_DFM = "fresh1243/yemen2016-dfm-nd/training_results.md"
_BERT_COVID = "fresh549/raychanan-bert-wwm-covid/training_results.md"
_T5_TITLES = "fresh472/fahmiaziz-t5-base-title-generator/training_results.md"
_MIXTRAL_GEN = "fresh897/cem13-mixtral-generation-0/training_results.md"


def _start(values: list[float]) -> tuple[int, int] | None:
    return held_above_start(np.asarray(values), DEFAULTS.relative_floor, DEFAULTS.start_level, DEFAULTS.joint_hold)


def test_a_loss_held_above_its_first_report_is_found_from_its_onset():
    assert _start([0.39, 0.72, 0.70, 0.70, 0.69]) == (0, 1)
    # the best before the onset is the lowest report before it, not the first
    assert _start([0.32, 0.22, 0.52, 0.61, 0.61]) == (1, 2)


def test_a_short_excursion_a_recovery_or_a_descent_is_not():
    assert _start([0.40, 0.41, 0.60, 0.62]) is None  # two reports above the start: no level
    assert _start([0.25, 0.16, 1.10, 1.09, 0.58, 0.54, 0.34]) is None  # gave back most of its climb
    assert _start([1.0, 0.8, 0.7, 0.65, 0.6]) is None  # a descent
    assert _start([0.40, 0.43, 0.43, 0.43, 0.43]) is None  # within 10% of the start
    assert _start([0.40, 0.60, 0.30, 0.60, 0.60]) is None  # a later report fell below the level before




def test_the_roberta_fake_news_card_that_rose_to_chance_diverges():
    found = real_findings(_ROBERTA_FAKENEWS, "divergence")
    assert found and found[0].severity is Severity.WARNING
    assert "first report" in found[0].summary


def test_the_yemen_dfm_card_whose_loss_stayed_above_its_start_diverges():
    found = real_findings(_YEMEN_DFM, "divergence")
    assert found and found[0].severity is Severity.WARNING


def test_the_covid_bert_card_whose_loss_climbed_above_its_start_diverges():
    found = real_findings(_BERT_COVID, "divergence")
    assert found and found[0].severity is Severity.WARNING


def test_healthy_twins_above_their_start_with_an_improving_evaluation_stay_silent():
    for rel in (_T5_TITLES, _MIXTRAL_GEN):
        run = lrdoctor.read(real_log(rel))
        x = run.series("loss").finite().values
        assert _start(list(x)) is not None  # the training loss alone has the shape
        assert not [f for f in lrdoctor.diagnose(run).findings if f.kind == "divergence" and f.severity.rank >= 1]
