"""The decision tree (post-mortem #1's, extended by the others): pure functions from a
:class:`Description` to a :class:`Recommendation`. Every constant that decides has a name,
a docstring and its source."""

from __future__ import annotations

import math

from lrdoctor.prescribe import calc
from lrdoctor.recommender.describe import Description
from lrdoctor.recommender.model import Reason, Recommendation, Warmup

__all__ = ["decide"]

ADAM_DEFAULT_LR = 1e-3
"""Kingma & Ba 2015's default step size; post-mortem #1: 100% of seeds converged at 1e-3 on a
4.9M-parameter 6-layer transformer (60% at 1e-2)."""
SGD_LR_PER_256 = 0.1
"""Goyal et al. 2017 / He et al. 2016: SGD with momentum at lr 0.1 for batch 256, scaled linearly."""
SGD_REF_BATCH = 256
DEPTH_REF = 6
"""Depth at which Adam's 1e-3 was measured to work (post-mortem #1's 6 layers); deeper
transformers/recurrent stacks get lr x DEPTH_REF / depth (post-mortem #1's 1/depth heuristic)."""
LARGE_TRANSFORMER = 100_000_000
"""Above this many parameters the GPT-3 table replaces the 1e-3 default and the depth rule."""
GPT3_TABLE: tuple[tuple[float, float], ...] = (
    (125e6, 6e-4), (350e6, 3e-4), (760e6, 2.5e-4), (1.3e9, 2e-4), (2.7e9, 1.6e-4), (6.7e9, 1.2e-4),
    (13e9, 1e-4), (175e9, 6e-5))
"""(parameters, Adam LR) from Brown et al. 2020, Table 2.1; interpolated log-log."""
PPO_LR = 3e-4
"""SB3 PPO's default learning_rate (CleanRL's ppo_continuous.py uses 3e-4, ppo.py 2.5e-4)."""
DQN_LR = 1e-4
"""SB3 DQN's default learning_rate (CleanRL dqn_atari.py 1e-4); post-mortem #5 ran 3e-3 and diverged."""
FINETUNE_LR = 2e-5
"""Devlin et al. 2019 fine-tuned BERT at {5e-5, 3e-5, 2e-5}; the low end for full fine-tuning / SFT."""
LORA_LR = 2e-4
"""Dettmers et al. 2023 (QLoRA) and common PEFT recipes: 2e-4 at alpha/r = 2."""
LORA_REF_SCALE = 2.0
"""The alpha/r at which LORA_LR is quoted (alpha 16, r 8)."""
RL_RANGES: dict[str, tuple[float, float]] = {"ppo": (1e-4, 1e-3), "dqn": (3e-5, 1e-3)}
"""Sweep ranges for the RL defaults: rl-zoo's tuned PPO agents span 1e-4..1e-3 (lin_ schedules),
its classic-control DQNs use 6.3e-4..4e-3 (tuned per environment, small networks), Atari DQNs 1e-4."""
RAFT_DIVISOR = 4
"""Post-mortem #3's rule of thumb: RAFT/RLVR cycle LR = SFT LR / 4 (a hypothesis from one run)."""
RANGE_FACTOR = 3.0
"""Sweep from lr / 3 to lr x 3 (half a decade each side) when confidence is high or medium."""
RANGE_FACTOR_LOW = 10.0
"""Sweep a decade each side when confidence is low."""
WARMUP_RATIO_FINETUNE = 0.03
"""HF/QLoRA recipes' warmup_ratio for fine-tuning."""
WARMUP_MAX_SHARE = 0.1
"""Warmup is capped at this share of a run whose length is given (post-mortem #3: short cycles)."""
SGD_WARMUP_BATCH = 1024
"""Goyal et al. 2017 needed a 5-epoch gradual warmup for large batches (8k); from 1024 up we advise it."""
HEURISTIC_BATCH_RATIO = 16.0
"""Batch-scaling rules are trusted within a 16x change of batch size; beyond, confidence drops."""

_S_ADAM = "Kingma & Ba 2015 (Adam default 1e-3); post-mortem #1 (Adam 1e-3 for small transformers: 100% of seeds vs 60% at 1e-2)"
_S_DEPTH = "post-mortem #1 decision tree (lr ~ 1/depth beyond the 6 layers where 1e-3 was measured)"
_S_GPT3 = "Brown et al. 2020, Table 2.1 (GPT-3 model sizes and learning rates)"
_S_SGD = "Goyal et al. 2017 (linear scaling: 0.1 x batch/256, with warmup); He et al. 2016"
_S_SQRT = "Hoffer et al. 2017; Malladi et al. 2022 (square-root scaling for Adam)"
_S_PPO = "Stable-Baselines3 PPO default (3e-4); CleanRL ppo_continuous.py (3e-4); post-mortem #2"
_S_DQN = "Stable-Baselines3 DQN default (1e-4); CleanRL dqn_atari.py (1e-4); post-mortem #5 (3e-3 exploded Q)"
_S_FT = "Devlin et al. 2019 (BERT fine-tuning {5e-5, 3e-5, 2e-5}); HF Trainer recipes"
_S_LORA = "Hu et al. 2021 (LoRA scales updates by alpha/r); Dettmers et al. 2023 (QLoRA 2e-4); post-mortem #3"
_S_RAFT = "post-mortem #3 ('RAFT LR = SFT LR / 4', a hypothesis from one run, not a published law)"
_S_WARM = "Ma & Yarats 2021 (untuned warmup of 2/(1-beta2) steps for Adam); post-mortem #2 (warmup for every recurrent/attention/SSM model)"
_S_AZ = "post-mortem #1 (AlphaZero-style card game: policy+value net trained from self-play)"


def _gpt3_lr(params: float) -> float:
    xs = [math.log(p) for p, _ in GPT3_TABLE]
    ys = [math.log(l) for _, l in GPT3_TABLE]
    x = math.log(params)
    if x <= xs[0]:
        return GPT3_TABLE[0][1]
    if x >= xs[-1]:
        return GPT3_TABLE[-1][1]
    for i in range(len(xs) - 1):
        if xs[i] <= x <= xs[i + 1]:
            t = (x - xs[i]) / (xs[i + 1] - xs[i])
            return math.exp(ys[i] + t * (ys[i + 1] - ys[i]))
    return GPT3_TABLE[-1][1]


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _base(d: Description, reasons: list[Reason]) -> tuple[float, str]:
    """The LR before batch scaling, and the confidence it carries."""
    fam = d.optimizer_family or "adam"
    regime = d.regime or "scratch"
    if regime == "ppo":
        reasons.append(Reason("PPO default", f"PPO starts at {PPO_LR:g} in SB3 and CleanRL", _S_PPO))
        return PPO_LR, "medium"
    if regime == "dqn":
        reasons.append(Reason("DQN default", f"DQN starts at {DQN_LR:g} in SB3 and CleanRL's Atari agent", _S_DQN))
        return DQN_LR, "medium"
    if regime in ("lora", "sft", "finetune", "raft"):
        if d.lora_r is not None or regime == "lora":
            r = d.lora_r or 8
            alpha = d.lora_alpha if d.lora_alpha is not None else LORA_REF_SCALE * r
            scale = calc.lora_lr(LORA_LR, alpha, r).scale
            lr = LORA_LR * LORA_REF_SCALE / scale
            given = "" if d.lora_r is not None and d.lora_alpha is not None else " (r/alpha not given: alpha/r = 2 assumed)"
            reasons.append(Reason("LoRA alpha/r", f"{LORA_LR:g} is quoted at alpha/r = {LORA_REF_SCALE:g}; LoRA multiplies "
                                  f"updates by alpha/r = {scale:g}, so lr = {LORA_LR:g} x {LORA_REF_SCALE:g} / {scale:g} "
                                  f"= {_fmt(lr)}{given}", _S_LORA))
            conf = "medium"
        else:
            lr = FINETUNE_LR
            reasons.append(Reason("full fine-tuning", f"pretrained weights move little: {FINETUNE_LR:g} (BERT's range "
                                  "2e-5..5e-5, low end)", _S_FT))
            conf = "medium"
        if regime == "raft":
            sft = d.sft_lr if d.sft_lr is not None else lr
            lr = calc.raft_lr(sft).cycle_lr
            reasons.append(Reason("RAFT = SFT / 4", f"cycle LR = SFT LR {_fmt(sft)} / {RAFT_DIVISOR} = {_fmt(lr)}", _S_RAFT))
            conf = "low"
        return lr, conf
    # from scratch / AlphaZero-style
    if regime == "alphazero":
        reasons.append(Reason("regime", "AlphaZero-style training is supervised learning of policy and value "
                              "on self-play data: the from-scratch rules apply", _S_AZ))
    if fam == "sgd":
        lr = SGD_LR_PER_256 * (d.batch_size or SGD_REF_BATCH) / SGD_REF_BATCH
        reasons.append(Reason("SGD linear scaling", f"{SGD_LR_PER_256:g} x batch {d.batch_size or SGD_REF_BATCH} / "
                              f"{SGD_REF_BATCH} = {_fmt(lr)}", _S_SGD))
        conf = "low" if d.arch in ("transformer", "recurrent", "ssm") else "medium"
        if conf == "low":
            reasons.append(Reason("SGD on a sequence model", "SGD is rarely used on attention/recurrent models; "
                               "the 0.1 rule comes from CNNs", _S_SGD))
        return lr, conf
    if d.arch == "transformer" and d.params is not None and d.params >= LARGE_TRANSFORMER:
        lr = _gpt3_lr(d.params)
        reasons.append(Reason("GPT-3 size table", f"{d.params / 1e6:.0f}M parameters -> {_fmt(lr)} (log-log "
                              "interpolation of Brown et al.'s table)", _S_GPT3))
        return lr, "medium"
    lr = ADAM_DEFAULT_LR
    small_tf = d.arch == "transformer" and (d.params is None or d.params < 10_000_000)
    reasons.append(Reason("Adam default", f"Adam-family optimizers start at {ADAM_DEFAULT_LR:g}"
                          + (" (measured on a small transformer)" if small_tf else ""), _S_ADAM))
    conf = "high" if small_tf and d.params is not None and (d.layers or DEPTH_REF) <= DEPTH_REF and fam == "adam" else "medium"
    if d.layers is not None and d.arch in ("transformer", "recurrent", "ssm"):
        if d.layers > DEPTH_REF:
            new = lr * DEPTH_REF / d.layers
            reasons.append(Reason("1/depth", f"{d.layers} layers > {DEPTH_REF}: lr x {DEPTH_REF}/{d.layers} = {_fmt(new)}", _S_DEPTH))
            lr = new
        else:
            reasons.append(Reason("1/depth", f"{d.layers} layers <= {DEPTH_REF} (the measured depth): no reduction", _S_DEPTH))
    return lr, conf


def _batch(d: Description, lr: float, conf: str, reasons: list[Reason]) -> tuple[float, str]:
    fam = d.optimizer_family or "adam"
    rule = "linear" if fam == "sgd" else "sqrt"
    if d.ref_lr is not None:
        lr = d.ref_lr
        reasons.append(Reason("reference LR", f"you tuned {_fmt(d.ref_lr)}" + (f" at batch {d.ref_batch_size}" if d.ref_batch_size else "")
                              + ": it replaces the default", "your own measurement"))
    if d.batch_size and d.ref_batch_size and d.batch_size != d.ref_batch_size:
        s = calc.scale_lr(lr, d.ref_batch_size, d.batch_size, rule)
        reasons.append(Reason(f"{rule} batch scaling", f"batch {d.ref_batch_size} -> {d.batch_size}: "
                              f"{s.formula} = {_fmt(s.new_lr)}", s.source))
        ratio = max(d.batch_size, d.ref_batch_size) / min(d.batch_size, d.ref_batch_size)
        if ratio > HEURISTIC_BATCH_RATIO:
            conf = "low"
            reasons.append(Reason("large batch change", f"{ratio:g}x change of batch size: scaling rules "
                                  "break down far from where they were measured", _S_SQRT if rule == "sqrt" else _S_SGD))
        return s.new_lr, conf
    if d.batch_size and fam != "sgd" and (d.regime or "scratch") in ("scratch", "alphazero"):
        reasons.append(Reason("batch size", f"batch {d.batch_size}: Adam's default is not tied to a batch size, so no "
                              "scaling; if you tuned an LR at batch B, pass it (sqrt rule: lr x sqrt(batch/B))", _S_SQRT))
    return lr, conf


def _warmup(d: Description) -> Warmup:
    fam = d.optimizer_family or "adam"
    regime = d.regime or "scratch"
    seq = d.sequence_model
    if regime in ("lora", "sft", "finetune", "raft"):
        return Warmup(None, WARMUP_RATIO_FINETUNE, seq, Reason(
            "fine-tuning warmup", f"{WARMUP_RATIO_FINETUNE:.0%} of the optimizer steps; count them as samples / "
            "(batch x accumulation) first: a short cycle may have only tens of steps", _S_LORA + "; HF warmup_ratio"))
    if regime in ("ppo", "dqn"):
        if seq:
            return Warmup(None, 0.025, True, Reason(
                "recurrent/attention policy", "post-mortem #2's three-phase schedule: 0.01x -> 0.1x over the first "
                "2.5% of training, 0.1x -> 1x to 25%, then linear decay to 0.01x", _S_WARM))
        return Warmup(None, None, False, Reason("no warmup", "the SB3/CleanRL defaults train MLP policies without warmup",
                                                _S_PPO if regime == "ppo" else _S_DQN))
    if fam == "sgd":
        big = (d.batch_size or 0) >= SGD_WARMUP_BATCH
        return Warmup(None, None, big, Reason("SGD warmup", "5 epochs of gradual warmup for large batches" if big else
                                              "not needed at this batch size", _S_SGD))
    beta2 = d.beta2 if d.beta2 is not None else 0.999
    steps = round(2.0 / (1.0 - beta2))
    note = f"2/(1-beta2) = 2/(1-{beta2:g}) = {steps} steps"
    if d.total_steps is not None and steps > WARMUP_MAX_SHARE * d.total_steps:
        steps = max(1, int(WARMUP_MAX_SHARE * d.total_steps))
        note += f", capped at {WARMUP_MAX_SHARE:.0%} of the {d.total_steps}-step run = {steps}"
    needed = seq
    note += ("; needed for attention/recurrent/SSM models" if needed else "; optional for MLP/CNN")
    return Warmup(steps, None, needed, Reason("Adam warmup", note, _S_WARM))


def _schedule(d: Description) -> str:
    regime = d.regime or "scratch"
    if regime == "ppo":
        if d.sequence_model:
            return "three-phase (post-mortem #2): 0.01x->0.1x over 0-2.5%, 0.1x->1x to 25%, linear decay to 0.01x"
        return "linear decay to 0 over training (CleanRL anneal_lr, rl-zoo lin_)"
    if regime == "dqn":
        return "constant (SB3 default) or a slow linear decay; never raise it to speed up learning"
    if regime == "raft":
        return ("warmup within each cycle, and decay across cycles (e.g. lr x d^(cycle-1), or warmup-stable-decay "
                "over cycles); never constant over many cycles (post-mortem #3)")
    if regime in ("lora", "sft", "finetune"):
        return "linear warmup then linear (or cosine) decay to 0 (HF default)"
    return "linear warmup, then cosine decay to 0.1x (Loshchilov & Hutter 2017; warmup multiplies the schedule)"


def _sweep(lr: float) -> str:
    pts = [lr / 3, lr, lr * 3, lr * 10]
    return "lrdoctor sweep mytask:make --lrs " + ",".join(f"{p:.1e}".replace("e-0", "e-").replace("e+0", "e") for p in pts) + " --seeds 5 --steps 100"


_CONF_NOTE = {
    "high": "the description matches a measured case (post-mortem #1's network); expect the best LR within "
            "~3x of this one, but a sweep over seeds is the proof",
    "medium": "a library default or a published rule applied where it was measured; the best LR is often within ~3x "
              "and can be 10x off for unusual data or losses",
    "low": "a hypothesis or an extrapolation outside where the rule was measured; treat it as the centre of a "
           "decade-wide sweep, not as an answer",
}


def decide(d: Description) -> Recommendation:
    reasons: list[Reason] = []
    lr, conf = _base(d, reasons)
    lr, conf = _batch(d, lr, conf, reasons)
    if d.arch is None and (d.regime or "scratch") in ("scratch", "alphazero"):
        conf = "low" if conf == "low" else "medium"
        reasons.append(Reason("architecture unknown", "no --arch / model given: family-specific rules were not applied",
                              "lrdoctor: the family rules (depth, warmup need) require the architecture"))
    f = RANGE_FACTOR_LOW if conf == "low" else RANGE_FACTOR
    rng = (float(f"{lr / f:.2g}"), float(f"{lr * f:.2g}"))
    if d.regime in RL_RANGES and d.ref_lr is None:
        rng = RL_RANGES[d.regime]
        reasons.append(Reason("RL range", f"sweep {rng[0]:g}..{rng[1]:g}: the range rl-zoo's tuned agents span",
                              "rl-baselines3-zoo hyperparams (ppo.yml, dqn.yml)"))
    return Recommendation(lr=float(f"{lr:.3g}"), range=rng,
                          warmup=_warmup(d), schedule=_schedule(d), reasons=tuple(reasons), confidence=conf,
                          confidence_note=_CONF_NOTE[conf], sweep=_sweep(lr), description=d)
