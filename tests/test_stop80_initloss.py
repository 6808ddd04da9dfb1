"""A change of stop 80 to ``initial_loss_anomaly``, on synthetic logs and real logs read in place.

**An epoch's mean loss followed by a higher one is not judged as the start.** On an epoch axis the
first report is the mean of the whole first epoch, and it stands for the loss at initialisation only
as a lower bound: a mean is at most the value it started from while the loss falls through the
epoch, which the next epoch's lower mean shows. When the next epoch's mean is higher the loss was
rising, and a high first mean may be the start of that climb (COVID-Net on two classes: 6,443 at
epoch 1, then 39,659 and 122,188, a blow-up ``divergence`` reports), so it is no evidence of a bad
start. No threshold: the order of the first two reports. A per-step first report (the loss of a few
batches) is judged as before."""

from __future__ import annotations

from pathlib import Path

import lrdoctor
from bench_logs import real_log
from lrdoctor.detect.initial_loss_anomaly import _epoch_mean_bounds_start
from lrdoctor.detect._common import objective

_COVIDNET = "fresh175/covidnet-211-cxr2-loss-explodes/paste.txt"
_KERAS_STUCK = "fresh/keras-keras-issue2392-stuck/issue2392.log"
_MNIST_HUGE = "fresh839/mnist-dense-huge-loss/paste.log"
_HEART = "fresh15/kerasio-structured-heart-saturated/fit.log"


def _initial(path: Path, k: int | None) -> tuple[list, list[str], str | None]:
    run = lrdoctor.read(path, config={"num_classes": k} if k else None)
    report = lrdoctor.diagnose(run)
    found = [f for f in report.findings if f.kind == "initial_loss_anomaly"]
    return found, [f.kind for f in report.findings], report.coverage.skipped.get("initial_loss_anomaly")


def _keras_log(tmp_path: Path, losses: list[float]) -> Path:
    """A Keras fit() log of one row per epoch with the given training losses."""
    lines = []
    for i, loss in enumerate(losses, 1):
        lines += [f"Epoch {i}/{len(losses)}",
                  f"100/100 [==============================] - 1s 10ms/step - loss: {loss:.4f} - accuracy: 0.5000"]
    path = tmp_path / "fit.log"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_an_epoch_mean_below_the_next_one_does_not_bound_the_start(tmp_path):
    """Two classes (ln 2 = 0.69): 5.72 at epoch 1 is 8x ln 2, but epoch 2's mean, 6.10, is higher, so
    the loss was not falling from a high start; the same first mean before a lower second one is."""
    rising = _keras_log(tmp_path, [5.72, 6.10, 6.50, 6.90])
    run = lrdoctor.read(rising, config={"num_classes": 2})
    assert run.meta.step_unit == "epoch" and not _epoch_mean_bounds_start(run, objective(run))
    found, _, skipped = _initial(rising, 2)
    assert found == [] and skipped is None
    falling = _keras_log(tmp_path, [5.72, 0.69, 0.60, 0.55])
    run = lrdoctor.read(falling, config={"num_classes": 2})
    assert _epoch_mean_bounds_start(run, objective(run))
    found, _, _ = _initial(falling, 2)
    assert len(found) == 1 and abs(found[0].evidence["first_loss"] - 5.72) < 1e-9


def test_a_per_step_first_report_is_judged_whatever_follows(tmp_path):
    """A per-step log (a report every step from step 0): the first report is the loss of a batch, not a
    mean over a climb, and is judged as before even when step 1 is higher."""
    path = tmp_path / "train.csv"
    path.write_text("step,loss\n" + "".join(f"{i},{v}\n" for i, v in enumerate([9.0, 9.5, 3.0, 1.0, 0.8, 0.7])))
    run = lrdoctor.read(path, config={"num_classes": 2})
    assert run.meta.step_unit != "epoch" and _epoch_mean_bounds_start(run, objective(run))
    found, _, _ = _initial(path, 2)
    assert len(found) == 1 and found[0].start_step == 0.0


def test_covidnet_blow_up_is_divergence_not_a_bad_start():
    """COVID-Net CXR-2, two classes (config), labelled divergence: 6,443 at epoch 1, then 39,659 and
    122,188. The first epoch's mean was reported as a start 9,296x ln 2 before; the loss climbs
    from it, and only ``divergence`` remains."""
    found, kinds, skipped = _initial(real_log(_COVIDNET), 2)
    assert found == [] and skipped is None and "divergence" in kinds


def test_keras_stuck_binary_classifier_is_not_a_bad_start():
    """A Keras binary classifier (config: 2 classes) labelled slow_progress, its loss stuck at 5.7178
    then 5.7257 for every later epoch: the second mean is not lower, so the first is no bound on the
    start, and only the stall is reported."""
    found, kinds, skipped = _initial(real_log(_KERAS_STUCK), 2)
    assert found == [] and skipped is None and "slow_progress" in kinds


def test_epoch_means_that_fall_keep_their_finding():
    """Twins of the same shape (Keras, one row per epoch, a first mean far above ln K) whose second
    mean is lower, both labelled initial_loss_anomaly: a dense MNIST net at 315 on 10 classes, and the
    saturated heart-disease classifier at 7.98 on 2. Their findings stay."""
    for rel, k in ((_MNIST_HUGE, 10), (_HEART, 2)):
        run = lrdoctor.read(real_log(rel), config={"num_classes": k})
        assert run.meta.step_unit == "epoch" and _epoch_mean_bounds_start(run, objective(run)), rel
        found, _, _ = _initial(real_log(rel), k)
        assert len(found) == 1 and found[0].evidence["ratio"] > 5, rel

