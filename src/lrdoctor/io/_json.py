"""JSON helpers: the standard library already reads the bare NaN/Infinity tokens HF writes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from lrdoctor.errors import LogFormatError
from lrdoctor.jsonsafe import dumps_safe, json_safe  # noqa: F401  (re-exported)
from lrdoctor.io.guard import sniff_encoding
from lrdoctor.io.limits import MAX_JSON_CONTAINERS, BoundExceeded

__all__ = ["load_json", "STREAMED", "NumberArray", "number_array", "number", "json_safe", "dumps_safe"]


def _json_text(path: Path) -> tuple[str, int]:
    """The file decoded from UTF-8 or UTF-16/32, refused in one line when empty; and the
    number of arrays and objects it holds at most (``[`` and ``{`` counted)."""
    raw = path.read_bytes()
    enc = sniff_encoding(raw[:4096])
    try:
        text = raw.decode(enc)
    except UnicodeDecodeError as err:
        raise LogFormatError(path, f"is not {enc.upper()} text (undecodable byte at offset {err.start})") from None
    del raw
    if not text.strip():
        raise LogFormatError(path, "file is empty")
    return text, text.count("[") + text.count("{")


#: The longest text read as a printed Python literal (``ast.literal_eval`` builds every object:
#: 1 MB is a printed history of ~50,000 numbers, about 5 MB of objects).
MAX_LITERAL_CHARS = 1_000_000

#: a bare nan/inf as Python prints a float, outside quotes: quoted so the literal parses
_BARE_NONFINITE = re.compile(r"(?<![\w'\".])(-?)(nan|inf)(?![\w'\"])")


def python_literal(text: str) -> Any:
    """A dict or list printed by Python rather than written as JSON (``print(history.history)``:
    single quotes, ``nan``), read with ``ast.literal_eval`` (a literal only, never executed);
    its bare ``nan``/``inf`` become floats. None when the text is no such literal or is over
    :data:`MAX_LITERAL_CHARS`."""
    import ast

    body = text.strip()
    if len(body) > MAX_LITERAL_CHARS or body[:1] not in "{[" or "'" not in body:
        return None
    try:
        obj = ast.literal_eval(_BARE_NONFINITE.sub(r"'\1\2'", body))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return _nonfinite_back(obj) if isinstance(obj, (dict, list)) else None


def _nonfinite_back(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _nonfinite_back(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_nonfinite_back(v) for v in obj]
    if isinstance(obj, str) and obj in ("nan", "-nan", "inf", "-inf"):
        return float(obj)
    return obj


class _TooManyContainers(Exception):
    """A document over the container bound whose excess is not in a streamed array."""


def load_json(path: Path, stream: Mapping[str, Callable[[Any], None]] | None = None,
              compact: bool = False) -> Any:
    """A JSON document, decoded from UTF-8 or UTF-16/32 (byte-order mark or zero-byte
    pattern), refused in one line when it is empty, invalid, nested beyond Python's
    recursion limit or holds more than :data:`~lrdoctor.io.limits.MAX_JSON_CONTAINERS`
    arrays and objects (counted on the raw bytes, before anything is built) outside a
    streamed array.

    ``stream`` maps top-level keys to callbacks: when the document is an object and such a
    key holds an array, each element is handed to the callback as soon as it is parsed and
    not kept (the key then maps to :data:`STREAMED`). A trainer_state.json's
    ``log_history`` of a million entries is thus never a list of a million dicts (~400
    bytes each), only the reader's columns; its entries do not count against the bound
    (a 1 GB trainer_state.json holds 11 M). When the document is over the bound, every
    other top-level member must fit in :data:`MAX_SIDE_MEMBER_CHARS` and every streamed
    element in :data:`MAX_ELEMENT_CONTAINERS` containers, so nothing large is built.
    ``compact``: each top-level array of numbers (and nulls) becomes a
    :class:`NumberArray` as soon as it is parsed (a Keras history's per-epoch lists: 9
    bytes an element instead of a Python float's 32).
    """
    text, containers = _json_text(path)
    over = containers > MAX_JSON_CONTAINERS
    try:
        if stream or compact:
            members = _members(text, stream or {}, compact, bounded=over)
            if members is not None:
                return members
        if over:
            raise _TooManyContainers
        return json.loads(text)
    except _TooManyContainers:
        raise BoundExceeded(path, f"JSON holds up to {containers:,} arrays/objects; more than "
                                  f"{MAX_JSON_CONTAINERS:,} are refused (memory bound)") from None
    except json.JSONDecodeError as err:
        literal = python_literal(text) if not over else None
        if literal is not None:
            return literal
        cut = (cut_records(text) or closed_cut(text)) if not over else None
        if cut is not None:
            return cut
        raise LogFormatError(path, f"invalid JSON ({err.msg})", line=err.lineno) from None
    except RecursionError:
        raise LogFormatError(path, "JSON nested too deeply to read (beyond Python's recursion limit)") from None
    except ValueError as err:  # an integer literal with more digits than Python converts
        raise LogFormatError(path, f"invalid JSON value ({str(err).splitlines()[0]})") from None


class CutRecords(list):
    """The complete records of a JSON array of objects that was cut off (see :func:`cut_records`);
    ``note`` says what was read, for the run's warnings."""

    note: str = ""


def cut_records(text: str) -> CutRecords | None:
    """The complete objects of a list of records whose text is cut off or lost its brackets: an
    array with no closing bracket (a log being written when the run died, or a copy cut at a page:
    Dopamine's per-iteration records ending in ``},``), or objects separated by commas with no
    enclosing ``[`` ``]`` (a slice from the middle of such a file). The text after the last
    complete object must be only commas, a closing bracket or the beginning of one more object
    (no ``}`` or ``]`` in it): a cut, not an error in the middle. At least 2 objects; None
    otherwise, and the caller keeps its one-line refusal."""
    ws, decode = _WS.match, _DECODER.raw_decode
    i = ws(text, 0).end()
    bracket = text.startswith("[", i)
    if bracket:
        i = ws(text, i + 1).end()
    out = CutRecords()
    while i < len(text) and text.startswith("{", i):
        try:
            obj, i = decode(text, i)
        except (json.JSONDecodeError, RecursionError, ValueError):
            break
        out.append(obj)
        i = ws(text, i).end()
        if text.startswith(",", i):
            i = ws(text, i + 1).end()
    rest = text[i:].strip()
    closed = bracket and rest == "]"
    if len(out) < 2 or closed or "}" in rest or "]" in rest or not all(isinstance(r, dict) for r in out):
        return None
    out.note = (f"the JSON list of records is cut off: read its {len(out)} complete records"
                + (" (no enclosing brackets)" if not bracket else " (no closing bracket)"))
    return out


class CutDocument(dict):
    """A JSON object cut off and closed at its last complete value (see :func:`closed_cut`);
    ``note`` says so, for the run's warnings."""

    note: str = ""


#: the closer of each opener
_CLOSERS = {"{": "}", "[": "]"}

#: the tokens a bracket scan needs: a string (with its escapes; or the unterminated rest of one), a
#: bracket, a comma
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*(?:"|$)|[\[\]{},]', re.S)


def closed_cut(text: str) -> CutDocument | None:
    """A JSON object whose text ends inside it (a file copied up to a page, or written by a run
    that died), closed after its last complete value: the text up to the last comma outside a
    string, then the closers of the containers open there (Megatron's golden values cut at
    ``"1000": 4.23135,``). Only when the scan ends with containers still open (a cut, not an
    error in the middle: that one stays in the prefix and fails to parse) and the result is an
    object; None otherwise."""
    stack: list[str] = []
    last_comma, closers_at_comma = -1, ""
    for m in _JSON_TOKEN.finditer(text):  # (strings are skipped whole by the pattern, in C)
        c = m[0]
        if c in "{[":
            stack.append(_CLOSERS[c])
        elif c in "}]":
            if not stack or stack.pop() != c:
                return None
        elif c == "," and stack:
            last_comma, closers_at_comma = m.start(), "".join(reversed(stack))
        # (a string token, or the rest of an unterminated one: nothing to track)
    if not stack or last_comma < 0 or text.lstrip()[:1] != "{":
        return None
    try:
        obj = json.loads(text[:last_comma] + closers_at_comma)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    out = CutDocument(obj)
    line = text.count("\n", 0, last_comma) + 1
    out.note = f"the JSON document is cut off: read up to its last complete value (line {line}), its open brackets closed"
    return out


#: When a document is over :data:`~lrdoctor.io.limits.MAX_JSON_CONTAINERS`: the longest
#: top-level member outside a streamed array (a trainer_state.json's other members are a
#: few hundred characters), and the most containers in one streamed element (an HF
#: log_history entry is one flat object).
MAX_SIDE_MEMBER_CHARS = 1 << 16
MAX_ELEMENT_CONTAINERS = 1000


class _Streamed:
    """The value left at a streamed key: its elements went to the callback."""

    def __repr__(self) -> str:
        return "STREAMED"


#: Marks a top-level key whose array was streamed (see :func:`load_json`).
STREAMED = _Streamed()

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _members(text: str, stream: Mapping[str, Callable[[Any], None]], compact: bool = False,
             bounded: bool = False) -> dict[str, Any] | None:
    """The members of a top-level object, streaming the arrays of the keys in ``stream``;
    None when the document is not an object. Same grammar and errors as ``json.loads``
    (the values themselves are parsed by its C scanner). ``bounded``: the document is over
    the container bound, so only streamed arrays may be large (see :func:`load_json`)."""
    ws = _WS.match
    decode = _DECODER.raw_decode
    i = ws(text, 0).end()
    if not text.startswith("{", i):
        return None
    members: dict[str, Any] = {}
    i = ws(text, i + 1).end()
    if text.startswith("}", i):
        return members if not text[ws(text, i + 1).end():] else _extra(text, i + 1)
    while True:
        if not text.startswith('"', i):
            raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, i)
        key, i = decode(text, i)
        i = ws(text, i).end()
        if not text.startswith(":", i):
            raise json.JSONDecodeError("Expecting ':' delimiter", text, i)
        i = ws(text, i + 1).end()
        sink = stream.get(key)
        if sink is not None and text.startswith("[", i):
            i = _stream_array(text, ws(text, i + 1).end(), sink, bounded)
            members[key] = STREAMED
        else:
            members[key], i = _decode_small(text, i) if bounded else decode(text, i)
            if compact and type(members[key]) is list:
                members[key] = number_array(members[key])
        i = ws(text, i).end()
        if text.startswith("}", i):
            break
        if not text.startswith(",", i):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, i)
        i = ws(text, i + 1).end()
    end = ws(text, i + 1).end()
    return members if end == len(text) else _extra(text, end)


def _decode_small(text: str, i: int) -> tuple[Any, int]:
    """The value at ``i``, parsed from a slice of :data:`MAX_SIDE_MEMBER_CHARS`, so that
    a larger one is refused before anything of it is built."""
    piece = text[i: i + MAX_SIDE_MEMBER_CHARS]
    whole = i + len(piece) >= len(text)
    try:
        value, end = _DECODER.raw_decode(piece, 0)
    except json.JSONDecodeError:
        if whole:
            return _DECODER.raw_decode(text, i)  # the real error, at its real position
        raise _TooManyContainers from None
    if end == len(piece) and not whole:  # (a number may go on past the slice)
        raise _TooManyContainers
    return value, i + end


def _stream_array(text: str, i: int, sink: Callable[[Any], None], bounded: bool = False) -> int:
    """Hand each element of the array whose first element starts at ``i`` to ``sink``;
    the index after its closing bracket. ``bounded``: an element holding more than
    :data:`MAX_ELEMENT_CONTAINERS` containers is refused (checked after it is parsed:
    one element at most is built)."""
    ws, decode = _WS.match, _DECODER.raw_decode
    if text.startswith("]", i):
        return i + 1
    while True:
        start = i
        item, i = decode(text, i)
        # (an element of up to 2 characters per container cannot hold too many)
        if bounded and i - start > 2 * MAX_ELEMENT_CONTAINERS:
            if text.count("[", start, i) + text.count("{", start, i) > MAX_ELEMENT_CONTAINERS:
                raise _TooManyContainers
        sink(item)
        i = ws(text, i).end()
        if text.startswith("]", i):
            return i + 1
        if not text.startswith(",", i):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, i)
        i = ws(text, i + 1).end()


@dataclass
class NumberArray:
    """A JSON array of numbers and nulls as float64 ``values`` (null: NaN) and a
    ``present`` mask (False where null)."""

    values: np.ndarray
    present: np.ndarray

    def __len__(self) -> int:
        return int(self.values.size)


def number_array(items: list) -> Any:
    """``items`` as a :class:`NumberArray` when every element is a number (not a bool) or
    null and there is at least one; otherwise ``items`` unchanged."""
    if not items or not all(type(x) is float or type(x) is int or x is None for x in items):
        return items
    try:
        values = np.array(items, dtype=np.float64)  # None -> NaN
    except (OverflowError, ValueError):  # an integer beyond float range
        return items
    present = np.fromiter((x is not None for x in items), dtype=bool, count=len(items))
    return NumberArray(values, present)


def _extra(text: str, i: int) -> dict[str, Any]:
    raise json.JSONDecodeError("Extra data", text, i)


#: a JSON string that is wholly a number: fairseq's ``--log-format json`` writes
#: ``{"epoch": 1, "loss": "6.543", ...}``
_NUMERIC_STRING = re.compile(r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$|^\s*[-+]?(?:nan|inf|infinity)\s*$", re.I)


def number(value: Any) -> float | None:
    """A JSON value as a float, or None when it is not a number (lists, bools, words). A
    string that is wholly a number counts (at most 64 characters: an id is no metric)."""
    if isinstance(value, str):
        return float(value) if len(value) <= 64 and _NUMERIC_STRING.match(value) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


