"""Readers of stop 77: two console shapes the text reader refused.

* **CatBoost 0.x's console** (``named._catboost_legacy``): ``0:      learn 0.6355974416passed: 17.4 sec
  total: 3m 13s  remaining: 3h 42m 6s``. Old CatBoost printed ``learn`` without a colon and ran its
  value into ``passed:``, so the general rules read the iteration time alone and the run was refused
  ("no training metric recognised"). The round and the learn value are read; the lone ``learn`` is the
  training loss, as the ``learn:`` of later versions.
* **"dev" as a bare split name** (``records.BARE_SPLITS``): ``Epoch  1: train = -3.6581 | dev = -5.9427``
  (funcwj's Conv-TasNet trainer; "dev" is the held-out split of Kaldi, ESPnet and GLUE). Before,
  "train" stood alone among the bare split names and was left unnamed; now the two columns are one
  metric per split, named by the existing rule (losses when the training one falls).
"""

from __future__ import annotations

from bench_logs import real_log

import lrdoctor
from lrdoctor.io.textlog import parse_lines

_CATBOOST_274 = "fresh16/catboost-issue274-learn/issue274.log"  # healthy
_CONVTASNET = "fresh802/funcwj-convtasnet-bn-issue1/paste.log"  # edge (one dev-loss spike, epoch 8)


def test_catboost_legacy_line_arithmetic():
    """(a) The round and the learn value come out of the glued ``...416passed:`` field; the times are no metric."""
    lines = ["Borders generated",
             "0:      learn 0.6355974416passed: 17.4 sec      total: 3m 13s   remaining: 3h 42m 6s",
             "1:      learn 0.5855715797passed: 17.5 sec      total: 3m 30s   remaining: 1h 59m 20s"]
    records, _ = parse_lines(lines, "<catboost>")
    got = [r for r in records if "learn" in r]
    assert [r["boosting_round"] for r in got] == [0.0, 1.0]
    assert [r["learn"] for r in got] == [0.6355974416, 0.5855715797]
    assert all("passed" not in r for r in got)


def test_catboost_legacy_real_log_reads_learn_as_loss():
    """(b) CatBoost issue 274's console is read: 14 rounds, the learn value the training loss."""
    run = lrdoctor.read(real_log(_CATBOOST_274))
    assert run.meta.roles["loss"] == "learn_loss"
    loss = run.series("loss")
    assert loss.values.size == 14
    assert loss.steps[0] == 0 and loss.steps[-1] == 13
    assert abs(loss.values[0] - 0.6355974416) < 1e-12 and abs(loss.values[-1] - 0.2893642169) < 1e-12


def test_catboost_legacy_healthy_run_stays_silent():
    """(c) The healthy CatBoost fit (loss 0.636 -> 0.289 over 14 rounds) gets no finding."""
    report = lrdoctor.diagnose(real_log(_CATBOOST_274))
    assert report.findings == []


def test_dev_is_a_bare_split_arithmetic():
    """(a) ``train`` and ``dev`` printed bare are one metric per split: losses, as the training one falls."""
    lines = [f"Epoch {i}: train = {v:.4f} | dev = {v + 0.3:.4f}" for i, v in enumerate([3.0, 2.5, 2.0, 1.5, 1.2, 1.0], 1)]
    records, _ = parse_lines(lines, "<dev>")
    assert {"train", "dev"} <= set(records[0])
    from lrdoctor.io.records import records_to_run
    from lrdoctor.run import RunMeta

    run = records_to_run(records, RunMeta(source="<dev>", format="text-log"))
    assert run.meta.roles.get("loss") == "train_loss"
    assert run.meta.roles.get("eval_loss") == "dev_loss"


def test_convtasnet_train_dev_read_as_losses():
    """(b) funcwj's Conv-TasNet log: the negative SI-SNR losses of both splits, by epoch, the dev spike at epoch 8 kept."""
    run = lrdoctor.read(real_log(_CONVTASNET))
    assert run.meta.roles["loss"] == "train_loss" and run.meta.roles["eval_loss"] == "dev_loss"
    ev = run.series("eval_loss")
    assert list(ev.steps[:3]) == [1, 2, 3] and ev.values.size == 22
    assert ev.values[7] == -6.0468 and ev.values[6] == -12.2956


def test_convtasnet_edge_run_gets_no_false_finding():
    """(c) The edge run (a normal curve with one dev spike that recovers) gets no error and no false kind."""
    report = lrdoctor.diagnose(real_log(_CONVTASNET))
    assert {f.kind for f in report.findings} <= {"loss_spike"}
    assert not [f for f in report.findings if f.severity.name == "ERROR"]
