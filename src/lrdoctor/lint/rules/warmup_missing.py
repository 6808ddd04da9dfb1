"""``warmup-missing``: an Adam-family optimizer on a transformer, recurrent or SSM model with no
warmup anywhere in the script (or an HF/rl-zoo config with none).

Adam's second-moment estimate is poor in the first ~2/(1-beta2) steps; attention and
recurrent models amplify the resulting oversized updates (post-mortem #2's GRU PPO agent
collapsed; the fix added warmup for every recurrent/attention/SSM architecture)."""

from __future__ import annotations

import ast
from typing import Iterator

from lrdoctor.finding import Severity
from lrdoctor.lint.arch import detect_arch, is_test_code, linked
from lrdoctor.lint.config import ConfigFile
from lrdoctor.lint.pyfacts import ADAM_FAMILY, ScriptFacts
from lrdoctor.lint.registry import Hit, register

#: Adam's default beta2; the warmup length 2/(1-beta2) follows from it
DEFAULT_BETA2 = 0.999
#: optimizers in HF's ``optim`` values that are Adam-family
HF_ADAM = ("adam", "lamb")


def warmup_steps_for(beta2: float) -> int:
    """Ma & Yarats 2021: untuned linear warmup over 2 / (1 - beta2) steps.

    >>> warmup_steps_for(0.999), warmup_steps_for(0.98)
    (2000, 100)
    """
    return round(2.0 / (1.0 - beta2))


def _has_warmup(facts: ScriptFacts) -> bool:
    if "warm" in facts.lower:
        return True
    return any(c.attr in ("OneCycleLR", "LinearLR", "SequentialLR", "get_inverse_sqrt_schedule") for c in facts.calls)


def _trains_here(facts: ScriptFacts) -> bool:
    """The file owns the training loop (or Lightning's configure_optimizers), so the absence of
    warmup is decided here; a task factory whose runner adds the schedule is not judged."""
    if "configure_optimizers" in facts.by_name:
        return True
    return any(c.attr == "backward" for c in facts.calls) or bool(facts.optimizer_steps())


def _beta2(call: ast.Call) -> float:
    for kw in call.keywords:
        if kw.arg == "betas" and isinstance(kw.value, (ast.Tuple, ast.List)) and len(kw.value.elts) == 2:
            try:
                return float(ast.literal_eval(kw.value.elts[1]))
            except (ValueError, TypeError):
                pass
    return DEFAULT_BETA2


FIX = ("Add a linear warmup of about 2/(1-beta2) optimizer steps (2000 at beta2=0.999, 100 at 0.98) "
       "that multiplies the schedule: get_*_schedule_with_warmup, SequentialLR(LinearLR(...), main), "
       "or lrdoctor.schedules warmup(n) * cosine(...).")


@register("warmup-missing", targets=("python", "config"), severity=Severity.WARNING,
          summary="Adam-family optimizer on a transformer/recurrent/SSM model without warmup",
          fix=FIX,
          source="Ma & Yarats 2021 (warmup 2/(1-beta2) steps for Adam); post-mortem #2 (warmup for every "
                 "recurrent/attention/SSM architecture); Vaswani et al. 2017; Liu et al. 2020 (RAdam)",
          triggers=(("LSTM", "GRU", "RNN", "Transformer", "MultiheadAttention", "attention", "from_pretrained", "Mamba", "S4", "S5"), ("Adam", "adam", "Lamb", "LAMB")))
def check(facts) -> Iterator[Hit]:
    if isinstance(facts, ConfigFile):
        yield from _config(facts)
        return
    assert isinstance(facts, ScriptFacts)
    if is_test_code(facts.path):
        return
    archs = detect_arch(facts)
    if not archs or _has_warmup(facts) or not _trains_here(facts):
        return
    for name, call, ctx in facts.optimizer_builds_ctx():
        cls = name.rsplit(".", 1)[-1]
        if cls not in ADAM_FAMILY:
            continue
        ev = next((a for a in archs if linked(a.call.ctx, ctx)), None)
        if ev is None:
            continue  # the optimizer and the attention/recurrent layers belong to different code
        b2 = _beta2(call)
        yield Hit(call.lineno, call.col_offset + 1,
                  f"{cls} on a {ev.family} model ({ev.what}) with no warmup in this file: Adam's early "
                  f"updates are oversized for ~{warmup_steps_for(b2)} steps (2/(1-beta2), beta2={b2:g})")
        return


def _config(cfg: ConfigFile) -> Iterator[Hit]:
    if cfg.kind == "hf":
        s = cfg.scopes[0]
        ws, wr = s.number("warmup_steps"), s.number("warmup_ratio")
        optim = s.get("optim")
        adam = optim is None or any(a in str(optim.value).lower() for a in HF_ADAM)
        lr = s.get("learning_rate")
        sched = s.get("lr_scheduler_type")
        if adam and lr is not None and ws is not None and wr is not None and ws[0] == 0 and wr[0] == 0 \
                and not (sched and "warmup" in str(sched.value)):
            yield Hit(lr.line, lr.col, "HF Trainer config with AdamW and warmup_steps = warmup_ratio = 0: "
                      f"a transformer trained without warmup (Adam needs ~{warmup_steps_for(0.999)} steps at "
                      "beta2=0.999)", fix="Set warmup_ratio (e.g. 0.03-0.1) or warmup_steps.")
    elif cfg.kind == "rlzoo":
        hits = []
        for s in cfg.scopes:
            pol, lr = s.get("policy"), s.get("learning_rate")
            if pol and lr is not None and "lstm" in str(pol.value).lower() and "warm" not in str(lr.value).lower():
                hits.append((s, pol, lr))
        if hits:  # one finding per file: it is one choice (SB3's recurrent PPO has no warmup option)
            s, pol, lr = hits[0]
            more = f" (and {len(hits) - 1} more environments in this file)" if len(hits) > 1 else ""
            yield Hit(lr.line, lr.col, f"{s.name}: recurrent policy {pol.value} trained with Adam at a constant or "
                      f"decaying learning_rate without warmup{more} (post-mortem #2's GRU agent collapsed this way)",
                      fix="Pass a callable learning_rate schedule that ramps up over the first ~2.5% of training "
                          "(post-mortem #2's three-phase schedule).")
