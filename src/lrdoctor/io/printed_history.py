"""A dict of per-epoch lists as Python prints it over several lines, pasted from a console, a
notebook or an issue: ``print(history.history)`` of a Keras ``fit`` as IPython's pretty printer
(and :mod:`pprint`) lays it out, one number a line::

    {'loss': [0.6931,
      0.5123,
      ...],
     'val_loss': [0.70, ...]}

Pastes of it are rarely the whole literal: wrapped in markdown backticks (`` `'val_loss': [8014.77,``),
after a REPL prompt (``>>> history``), cut before the closing brackets, or two prints side by side
under a heading each, with scalar tensors for numbers (a hand-written PyTorch loop's
``{'train': [], 'val': []}`` history, printed as ``Loss statistics -`` then
``{'train': [tensor(0.4949, device='cuda:0'), ...], 'val': [...]}``). None of these is a Python
literal any more, so :func:`lrdoctor.io._json.python_literal` cannot read them and the text reader,
which reads line by line, sees only a column of bare numbers.

This reader reads the quoted names and their lists and nothing else: each ``'name': [`` opens a
list, whose elements must be numbers (``nan``/``inf`` as Python prints them) or a scalar tensor's
repr, up to its ``]`` or to the end of the file (a cut paste: the numbers read are kept and the
run says so). A list keyed by a split alone (``'train'``, ``'val'``) is named by the heading line
printed above its dict (``Loss statistics -``: ``train_loss``, ``val_loss``); with no heading such
a list has no metric name and the file is refused at its line. Scalars and strings beside the lists
(``'n_hidden': 128``, ``'train_time': '17:28'``) are no series and are skipped. One value per
epoch, as a Keras history (:mod:`lrdoctor.io.keras` builds the run).
"""

from __future__ import annotations

import re
from pathlib import Path

from lrdoctor.errors import LogFormatError
from lrdoctor.io.guard import whole_lines
from lrdoctor.io.keras import read_keras_history
from lrdoctor.io.limits import MAX_LINE_CHARS
from lrdoctor.io.tensor_repr import TENSOR_REPR
from lrdoctor.run import Run

__all__ = ["is_printed_history", "read_printed_history"]

#: a number as Python's repr prints a float or an int (no thousands separators: "1,234" in a list is two numbers)
PY_NUM = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf)"
#: a quoted name, a colon and the list's opening bracket: ``'val_loss': [``
_OPENER = re.compile(r"""(['"])(?P<name>[^'"\n]{1,200})\1\s*:\s*\[""")
#: one element of a list, at the scan position: a scalar tensor's repr or a printed number,
#: then what may follow an element (a comma, the closing bracket, the end of the line)
_ELEMENT = re.compile(rf"\s*(?:{TENSOR_REPR}|(?P<num>{PY_NUM}))(?=\s*(?:,|\]|$))", re.I)
#: a line that leaves a list open after its first number: the multi-line layout of a printed
#: dict of lists, which no one-line dict or JSON document has (the sniffing rule)
_OPEN_LIST = re.compile(rf"""(['"])[^'"\n]{{1,200}}\1\s*:\s*\[\s*(?:{TENSOR_REPR}|{PY_NUM})\s*,\s*$""", re.I)
#: a REPL's prompt before the printed value (Python's ``>>>``/``...``, IPython's ``In [3]:``/``Out[3]:``)
_PROMPT = re.compile(r"^\s*(?:>>>|\.\.\.|(?:In|Out)\s*\[\d+\]:)\s?")
#: a heading over a printed dict: words only, closed by an optional dash or colon (``Loss statistics -``)
_HEADING = re.compile(r"^\s*(?P<words>[A-Za-z][A-Za-z ]{0,60}?)\s*[-:]?\s*$")
#: a list's name that is only the split its numbers belong to: the metric is in the heading
SPLIT_NAMES = frozenset({"train", "training", "val", "valid", "validation", "eval", "test", "dev"})
#: words after the metric's name in a heading that describe the printout, not the metric
#: (``Loss statistics``, ``Accuracy history``, ``Loss curves``)
_HEADING_TAIL = frozenset({"statistics", "stats", "history", "histories", "curve", "curves", "values", "per", "epoch", "epochs"})


def _clean(line: str) -> str:
    """The line without the typography a paste adds: markdown's backticks and a REPL's prompt."""
    return _PROMPT.sub("", line.replace("`", ""))


#: a line that only continues a list: one element, then a comma or the closing brackets
_ELEMENT_LINE = re.compile(rf"^\s*(?:{TENSOR_REPR}|{PY_NUM})\s*(?:,|[\]}})]+,?)?\s*$", re.I)
#: the share of the head's lines that must belong to the printed lists (an opener or an element):
#: the paste is the printout, with at most a heading, a prompt or a scalar between (4 in 5); a
#: training log that pretty-prints a config with a list near its top is mostly other lines
MIN_LIST_SHARE = 0.8


def is_printed_history(head: str) -> bool:
    """Whether the file's first bytes ``head`` hold a printed dict of lists laid out over lines: a
    quoted name whose list stays open after its first number (:data:`_OPEN_LIST`), and most of the
    head's complete lines (:data:`MIN_LIST_SHARE`) such openers or list elements."""
    lines = [_clean(ln) for ln in head.splitlines()[:-1] or head.splitlines()]
    lines = [ln for ln in lines if ln.strip()]
    if not any(_OPEN_LIST.search(ln) for ln in lines):
        return False
    listed = sum(1 for ln in lines if _ELEMENT_LINE.match(ln) or _OPENER.search(ln))
    return listed >= MIN_LIST_SHARE * len(lines)


def _heading_metric(words: str) -> str | None:
    """The metric a heading names (``Loss statistics`` -> ``loss``), None when it names none."""
    kept = words.lower().split()
    while kept and kept[-1] in _HEADING_TAIL:
        kept.pop()
    return "_".join(kept) or None


class _Lists:
    """The lists read so far, by name, and the list being read (its name and first line)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.series: dict[str, list[float]] = {}
        self.first_line: dict[str, int] = {}
        self.open: str | None = None
        self.heading: str | None = None  # the metric of the last heading line
        self.dict_heading: str | None = None  # the heading in force for the dict being printed

    def start(self, raw_name: str, lineno: int) -> None:
        name = raw_name
        if raw_name.strip().lower() in SPLIT_NAMES:
            if self.dict_heading is None:
                raise LogFormatError(self.path, f"list {raw_name!r} names a split but no metric (no heading line such "
                                                "as 'Loss statistics -' above its dict)", line=lineno)
            name = f"{raw_name.strip().lower()}_{self.dict_heading}"
        if name in self.series:
            raise LogFormatError(self.path, f"list {name!r} is printed twice (first at line {self.first_line[name]}): "
                                            "which one is the run's is not known", line=lineno)
        self.series[name], self.first_line[name], self.open = [], lineno, name

    def scan(self, text: str, lineno: int) -> None:
        """Read the line from its start: the open list's elements up to its ``]``, then any new list."""
        i = 0
        while i < len(text):
            if self.open is None:
                m = _OPENER.search(text, i)
                if m is None:
                    return
                self.start(m["name"], lineno)
                i = m.end()
                continue
            while i < len(text) and text[i] in " \t,":
                i += 1
            if i >= len(text):
                return
            if text[i] == "]":
                self.open, i = None, i + 1
                continue
            m = _ELEMENT.match(text, i)
            if m is None:
                raise LogFormatError(self.path, f"list {self.open!r}: cannot read {text[i:i + 40].strip()!r} as a "
                                                "number or a scalar tensor", line=lineno)
            self.series[self.open].append(float(m[1] if m[1] is not None else m["num"]))
            i = m.end()


def read_printed_history(path: Path) -> Run:
    """The printed lists as a run, one value per epoch (see the module's docstring)."""
    lists = _Lists(path)
    last = 0
    for lineno, line in whole_lines(path, MAX_LINE_CHARS):
        last = lineno
        text = _clean(line.rstrip("\n"))
        if lists.open is None:
            h = _HEADING.match(text)
            if h is not None:
                lists.heading = _heading_metric(h["words"])
                continue
            if "{" in text:
                lists.dict_heading = lists.heading
        lists.scan(text, lineno)
    cut = lists.open
    series = {k: v for k, v in lists.series.items() if v}
    if not any(len(v) >= 2 for v in series.values()):
        raise LogFormatError(path, "no printed list of two numbers or more ('name': [0.69, 0.51, ...])")
    run = read_keras_history(path, series)
    run.meta.format = "printed-history"
    if cut is not None:
        run.meta.warnings.append(f"the list {cut!r} is cut at line {last} (the paste ends inside it): "
                                 f"its {len(lists.series[cut])} values read are kept")
    return run
