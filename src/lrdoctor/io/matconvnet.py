"""MatConvNet's training statistics as MATLAB displays them: ``cnn_train`` (and ``cnn_train_dag``)
keep one struct per split, ``info.train`` and ``info.val``, whose fields hold one number per epoch
(``objective``, the value of the network's objective, i.e. its loss; ``error`` and ``topFiveError``,
the top-1 and top-5 error rates; ``speed``), and users paste them from the command window::

    info.train =
    objective: [1.5653 1.1478 0.9879 ...
                      0.4191 0.3937 ...]
    error: [0.5659 0.4003 ...]
    speed: [1x20 double]

A line ``<var>.<split> =`` opens a split; each ``name: [`` opens a field's array, whose numbers
(separated by blanks, MATLAB's ``NaN``/``Inf`` included) run over lines up to its ``]`` or to the end
of the file (a cut paste: the numbers read are kept and the run says so). A field MATLAB summarises
instead of showing (``[1x20 double]``) has no numbers and is skipped. Each array becomes the column
``<split>/<field>`` (``train/objective``, ``val/error``), one value per epoch from epoch 1.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from lrdoctor.errors import LogFormatError
from lrdoctor.io.guard import whole_lines
from lrdoctor.io.limits import MAX_LINE_CHARS
from lrdoctor.run import Run, RunMeta, build_run

__all__ = ["is_info_struct", "read_info_struct"]

#: a number as MATLAB displays one (``NaN``, ``Inf``, ``-Inf`` included)
_MATLAB_NUM = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|NaN|Inf)"
#: the display's heading of one split's struct: ``info.train =``
_SPLIT = re.compile(r"^\s*[A-Za-z]\w{0,40}\.(?P<split>[A-Za-z]\w{0,40})\s*=\s*$")
#: a field whose array opens on this line: ``objective: [1.5653 1.1478``
_FIELD = re.compile(r"^\s*(?P<name>[A-Za-z]\w{0,60}):\s*\[(?P<rest>.*)$")
#: MATLAB's summary of an array it does not show (``[1x20 double]``, ``[1×20 single]``)
_SUMMARY = re.compile(r"^\s*\d+\s*[x×]\s*\d+\s+[a-z]\w*\s*\]\s*$")
#: one array element, then a blank, the closing bracket or the end of the line
_ELEMENT = re.compile(rf"\s*({_MATLAB_NUM})(?=\s|\]|$)")
#: the sniffing rule: a split's heading, then a field whose array opens with a number
_FIELD_WITH_NUMBER = re.compile(rf"^\s*[A-Za-z]\w{{0,60}}:\s*\[\s*{_MATLAB_NUM}(?:\s|$)")


def is_info_struct(head: str) -> bool:
    """Whether the file's first bytes ``head`` open with a displayed split struct: its first
    non-blank line is ``<var>.<split> =`` and the next one a field's array of numbers."""
    lines = [ln for ln in head.splitlines() if ln.strip()]
    return len(lines) >= 2 and bool(_SPLIT.match(lines[0])) and bool(_FIELD_WITH_NUMBER.match(lines[1]))


def _elements(path: Path, name: str, text: str, lineno: int, out: list[float]) -> bool:
    """Append the numbers of ``text`` to ``out``; True when the array's ``]`` closes in it. A token
    that is no number stops the read at its line."""
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        if text[i] == "]":
            return True
        m = _ELEMENT.match(text, i)
        if m is None:
            raise LogFormatError(path, f"field {name!r}: cannot read {text[i:i + 30].strip()!r} as a number", line=lineno)
        out.append(float(m[1]))
        i = m.end()
    return False


def read_info_struct(path: Path) -> Run:
    """The displayed arrays as a run, one row per epoch (see the module's docstring)."""
    series: dict[str, list[float]] = {}
    split: str | None = None
    open_name: str | None = None
    last = 0
    for lineno, line in whole_lines(path, MAX_LINE_CHARS):
        last = lineno
        if open_name is not None:
            if _elements(path, open_name, line, lineno, series[open_name]):
                open_name = None
            continue
        if not line.strip():
            continue
        s = _SPLIT.match(line)
        if s is not None:
            split = s["split"]
            continue
        f = _FIELD.match(line)
        if f is None:
            raise LogFormatError(path, "neither a struct's heading ('info.val =') nor a field's array ('error: [...]')", line=lineno)
        if _SUMMARY.match(f["rest"]):
            continue  # (no numbers shown)
        name = f"{split}/{f['name']}" if split else f["name"]
        if name in series:
            raise LogFormatError(path, f"field {name!r} is displayed twice", line=lineno)
        series[name] = []
        if not _elements(path, name, f["rest"], lineno, series[name]):
            open_name = name
    series = {k: v for k, v in series.items() if v}
    if not series:
        raise LogFormatError(path, "no field's array of numbers ('objective: [1.56 1.15 ...]')")
    n = max(len(v) for v in series.values())
    meta = RunMeta(source=str(path), format="matconvnet-info", step_unit="epoch")
    cols: dict[str, np.ndarray] = {}
    masks: dict[str, np.ndarray] = {}
    for k, v in series.items():
        cols[k] = np.full(n, np.nan)
        masks[k] = np.zeros(n, dtype=bool)
        cols[k][: len(v)], masks[k][: len(v)] = v, True
    if open_name is not None and open_name in series:
        meta.warnings.append(f"the array of {open_name!r} is cut at line {last} (the paste ends inside it): "
                             f"its {len(series[open_name])} of {n} epochs read are kept")
    return build_run(np.arange(1, n + 1, dtype=float), cols, masks, meta=meta)
