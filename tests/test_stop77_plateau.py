"""Stop 77's plateau severity, on a synthetic series, two real logs read in place and a healthy twin.

**A trend-rule plateau at an LR that has not decayed is a warning.** The trend rule (the loss learned,
then made no new best for half the run while the LR stayed at least ``min_plateau_lr`` of its peak)
was an info at any LR: the run converged and a decay would help. When the LR over the flat stretch is
still within ``lr_zero`` (1%) of its peak (``plateau_undecayed_lr``), the schedule has not begun to
decay, so nothing will let the loss settle lower: the budget ahead is spent like the flat half behind
it, a warning. A decaying LR (a healthy MAE fine-tune at 88% of its peak) keeps the info."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from bench_logs import real_log

import lrdoctor
from lrdoctor.detect.progress import DEFAULTS, _trend_severity, detect_plateau
from lrdoctor.finding import Severity

_LORA_CONSTANT = "fresh402/agosalvez-lora-adapter-20ep/trainer_state.json"
_LORA_LONG_DECAY = "fresh830/unitsyn-lora-ckpt3500/trainer_state.json"
_MAE_DECAYING = "fresh183/mtp-levir-rvsa-b-mae-mtp-epochs54-68/rvsa-b-mae-mtp.log"


def _plateau(path: Path) -> list:
    return [f for f in lrdoctor.diagnose(lrdoctor.read(path)).findings if f.kind == "plateau"]


def _learned_then_flat(tmp_path: Path, lr_end: float) -> Path:
    """100 reports: the loss falls 2.0 -> 0.5 over the first 30, then sits at 0.5 with +-0.01 noise;
    the LR goes linearly from 1e-3 to ``lr_end`` x 1e-3."""
    rng = np.random.default_rng(0)
    steps = np.arange(1, 101) * 10
    loss = np.where(steps <= 300, 2.0 - 1.5 * (steps - 10) / 290, 0.5) + rng.uniform(-0.01, 0.01, steps.size)
    lr = 1e-3 * np.linspace(1.0, lr_end, steps.size)
    p = tmp_path / "metrics.csv"
    p.write_text("step,loss,lr\n" + "".join(f"{s},{v:.5f},{r:.8g}\n" for s, v, r in zip(steps, loss, lr)))
    return p


def test_the_severity_splits_at_the_undecayed_share():
    assert DEFAULTS.plateau_undecayed_lr == 1.0 - DEFAULTS.lr_zero
    assert _trend_severity(1.0, DEFAULTS) is Severity.WARNING
    assert _trend_severity(0.995, DEFAULTS) is Severity.WARNING
    assert _trend_severity(0.95, DEFAULTS) is Severity.INFO
    assert _trend_severity(DEFAULTS.min_plateau_lr, DEFAULTS) is Severity.INFO


def test_a_flat_loss_at_a_constant_lr_is_a_warning(tmp_path):
    run = lrdoctor.read(_learned_then_flat(tmp_path, 1.0))
    (f,) = detect_plateau(run)
    assert f.severity is Severity.WARNING and f.evidence["lr_share_of_peak"] == 1.0


def test_a_flat_loss_under_a_decaying_lr_stays_an_info(tmp_path):
    run = lrdoctor.read(_learned_then_flat(tmp_path, 0.6))
    (f,) = detect_plateau(run)
    assert f.severity is Severity.INFO and f.evidence["lr_share_of_peak"] < DEFAULTS.plateau_undecayed_lr


def test_a_lora_at_a_constant_lr_flat_for_half_its_steps_is_a_plateau_warning():
    """LoRA fine-tune, constant 5e-4: loss 2.09 -> 0.04 by step 120 of 240, then no new best (edge, plateau)."""
    (f,) = _plateau(real_log(_LORA_CONSTANT))
    assert f.severity is Severity.WARNING and f.evidence["lr_share_of_peak"] == 1.0


def test_a_lora_whose_decay_has_not_begun_is_a_plateau_warning():
    """A checkpoint prefix (3,500 of 176,652 steps) of a linear decay: the LR is 98-100% of its peak
    over the flat stretch from step 620 (unhealthy, plateau)."""
    (f,) = _plateau(real_log(_LORA_LONG_DECAY))
    assert f.severity is Severity.WARNING and f.evidence["lr_share_of_peak"] >= DEFAULTS.plateau_undecayed_lr


def test_a_healthy_mae_fine_tune_under_a_decaying_lr_keeps_its_info():
    """Healthy twin: the same flat shape (no new best for 58% of the window) while a cosine decay has the
    LR at 81-94% of its peak: an info, not counted as a finding."""
    (f,) = _plateau(real_log(_MAE_DECAYING))
    assert f.severity is Severity.INFO and f.evidence["lr_share_of_peak"] < DEFAULTS.plateau_undecayed_lr
