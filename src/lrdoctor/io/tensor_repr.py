"""The repr of a scalar tensor, as a script prints or writes it when handed a tensor where a
float was meant: ``tensor(0.1623, device='cuda:0')``, ``tensor([2.3026], grad_fn=<...>)``, and
TensorFlow's eager ``tf.Tensor(0.0937, shape=(), dtype=float32)`` (a Keras-callback model card
whose metric was a tensor prints that in its results table).

One pattern for every reader that meets one (a text log's line, a CSV's cell), so that what
counts as a tensor's repr, and which number in it is the value, is decided in one place."""

from __future__ import annotations

import re

from lrdoctor.io._printed import NUM

__all__ = ["TENSOR_OPENERS", "TENSOR_REPR", "TENSOR_REPR_RE", "TENSOR_CELL_RE"]

#: how a repr starts, as printed: the cheap test a reader makes before it runs the pattern below
TENSOR_OPENERS = ("tensor(", "tf.Tensor(")
#: ``tensor(`` (``tf.Tensor(`` too) + the value (group 1; a one-element list's brackets allowed) + the keyword
#: arguments of the repr (``device=``, ``dtype=``, ``grad_fn=<...>``, one level of parentheses)
TENSOR_REPR = r"(?:tf\.)?tensor\(\s*\[?\s*(" + NUM + r")\s*\]?\s*(?:,[^()]*(?:\([^()]*\)[^()]*)*)?\)"
#: the repr anywhere in a line
TENSOR_REPR_RE = re.compile(r"\b" + TENSOR_REPR, re.I)
#: a cell that is the repr and nothing else
TENSOR_CELL_RE = re.compile(r"^" + TENSOR_REPR + r"$", re.I)
