"""Rules from the stop-30 study of the benchmark (issue 9), each on a real log or a really trained
run, with a twin:

- divergence's few-point runaway rule: after its best the loss rose at every report, faster each
  time, to at least 4x the best (a blow-up still in progress when the log ends).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from bench_logs import real_log

import lrdoctor

torch.set_num_threads(1)


def _warned(report, at_least: int = 1) -> dict:
    return {f.kind: f for f in report.findings if f.severity.rank >= at_least}


# ---------------------------------------------------------------- divergence: runaway

def _digits_epochs(lrs: list[float], seed: int) -> list[float]:
    """Per-epoch mean training loss of a digits MLP (SGD, momentum 0.9) with the LR of each
    epoch taken from ``lrs``."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = torch.tensor(d.data / 16.0, dtype=torch.float32), torch.tensor(d.target)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=lrs[0], momentum=0.9)
    out = []
    for lr in lrs:
        for g in opt.param_groups:
            g["lr"] = lr
        total, n = 0.0, 0
        for i in range(0, 1200, 50):
            loss = torch.nn.functional.cross_entropy(model(x[i:i + 50]), y[i:i + 50])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, n = total + float(loss.detach()), n + 1
        out.append(total / n)
    return out


def _epoch_log(path, lrs, losses):
    path.write_text("".join(f"epoch {e} lr {lr:g} loss {v:.4f}\n" for e, (lr, v) in enumerate(zip(lrs, losses), 1)))
    return path


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_a_warmup_to_a_huge_lr_blows_up_faster_at_each_epoch(tmp_path, seed):
    """A really trained digits MLP whose per-epoch LR ramps 0.05 -> 0.2 -> 0.5 -> 2.0: the mean
    loss bottoms out at the third epoch, then rises 1.1-1.6x and 10-90x. Too few reports above
    2x for the rise rule and too few rises for the tail rule; the runaway rule names it."""
    lrs = [0.05, 0.05, 0.2, 0.5, 2.0]
    losses = _digits_epochs(lrs, seed)
    assert int(np.argmin(losses)) == 2 and losses[3] < 2 * losses[2] < 4 * losses[2] < losses[4]  # the curve's shape
    f = _warned(lrdoctor.diagnose(_epoch_log(tmp_path / "warm.log", lrs, losses)), 2)["divergence"]
    assert "faster" in f.evidence["rule"] and f.start_step == 4 and f.evidence["best_step"] == 3
    # twin: the same model at a constant 0.05 keeps falling
    flat = [0.05] * 5
    twin = lrdoctor.diagnose(_epoch_log(tmp_path / "flat.log", flat, _digits_epochs(flat, seed)))
    assert "divergence" not in _warned(twin, 0) and "divergence" in twin.coverage.ran


def test_runaway_on_real_pastes():
    """PaddleDetection PP-YOLOE as its warm-up raises the LR (4.83, 4.72, 8.42, 21.5) and a
    wav2vec2 card's training loss (0.76, 1.05, 7.55): both blow up with each step larger."""
    pp = _warned(lrdoctor.diagnose(real_log("fresh9/text-paddledet-issue6048-ppyoloe-diverge/issue6048.log")), 2)
    assert pp["divergence"].evidence["best_loss"] == pytest.approx(4.718459)
    card = _warned(lrdoctor.diagnose(real_log("fresh29/hfcard-wav2vec2-espeak-colab-nithiwat/training_results.md")), 2)
    assert "faster" in card["divergence"].evidence["rule"]


def test_a_climb_that_slows_down_is_no_runaway(tmp_path):
    """Twin: a running average from a lucky first batch climbs with shrinking steps to 3.8x its
    first report (PaddleClas's AverageMeter: 0.0176, 0.051, 0.053, 0.064, 0.067); and a loss
    that jumps once and then creeps is not accelerating either."""
    from lrdoctor.detect.divergence import runaway

    assert runaway(np.array([0.0176, 0.051, 0.053, 0.064, 0.067]), 4.0, 2) is None
    assert runaway(np.array([1.0, 0.5, 2.1, 2.2]), 4.0, 2) is None  # 4.4x, but decelerating
    assert runaway(np.array([1.0, 0.5, 0.7, 1.9]), 4.0, 2) is None  # accelerating, but 3.8x only
    assert runaway(np.array([1.0, 0.5, 0.7, 2.5]), 4.0, 2) == (1, 2)


# ---------------------------------------------------------------- JSON records cut off

def test_a_json_list_of_records_cut_off_is_read_up_to_its_last_complete_record():
    """Dopamine's per-iteration records as a page cut them: the array ends after "}," with no
    closing bracket, or (a slice from the middle) has no brackets at all. The complete records
    are read, and the report says the file was cut."""
    run = lrdoctor.read(real_log("fresh140/dopamine-qbert-dqn-run1/qbert.json"))
    assert run.meta.format == "dopamine" and run.n_steps == 199 and run.steps[-1] == 198
    assert any("cut off" in w and "199 complete records" in w for w in run.meta.warnings)
    mid = lrdoctor.read(real_log("fresh140/dopamine-zaxxon-dqn-run2/zaxxon.json"))
    assert mid.n_steps == 199 and any("no enclosing brackets" in w for w in mid.meta.warnings)


@pytest.mark.parametrize("text,msg", [
    ('[{"Iteration": 0, "Value": 1.5},\n {"Iteration": 1 "Value": 2.5},\n {"Iteration": 2, "Value": 3.5}]', "Expecting ','"),
    ('[{"Iteration": 0, "Value": 1.5},\n {"Iteration": 1, "Value": 2.5}, 7, {"Iteration": 2}', "invalid JSON"),
    ('{"Iteration": 0, "Value": 1.5}', "neither"),  # one record, not a list of them
])
def test_a_json_error_before_the_end_is_still_refused_in_one_line(tmp_path, text, msg):
    """Twin: a broken record followed by more records is an error in the file, not a cut; the CLI
    refuses it with exit 2 and one line naming the file."""
    import subprocess
    import sys

    p = tmp_path / "records.json"
    p.write_text(text)
    r = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", str(p)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and str(p) in r.stderr and msg in r.stderr, r.stderr
