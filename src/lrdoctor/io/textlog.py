"""Free-text training logs (``training.log``, ``train_log.txt``, captured stdout).

A pattern-driven parser: each :class:`LineRule` turns one line into a record of numbers
(or returns None); the first rule that matches a line wins. Rules for the common shapes:

* nanoGPT: ``iter 100: loss 2.3456, time 12.3ms`` and ``step 500: train loss 2.1, val loss 2.2``
* modded-nanogpt: ``step:125/5100 val_loss:4.9493 train_time:20289ms step_avg:176.43ms``
* pytorch/examples: ``| epoch   1 |   200/ 2983 batches | lr 20.00 | ... | loss  9.09 | ppl ...``
  and ``| end of epoch   1 | time: 36.96s | valid loss  5.60 | valid ppl   271.23``
* stable-baselines3's ASCII tables (``| rollout/ | |`` sections, ``|    ep_rew_mean | 22.2 |``)
* anything with ``key=value`` or ``key: value`` pairs

An argparse ``Namespace(lr=20, clip=0.25, ...)`` line is read as the run's config (with
``ast.literal_eval``: the text is never executed). Add a rule with :func:`register_rule`.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from lrdoctor.errors import LogFormatError, printable
from lrdoctor.io.guard import bounded_lines, text_encoding
from lrdoctor.io.limits import MAX_LINE_CHARS
from lrdoctor.io._printed import Printed
from lrdoctor.io.records import RecordColumns, records_to_run
from lrdoctor.run import Run, RunMeta

__all__ = ["LineRule", "register_rule", "read_textlog", "parse_lines", "RULES"]

#: A number as logs print it: ``1e-4``, ``.5``, ``nan``, ``inf`` and thousands separators (``12,345.6``).
NUM = r"[-+]?(?:\d{1,3}(?:,\d{3})+(?![\d])(?:\.\d*)?|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan(?:xxx)?|inf(?:inity|xxx)?)"
_NUM_RE = re.compile(NUM, re.IGNORECASE)

#: Keys whose value carries a time unit: timing fields, kept but never judged as metrics.
_UNIT = r"(?P<unit>ms|s|sec|%|it/s)?"


def _num(text: str) -> float:
    if "," in text:
        text = text.replace(",", "")
    c = text[-1]
    if c == "0":  # trailing zeros a float forgets: keep the printed decimals ("4.600")
        if "." in text and "e" not in text and "E" not in text:
            p = Printed(text)
            p.decimals = len(text) - text.index(".") - 1
            return p
    elif c == "x":  # PaddleOCR's "{:x<6f}": nan and inf padded with x to width 6 ("nanxxx")
        text = text[:-3]
    return float(text)


@dataclass(frozen=True)
class LineRule:
    """One line shape: a name (for error messages) and a parser returning a record or None."""

    name: str
    parse: Callable[[str, dict], dict | None]


# -- rules --------------------------------------------------------------------------------

_NANOGPT_ITER = re.compile(rf"^\s*iter\s+(?P<step>\d+):\s*loss\s+(?P<loss>{NUM})", re.I)
_NANOGPT_EVAL = re.compile(rf"^\s*step\s+(?P<step>\d+):\s*train loss\s+(?P<tl>{NUM}),\s*val loss\s+(?P<vl>{NUM})", re.I)


def _nanogpt(line: str, state: dict) -> dict | None:
    m = _NANOGPT_ITER.match(line)
    if m:
        rec = {"step": int(m["step"]), "loss": _num(m["loss"])}
        t = re.search(rf"time\s+({NUM})\s*ms", line)
        if t:
            rec["time_ms"] = _num(t[1])
        return rec
    m = _NANOGPT_EVAL.match(line)
    if m:
        return {"step": int(m["step"]), "train_loss_eval": _num(m["tl"]), "val_loss": _num(m["vl"])}
    return None


#: NVIDIA's speech trainers (tacotron2, flowtron, mellotron and their many forks):
#: ``"Train loss {} {:.6f} Grad Norm {:.6f} {:.2f}s/it".format(iteration, loss, grad_norm, dt)``
#: and ``"Validation loss {}: {:9f}  ".format(iteration, val_loss)``; WaveGlow / nv-wavenet print
#: ``"{}:\t{:.9f}".format(iteration, loss)`` (a bare iteration, a tab, a 9-decimal loss).
_NV_TRAIN = re.compile(rf"^\s*Train loss\s+(?P<it>\d+)\s+(?P<loss>{NUM})\s+Grad Norm\s+(?P<g>{NUM})(?:\s+(?P<dt>{NUM})s/it)?", re.I)
_NV_VAL = re.compile(rf"^\s*Validation loss\s+(?P<it>\d+):\s+(?P<loss>{NUM})\s*$", re.I)
_WAVEGLOW = re.compile(r"^\s*(?P<it>\d+):\t(?P<loss>-?(?:\d+\.\d{4,}|nan|inf))\s*$", re.I)


#: karpathy's makemore / "Neural Networks: Zero to Hero": ``print(f'{i:7d}/{max_steps:7d}: {loss.item():.4f}')``
_STEP_OF_MAX_LOSS = re.compile(rf"^\s*(?P<i>\d+)\s*/\s*(?P<n>\d+):\s+(?P<loss>{NUM})\s*$", re.I)
#: rasbt's deeplearning-models: ``Epoch: 001/020 | Batch 0150/0176 | Cost: 1.5725``
_EPOCH_BATCH_OF = re.compile(r"^\s*Epoch:\s*(?P<ep>\d+)/\d+\s*\|\s*Batch\s+(?P<i>\d+)/(?P<n>\d+)\s*\|", re.I)


def _step_of_max(line: str, state: dict) -> dict | None:
    m = _STEP_OF_MAX_LOSS.match(line) if ":" in line else None
    if m is None or int(m["i"]) > int(m["n"]):
        return None
    return {"step": int(m["i"]), "loss": _num(m["loss"])}


def _nvidia_speech(line: str, state: dict) -> dict | None:
    m = _NV_TRAIN.match(line)
    if m:
        rec = {"iteration": int(m["it"]), "loss": _num(m["loss"]), "grad_norm": _num(m["g"])}
        if m["dt"]:
            rec["sec_per_it"] = _num(m["dt"])
        return rec
    m = _NV_VAL.match(line) or None
    if m:
        return {"iteration": int(m["it"]), "val_loss": _num(m["loss"])}
    m = _WAVEGLOW.match(line) if "\t" in line else None
    if m:
        return {"iteration": int(m["it"]), "loss": _num(m["loss"])}
    return None


#: Lightning's ModelCheckpoint (verbose): "Epoch 2, global step 150: 'val_loss' reached 3.54525
#: (best 3.54525), saving model to ..." ("was not in top 1" lines carry no value)
_CKPT_REACHED = re.compile(rf"^\s*Epoch (?P<ep>\d+), global step (?P<step>\d+): '(?P<key>[\w/.\-]+)' reached (?P<val>{NUM})", re.I)


def _lightning_checkpoint(line: str, state: dict) -> dict | None:
    m = _CKPT_REACHED.match(line) if "reached" in line else None
    if m is None:
        return None
    return {"epoch": int(m["ep"]), "global_step": int(m["step"]), m["key"]: _num(m["val"])}


#: Bare "key value" pairs with no ':' or '=' (WeNet's "TRAIN Batch 4/203700 loss 12.646465
#: loss_att 10.92 lr 0.00032621 rank 0", "Epoch 74 CV info cv_loss 7.6275", TF NMT-style
#: "global step 6000 learning rate 0.1937 step-time 0.67 perplexity 13.56"): read only when
#: at least two pairs are found and one key names a metric, so prose is not read as numbers.
_BARE_TOKEN = re.compile(rf"^{NUM}(?:s|ms)?$", re.I)
_BARE_KEY = re.compile(r"^[A-Za-z_][\w\-]{0,40}$")
_BARE_METRIC = re.compile(r"loss|^lr$|^ppl$|perplexity|^acc|accuracy|reward|^wer$|^cer$|^bleu$", re.I)
_BARE_TWO_WORD = {("learning", "rate"): "lr", ("global", "step"): "global_step"}
_BARE_EVAL_LEAD = frozenset({"cv", "dev", "valid", "val", "eval", "test"})


def _bare_pairs(line: str, state: dict) -> dict | None:
    if any(c in line for c in ":=|\t(%") or not _BARE_METRIC.search(line):
        return None  # separators, tables and "value (avg)" segments are the other rules' shapes
    toks = line.split()
    rec: dict = {}
    i = 0
    while i < len(toks) - 1:
        two = (toks[i].lower(), toks[i + 1].lower())
        if two in _BARE_TWO_WORD and i + 2 < len(toks) and _BARE_TOKEN.match(toks[i + 2]):
            rec.setdefault(_BARE_TWO_WORD[two], _num(toks[i + 2].rstrip("ms")))
            i += 3
            continue
        if _BARE_KEY.match(toks[i]) and _BARE_TOKEN.match(toks[i + 1]):
            rec.setdefault(toks[i].lower().replace("-", "_"), _num(toks[i + 1].rstrip("ms")))
            i += 2
            continue
        i += 1
    if len(rec) < 2 or not any(_BARE_METRIC.search(k) for k in rec):
        return None
    lead = next((t.lower() for t in toks[:3] if t.lower() in _BARE_EVAL_LEAD), None)
    if lead is not None:  # "CV Batch 4/0 loss 28.5": the line's fields are the evaluation's
        rec = {(k if _STEPLIKE.match(k) or k == "rank" or k.startswith(lead) else f"{lead}_{k}"): v for k, v in rec.items()}
    return rec


_BATCHES = re.compile(r"^(?P<b>\d+)\s*/\s*(?P<t>\d+)\s+batches$", re.I)
_CELL_KEY = re.compile(r"[A-Za-z][A-Za-z _/.\-]*")
_CELL_VAL = re.compile(rf"(?P<val>{NUM}){_UNIT}", re.I)


def _cell(cell: str) -> tuple[str, str, str | None] | None:
    """``key value`` / ``key: value`` of one table cell as (key, number, unit), or None.

    Split at the last whitespace run instead of one regular expression with a lazy key
    followed by ``\\s*:?\\s+`` (quadratic in the length of a run of spaces)."""
    parts = cell.rsplit(None, 1)
    if len(parts) != 2:
        return None
    key, val = parts[0].rstrip(), parts[1]
    if key.endswith(":"):
        key = key[:-1].rstrip()
    m = _CELL_VAL.fullmatch(val)
    if not key or m is None or _CELL_KEY.fullmatch(key) is None:
        return None
    return key, m["val"], m["unit"]


def _pipe_table(line: str, state: dict) -> dict | None:
    """pytorch/examples style ``| key value | key value |`` lines."""
    s = line.strip()
    if not (s.startswith("|") and s.count("|") >= 3):
        return None
    rec: dict = {}
    batch = total = None
    end_of_epoch = False
    for cell in (c.strip() for c in s.strip("|").split("|")):
        if not cell:
            continue
        m = _BATCHES.match(cell)
        if m:
            batch, total = int(m["b"]), int(m["t"])
            continue
        kv = _cell(cell)
        if kv is None:
            continue
        key, val, unit = kv[0].strip().lower(), kv[1], kv[2]
        if key == "end of epoch":
            key, end_of_epoch = "epoch", True
        if unit in ("ms", "s", "sec") and "time" not in key:
            key = f"{key}_{unit}"
        rec[key.replace(" ", "_")] = _num(val)
    if not rec:
        return None
    if total:
        state["batches_per_epoch"] = total
    per = state.get("batches_per_epoch")
    epoch = rec.get("epoch")
    if epoch is not None and per:
        if batch is not None:
            rec["step"] = int((epoch - 1) * per + batch)
        elif end_of_epoch:
            rec["step"] = int(epoch * per)
    return rec


_SB3_SECTION = re.compile(r"^\|\s*(?P<sec>[\w\-]+/)\s*\|\s*\|\s*$")
#: (baselines' deepq logger writes spaced keys: ``| mean 100 episode reward | -21 |``)
_SB3_ROW = re.compile(rf"^\|\s+(?P<key>[\w\-.%]+(?: [\w\-.%]+)*)\s*\|\s*(?P<val>{NUM})\s*\|\s*$", re.I)


def _sb3_table(line: str, state: dict) -> dict | None:
    """SB3's ASCII dump; records are emitted when the closing ``-----`` line arrives
    (pasted tables often carry a leading space on every line)."""
    s = line.strip()
    m = _SB3_SECTION.match(s)
    if m:
        state["sb3_section"] = m["sec"]
        state.setdefault("sb3_rec", {})
        return {}
    m = _SB3_ROW.match(s)
    if m:  # baselines' logger writes the same rows without "rollout/" sections
        state.setdefault("sb3_rec", {})[state.get("sb3_section", "") + m["key"].replace(" ", "_")] = _num(m["val"])
        return {}
    if s.startswith("---") and state.get("sb3_rec"):
        rec = state.pop("sb3_rec")
        state.pop("sb3_section", None)
        return rec
    return None


#: ``key=value`` / ``key: value``. A key starts only at the start of a run of key characters
#: (digits before its first letter are skipped inside the match): otherwise every position
#: of a long word would start a scan to the end of that word, quadratic in its length.
_KV = re.compile(rf"(?<![\w/.\-])(?:[^\W_A-Za-z]|[/.\-])*(?P<key>[A-Za-z_][\w/.\-]*(?:\s[A-Za-z_][\w/.\-]*)?)[\x27\x22]?\s*(?:=|:)\s*(?P<val>{NUM}){_UNIT}(?!\w|\.\w)", re.I)
_STEP_WORD = re.compile(r"^\s*\[?(step|iter|iteration|epoch)\s*(?:\[\s*)?(\d+)", re.I)
_STEPLIKE = re.compile(r"^(step|iter|iteration|it|global_step|epoch|update)$", re.I)
#: units that trail a value and may be read as the first word of the next key
_UNIT_WORDS = frozenset({"s", "ms", "sec", "secs", "min", "h", "it"})


def _key_name(raw: str) -> str:
    """snake_case key; a leading lower-case unit word belongs to the previous value, not to the
    key ("0.831s loss=1.19" is "loss", not "s_loss")."""
    key = raw.strip().lower().replace(" ", "_")
    head, _, rest = key.partition("_")
    return rest if rest and head in _UNIT_WORDS and raw.strip()[0].islower() else key
#: prose logs: "Loss is 1.2645824. Current learning rate is 0.0463" (BigDL, Analytics Zoo);
#: only well-known metric words, so "Throughput is 408" adds no column
_IS = re.compile(rf"(?<![\w])(?P<key>loss|learning rate|lr|accuracy|reward)\s+is\s+(?P<val>{NUM})", re.I)
#: DeepSpeed-Chat's "Epoch 1/3 with loss 0.6737638572528841"
_WITH = re.compile(rf"(?<![\w])with (?P<key>loss|train loss|training loss)\s+(?P<val>{NUM})(?![\w.])", re.I)
#: a scheduler's prose: Keras' "LearningRateScheduler setting learning rate to 0.001.",
#: "ReduceLROnPlateau reducing learning rate to 1e-4.", OpenNMT's "Decaying learning rate to 0.0156"
_LR_TO = re.compile(rf"(?<![\w])(?:learning rate|lr) to ({NUM})(?!\w|\.\d)", re.I)
#: "[Iteration 45457]": the global iteration counter of the same logs
_ITER_BRACKET = re.compile(r"\[iteration\s+(\d+)\]", re.I)
#: pytorch/examples ImageNet's "Epoch: [127][ 35/464]" (or "[127/300][ 35/464]"): batch i of T in epoch e
#: also mmengine's "Epoch(train) [1][10/90]" (an "Epoch(val)" line files its metrics at the epoch,
#: not at a step computed from the validation loader) and "Epoch:[0/19](100/24681)" (minimind)
_EPOCH_BRACKETS = re.compile(
    r"(?:epoch|train)(?P<mode>\((?:train|val|test)\))?:?\s*\[\s*(?P<ep>\d+)(?:\s*/\s*\d+)?\s*\]\s*"
    r"(?:\[\s*(?P<i>\d+)\s*/\s*(?P<n>\d+)\s*\]|\(\s*(?P<pi>\d+)\s*/\s*(?P<pn>\d+)\s*\))", re.I)
#: timm's "Train: 3 [ 100/1251 (  8%)]" (and OpenPCDet's "Train:    1/3 ( 33%) [  49/323 ( 15%)]"):
#: batch i of N in epoch e; pytorch/examples' "Train Epoch: 1 [640/60000 (1%)]" counts samples
#: PaddleClas: ``[Train][Epoch 24/120][Iter: 0/304]lr(...): 0.001, top1: 0.97, CELoss: 0.0176``
#: (1-based epochs: its eta counts ``(epochs - epoch + 1) * iters``); ``[Eval][Epoch 24][Iter: 0/50]``
#: lines hold the evaluation's fields
_PADDLECLAS = re.compile(r"\[(?P<mode>Train|Eval)\]\[Epoch (?P<ep>\d+)(?:/\d+)?\]\[Iter: (?P<i>\d+)/(?P<n>\d+)\]", re.I)
_LR_NAMED = re.compile(rf"(?<![\w])lr\([A-Za-z]\w{{0,40}}\):\s*({NUM})", re.I)
#: MXNet's ``Epoch[4] Train-accuracy=0.5488`` / ``Epoch[4] Batch [100]``: the index in brackets
#: anywhere on the line (the line starts with a timestamp and ``Node[0]``)
_WORD_INDEX = re.compile(r"(?<![\w\[])(epoch|iter|iteration)\[(\d+)\](?!\s*\[?\s*\d+\s*/)", re.I)
_TIMM_TRAIN = re.compile(r"(?<![\w])train(?: epoch)?\s*:\s*(\d+)(?:\s*/\s*\d+\s*\(\s*\d+%\s*\))?\s*\[\s*(\d+)\s*/\s*(\d+)\s*\(\s*\d+%\s*\)\s*\]", re.I)
#: ESPnet2's "7epoch:train:7126-7500batch:" and "7epoch results:": the epoch (its batch counter
#: restarts every epoch, so rows stay in log order)
_ESPNET_EPOCH = re.compile(r"(?<![\w])(\d+)epoch(?::(?:train|valid):\d+-\d+batch:| results:)")
#: "best" among the words just before a key ("Yayy! New best EMA pseudo Dice: 0.8196")
_BEST_BEFORE = re.compile(r"(?<![\w])best(?: [A-Za-z]\w{0,20}){0,3} ?$", re.I)
#: Catalyst's "0/2 * Epoch 0 (train): ..." and "0 * Epoch (valid) metrics: ...": the epoch
_CATALYST_EPOCH = re.compile(r"^\s*(\d+)(?:/\d+)?\s*\*\s*Epoch\s*(\d+)?\s*\(", re.I)
#: an evaluation mode right after "Epoch" at the start of a line: "Epoch 0 (valid):", "Epoch(val)"
_EVAL_MODE = re.compile(r"(?<![\w])epoch\b[ \d]{0,12}\((?P<mode>valid|val|validation|eval|test)\)", re.I)
#: "key: a/b (p%)": a count of a in b and its percentage, the figure a person reads
_FRACTION_PCT = re.compile(rf"(?<![\w/.\-])(?P<key>[A-Za-z_][A-Za-z_ ]{{0,30}}?)\s*:\s*\d+\s*/\s*\d+\s*\(\s*(?P<pct>{NUM})\s*%\s*\)", re.I)
#: words of a score whose "a/b (p%)" is read as p
_SCORE_WORD = re.compile(r"acc|correct|precision|recall|top\d|f1|success|dice|iou|map", re.I)
#: a line led by an evaluation split's name: "Test set: ...", "Validation set: ...", "Eval: ..."
_SPLIT_LINE = re.compile(r"^\s*(test|val|valid|validation|eval|evaluation|dev)(?: set)?\s*(?::|\[\s*\d+\s*/\s*\d+\s*\])", re.I)
#: Bare split names as keys; two or more on one line are that split's accuracy (PyG and DGL
#: examples print "Train: 0.5455, Val: 0.5342, Test: 0.4670"). Decided on the keys alone, never
#: on the values, so that lines of one shape are read alike (the shape cache relies on it).
_SPLIT_NAMES = frozenset({"train", "val", "valid", "test"})
#: two more numbers after a value, separated by blanks only: the value opens a vector
_VECTOR_TAIL = re.compile(rf"[ \t]+{NUM}[ \t]+{NUM}", re.I)
#: Python logging's "(module:lineno)" ("(trainer:486) INFO:"), which is no metric
_LOG_ORIGIN = re.compile(r"\(\w{1,60}:\d{1,7}\)")
#: A lower-case section marker inside a key=value line: ESPnet2's "[train] loss=1.61, ...
#: [valid] loss=1.85": the keys after "[valid]" are the validation's ("valid_loss")
_SECTION = re.compile(r"\[([a-z][a-z_]{0,30})\]\s")
#: a key qualified by a parenthesis before its colon: LitGPT's "loss train (curr): 1.657"
#: (or by a count: "Reward moyen (100 ep): 22.6", a mean over the last 100 episodes)
_QUALIFIED = re.compile(rf"(?<![\w/.\-])(?P<key>[A-Za-z_]\w{{0,40}}(?: [A-Za-z_]\w{{0,40}}){{0,2}}) \([A-Za-z0-9][\w ]{{0,30}}\) ?:\s*(?P<val>{NUM})(?![\w.])")
#: "[Loss] 51566519.44 | [step]    89": a bracketed name followed by its number (LION's
#: trainer); a bracketed lower-case name followed by more keys stays a section (``_SECTION``)
_BRACKET_KEY = re.compile(rf"\[(?P<key>[A-Za-z][A-Za-z_ ]{{0,24}})\][ \t]{{0,16}}(?P<val>{NUM})(?![\w.])")
#: loguru's "{name}:{function}:{line} - " origin ("trainers.base_trainer:train_epochs:256 - ")
_LOGURU_ORIGIN = re.compile(r"(?<![\w.])[A-Za-z_][\w.]{0,80}:[A-Za-z_]\w{0,60}:\d{1,6}(?= - )")
#: a bracketed list of numbers: nnU-Net's "Pseudo dice [0.0, 0.1611, 0.0]", DeepSpeed's
#: "lr=[5e-05]"; plain numbers only (no thousands separators, which would make the split of
#: "1,234,567" ambiguous), so a failed match stops at the first other character
_LIST_NUM = r"[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf)"
_NUM_LIST = re.compile(rf"\[\s*({_LIST_NUM}(?:\s*,\s*{_LIST_NUM})*)\s*\]", re.I)
#: the key just before a list (read in the 80 characters before it)
_LIST_KEY = re.compile(r"(?<![\w/.\-])([A-Za-z_][\w/.\-]{0,40}(?: [A-Za-z_][\w/.\-]{0,40}){0,3})\s*[:=]?\s*$")
#: OpenNMT-py's "Epoch  1, 12850/37527; acc: ..." (batch i of T within the epoch)
_EPOCH_BATCH = re.compile(r"^\s*epoch\s+(\d+)\s*,\s*(\d+)\s*/\s*(\d+)\s*;", re.I)


def _blank(line: str, spans: list[tuple[int, int]]) -> str:
    """``line`` with each span replaced by spaces: no rule reads it, and every other
    character keeps its position."""
    out, at = [], 0
    for a, b in sorted(spans):
        a = max(a, at)
        if b > a:
            out += [line[at:a], " " * (b - a)]
            at = b
    out.append(line[at:])
    return "".join(out)


#: the longest path read back from a ".py:" (longer ones are no source location a log prints)
_MAX_PATH = 300
_LINENO = re.compile(r"\d{1,7}(?::|,| in )")


def _source_locations(line: str) -> list[tuple[int, int]]:
    """Spans of Python source locations, "/usr/lib/python3.6/.../functional.py:3289:" (a
    warning) or 'File "x.py", line 3' (no number here, but the path is no key): found with
    ``str.find`` and a bounded look-back, so a line of many ".py:" stays linear."""
    spans = []
    i = line.find(".py:")
    while i >= 0:
        end = i + 4
        m = _LINENO.match(line, end)
        if m:
            start = max(line.rfind(" ", max(0, i - _MAX_PATH), i), line.rfind("\t", max(0, i - _MAX_PATH), i)) + 1
            if start == 0 and i > _MAX_PATH:
                start = i - _MAX_PATH
            spans.append((start, m.end()))
        i = line.find(".py:", end)
    return spans


def _list_values(line: str, rec: dict, state: dict) -> None:
    """``key [a, b, c]`` / ``key: [a]`` / ``key=[a, b]``: a learning rate per parameter group
    is the first group's (what HF and Lightning report); any other list is a per-class
    score (nnU-Net's Dice per class) and is read as its mean over the finite values.
    Lists are read beside scalar fields or alone on their line; a line of several lists and
    nothing else (PFNL's "Eval PSNR: [30.5], MSE: [0.0011]" before its first step) is an
    evaluation dump that would otherwise open the log with step-less records."""
    lists = list(_NUM_LIST.finditer(line))
    if not rec and len(lists) > 1:
        return
    for m in lists:
        km = _LIST_KEY.search(line[max(0, m.start() - 80): m.start()])
        if km is None:
            continue
        key = _key_name(km[1])
        if key in rec or _STEPLIKE.match(key):
            continue
        vals = [_num(v) for v in re.split(r"\s*,\s*", m[1].strip())]
        finite = [v for v in vals if v == v and abs(v) != float("inf")]
        if "lr" in key.split("_") or "learning_rate" in key:
            rec[key] = vals[0]
        elif finite:
            rec[key] = sum(finite) / len(finite)
            if len(vals) > 1:
                # a mean is no number of the line: a line of the same shape must be parsed
                # again, not read through the shape cache (which maps fields to spans)
                state["lists"] = True


def _key_values(line: str, state: dict) -> dict | None:
    """``key=value`` / ``key: value`` pairs (``step:N/M`` keeps N)."""
    rec: dict = {}
    # (each pattern below runs only when a substring it needs is in the line: most lines of a
    # long log match none of them, and the checks are C-speed scans)
    esp = _ESPNET_EPOCH.search(line) if "epoch" in line else None
    hidden = [m.span() for m in _LOG_ORIGIN.finditer(line)] if "(" in line else []
    if esp:
        hidden.append(esp.span())
    if ".py:" in line:
        hidden += _source_locations(line)
    if " - " in line:
        hidden += [m.span() for m in _LOGURU_ORIGIN.finditer(line)]
    if hidden:
        line = _blank(line, hidden)
    for k, v in _segments(line).items():  # "Train loss 1.59" (no separator) and friends
        rec[k] = v
    sections = [(m.end(), m[1]) for m in _SECTION.finditer(line)] if "] " in line else []
    best = "best" in line or "Best" in line
    for m in _KV.finditer(line):
        key = _key_name(m["key"])
        if _VECTOR_TAIL.match(line, m.end()):
            continue  # mmdet's "bbox_mAP_copypaste: 0.751 0.987 0.876 ...": a vector, no scalar
        sec = next((name for end, name in reversed(sections) if end <= m.start()), None) if sections else None
        if sec and sec not in ("train", "training"):
            key = f"{sec}_{key}"
        if best and _BEST_BEFORE.search(line, max(0, m.start() - 40), m.start()):
            key = f"best_{key}"  # nnU-Net's "New best EMA pseudo Dice: 0.82": a best so far, not this value
        if m["unit"] in ("ms", "s", "sec"):
            key = key if ("time" in key or key.endswith("avg")) else f"{key}_{m['unit']}"
        elif m["unit"] == "%" and key == "clip":
            key = "clip_pct"  # fairseq's share of clipped updates, not a threshold
        rec[key] = _num(m["val"])
    if "]" in line:
        for m in _BRACKET_KEY.finditer(line):
            rec.setdefault(_key_name(m["key"]), _num(m["val"]))
    for m in _IS.finditer(line):
        key = m["key"].lower().replace(" ", "_")
        rec["lr" if key == "learning_rate" else key] = _num(m["val"])
    lr_to = _LR_TO.search(line) if " to " in line else None
    if lr_to:
        rec.setdefault("lr", _num(lr_to[1]))
    wl = _WITH.search(line) if "with " in line else None
    if wl:
        rec.setdefault("loss", _num(wl["val"]))
    for m in (_QUALIFIED.finditer(line) if "): " in line or ") : " in line else ()):
        rec.setdefault(_key_name(m["key"]), _num(m["val"]))
    if "[" in line:
        _list_values(line, rec, state)
    if esp and rec:
        rec["epoch"] = float(esp[1])
    cat = _CATALYST_EPOCH.match(line) if "*" in line else None
    if cat and rec:
        rec["epoch"] = float(cat[2] or cat[1])
    mode = _EVAL_MODE.search(line, 0, 80) if "(" in line[:80] else None
    if mode and rec:
        # Catalyst's "0/2 * Epoch 0 (valid): ... loss=2.1173", mmdet's "Epoch(val) [1][37]": every
        # field of the line is the validation's (its lr and timers too: a field shared with the
        # training lines would repeat an epoch on consecutive records and cost the epoch axis)
        pre = mode["mode"].lower()
        rec = {(k if _STEPLIKE.match(k) or k.startswith(pre + "_") else f"{pre}_{k}"): v for k, v in rec.items()}
    if "%)" in line:  # "Accuracy: 9166/10000 (92%)" is 92 (%), not a count of 9166
        for fm in _FRACTION_PCT.finditer(line):
            key = _key_name(fm["key"])
            if _SCORE_WORD.search(key):  # a score; "Batch: 640/60000 (1%)" stays a counter
                rec[key] = _num(fm["pct"])
    for alias in ("train_epoch", "training_epoch"):  # "Train Epoch: 3", NeMo's "Training epoch 0,"
        if alias in rec and "epoch" not in rec:
            rec["epoch"] = rec.pop(alias)
    for pre in ("valid", "val", "validation", "eval", "test"):
        # "Valid Epoch: 16 Loss: nan: 100% 660/660": the line's fields are the validation's
        if f"{pre}_epoch" in rec and "epoch" not in rec:
            rec["epoch"] = rec.pop(f"{pre}_epoch")
            rec = {(k if _STEPLIKE.match(k) or k.startswith(pre) else f"{pre}_{k}"): v for k, v in rec.items()}
            break
    split = _SPLIT_LINE.match(line)
    if split and rec:
        # pytorch/examples' "Test set: Average loss: 0.2848, Accuracy: 9166/10000 (92%)": the
        # line's fields are that split's
        pre = split[1].lower()
        rec = {(k if _STEPLIKE.match(k) or k.startswith(pre) else f"{pre}_{k}"): v for k, v in rec.items()}
    splits = [k for k in rec if k in _SPLIT_NAMES]
    if len(splits) >= 2:  # PyG/DGL examples: "Train: 0.5455, Val: 0.5342, Test: 0.4670" are accuracies
        for k in splits:
            rec[f"{k}_acc"] = rec.pop(k)
    ib = _ITER_BRACKET.search(line)
    if ib and rec:
        rec["iteration"] = float(ib[1])
    ebr = _EPOCH_BRACKETS.search(line)
    if ebr and rec:
        ep = int(ebr["ep"])
        rec["epoch"] = float(ep)
        if (ebr["mode"] or "").lower() not in ("(val)", "(test)"):
            i, total = int(ebr["i"] or ebr["pi"]), int(ebr["n"] or ebr["pn"])
            rec["step"] = float(ep * total + i)
    tm = _TIMM_TRAIN.search(line) if "%)" in line else None
    if tm and rec:
        ep, i, total = int(tm[1]), int(tm[2]), int(tm[3])
        rec["epoch"], rec["step"] = float(ep), float(ep * total + i)
    # "Epoch 1, 12850/37527; ...": the step is the batch counted across epochs
    eb = _EPOCH_BATCH.match(line)
    if eb:
        ep, i, total = int(eb[1]), int(eb[2]), int(eb[3])
        rec["epoch"], rec["step"] = float(ep), float((ep - 1) * total + i)
    # "Step 10: loss ..." / "Epoch 3 ..." without a separator
    m = _STEP_WORD.match(line)
    if m and m[1].lower() not in rec:
        rec[m[1].lower()] = float(m[2])
    if "lr(" in line:  # PaddleClas's "lr(PiecewiseDecay): 0.00100000"
        lm = _LR_NAMED.search(line)
        if lm:
            rec["lr"] = _num(lm[1])
    eb_ = _EPOCH_BATCH_OF.match(line) if rec and "Batch" in line else None
    if eb_:
        ep, i, total = int(eb_["ep"]), int(eb_["i"]), int(eb_["n"])
        rec["epoch"], rec["step"] = float(ep), float((ep - 1) * total + i)
        rec.pop("batch", None)
    pc = _PADDLECLAS.search(line) if rec and "][Iter:" in line else None
    if pc:
        ep, i, total = int(pc["ep"]), int(pc["i"]), int(pc["n"])
        if pc["mode"].lower() == "eval":
            rec = {(k if _STEPLIKE.match(k) else f"eval_{k}"): v for k, v in rec.items()}
            rec["epoch"] = float(ep)
        else:
            rec["epoch"], rec["step"] = float(ep), float((ep - 1) * total + i)
    wi = _WORD_INDEX.search(line) if rec and "[" in line else None
    if wi and wi[1].lower() not in rec:
        rec[wi[1].lower()] = float(wi[2])
    if not rec:
        return None
    # a line holding only a step ("Epoch 3/10", "step: 1,000") starts a block: the metric
    # lines that follow are filed under it (multi-line key=value blocks, Keras stdout)
    return rec


def _python_dict(line: str, state: dict) -> dict | None:
    """HF Trainer's stdout: ``{'loss': 2.119, 'grad_norm': 37.6, 'learning_rate': 4.6e-05, 'epoch': 0.25}``
    (read with ``ast.literal_eval``: a literal, never executed)."""
    t = line.strip()
    if not t.endswith("}") or len(t) > 10_000:
        return None
    a = t.find("{")
    if a < 0:
        return None
    t = t[a:]  # fairseq: "2021-01-25 | INFO | valid | {"epoch": 4, "valid_loss": "898.216", ...}"
    obj = None
    try:
        if "'" in t:
            obj = ast.literal_eval(t.replace("nan", "None").replace("inf", "None"))
        elif '"' in t:
            obj = json.loads(t)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    rec = {}
    for k, v in obj.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            rec[str(k)] = float(v)
        elif isinstance(v, str) and _NUM_FULL.match(v.strip()):  # fairseq writes numbers as strings
            rec[str(k)] = _num(v.strip())
    # NaN/inf survive as such, bare or quoted (the DPO reference trainer prints 'loss/train': 'nan')
    for m in re.finditer(r"'(?P<k>[^']+)':\s*'?(?P<v>-?(?:nan|inf))'?(?=\s*[,}])", t, re.I):
        rec[m["k"]] = float(m["v"])
    return rec or None


_HEADER_CELL = re.compile(r"^[A-Za-z_][\w/.\-]*$")
#: a markdown/notebook table header cell may hold words with spaces ("Training Loss"), never digits
_SPACED_CELL = re.compile(r"^[A-Za-z_][A-Za-z_/.\- ]*$")


def _header_table(line: str, state: dict) -> dict | None:
    """A ``|``-separated header of names followed by rows of numbers (baselines PPO1's
    ``pol_surr | vf_loss | kl | ent`` optimisation table)."""
    s = line.strip().strip("*#=").strip()
    sep = "|" if "|" in s else ("\t" if "\t" in s else ",")
    cells = [c.strip() for c in s.strip("|").split(sep)]
    spaced = sep == "|" and all(_SPACED_CELL.match(c) for c in cells) and any(" " in c for c in cells)
    if len(cells) >= 2 and (spaced or all(_HEADER_CELL.match(c) for c in cells)) and any(not _NUM_FULL.match(c) for c in cells):
        # (HF notebooks print "Step | Training Loss | Validation Loss | Wer")
        state["pipe_header"] = [re.sub(r"\s+", "_", c.lower()) for c in cells]
        return {}
    head = state.get("pipe_header")
    if not head:
        return None
    cells = [c for c in re.split(r"[|,\s]+", s.strip("|")) if c]
    if len(cells) == len(head) and all(_NUM_FULL.match(c) for c in cells):
        return {k: _num(c) for k, c in zip(head, cells)}
    return None


_NUM_FULL = re.compile(rf"^{NUM}$", re.I)
#: Segment separators; the whitespace-led ones start only at the start of a whitespace run
#: (a run of n spaces would otherwise be rescanned from each of its n positions). Two or
#: more spaces after a number or after a running average's ")" start a new segment (Swin's
#: ``time 0.6068 (0.6098)    loss 6.3568 (6.1324)    grad_norm 2.0382 (inf)``).
_SEGMENT_SPLIT = re.compile(r"(?<!\s)(?:\s*[,;|\t]\s*|\s+-\s+)|(?<=[\d)]):\s+|(?<=[\d)])\s{2,}(?=[A-Za-z])")
_SEGMENT = re.compile(
    rf"^(?P<key>[A-Za-z][A-Za-z0-9_/.()\-]*(?:\s[A-Za-z][A-Za-z0-9_/.()\-]*){{0,3}})(?:\s*[:=]\s*|\s+)"
    rf"(?P<val>{NUM})(?:\s*/\s*\d+)?\s*(?P<unit>ms|s|sec|secs|%|it/s|GB|MB)?"
    # pytorch/examples' AverageMeter prints "Loss 2.1274e+00 (1.5406e+00)": the value, then its running average
    rf"(?:\s*\(\s*{NUM}\s*\)?)?$", re.I)  # (the segment's closing parenthesis may be stripped)


def _segments(line: str) -> dict:
    """``key value`` pairs in separated segments: ``Iter 25: Train loss 1.593, Learning Rate 7e-05``
    (MLX), ``Step 5350/50000; acc: 51.25; ppl: 8.43; xent: 2.13`` (OpenNMT), Keras' ``- loss: 0.5``."""
    rec: dict = {}
    for seg in _SEGMENT_SPLIT.split(line.strip()):
        m = _SEGMENT.match(seg.strip().strip("[]()"))
        if not m:
            continue
        key = _key_name(m["key"])
        unit = (m["unit"] or "").lower()
        if unit in ("ms", "s", "sec", "secs") and "time" not in key and "took" not in key:
            key = f"{key}_{unit}"
        elif unit == "%" and key == "clip":
            key = "clip_pct"
        rec.setdefault(key, _num(m["val"]))
    return rec


#: a console-table header cell ("Epoch", "GPU_mem", "box_loss", "Box(P", "mAP50-95)")
_CONSOLE_NAME = re.compile(r"^[A-Za-z_(][\w/.\-()@:]*$")
#: a console-table value: a number, "44/1000" (the epoch of E), or "6.73G" (memory)
_CONSOLE_CELL = re.compile(rf"^(?P<v>{NUM})(?:/\d+)?(?:[KMGT]i?B?)?$", re.I)


#: "_loss" columns that are no component of a summed loss: a whole loss of one split
_NOT_PARTS = ("train_", "training_", "val_", "valid_", "validation_", "eval_", "test_", "metrics/")
#: a wall-clock duration cell: "00:02", "47:41", "1:30:29"
_CLOCK = re.compile(r"^\d{1,3}:\d\d(?::\d\d)?$")


def _without_progress_tail(line: str) -> str:
    """``line`` cut before the tqdm bar it ends in (``: 100%|#####| 16/16 [00:06<00:00, ...]``);
    found with ``str.find`` so that no pattern rescans a long run of spaces."""
    i = line.find("%|")
    if i < 0:
        return line
    head = line[:i].rstrip("0123456789")
    return head.rstrip().rstrip(":")
#: a console-table header holds a metric identifier (``box_loss``, ``mAP50``), which prose
#: ("Training the loss now") does not, or starts with ``Epoch`` (YOLOv5/v7: ``Epoch gpu_mem
#: box obj cls total labels img_size``)
_CONSOLE_METRIC = re.compile(r"_loss$|^(?:box\(|mask\()?map", re.I)


def _console_key(cell: str, validation: bool, epoch_table: bool) -> str:
    key = cell.lower().removeprefix("box(").removeprefix("mask(").strip("()")
    # YOLOv5's console "mAP@.5  mAP@.5:.95" is results.csv's "mAP_0.5", "mAP_0.5:0.95"
    key = key.replace("@.", "_0.").replace(":.", ":0.")
    if epoch_table and key == "total":
        return "loss"  # YOLOv5/v7 print the components and their total
    if epoch_table and key in ("box", "obj", "cls", "dfl", "seg"):
        return f"{key}_loss"  # YOLOv5 before v6 names the loss parts bare ("box obj cls")
    return f"metrics/{key}" if validation and key != "class" else key


def _console_table(line: str, state: dict) -> dict | None:
    """Whitespace-aligned console tables: a header of names, then rows of values, each row
    often ending in a tqdm bar. Ultralytics YOLO prints ``Epoch GPU_mem box_loss cls_loss
    dfl_loss Instances Size`` / ``44/1000 6.73G 1.145 0.5266 1.11 6 640: 100%|...`` and a
    validation table ``Class Images Instances Box(P R mAP50 mAP50-95)`` / ``all 722 1444
    0.992 ...`` whose metrics are read as ``metrics/...`` at the epoch of the row above it
    (YOLOv6 prints the same shape)."""
    s = _without_progress_tail(line).strip()
    if not s or any(c in s for c in "|,\t=;"):
        return None
    cells = s.split()
    if len(cells) >= 3 and all(_CONSOLE_NAME.match(c) for c in cells) and \
            (cells[0].lower() == "epoch" or any(_CONSOLE_METRIC.search(c) for c in cells)):
        validation, epoch_table = cells[0].lower() == "class", cells[0].lower() == "epoch"
        state["console_header"] = [_console_key(c, validation, epoch_table) for c in cells]
        return {}
    head = state.get("console_header")
    if not head or len(cells) != len(head):
        return None
    rec: dict = {}
    for key, cell in zip(head, cells):
        m = _CONSOLE_CELL.match(cell)
        if m is None:
            if key == "class":
                continue  # the "all" row of a validation table
            if _CLOCK.match(cell):
                continue  # fastai's "time" column ("00:02", "1:30:29"): a duration, no metric
            return None
        if key != "class":
            rec[key] = _num(m["v"])
    # (the parts of one loss: not fastai's "train_loss valid_loss", a loss and an eval loss)
    parts = [k for k in rec if k.endswith("_loss") and not k.startswith(_NOT_PARTS)]
    if len(parts) >= 2 and "loss" not in rec:
        rec["loss"] = float(sum(rec[k] for k in parts))  # YOLO optimises (and results.csv sums) the parts
    if "epoch" in rec:
        state["console_epoch"] = rec["epoch"]
    elif "console_epoch" in state:
        rec["epoch"] = state["console_epoch"]
    return rec


#: a tqdm bar: "Epoch 3:  22%|##2       | 4/18 [00:17<01:02,  4.47s/it, loss=9.93, v_num=7]"
#: (PyTorch Lightning, NeMo); the bar's text is bounded so that no line is rescanned
_TQDM = re.compile(r"\d{1,3}%\|[^|\n]{0,300}\|\s*(?P<n>\d+)/(?P<total>\d+)\s*\[(?P<post>[^\]]{0,2000})\]")
#: "Epoch 3:" before a bar, also "Epoch 3/50 [FT]:" (a custom loop's description)
_BAR_EPOCH = re.compile(r"^\s*epoch\s+(\d+)(?:\s*/\s*\d+)?(?:\s*\[[^\]]{0,40}\])?\s*:?\s*$", re.I)
_POSTFIX_KEY = re.compile(r"^[A-Za-z_][\w/.\-]{0,80}$")
#: postfix fields that are no metric: Lightning's logger version
_POSTFIX_SKIP = frozenset({"v_num"})


def _tqdm_bar(line: str, state: dict) -> dict | None:
    """A progress bar: its postfix ``key=value`` fields are the record; a bar led by
    ``Epoch E:`` files them at step ``E * total + n`` (Lightning's total counts the
    validation batches too: still one increasing axis). A bar with no field (a validation
    bar, a bare "Training: 0%|") or with the fields of the bar drawn before it is consumed
    without a record."""
    m = _TQDM.search(line) if "%|" in line else None
    if m is None:
        return None
    rec: dict = {}
    for item in m["post"].split(","):
        key, eq, val = item.partition("=")
        key, val = key.strip(), val.strip()
        if eq and key not in _POSTFIX_SKIP and _POSTFIX_KEY.match(key) and _NUM_FULL.match(val):
            rec[key] = _num(val)
    if not rec:
        # a bar whose description holds the metrics ("Epoch 1, Step 0, Loss: 0.9741:  1%|...")
        desc = _key_values(line[:m.start()].rstrip(": \t"), {}) if ":" in line[:m.start()] else None
        if desc and any(not _STEPLIKE.match(k) for k in desc):
            return desc
        return {} if not line[m.end():].strip() else None  # text after a bare bar is another record
    # a bar redrawn with the postfix it already showed carries no new measurement (Lightning
    # redraws every batch but refreshes the running loss less often; each batch is drawn twice)
    shown = tuple(rec.items())
    if state.get("bar_postfix") == shown:
        return {}
    state["bar_postfix"] = shown
    ep = _BAR_EPOCH.match(line[:m.start()])
    if ep:
        rec["epoch"] = float(ep[1])
        rec["step"] = float(int(ep[1]) * int(m["total"]) + int(m["n"]))
    return rec


#: YOLOv5's results.txt (and its console's epoch rows pasted without their header): 15
#: whitespace-separated fields, the first "epoch/epochs", the second the GPU memory "5.61G".
#: Columns as YOLOv5 (utils/plots.py, plot_results) names them.
_YOLOV5_ROW = re.compile(rf"^\s*(\d+)/(\d+)\s+({NUM})G((?:\s+{NUM}){{13}})\s*$", re.I)
_YOLOV5_COLUMNS = ("box_loss", "obj_loss", "cls_loss", "loss", "labels", "img_size", "metrics/precision",
                   "metrics/recall", "metrics/map_0.5", "metrics/map_0.5:0.95", "val/box_loss", "val/obj_loss",
                   "val/cls_loss")


def _yolov5_results(line: str, state: dict) -> dict | None:
    """A YOLOv5 results.txt row: ``0/89 5.61G 0.07745 0.0277 0.01785 0.123 7 640 0.7966 ...``;
    the validation loss is the sum of its parts, as the results.csv reader makes it."""
    if "G " not in line:
        return None
    m = _YOLOV5_ROW.match(line)
    if m is None:
        return None
    vals = [_num(v) for v in m[4].split()]
    rec = {"epoch": float(m[1]), "gpu_mem": _num(m[3]), **dict(zip(_YOLOV5_COLUMNS, vals))}
    rec["val_loss"] = rec["val/box_loss"] + rec["val/obj_loss"] + rec["val/cls_loss"]
    return rec


RULES: list[LineRule] = [
    LineRule("yolov5-results", _yolov5_results),
    LineRule("console-table", _console_table),
    LineRule("tqdm-bar", _tqdm_bar),
    LineRule("sb3-table", _sb3_table),
    LineRule("python-dict", _python_dict),
    LineRule("nanogpt", _nanogpt),
    LineRule("nvidia-speech", _nvidia_speech),
    LineRule("step-of-max", _step_of_max),
    LineRule("lightning-checkpoint", _lightning_checkpoint),
    LineRule("bare-pairs", _bare_pairs),
    LineRule("header-table", _header_table),
    LineRule("pipe-table", _pipe_table),
    LineRule("key-value", _key_values),
]


_BUILTIN_PARSERS = [r.parse for r in RULES]


def register_rule(rule: LineRule, first: bool = True) -> None:
    """Add a line rule; by default it is tried before the built-in ones."""
    RULES.insert(0 if first else len(RULES), rule)


#: Namespace(...) lines read as config, and the longest body read: a log prints its argparse
#: Namespace once (real ones: < 2,000 characters); the bounds keep the quoted-value scan of
#: a hostile file from costing O(length^2) on every line.
MAX_NAMESPACE_LINES, MAX_NAMESPACE_CHARS = 16, 8192
_NS_ITEM = re.compile(r"(?<!\w)(\w+)=('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\[[^\]]*\]|[^,()]+)")


def _namespace_config(line: str) -> dict | None:
    start = line.find("Namespace(")
    end = line.rstrip().rfind(")")
    if start < 0 or end < start or end != len(line.rstrip()) - 1:
        return None
    body = line[start + len("Namespace("): end]
    if len(body) > MAX_NAMESPACE_CHARS:
        return None
    cfg = {}
    for key, raw in _NS_ITEM.findall(body):
        try:
            cfg[key] = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            cfg[key] = raw.strip()
    return cfg


#: What precedes the record on a line and is not part of it: quote markers of a pasted
#: log ("> "), timestamps ("[2018-11-26 14:47:26,759 INFO]", "2023-03-22 09:30:39"),
#: log levels and tqdm progress bars (" 10%|###  | 31/312 [06:29<55:54, 11.94s/it]").
_PREFIX = re.compile(
    r"^(?:\s*>+\s?)*"
    # glog/absl (TensorFlow, JAX): "I0912 11:40:27.956218 139735407601536 model_lib_v2.py:652] "
    r"(?:[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+\s+[\w.\-]+:\d+\]\s*)?"
    r"(?:\s*\[?\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:\s*(?:INFO|DEBUG|WARNING|WARN|ERROR))?\]?[\s:,-]*)?"
    r"(?:\s*(?:INFO|DEBUG|WARNING|WARN|ERROR)\b[\s:\-]*(?:\w+:)?)?"
    r"(?:\s*\d{1,3}%\|[^|]*\|[^\]]*\])?")


def _strip_prefix(line: str) -> str:
    return _PREFIX.sub("", line, count=1)


#: Rules whose result depends only on the form of a line, not on earlier lines or on the
#: digits of its numbers: their results are reused for lines of the same shape.
_SHAPE_RULES = frozenset({"python-dict", "nanogpt", "key-value"})
#: Every digit as "9": two lines with the same translation differ only in the values of
#: their digits, never in where numbers start and end or which pattern matches them.
_DIGITS_AS_9 = str.maketrans("012345678", "999999999")
#: Line shapes remembered per log (a log prints a few dozen shapes; a hostile one cannot
#: grow the cache past this), and the longest line whose shape is remembered.
MAX_SHAPES, MAX_SHAPE_LINE = 4096, 4000
_NOTHING = ()  # a shape on which every rule returns None


def _slots(rec: dict, line: str) -> tuple[tuple[str, int, int], ...] | None:
    """Where in the line each field of ``rec`` was read: ``((key, start, end), ...)``, the
    span of the one number equal to its value; None when a key holds a digit (its shape
    hides which digit) or a value equals no number of the line, or more than one, or the
    record holds both a step and an epoch."""
    if "step" in rec and "epoch" in rec:
        return None  # the step may be computed from the epoch ("Epoch: 001/020 | Batch 0150/0176":
        # (epoch - 1) * 176 + 150); a reused span would read the batch as the step on later epochs
    spans = [(m.start(), m.end(), _num(m.group())) for m in _NUM_RE.finditer(line)]
    slots = []
    for k, v in rec.items():
        if any(c.isdigit() for c in k):
            return None
        hits = [(a, b) for a, b, x in spans if x == v or (x != x and v != v)]
        if len(hits) != 1:
            return None
        slots.append((k, *hits[0]))
    return tuple(slots)


def parse_lines(lines, source: str = "<text>", skipped: list[int] | None = None, records=None) -> tuple[list[dict], dict]:
    """Records and config found in an iterable of lines.

    Lines longer than :data:`~lrdoctor.io.limits.MAX_LINE_CHARS` are not parsed; their
    1-based numbers are appended to ``skipped`` when given. ``records`` is where records
    go (a list by default; the reader passes a :class:`~lrdoctor.io.records.RecordColumns`).

    Speed: a log repeats a few line shapes millions of times. When no table is open (no
    rule state) and only the built-in rules are registered, the result of a shape-only
    rule (:data:`_SHAPE_RULES`) is remembered as "field -> character span of its number",
    once that mapping is unambiguous, and reused for every later line of the same shape
    (the same characters, digits aside: :data:`_DIGITS_AS_9`). Any line that does not fit
    is parsed in full; tests check both paths give the same records on every real log.
    """
    records = [] if records is None else records  # any sink with append(), e.g. RecordColumns
    config: dict = {}
    state: dict = {}
    namespaces = 0
    shapes: dict[str, tuple] = {}
    tries: dict[str, int] = {}
    use_shapes = [r.parse for r in RULES] == _BUILTIN_PARSERS
    for lineno, line in enumerate(lines, 1):
        if line is None or len(line) > MAX_LINE_CHARS + 1:
            if skipped is not None:
                skipped.append(lineno)
            continue
        line = _strip_prefix(line)
        if "Namespace(" in line and namespaces < MAX_NAMESPACE_LINES:
            cfg = _namespace_config(line)
            if cfg:
                namespaces += 1
                config.update(cfg)
                continue
        shape = None
        if use_shapes and not state and len(line) <= MAX_SHAPE_LINE:
            shape = line.translate(_DIGITS_AS_9)
            hit = shapes.get(shape)
            if hit is not None:
                if hit:
                    records.append({k: _num(line[i:j]) for k, i, j in hit})
                continue
        for rule in RULES:
            rec = rule.parse(line, state)
            if rec is None:
                continue
            if rec:
                records.append(rec)
            if shape is not None and not state and rec and rule.name in _SHAPE_RULES and len(shapes) < MAX_SHAPES:
                slots = _slots(rec, line)
                if slots is not None:
                    shapes[shape] = slots
            break
        else:
            if shape is not None and not state and len(shapes) < MAX_SHAPES:
                n = tries.get(shape, 0) + 1  # remember "no record" after two agreeing lines
                tries[shape] = n
                if n >= 2:
                    shapes[shape] = _NOTHING
    return records, config


def read_textlog(path: Path) -> Run:
    skipped: list[int] = []
    try:
        with open(path, encoding=text_encoding(path), errors="replace") as fh:
            lines = (line for _, line in bounded_lines(fh, MAX_LINE_CHARS))
            records, config = parse_lines(lines, str(path), skipped, RecordColumns())
    except OSError as err:
        raise LogFormatError(path, f"cannot read ({err.strerror})") from None
    except UnicodeError as err:
        raise LogFormatError(path, f"cannot decode the text ({err})") from None
    if not records:
        if path.stat().st_size == 0:
            raise LogFormatError(path, "file is empty")
        if skipped:
            raise LogFormatError(path, f"no readable line: {len(skipped)} line(s) are longer than "
                                       f"{MAX_LINE_CHARS} characters (not a text log?)", line=skipped[0])
        raise LogFormatError(path, "unknown format: no line looks like a training log (no 'loss', 'step', key=value ...)")
    meta = RunMeta(source=str(path), format="text-log")
    if skipped:
        meta.warnings.append(f"{printable(path.name)}:{skipped[0]}: {len(skipped)} line(s) longer than "
                             f"{MAX_LINE_CHARS} characters were not read")
    if records.has_raw_key("time/total_timesteps"):
        return records_to_run(records, meta, config=config, step_keys=[("time/total_timesteps", "timestep")])
    return records_to_run(records, meta, config=config)
