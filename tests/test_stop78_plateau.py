"""Stop 78's plateau cost bar for the frozen rules, on synthetic tables, real logs read in place and a twin.

**A frozen stretch after learning is a plateau only when it held for ``patience_fraction`` of the
reports.** The frozen rules (an evaluation or a training loss that prints one value after the run
learned) reported a plateau however short the freeze. A plateau is a finding only when it costs
something (``plateau_min_budget``): a loss that froze on the run's last few reports converged late
and spent almost nothing. The bar is the trend rule's patience (``patience_fraction``, 30%), counted
as the trend rule counts its flat stretch: the reports after the last one that changed, over all
of them. An MPT-7B SFT under a cosine (validation loss 0.3893, 0.3873, 0.3862, then 0.3857 at the
last 3 of 20 evaluations: 2 intervals of 19) is no longer a plateau; a freeze that held for the
patience or longer still is (a RE-TACRED DistilBERT, the last 4 of 8 evaluations; a TF1 Siamese
MLP's training loss, the last 3 of 5 epochs).
"""

from __future__ import annotations

from pathlib import Path

from bench_logs import real_log

import lrdoctor
from lrdoctor.detect.progress import DEFAULTS, FROZEN_AFTER_LEARNING_RULE, _freeze_costs, _frozen_after_learning
from lrdoctor.finding import Finding, Severity

# unhealthy, labelled plateau: validation loss frozen at the last 4 of 8 evaluations
_RETACRED = "fresh510/andriipasternak-retacred-distilbert/training_results.md"
# unhealthy, labelled plateau and slow_progress: training loss 0.472 -> 0.258, then 0.250 at the last 3 of 5 epochs
_SIAMESE = "fresh15/rasbt-tf1-siamese-stuck/train.log"
# edge (labelled loss_spike only): validation loss 0.3857 at the last 3 of 20 evaluations, the end of a cosine
_MPT_COSINE = "fresh1088/tsavage68-mpt-1000-steps-1e5-sft-sft/training_results.md"


def _table(tmp_path: Path, frozen: int) -> Path:
    """A Trainer results table of 20 evaluations: the training loss falls 2.0 -> 1.05 by 0.05 an
    epoch, the validation loss falls 2.1 by 0.05 an epoch and then prints one value at the last
    ``frozen`` evaluations (4 decimals)."""
    rows = ["| Training Loss | Epoch | Step | Validation Loss |", "|:---:|:---:|:---:|:---:|"]
    for i in range(20):
        val = 2.1 - 0.05 * min(i, 20 - frozen)
        rows.append(f"| {2.0 - 0.05 * i:.4f} | {i + 1}.0 | {10 * (i + 1)} | {val:.4f} |")
    p = tmp_path / "training_results.md"
    p.write_text("\n".join(rows) + "\n")
    return p


def test_the_cost_bar_counts_the_reports_after_the_last_change(tmp_path):
    # 3 equal prints of 20: 2 intervals frozen, under 0.3 x 20 = 6; 7 equal prints: 6 intervals, at the bar
    for frozen, costs in ((3, False), (6, False), (7, True), (12, True)):
        run = lrdoctor.read(_table(tmp_path, frozen))
        f = Finding("plateau", Severity.WARNING, 0.0, 0.0, "", {"points": frozen}, "")
        assert _freeze_costs(run, "eval_loss", f, DEFAULTS) is costs, frozen


def test_a_late_freeze_is_no_plateau_and_a_long_one_is(tmp_path):
    assert _frozen_after_learning(lrdoctor.read(_table(tmp_path, 3)), DEFAULTS) is None
    f = _frozen_after_learning(lrdoctor.read(_table(tmp_path, 8)), DEFAULTS)
    assert f is not None and f.kind == "plateau" and f.severity is Severity.WARNING
    assert f.evidence["rule"] == FROZEN_AFTER_LEARNING_RULE and f.evidence["points"] == 8


def _kinds(rel: str) -> dict[str, Severity]:
    return {f.kind: f.severity for f in lrdoctor.diagnose(lrdoctor.read(real_log(rel))).findings}


def test_real_freezes_that_held_for_the_patience_keep_their_plateau():
    assert _kinds(_RETACRED).get("plateau") is Severity.WARNING  # 3 intervals of 8 >= 2.4
    kinds = _kinds(_SIAMESE)  # the frozen-training-loss rule: 2 intervals of 5 >= 1.5
    assert kinds.get("plateau") is Severity.WARNING and kinds.get("slow_progress") is Severity.ERROR


def test_a_cosine_that_converged_on_its_last_evaluations_is_no_plateau():
    kinds = _kinds(_MPT_COSINE)
    assert "plateau" not in kinds and "slow_progress" not in kinds
