"""davidsandberg/facenet's ``lfw_result.txt``: its training scripts (``train_softmax.py``,
``train_tripletloss.py``) evaluate the model on LFW's verification pairs every few epochs and append
``'%d\\t%.5f\\t%.5f\\n' % (step, np.mean(accuracy), val)`` to this file in the log directory: the
global step, the verification accuracy averaged over the folds, and the validation rate (the share of
true pairs accepted at a false-accept rate of 1e-3). The file has no header, so a table reader took
its first row for column names and the run was refused; the file's name and this row shape are what
identify it (facenet's own ``plot_learning_curves.m`` reads it the same way).

LFW is held out from training (facenet trains on CASIA-WebFace or MS-Celeb-1M), so the accuracy is
an evaluation accuracy; a pair classifier that lost its embedding scores 0.5 (chance) and a
validation rate of 0.
"""

from __future__ import annotations

import re
from pathlib import Path

from lrdoctor.errors import LogFormatError
from lrdoctor.io.guard import bounded_lines, text_encoding
from lrdoctor.io.limits import MAX_LINE_CHARS
from lrdoctor.io.records import records_to_run
from lrdoctor.io._printed import NUM, printed_number
from lrdoctor.run import Run, RunMeta

__all__ = ["LFW_RESULT", "is_lfw_result", "read_lfw_result"]

#: the file's name, as ``train_softmax.py`` and ``train_tripletloss.py`` write it
LFW_RESULT = "lfw_result.txt"

#: one evaluation: step, mean accuracy, validation rate, tab-separated
_ROW = re.compile(rf"^\s*(?P<step>\d+)\t(?P<acc>{NUM})\t(?P<val>{NUM})\s*$")


def is_lfw_result(path: Path, head: str) -> bool:
    """Whether ``path`` is facenet's LFW result file: named ``lfw_result.txt`` and every complete
    line of its first bytes ``head`` one evaluation row (a fork that appends a confusion matrix
    after each row is another format, left to the other readers)."""
    if path.name.lower() != LFW_RESULT:
        return False
    rows = [ln for ln in head.splitlines()[:-1] or head.splitlines() if ln.strip()]
    return bool(rows) and all(_ROW.match(ln) for ln in rows)


def read_lfw_result(path: Path) -> Run:
    """The evaluations as records: the step, ``lfw_eval_accuracy`` (the evaluation accuracy) and
    ``lfw_val_rate``. A line of another shape stops the read with its line number."""
    records = []
    with open(path, encoding=text_encoding(path), errors="replace") as fh:
        for lineno, line in bounded_lines(fh, MAX_LINE_CHARS):
            if line is None or not line.strip():
                continue
            m = _ROW.match(line)
            if m is None:
                raise LogFormatError(path, "not a facenet lfw_result.txt row (step, accuracy, validation rate)", line=lineno)
            records.append({"step": float(m["step"]), "lfw_eval_accuracy": printed_number(m["acc"]), "lfw_val_rate": printed_number(m["val"])})
    if not records:
        raise LogFormatError(path, "file is empty")
    return records_to_run(records, RunMeta(source=str(path), format="facenet-lfw", step_unit="step"))
