"""What a logger or launcher puts in front of a record, and how it is taken off.

A record reads the same whether it went through ``print`` or a logger, one process or eight:
"loss 0.5" and "2024-05-01 12:00:00,123 - __main__ - INFO - loss 0.5" are one record. A
logging format is a sequence of *fields* (a timestamp, the level, the logger's name, the
source file and line, the thread, the process's rank) joined by separators (" - ", " | ",
":", brackets). Rather than one pattern per format, :func:`strip_prefix` reads fields off the
front of a line, one at a time, for as long as one matches, and keeps the rest.

What makes a field safe to drop:

- An *anchor* (a timestamp, a level, glog's header, TensorFlow 0.x's, a launcher's tag) must be among them:
  without one nothing is dropped, so "[train.py:88] loss 0.5" and "trainer: epoch 1" stay.
- A bracketed field is a logger's ("[MainThread]", "[casanovo/MainProcess]", "[train.py:88]",
  "[Rank 0]") only if it carries a logger's punctuation, a dunder, a thread or process name or
  a rank. A word in brackets is the record's own ("[valid]", "[Metrics]", "[Epoch 1/50]").
- A logger's name is dropped when it is dotted or a dunder ("fairseq.trainer", "__main__"), or
  stands next to the level ("mmengine - INFO", "INFO train_net -"), but never a split word
  ("train", "valid", "test": fairseq's loggers *are* its splits) and never a key followed by
  a number ("INFO loss: 0.5").

The formats measured in ``bench/reader_invariance.py``: Python's default and its logging
cookbook's, the Hugging Face examples', mmengine's, Hydra's, loguru's, rich's handler, glog /
absl, DeepSpeed's, ESPnet's, torchrun's and Open MPI's tags.
"""

from __future__ import annotations

import re
from functools import lru_cache

from lrdoctor.io.textlog._base import DIGITS_AS_9

__all__ = ["strip_prefix", "LEVEL"]

#: Log levels as the logging libraries print them (Python's logging, loguru, glog's words).
LEVEL = r"(?:INFO|DEBUG|WARNING|WARN|ERROR|CRITICAL|FATAL|TRACE|SUCCESS|NOTICE)"

#: a date: ISO and numeric day/month orders, and strftime's "%d-%b-%y" ("11-May-21", the month's
#: English abbreviation, as a logging ``datefmt`` of "%d-%b-%y %H:%M:%S" prints it: adgcl's log)
_DATE = r"(?:\d{4}[-/.]\d\d[-/.]\d\d|\d\d[-/.]\d\d[-/.]\d{2,4}|\d\d[-/]\d\d|\d\d-(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{2,4})"
_TIME = r"\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|\s?[+-]\d\d:?\d\d)?"

#: Fields that prove the line has a logger's header (an *anchor*): one of them must be read
#: before anything is dropped.
_ANCHORS = re.compile(
    # the launcher's process tag: torchrun --tee ("[rank0]: ", "[default0]:"), Open MPI's
    # --tag-output ("[1,0]<stdout>:")
    r"\[(?:rank|default)\d+\]:[ \t]?|\[\d+,\d+\]<std(?:out|err)>:[ \t]?"
    # glog/absl (TensorFlow, JAX): "I0912 11:40:27.956218 139735407601536 model_lib_v2.py:652]";
    # glog 0.7 prints the year too: "I20250403 16:40:52.338333 720070 solver.cpp:329]" (Caffe)
    r"|[IWEF](?:\d{4})?\d{4} \d\d:\d\d:\d\d\.\d+(?:\s+\d+)?\s+[\w.\-]+:\d+\]"
    # TensorFlow 0.x's own LogMessage (tensorflow/core/platform/default/logging.cc, before it
    # printed the time): "%c %s:%d] " -> "I tensorflow/core/kernels/logging_ops.cc:64] "; the
    # source path must be TensorFlow's C++ file, so a record "I train.py:3] ..." is never taken
    r"|[IWEF] tensorflow/[\w./\-]+\.(?:cc|h):\d+\][ \t]?"
    # DeepSpeech's level letter (util/logging.py prefix_print: "I " before each line of
    # log_info), before a capitalised word: "I Validation of Epoch 0 - loss: 188.4"
    r"|I[ \t](?=[A-Z][a-z]+\b)"
    # a bracketed header holding a clock time: "[05/01/24 12:00:00]", "[INFO 2024-05-01 12:00:00]",
    # "[I 2024-05-01 12:00:00,123 train.py:88]", detectron2's "[08/19 13:28:48 d2.utils.events]"
    r"|\[[^\]\n]{0,40}?\d\d:\d\d:\d\d[^\]\n]{0,40}\]"
    # a date and time ("2024-05-01 12:00:00,123", "05/01/2024 12:00:00", "2024/05/01 12:00:00")
    r"|" + _DATE + r"[ T_-]" + _TIME +  # ("02/18-02:52:32.282": month/day-time, a custom asctime)
    # a clock time alone, only right before a level ("12:00:00 | INFO | ")
    r"|" + _TIME + r"(?=\s*\|?\s*\[?" + LEVEL + r"\b)"
    # Python's default "%(levelname)s:%(name)s:" ("INFO:root:", "INFO:__main__:"), whatever follows
    r"|" + LEVEL + r":[\w.]+:"
    # the level, bare, bracketed or padded ("INFO", "[INFO ]", "[WARNING]")
    r"|\[\s*" + LEVEL + r"\s*\]|" + LEVEL + r"\b")

#: Fields read only once an anchor was: bracketed logger fields, source locations, the process.
_FIELDS = re.compile(
    r"\[(?:[A-Za-z_][\w.\-/<>:]*[._/:<>\-][\w.\-/<>:]*|__\w+__|\w*(?:Thread|Process)[\w\-]*|[Rr]ank\s*\d+)\s*\]"
    r"|[{(][\w.<>\-]+:\d+[})]"  # "{train.py:55}" (Airflow-style), "(trainer:123)" (ESPnet)
    r"|[\w.\-/]+\.py(?:\[line:\s*\d+\]|:\d+)?(?=[\s\]:|-]|$)"  # "train.py:88", "train.py[line:88]"
    r"|[\w.<>]+:[\w<>]+:\d+(?=\s)"  # loguru's "__main__:train:88"
    r"|P\d+(?=\s+" + LEVEL + r")")  # FuxiCTR's "%(asctime)s P%(process)d %(levelname)s"

#: A logger's name: dotted ("fairseq.trainer", "model._log_history"), a dunder ("__main__"), or a
#: plain word (kept unless it stands next to the level).
_NAME = re.compile(r"(?P<dotted>[A-Za-z_]\w*(?:\.\w+)+|__\w+__(?:\.\w+)*)|(?P<word>[A-Za-z_][A-Za-z_\-]*)")

#: Split words are a record's own even where a logger's name would stand (fairseq logs each
#: split through a logger of that name: "| INFO | valid | epoch 001 | loss 6.9").
_SPLITS = frozenset({"train", "training", "train_inner", "val", "valid", "validation", "eval",
                     "evaluation", "test", "testing", "dev"})

#: A separator between two fields of a header: blanks, then at most one of "-", "--", "|", ":", ","
_SEP = re.compile(r"[ \t]*(?:(?:--?|\||:|,)[ \t]*)?")
#: The separator after the last field: the pipe that opens a record ("| epoch 1 | loss 2.0") stays
_END_SEP = re.compile(r"[ \t]*(?:(?:--?(?=[ \t]|$)|:|,)[ \t]*)?")
_LEVEL_LAST = re.compile(LEVEL + r"\W*$")
_LEVEL_AHEAD = re.compile(r"[ \t]*(?:(?:--?|\||:)[ \t]*)?\[?\s*" + LEVEL + r"\b")
#: what follows a name that is a key of the record, not a logger: a number ("loss: 0.5")
_NUMBER_AHEAD = re.compile(r"[-+]?(?:\d|\.\d|nan\b|inf\b)", re.I)

#: markdown quote markers of a pasted log ("> "), dropped whatever follows
_QUOTES = re.compile(r"(?:[ \t]*>+[ \t]?)+")
#: a tqdm bar before the record (" 10%|###  | 31/312 [06:29<55:54, 11.94s/it]"); a bar whose
#: postfix holds fields ("..., loss: =6.78, img shape: =torch.Size([80, 3])") is the record itself
_TQDM = re.compile(r"\s*\d{1,3}%\|[^|]*\|[^\]=]*\]")
#: rich's handler prints the source location at the right edge: "...  loss 0.5      train.py:88"
_RICH_SUFFIX = re.compile(r"[ \t]{2,}[\w.\-]+\.py:\d+(?=\s*$)")

#: A line whose first character is none of these has no prefix (quote markers, blanks,
#: brackets, digits of a timestamp or a tqdm bar, the first letters of glog's severities and of
#: the levels): "step 10: loss=...", "{'loss': ...}" skip the field reader.
FIRST = frozenset(" \t>[0123456789IWEFDCTSNP")

#: Header lengths are remembered per line shape (digits as "9") of the first ``_HEAD`` characters;
#: a header that ends within ``_HEAD - _MARGIN`` of the line's start is decided by that head alone.
_HEAD, _MARGIN = 120, 24


def _split_tag(field: str) -> bool:
    """True for a bracketed field made of split words only ("[Eval:test]", "[train/valid]"): it
    says whose record follows, so it is the record's, though its punctuation is a logger's."""
    words = re.findall(r"[A-Za-z]+", field)
    return bool(words) and all(w.lower() in _SPLITS for w in words)


def _name_at(line: str, pos: int, anchored: bool, after_level: bool) -> int | None:
    """End of a logger's name at ``pos``, or None where what stands there is no logger's name."""
    m = _NAME.match(line, pos)
    if m is None or m[0].lower() in _SPLITS:
        return None
    end = m.end()
    if _LEVEL_AHEAD.match(line, end):  # "mmengine - INFO", "trainer INFO:"
        return end
    if not anchored:
        return None
    sep = _SEP.match(line, end)
    gap = line[end:sep.end()]
    if not gap.strip():  # a name ends at a separator
        return None
    if m["dotted"] is None:
        # a plain word is a name only right after the level and before a dash ("INFO - root
        # - "): "INFO Epoch: [115]" and "INFO loss: 0.5" are the record's own words
        return end if after_level and gap.strip() in ("-", "--") and not _NUMBER_AHEAD.match(line, sep.end()) else None
    if m[0][:2] == "__" or gap[:1] in " \t" or gap.strip() != ":":
        return end  # "__main__", "%(name)s : %(message)s", "fairseq.trainer | "
    return None if _NUMBER_AHEAD.match(line, sep.end()) else end  # "eval.acc:0.9" is a key


def _header_end(line: str) -> int:
    """Where the record starts: past the quote markers, a tqdm bar, the logger's header (only when
    it holds an anchor) and a tqdm bar."""
    q = _QUOTES.match(line)
    start = q.end() if q else 0
    lead = _TQDM.match(line, start)
    if lead and line[lead.end():].strip():
        # a bar drawn before the header: tqdm ends a redraw with "\r", so a line logged while the bar
        # is up is pasted right after it (adgcl: " 14%|█▍  | 14/100 [00:44<04:32,  3.17s/it]11-May-21
        # 19:48:31 - ====epoch 15 ..."); with no header after it the bar was taken off all the same
        start = lead.end()
    pos, anchored, after_level = start, False, False
    before = start  # where the last field that is no anchor began
    at = len(line) - len(line[start:].lstrip(" \t"))
    while True:
        m = _ANCHORS.match(line, at)
        if m:
            anchored, pos, before = True, m.end(), m.end()
            after_level = _LEVEL_LAST.search(m[0]) is not None
        else:
            m = _FIELDS.match(line, at)
            if m and m[0][:1] == "[" and _split_tag(m[0]):
                break  # "[Eval:test]", "[Train:train]" (MatchZoo): the record's split, not a logger's field
            if m and (anchored or m[0][:1] == "["):  # (a host in brackets may come before the timestamp)
                before, pos, after_level = pos, m.end(), False
            else:
                end = _name_at(line, at, anchored, after_level)
                if end is None:
                    break
                before, pos, after_level = pos, end, False
        at = _SEP.match(line, pos).end()
    if not line[pos:].strip():
        pos = before  # a header is never the whole line: "[GPT-2]" alone is the record's
    if not anchored:
        pos = start
    elif line[:pos].rstrip()[-1:] != ":":  # ("INFO:root:" holds its separator: "INFO:root:- lr: 5e-05" is a bullet)
        pos = _END_SEP.match(line, pos).end()
    t = _TQDM.match(line, pos)
    return t.end() if t else pos


@lru_cache(maxsize=4096)
def _cached_end(head: bytes) -> int:
    return _header_end(head.decode("utf-8", "surrogatepass"))


def strip_prefix(line: str) -> str:
    """``line`` without what a logger or launcher put in front of its record (see the module)."""
    if line[:1] not in FIRST:
        return line
    head = line[:_HEAD]
    if head.isascii():
        end = _cached_end(head.encode("ascii").translate(DIGITS_AS_9))
        if end > _HEAD - _MARGIN and len(line) > _HEAD:
            end = _header_end(line)
    else:
        end = _header_end(line)
    if end == 0:
        return line
    if ".py:" in line[-50:] and line.rstrip()[-1:].isdigit():
        bare = _RICH_SUFFIX.sub("", line)
        if bare != line:  # (the record's end decides whether a dash before it is a bullet's)
            return bare[_header_end(bare):]
    return line[end:]
