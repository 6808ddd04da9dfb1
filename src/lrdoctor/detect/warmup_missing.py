"""``warmup_missing``: no LR warmup although the config names an architecture or optimizer
that needs one.

Sources: the GRU PPO post-mortem (#2: warmup for every recurrent/attention/SSM model; the
run collapsed at a constant LR from step 0); Vaswani et al. 2017 and Xiong et al. 2020 for
transformers; Liu et al. 2020 (RAdam) for Adam's early-variance problem. Only reported when
the config says what the model is; a logged LR that ramps up counts as warmup.
"""

from __future__ import annotations

from typing import Any

from dataclasses import dataclass

import numpy as np

from lrdoctor.fmt import fmt
from lrdoctor.detect import needs
from lrdoctor.detect.registry import Prescription, Thresholds, detector, fix_rule
from lrdoctor.finding import Evidence, Finding, Fix, Severity, Watch
from lrdoctor.config import lookup
from lrdoctor.run import Run

__all__ = ["WarmupThresholds", "detect", "NEEDS_WARMUP"]

#: Substrings of architecture names that need warmup.
NEEDS_WARMUP = ("transformer", "gpt", "bert", "t5", "llama", "mistral", "vit", "attention", "gru", "lstm",
                "rnn", "mamba", "ssm", "s4", "recurrent")
ARCH_KEYS = ("model", "arch", "architecture", "model_type", "model_name", "rnn_type", "cell", "policy", "backbone")
WARMUP_KEYS = ("warmup_steps", "warmup_ratio", "warmup_epochs", "warmup_iters", "lr_warmup_steps", "num_warmup_steps", "warmup")


@dataclass(frozen=True)
class WarmupThresholds(Thresholds):
    start_share: float = 0.5
    """The first logged LR at or above this share of the peak means no ramp happened."""
    early_share: float = 0.1
    """The early part of the run where missing warmup does its damage (first 10%)."""
    early_rise: float = 1.5
    """An early loss that rises 1.5x above its first value (and ends the window above it) is
    early instability: the warning then stands; otherwise the finding is info."""


DEFAULTS = WarmupThresholds()


class WarmupMissingEvidence(Evidence):
    """What a ``warmup_missing`` finding proves itself with (keys absent when not measured)."""

    architecture: str
    config_key: str
    warmup_config: Any
    early_instability: bool
    first_lr: float
    peak_lr: float
    first_step: float


@detector("warmup_missing", thresholds=DEFAULTS, evidence=WarmupMissingEvidence, needs=needs.architecture)
def detect(run: Run, th: WarmupThresholds = DEFAULTS) -> list[Finding]:
    arch = lookup(run.config, ARCH_KEYS)
    if arch is None or not isinstance(arch[1], str):
        return []
    name = arch[1].lower()
    needs = next((a for a in NEEDS_WARMUP if a in name), None)
    if needs is None:
        return []
    w = lookup(run.config, WARMUP_KEYS)
    if w is not None and isinstance(w[1], (int, float)) and w[1] > 0:
        return []
    ev = {"architecture": arch[1], "config_key": arch[0], "warmup_config": None if w is None else w[1]}
    lr = run.series("lr")
    start_step = float(run.steps[0]) if run.n_steps else None
    if lr is not None:
        f = lr.finite()
        if f.values.size and f.values.max() > 0:
            share = float(f.values[0] / f.values.max())
            if share < th.start_share:
                return []  # the log shows a ramp
            ev.update(first_lr=float(f.values[0]), peak_lr=float(f.values.max()), first_step=float(f.steps[0]))
            start_step = float(f.steps[0])
    summary = (f"{arch[1]} trained without LR warmup" +
               (f": the LR was {fmt(ev['first_lr'])} from the first logged step" if "first_lr" in ev else ""))
    cause = (f"{needs} models are unstable at full LR on the first steps (large, badly-scaled early updates; "
             "Adam's second-moment estimate is still noisy), which can collapse the run early.")
    sev = Severity.WARNING if _early_instability(run, th) else Severity.INFO
    ev["early_instability"] = sev is Severity.WARNING
    if sev is Severity.INFO:
        summary += "; the early loss shows no instability, so this is advice for the next run"
    return [Finding("warmup_missing", sev, start_step, start_step, summary, ev, cause)]


def _early_instability(run: Run, th: WarmupThresholds) -> bool:
    """Did the run suffer early? A non-finite or rising loss in the first ``early_share`` of
    the run (the GRU PPO post-mortem collapsed within its first updates). Without that,
    missing warmup is preventive advice (info), not a warning on a run that trained fine."""
    s = run.series("loss")
    if s is None or len(s) < 3:
        return False
    cut = s.steps[0] + th.early_share * (s.steps[-1] - s.steps[0])
    v = s.values[s.steps <= cut]
    if v.size < 2:
        v = s.values[:3]
    if not np.isfinite(v).all():
        return True
    return bool(v.max() > th.early_rise * v[0]) and bool(v[-1] > v[0])


@fix_rule("warmup_missing")
def fix_warmup_missing(run: Run, f: Finding) -> Prescription:
    return Prescription([Fix("warmup_steps", f.evidence.get("warmup_config"), None, "post-mortem #2: the recurrent agent collapsed at a constant LR from step 0",
                             note="2.5-5% of the steps (or the three-phase schedule: "
                 "0.01x->0.1x over 2.5%, 0.1x->1x to 25%, then linear decay)")], [Watch("loss", "no spike in the first 5% of steps", "early spikes mean the warmup is too short")])
