"""Readers and rules from the stop-23 study of the benchmark (issue 9), each on a real public log
with a twin where one can be made:

- readers: flair's ModelTrainer log ("epoch 28 - iter 1/1 - loss ...", "EPOCH 28 done: loss
  15.2876 - lr 0.0016", "DEV : loss 10.32 - score 0.0"): a label before the pair, and a
  within-epoch counter that never moves; HTML tables (HF Trainer's notebook progress table, a
  DataFrame's to_html), with evaluate's dict in a cell;
"""

import numpy as np
import pytest
import torch

import lrdoctor
from bench_logs import real_log

torch.set_num_threads(1)


def _kinds(run) -> set[str]:
    return {f.kind for f in lrdoctor.diagnose(run).findings}


def test_real_flair_log_keeps_one_report_per_epoch_and_the_dev_loss():
    run = lrdoctor.read(real_log("fresh35/flair-1429-stuck-score-zero/training.log"))
    loss = run.series("loss").finite()
    # two epochs (28 and 29), each "iter 1/1": the counter within the epoch must not merge them
    assert loss.values.size == 2
    assert loss.values[0] == pytest.approx(15.2876, abs=1e-3) and loss.values[1] == pytest.approx(15.2855, abs=1e-3)
    ev = run.series("eval_loss").finite()
    assert ev.values.tolist() == pytest.approx([10.322088241577148, 10.319738388061523])


def test_flair_epoch_summaries_alone_read_as_loss_and_dev_loss(tmp_path):
    # the "EPOCH N done" and "DEV :" lines without the iteration lines (python logging's
    # "HH:MM:SS,mmm" timestamps give every line one comma: not a CSV)
    lines = []
    for e, (tr, dv) in enumerate([(0.91, 0.80), (0.62, 0.71), (0.45, 0.69)], start=1):
        lines += [f"2020-02-16 09:39:5{e},077 EPOCH {e} done: loss {tr:.4f} - lr 0.1000",
                  f"2020-02-16 09:39:5{e},143 DEV : loss {dv} - score 0.{e}"]
    p = tmp_path / "training.log"
    p.write_text("\n".join(lines) + "\n")
    run = lrdoctor.read(p)
    assert run.series("loss").values.tolist() == pytest.approx([0.91, 0.62, 0.45])
    assert run.series("eval_loss").values.tolist() == pytest.approx([0.80, 0.71, 0.69])
    assert run.series("lr").values.tolist() == pytest.approx([0.1, 0.1, 0.1])


def test_real_hf_notebook_html_table_reads_every_epoch():
    # HF Trainer's progress table in a notebook's saved output: <th>/<td> rows, and the metric
    # cell holds evaluate's dict ("{'accuracy': 0.9272}")
    run = lrdoctor.read(real_log("fresh48/dlm-distilbert-hf-imdb-trainer/trainer_output.html"))
    assert run.series("loss").values.tolist() == pytest.approx([0.2202, 0.1591, 0.1249])
    assert run.series("eval_loss").values.tolist() == pytest.approx([0.195231, 0.198446, 0.202979])
    assert run.series("eval_accuracy").values.tolist() == pytest.approx([0.9272, 0.9272, 0.9312])
    assert run.series("loss").steps.tolist() == [1, 2, 3]


def test_html_table_of_a_diverging_run_is_diagnosed(tmp_path):
    # the same table shape (DataFrame.to_html of a history), a loss that blows up by decades
    rows = "".join(f"<tr><td>{i}</td><td>{l}</td><td>{v}</td><td>{{'f1': 0.5, 'precision': 0.4}}</td></tr>\n"
                   for i, (l, v) in enumerate([(2.3, 2.2), (1.9, 1.8), (40.0, 38.0), (900.0, 870.0), (2e4, 2e4)], 1))
    p = tmp_path / "out.html"
    p.write_text("<table border='1'>\n<thead><tr><th>Step</th><th>Training Loss</th><th>Validation Loss</th>"
                 f"<th>Metrics</th></tr></thead>\n<tbody>\n{rows}</tbody></table>\n")
    run = lrdoctor.read(p)
    assert run.series("loss").values.tolist() == pytest.approx([2.3, 1.9, 40.0, 900.0, 2e4])
    assert run.series("eval_f1").values.tolist() == pytest.approx([0.5] * 5)  # a dict's keys are its columns
    assert "divergence" in _kinds(run)
