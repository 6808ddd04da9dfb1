"""Rules from the stop-51 study of the benchmark (issue 9), each on a real log read in place, with
real twins:

- readers: a verb between a key and its separator ("epoch is: 3, eval success rate is: 89.000",
  MAML's evaluation prints) is no part of the key's name.
"""

from __future__ import annotations

import numpy as np
from bench_logs import real_log
from trained_digits import warned

import lrdoctor


def test_a_verb_before_the_separator_is_not_part_of_the_name():
    # cbfinn/maml #86: "epoch is: 1, eval success rate is: 89.000" for 24 epochs. Unread, the
    # log was refused ("no training metric recognised": eval_success_rate_is, epoch_is)
    report = lrdoctor.diagnose(real_log("fresh645/maml-meta-rl-success-collapse/eval.log"))
    run = report.run
    assert run.meta.step_column == "epoch"
    s = run.series("success_rate")
    assert s is not None and s.values.size == 24
    assert s.values[1] == 89.0 and s.values[-1] == 19.0 and s.steps[-1] == 23
    # the success rate fell from 89 to 16-24 over the last epochs: a reversal, found
    assert "performance_reversal" in warned(report)


def test_a_verb_in_a_name_written_without_a_separator_stays(tmp_path):
    # the twin: "is" inside a key that has no separator after it, and a one-word key "is" itself,
    # keep their words; only the verb right before ":" or "=" goes
    log = tmp_path / "train.log"
    log.write_text("".join(f"step {i}: loss is: {2.0 / (i + 1):.4f}, this_is_acc = {0.1 * i:.2f}\n" for i in range(6)))
    run = lrdoctor.read(log)
    assert np.allclose(run.series("loss").values, [2.0 / (i + 1) for i in range(6)], atol=1e-4)
    assert "this_is_acc" in run.names and "loss_is" not in run.names
