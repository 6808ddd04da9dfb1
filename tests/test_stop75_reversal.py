"""performance_reversal of stop 75: an error rate that rose from its best and stays up, on really
trained runs, their twins and real logs read in place.

**An error rate 1.25x its best at every evaluation from some point on is a reversal.** An error rate
(WER, CER, ErrorRate) was a reversal only when it passed an empty output's 100% or stayed at twice its
best. A loss of a fifth of a score's level is a reversal on the score's side (``min_gain_share``);
the same distance in the log domain, read upwards on an error rate, is 1.25x its best
(``error_stay_factor``), held at the last ``few_falls`` evaluations or more and clear of their log
scatter (Whisper-small on Dutch: WER 19.8, then 35.5, 43.2, 37.5 while both losses fell). A best at or
past an empty output's error rate is no learned level to lose.

**Beside an overfitting, the reversal stays folded into it.** A reversal that peaked at or after
the evaluation-loss minimum of an overfitting finding is dropped as its symptom (one cause, one
finding). Keeping a fall measured by a factor of the best as its own finding gained 7 labelled
reversals and 2 false ones on the studied logs, but 0 and 3 on this stop's 249 blind logs, whose
labellers read a WER that worsens as the validation loss rises as part of the overfitting."""

from __future__ import annotations

from pathlib import Path

import torch
from bench_logs import real_log
from trained_digits import digits_mlp, held_out_loss, noisy_label_fit, write_lines

import lrdoctor
from lrdoctor.finding import Severity

torch.set_num_threads(1)

_WHISPER_DUTCH = "fresh694/hannatoenbreker-whisper-dutch-small/training_results.md"
_WHISPER_VI = "fresh266/joey234-whisper-small-vi/training_results.md"
_WHISPER_PASHTO = "fresh521/ihanif-whisper-tiny-ps/training_results.md"


def _error_rate_card(tmp_path: Path, noise: float, eval_loss: bool = False) -> str:
    """Fit the 64-256-10 digits MLP with Adam on 300 digits of which a share ``noise`` carry a random
    label (``noisy_label_fit``, 6 updates an epoch) for 100 epochs, and write an HF card's table with
    a row every 10 epochs: the epoch's mean training loss, the held-out error rate in percent (the
    share of the clean digits from 1400 on that it gets wrong) and, with ``eval_loss``, the held-out
    loss before it (a card that logs only its task metric, as a WER table beside a training loss)."""
    x, y, _ = digits_mlp(0)
    head = "Training Loss | Epoch | Step | " + ("Validation Loss | " if eval_loss else "") + "Error Rate |"
    lines = [head, "---|" * head.count("|")]
    for epoch, train, model in noisy_label_fit(noise, 100):
        if epoch % 10 == 0:
            with torch.no_grad():
                wrong = (model(x[1400:]).argmax(1) != y[1400:]).float().mean().item()
            held = f"{held_out_loss(model, x, y):.4f} | " if eval_loss else ""
            lines.append(f"{train:.4f} | {epoch:.1f} | {6 * epoch} | {held}{100 * wrong:.2f} |")
    return write_lines(tmp_path / "README.md", lines)


def _reversal(report):
    return [f for f in report.findings if f.kind == "performance_reversal"]


def test_an_error_rate_that_stays_a_quarter_above_its_best_is_a_reversal(tmp_path):
    """30% noisy labels: the held-out error rate is best at the first row (about 22%) and climbs to
    about 37% as the noise is memorised, less than twice its best; the card logs no held-out loss,
    so the warning, which names the best as the checkpoint to keep, is the only reading of it."""
    run = lrdoctor.read(_error_rate_card(tmp_path, noise=0.3))
    e = run.series("error_rate").values
    assert e.argmin() == 0 and 1.25 * e[0] < e[-1] < 2 * e[0]
    report = lrdoctor.diagnose(run)
    [f] = _reversal(report)
    assert f.severity is Severity.WARNING and f.start_step == 60.0 and f.evidence["peak"] == e[0]
    assert "stayed at least 1.25x the best" in f.summary


def test_an_error_rate_that_holds_near_its_best_is_no_reversal(tmp_path):
    """The twin on clean labels: the error rate falls to about 12% and holds within a few digits of
    its best to the end, though its held-out loss drifts up as it grows confident."""
    run = lrdoctor.read(_error_rate_card(tmp_path, noise=0.0))
    e = run.series("error_rate").values
    assert e[-1] < 1.25 * e.min()
    assert _reversal(lrdoctor.diagnose(run)) == []


def test_the_dutch_whisper_card_is_a_reversal():
    """The card read in place: WER 19.83 at step 1000, then 35.46, 43.19, 37.51 while the training and
    validation losses both fell; no overfitting to explain it, and under twice the best."""
    [f] = _reversal(lrdoctor.diagnose(real_log(_WHISPER_DUTCH)))
    assert f.start_step == 1000.0 and f.evidence["peak"] == 19.8254
    assert f.evidence["rise_factor"] > 1.25


def test_the_same_rise_beside_an_overfitting_is_the_overfitting(tmp_path):
    """The noisy-label run's card with its held-out loss: the loss rises from the same first row, so
    the error rate's climb is the overfitting's symptom, one finding (the Vietnamese Whisper card
    likewise: WER 21.77, then 28.97-34.44, while the validation loss rose 0.80 -> 0.99)."""
    report = lrdoctor.diagnose(lrdoctor.read(_error_rate_card(tmp_path, noise=0.3, eval_loss=True)))
    assert "overfitting" in {g.kind for g in report.findings} and _reversal(report) == []
    vi = lrdoctor.diagnose(real_log(_WHISPER_VI))
    assert "overfitting" in {g.kind for g in vi.findings} and _reversal(vi) == []


def test_an_error_rate_whose_best_is_past_an_empty_output_is_no_reversal():
    """Whisper-tiny on Pashto: WER 369 at its best, 408-497 after: it never had a learned level."""
    assert _reversal(lrdoctor.diagnose(real_log(_WHISPER_PASHTO))) == []


def test_the_watch_of_an_error_rate_held_above_its_best_names_the_factor():
    """The prescription watches for the factor the finding measured, not for 100% (which the Dutch
    card's WER, 37.5 at the end, never reached)."""
    [f] = _reversal(lrdoctor.diagnose(real_log(_WHISPER_DUTCH)))
    [watch] = f.watch
    assert watch.trouble.startswith(f">= {f.evidence['rise_factor']:.3g}x its best")
