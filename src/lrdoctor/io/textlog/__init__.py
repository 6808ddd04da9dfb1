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
import re
from pathlib import Path

from lrdoctor.errors import LogFormatError, printable
from lrdoctor.io.guard import bounded_lines, text_encoding
from lrdoctor.io.limits import MAX_LINE_CHARS
from lrdoctor.io.tensor_repr import TENSOR_OPENERS, TENSOR_REPR_RE
from lrdoctor.io.records import RecordColumns, records_to_run
from lrdoctor.io.textlog._base import DIGITS_AS_9, NUM, LineRule, _NUM_RE, _num
from lrdoctor.io.textlog.bare import read_bare_columns
from lrdoctor.io.textlog.diffview import undiff
from lrdoctor.io.textlog.words import has_local_script, to_english
from lrdoctor.io.textlog.prefix import strip_prefix
from lrdoctor.io.textlog.bars import _tqdm_bar
from lrdoctor.io.textlog.key_value import NAN_EVENT, _STEPLIKE, _as_split, _framework_nan, _key_values, _python_dict
from lrdoctor.io.textlog.named import (EPOCH_END, _amp_overflow, _catboost_legacy, _coco_summary, _bare_pairs, _bracketed_step, _checkpoint_message, _paddle_v2, _rl_evaluation, _epoch_trailer, _fastai07_row, _fuxictr_metrics,
                                      _caffe_net_output, _cartpole_lengths, _keras_io_avg_reward, _julia_show, _tinygrad_step, _darknet, _gdrl_progress, _cleverhans_accuracy, _ketos_wrapped, _kraken_accuracy, _deepxde_row, _gan_row, _studiogan_eval, _lightning_checkpoint, _llmc, _marian, _pt_darts, _pytorch_tutorial, _epoch_value_metric, _nanogpt, _nvidia_speech, _step_of_max, _tab_pairs, _trax, _ferminet, _synaptic, _densefusion, _yolact,
                                      _yolov5_results)
from lrdoctor.io.textlog.tables import unflatten_markdown_table, _chainer_report, _console_table, _pandas_frame, _sklearn_gb, _split_table, _two_line_header_table, _vw_table, _header_table, _html_table, _ruled_table, RULE_LINE, _pipe_table, _ray_result, _sb3_table, ray_block_goes_on, sb3_table_goes_on
from lrdoctor.run import Run, RunMeta

__all__ = ["LineRule", "register_rule", "read_textlog", "parse_lines", "RULES"]

#: Keras' header of a one-epoch ``fit``: "Epoch 1/1". Called as ``model.fit(..., epochs=1)`` inside
#: the script's own loop (keras' text-generation example: "Iteration 1" then "Epoch 1/1"; a triplet
#: recommender: "Epoch 0" then "Epoch 1/1"), every call prints the same header, which names no
#: position in the run: read as epoch 1 it sent every epoch back to 1 and kept only the last one
#: (a "resumed run"). The header is no record; the lines below it are filed under the loop's own
#: counter, or in row order when there is none.
_SINGLE_EPOCH_FIT = re.compile(r"^Epoch 1/1\s*$")

#: a frame of a Python traceback ('  File "train.py", line 429, in run'): its line number is no
#: metric, and a record made of it would stand between the last report and the error that ends
#: the log (detectron2's "FloatingPointError: Loss became infinite or NaN at iteration=3!")
_TRACEBACK_FRAME = re.compile(r'^\s*File "[^"]*", line \d+')

#: records that rules build over several lines and keep in ``state`` until a line that does not
#: belong to them (then ``parse_lines`` files them, and drops the companion key), or the end of the
#: log: (state key, whether a line continues it, companion key). SB3/baselines tables pasted without
#: their dashed borders run one into the next; Ray Tune's result blocks end at an unindented line.
_PENDING = (("sb3_rec", sb3_table_goes_on, "sb3_section"), ("ray_rec", ray_block_goes_on, ""))

RULES: list[LineRule] = [
    LineRule("framework-nan", _framework_nan),  # (first: the messages hold numbers other rules would read)
    LineRule("chainer-report", _chainer_report),  # (before the console table, whose header it would also match)
    LineRule("deepxde-row", _deepxde_row),  # (before the console table, whose header it would also match)
    LineRule("html-table", _html_table),
    LineRule("yolov5-results", _yolov5_results),
    LineRule("split-table", _split_table),
    LineRule("two-line-header-table", _two_line_header_table),
    LineRule("vowpal-wabbit", _vw_table),
    LineRule("sklearn-gradient-boosting", _sklearn_gb),
    LineRule("pandas-frame", _pandas_frame),  # (before the console table, which reads the same header)
    LineRule("console-table", _console_table),
    LineRule("tqdm-bar", _tqdm_bar),
    LineRule("sb3-table", _sb3_table),
    LineRule("ray-result", _ray_result),
    LineRule("paddle-v2", _paddle_v2),  # (before the dict rule, which would read its metrics alone)
    LineRule("python-dict", _python_dict),
    LineRule("catboost-legacy", _catboost_legacy),
    LineRule("nanogpt", _nanogpt),
    LineRule("llm.c", _llmc),
    LineRule("darknet", _darknet),
    LineRule("caffe-net-output", _caffe_net_output),
    LineRule("trax", _trax),
    LineRule("ferminet", _ferminet),
    LineRule("synaptic", _synaptic),
    LineRule("densefusion", _densefusion),
    LineRule("marian", _marian),
    LineRule("pt-darts", _pt_darts),
    LineRule("epoch-trailer", _epoch_trailer),
    LineRule("amp-overflow", _amp_overflow),
    LineRule("yolact", _yolact),
    LineRule("fuxictr-metrics", _fuxictr_metrics),
    LineRule("coco-summary", _coco_summary),
    LineRule("studiogan-eval", _studiogan_eval),
    LineRule("nvidia-speech", _nvidia_speech),
    LineRule("rl-evaluation", _rl_evaluation),
    LineRule("cartpole-lengths", _cartpole_lengths),
    LineRule("keras-io-avg-reward", _keras_io_avg_reward),
    LineRule("julia-show", _julia_show),
    LineRule("tinygrad-step", _tinygrad_step),
    LineRule("cleverhans-accuracy", _cleverhans_accuracy),
    LineRule("ketos-wrapped", _ketos_wrapped),
    LineRule("kraken-accuracy", _kraken_accuracy),
    LineRule("gdrl-progress", _gdrl_progress),
    LineRule("checkpoint-message", _checkpoint_message),
    LineRule("bracketed-step", _bracketed_step),
    LineRule("step-of-max", _step_of_max),
    LineRule("epoch-value-metric", _epoch_value_metric),
    LineRule("lightning-checkpoint", _lightning_checkpoint),
    LineRule("gan-row", _gan_row),
    LineRule("pytorch-tutorial", _pytorch_tutorial),
    LineRule("tab-pairs", _tab_pairs),
    LineRule("bare-pairs", _bare_pairs),
    LineRule("header-table", _header_table),
    LineRule("pipe-table", _pipe_table),
    LineRule("key-value", _key_values),
    LineRule("fastai07-row", _fastai07_row),
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

#: a line holding only a class count: the config key each spelling stands for
_CLASS_COUNT_KEYS = {"vocab size": "vocab_size", "vocabulary size": "vocab_size", "num classes": "num_classes",
                     "number of classes": "num_classes", "n classes": "num_classes", "nb classes": "num_classes",
                     "num labels": "num_labels", "number of labels": "num_labels"}
_CLASS_COUNT_LINE = re.compile(r"^\s*(vocab(?:ulary)?[\s_]size|num[\s_]classes|number of classes|n[\s_]classes|nb[\s_]classes"
                               r"|num[\s_]labels|number of labels)\s*[:=]\s*(\d+)\s*$", re.I)


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


#: "- learning_rate: 5e-05": one setting per markdown bullet (the value runs to the end of the line)
_BULLET_SETTING = re.compile(r"^\s*[-*]\s+([A-Za-z_][\w.]{0,80})\s*:\s*(\S[^:]{0,200})$")


def _setting_value(raw: str):
    """A bullet's value: a number when it reads as one, else the text."""
    raw = raw.strip()
    try:
        return _num(raw) if _NUM_RE.fullmatch(raw) else raw
    except ValueError:
        return raw


#: Terminal escape sequences: colour/cursor codes (CSI ``ESC [ ... letter``) and titles/links
#: (OSC ``ESC ] ... BEL`` or ``ESC \\``). Loggers that colour their output (torchtitan,
#: loguru, rich, tqdm's cursor moves) write them into files redirected from a terminal;
#: "\x1b[32mloss: 2.1" must read as "loss: 2.1".
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")

#: Typographic quotes that a paste through a rich-text editor (a blog, a chat, some issue
#: forms) puts in place of ASCII ones: "{‘loss’: 1.45}" is HF's "{'loss': 1.45}".
_CURLY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                        # a full-width comma of a CJK-locale print ("valid ppl 195.52，lr 30.00"); a
                        # full-width colon stays: it joins a key in the local script to its value
                        # ("训练次数：100"), which no ASCII key rule reads either way
                        "\uff0c": ", "})


#: A mean with its spread: "return 200.0 +/- 15.2", "acc 93.2±0.4" (evaluations over several
#: episodes or seeds): the value is the mean; the spread is dropped.
_SPREAD = re.compile(r"(" + NUM + r")\s*(?:\u00b1|\+/-)\s*" + NUM)

#: XGBoost's cross-validation (Python and R) prints the mean and the standard deviation over folds joined by a
#: plus: "cv-test-logloss:0.045664+0.000217", "cv-train-logloss:nan+nan". The value is the mean.
_CV_SPREAD = re.compile(r"(:\s*" + NUM + r")\+(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|nan|inf)(?=\s|$)", re.I)

#: A printed torch scalar: "train_epoch_loss=tensor(21.3289, device='cuda:0')" (PEFT's example
#: loops, any loop that prints ``loss`` without ``.item()``) is the number 21.3289; the device,
#: dtype and grad_fn after it are no values. A one-element tensor prints its value in brackets
#: (ESPnet2's GAN trainer: "'discriminator_loss': tensor([427.9323], device='cuda:0')").
#: NaN and infinity as the Microsoft C runtime printed them before 2015 ("1.#QNAN0", "-1.#IND00",
#: "1.#INF00"): CNTK, and Caffe or any C++ trainer built on Windows ("TrainLossPerSample = 1.#QNAN000")
_MSVC_NAN = re.compile(r"(-?)1\.#(QNAN|SNAN|IND|INF)\d*")
#: a markdown escape in a paste that was not fenced ("ce = 2.3026 \* 16000", "train\_loss: 0.5"): the
#: backslash is the markdown source's, not the log's
_MD_ESCAPE = re.compile(r"\\([*_`#\[\]])")
#: a number set in markdown code ("* loss `228.44`, time `2021-10-20`", logs written as markdown):
#: the backticks are typography, the number is the value
_CODE_NUM = re.compile(r"`\s*(" + NUM + r")\s*`")
#: a number set in markdown bold or italics where a log is pasted into an issue ("loss =
#: **2510.0000**", the reporter marking the figure they mean): the stars are typography
_EMPHASIS_NUM = re.compile(r"(\*{1,2}|_{1,2})(" + NUM + r")\1(?![\w*])")
#: a number printed as a quoted string after its key and a colon ("'loss': '24.061707'", "'loss':
#: 'nan'"): the legacy PaddleDetection trainer logs its stats as an OrderedDict of formatted strings;
#: the quotes are the repr's, the number is the value (fairseq's JSON log prints its figures as
#: strings too: '{"epoch": 73, "train_loss": "nan", ...' where a paste broke the line; a whole
#: braced line is the dict rule's, and a config printed as one is no record). Not after "=" (an
#: HTML progress bar's "max='94'" in a notebook's output)
_QUOTED_NUM = re.compile(r"(:\s*)([\x27\x22])(" + NUM + r")\2(?![\w.])")
#: ...on a line that prints a counter or a figure bare as well ("iter: 680, lr: 0.000050, 'loss':
#: '7.422760'"): a line whose every number is quoted is a config dump (FuxiCTR's '"learning_rate":
#: "0.001",' one key per line; Ray's "experiment_tag: '0'"), not a record
_BARE_PAIR = re.compile(r"[\w\x27\x22]:\s*[-+]?\.?\d")
#: a line that is a printed loss tensor alone, perhaps after a counter: ``print(loss)`` and
#: ``print(i, loss)`` give "tensor(2.3026, grad_fn=<NllLossBackward0>)" and "0 tensor(10.4517,
#: device='cuda:0', grad_fn=<NllLossBackward0>)". The autograd node that made it names a loss.
_LOSS_TENSOR = re.compile(r"^\s*(?:(\d+)\s+)?tensor\(\s*(" + NUM + r")\s*,[^()]*grad_fn=<\w*(?:Loss|Nll|Entropy)\w*Backward\d*>\s*\)\s*$")

#: A Keras progress line: "399/399 [=====] - 2s 5ms/step - loss: ..." (Keras 2) or
#: "399/399 ━━━━━━ 2s 5ms/step - loss: ..." (Keras 3); group 1 is the loop's batch count.
_KERAS_BAR = re.compile(r"^\s*\d+/(\d+)\s+(?:\[[=>.]*\]|━+)")


def _keras_evaluate(rec: dict, line: str, seen: dict) -> dict:
    """A Keras ``evaluate()`` after ``fit()`` prints a progress line like fit's, with its own
    batch count and no ``val_`` fields; filed under the last epoch, its ``loss`` would replace
    that epoch's training loss (a test loss of 0.2002 read as a training loss that jumped from
    0.0503). ``seen["fit"]`` holds the batch count of the last fit line that carried ``val_``
    fields; a later line with another count and no ``val_`` field is the evaluation's."""
    m = _KERAS_BAR.match(line)
    if m is None:
        return rec
    total = int(m[1])
    if any(k.startswith("val_") for k in rec):
        seen["fit"] = total
        return rec
    # a fit without validation: the first progress line under an "Epoch N/M" header is fit's, and
    # one with another batch count before the next header is an evaluate() (the Coursera ResNet50
    # exercise: "34/34 ... loss: 0.2785" at epoch 10, then "4/4 ... loss: 0.3467")
    if seen.get("epoch", 0) is None:
        seen["epoch"] = total
    fit = seen.get("fit", seen.get("epoch"))
    if fit is None or fit == total:
        return rec
    seen["evaluated"] = True
    return _as_split(rec, "test")


def _keras_record(rec: dict, line: str, seen: dict) -> dict:
    """``rec`` as Keras printed it: a progress line goes through ``_keras_evaluate``; after an
    evaluation, a record with no step of its own and before the next epoch header restates the
    evaluation's result ("Loss = 0.3466799855232239", "Test Accuracy = 0.8916666507720947" under
    the evaluate line that printed 0.3467): filed under the last epoch, it would replace that
    epoch's training loss."""
    if "/step" in line:
        return _keras_evaluate(rec, line, seen)
    if seen.get("evaluated") and not any(_STEPLIKE.match(k) for k in rec):
        return _as_split(rec, "test")
    return rec


#: Keras' header of an epoch of ``fit``: "Epoch 3/10" on a line of its own
_KERAS_EPOCH = re.compile(r"^Epoch \d+/\d+\s*$")


#: Colour codes whose ESC byte a paste dropped ("[[36m05-07 13:05:33[0m]"): judged only on a
#: line holding the reset code "[0m" that every coloured span ends with
_ORPHAN_SGR = re.compile(r"\[(?:\d{1,3}(?:;\d{1,3})*)?m")


#: a training-loss key of a record (not an evaluation's)
_LOSS_KEY = re.compile(r"^(?!val|valid|eval|test|dev)\w*(?:loss|cost|nll|xent)", re.I)


#: A line that says training is over ("Training finished.", HF Trainer's "Training completed. Do
#: not forget to share your model on huggingface.co/models =)", "Finished training"), with no
#: number on it but its duration ("Training completed in 13.70 minutes."). What a trainer prints
#: after it evaluates the final (often the best, reloaded) model: FuxiCTR's train/validation/test
#: "[Metrics]" lines, HF's run summary whose ``train_loss`` is the mean over the run. Filed under
#: the last step, they would overwrite that step's validation metrics and training loss.
_TRAINING_DONE = re.compile(r"^\W*(?:training\s+(?:is\s+)?(?:finished|complete|completed|done|ended|over)"
                            r"|finished\s+training|end\s+of\s+training)\b"
                            r"(?:\s+in\s+[\d.:]+\s*(?:s|secs?|seconds|m|mins?|minutes|h|hrs?|hours)?\b)?[^\d]*$", re.I)


_strip_prefix = strip_prefix  # (the name the benchmark and tests import)


#: Rules whose result depends only on the form of a line, not on earlier lines or on the
#: digits of its numbers: their results are reused for lines of the same shape.
_SHAPE_RULES = frozenset({"python-dict", "nanogpt", "key-value"})


#: Line shapes remembered per log (a log prints a few dozen shapes; a hostile one cannot
#: grow the cache past this), and the longest line whose shape is remembered.
MAX_SHAPES, MAX_SHAPE_LINE = 4096, 4000

_NOTHING = ()  # a shape on which every rule returns None

#: Lines of one cached shape filed at once by the columns' ``append_block`` (a bound on the
#: block's memory: 4096 lines of at most ``MAX_SHAPE_LINE`` characters)
_BLOCK_LINES = 4096

#: rule-state keys that only count what a rule has seen (the amp-overflow rule's running count):
#: they change no rule's reading of other lines, so they leave the shape cache on
_COUNTERS = frozenset({"overflow_count"})


def _settled(state: dict) -> bool:
    """True when no rule holds state that shapes how later lines read (no table open)."""
    return not state or state.keys() <= _COUNTERS


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


def _plain(text: str) -> float:
    """A number from a span the shape cache found: plain ``float`` on the hot path (the
    shape's printed decimals were noted once, see :func:`_note_decimals`)."""
    try:
        return float(text)
    except ValueError:  # "1,000", PaddleOCR's "nanxxx"
        return float(_num(text))


def _note_decimals(records, slots: tuple[tuple[str, int, int], ...], line: str) -> None:
    """Every line of one shape prints each field with the same decimals: note them once for
    the sink (``RecordColumns.decimals``), so that the hot path can read plain floats."""
    decimals = getattr(records, "decimals", None)
    if decimals is None:
        return
    for k, i, j in slots:
        span = line[i:j]
        if "." in span and "e" not in span and "E" not in span:
            d = len(span) - span.index(".") - 1
            if d > decimals.get(k, -1):
                decimals[k] = d


#: where one tqdm bar ends and the next redraw begins on a line whose carriage returns a web page
#: rendered as spaces (sphinx-gallery's pages of TorchRL's tutorials: "...: 56%|#####5| 5600/10000
#: [00:03<00:01, 2237.00it/s]    reward: -2.34 (r0 = -1.62), ... grad norm= 79.50 ...:  56%|...")
_BAR_REDRAW = re.compile(r"(?:(?<=it/s\])|(?<=s/it\]))\s{2,}(?=\S)")


def _file_lines(fh):
    """The lines of a text file (``None`` for one too long to read, see ``bounded_lines``), a line of
    several tqdm redraws cut at each bar's end into lines of their own (the pieces count as lines
    in the line numbers the reader reports; one generator, so the common line pays nothing more),
    a diff view's lines without their markers (:func:`~lrdoctor.io.textlog.diffview.undiff`), and a
    markdown table whose line breaks became spaces cut back into its rows
    (:func:`~lrdoctor.io.textlog.tables.unflatten_markdown_table`)."""
    for line in undiff(line for _, line in bounded_lines(fh, MAX_LINE_CHARS)):
        if line is not None and "%|" in line and line.count("%|") > 1:
            yield from _BAR_REDRAW.split(line)
        elif line is not None and (rows := unflatten_markdown_table(line)) is not None:
            yield from rows
        else:
            yield line


def parse_lines(lines, source: str = "<text>", skipped: list[int] | None = None, records=None) -> tuple[list[dict], dict]:
    """Records and config found in an iterable of lines.

    Lines longer than :data:`~lrdoctor.io.limits.MAX_LINE_CHARS` are not parsed; their
    1-based numbers are appended to ``skipped`` when given. ``records`` is where records
    go (a list by default; the reader passes a :class:`~lrdoctor.io.records.RecordColumns`).

    Speed: a log repeats a few line shapes millions of times. When no table is open (no
    rule state) and only the built-in rules are registered, the result of a shape-only
    rule (:data:`_SHAPE_RULES`) is remembered as "field -> character span of its number",
    once that mapping is unambiguous, and reused for every later line of the same shape
    (the same characters, digits aside: :data:`~lrdoctor.io.textlog._base.DIGITS_AS_9`). Any line that does not fit
    is parsed in full; tests check both paths give the same records on every real log.
    """
    records = [] if records is None else records  # any sink with append(), e.g. RecordColumns
    done_at = 0  # the line that said training is over (0: none yet)
    after_done = 0  # records found after it, not filed
    config: dict = {}
    state: dict = {}
    namespaces = 0
    last: dict | tuple = {}  # the record before (where an announced NaN is filed), or its cached shape's slots
    # the sink's fast path for a cached shape (RecordColumns.append_spans): the numbers go from their
    # spans in the line to the columns, with no record dict in between
    spans = getattr(records, "append_spans", None)
    block_sink = getattr(records, "append_block", None)
    block: list[str] = []  # consecutive ASCII lines of one cached shape, filed together (``flush``)
    block_hit: tuple = ()

    def flush() -> None:
        """File the pending block: all at once, or line by line where a field is no plain float."""
        if len(block) == 1 or not block_sink(block_hit, block):
            for ln in block:
                if not spans(block_hit, ln):
                    rec = {k: _plain(ln[i:j]) for k, i, j in block_hit}
                    records.append(rec)
        block.clear()

    loss_change: tuple = ()  # (line, record index, text) of the last line that announced a new loss
    tensor_counted = False  # a printed loss tensor came after a counter (``print(i, loss)``)
    keras: dict = {}  # _keras_evaluate's memory (kept apart from the rules' state: the shape cache stays on)
    shapes: dict[bytes, tuple] = {}
    tries: dict[bytes, int] = {}
    use_shapes = [r.parse for r in RULES] == _BUILTIN_PARSERS
    before = ""  # the line before, as printed (a ruled table's header)
    for lineno, line in enumerate(lines, 1):
        if line is None or len(line) > MAX_LINE_CHARS + 1:
            if skipped is not None:
                skipped.append(lineno)
            continue
        if "\x1b" in line:
            line = _ANSI.sub("", line)
        elif "[0m" in line:  # the same codes pasted where the ESC byte was lost (GitHub issues)
            line = _ORPHAN_SGR.sub("", line)
        if not line.isascii():
            line = line.translate(_CURLY)
            if has_local_script(line):  # "训练损失: 0.52": keys in the author's language
                line = to_english(line)
        if any(o in line for o in TENSOR_OPENERS):
            alone = _LOSS_TENSOR.match(line) if "grad_fn=<" in line else None
            if alone:
                if alone[1]:
                    tensor_counted = True
                elif tensor_counted:
                    continue  # ``print(loss)`` beside ``print(i, loss)``: the counted line files it
                line = (f"step: {alone[1]}, " if alone[1] else "") + f"loss: {alone[2]}"
            else:
                line = TENSOR_REPR_RE.sub(r"\1", line)
        if "\u00b1" in line or "+/-" in line:
            line = _SPREAD.sub(r"\1", line)
        elif "+" in line and ":" in line:
            line = _CV_SPREAD.sub(r"\1", line)
        if "ruled" in state or (line[:8].lstrip()[:2] == "--" and RULE_LINE.match(line)):
            # a tabulate-style table is read by position, on the line as printed: its timestamp column
            # is no prefix to strip (see tables._ruled_table)
            rec = _ruled_table(line, state, before)
            if rec is not None:
                if rec and not done_at:
                    records.append(rec)
                    last = rec
                before = line
                continue
        before = line
        line = _strip_prefix(line)
        if line[:6] == "Epoch " and _KERAS_EPOCH.match(line):
            if _SINGLE_EPOCH_FIT.match(line):
                continue  # see _SINGLE_EPOCH_FIT
            keras["epoch"] = None  # a new epoch of fit: see _keras_evaluate
            keras["evaluated"] = False
        if 'File "' in line and _TRACEBACK_FRAME.match(line):
            continue  # see _TRACEBACK_FRAME
        first = line.lstrip(" ")[:1] if line[:1] == " " else line[:1]  # (no copy of most lines)
        if first in ("-", "*") and ":" in line:
            bullet = _BULLET_SETTING.match(line)
            if bullet:
                # a markdown list of settings (HF model cards' "Training hyperparameters": "- learning_rate:
                # 5e-05", "- num_epochs: 3") is the run's config, not a record of metrics at a step
                config[bullet[1]] = _setting_value(bullet[2])
                continue
        if first and first in "vVnN" and (":" in line or "=" in line):  # (cheap tests first: every line passes here)
            count = _CLASS_COUNT_LINE.match(line)
            if count:
                # the run's class count echoed on a line of its own ("Vocab size: 10000", flashlight's
                # RnnLm; "Number of classes: 4", rasbt's notebooks) is its config, not a metric
                config[_CLASS_COUNT_KEYS[re.sub(r"[\s_]+", " ", count[1].lower())]] = int(count[2])
                continue
        if "Namespace(" in line and namespaces < MAX_NAMESPACE_LINES:
            cfg = _namespace_config(line)
            if cfg:
                namespaces += 1
                config.update(cfg)
                continue
        if not done_at and "rain" in line and (len(records) or block) and _TRAINING_DONE.match(line):
            if block:
                flush()
            done_at = lineno
            state["training_done"] = True  # (a non-empty state also keeps the shape cache off)
            continue
        for key, goes_on, companion in _PENDING:
            if key in state and not goes_on(line):
                pending = state.pop(key)
                state.pop(companion, None)
                if pending:
                    if block:
                        flush()
                    records.append(pending)
        shape = None
        if use_shapes and _settled(state) and len(line) <= MAX_SHAPE_LINE:
            shape = line.encode("utf-8", "surrogatepass").translate(DIGITS_AS_9)
            hit = shapes.get(shape)
            if hit is not None:
                if hit:
                    if block_sink is not None and "/step" not in line and line.isascii():
                        if block and hit is not block_hit:
                            flush()
                        block.append(line)
                        block_hit = last = hit  # (the keys of the record before: only they are read from ``last``)
                        if len(block) >= _BLOCK_LINES:
                            flush()
                        continue
                    if block:
                        flush()
                    if spans is not None and "/step" not in line and spans(hit, line):
                        last = hit
                        continue
                    rec = {k: _plain(line[i:j]) for k, i, j in hit}
                    records.append(_keras_record(rec, line, keras) if keras or "/step" in line else rec)
                    last = rec
                continue
        if block:
            flush()
        # (on a line no cached shape read: the shape keeps every character but digits, so a line
        # of a cached shape has none of what follows)
        printed = line
        if line[:1] == "\x27" and _STRING_REPR.match(line):
            line = line.strip()[1:-1]  # a notebook's echo of a string ('Loss after epoch 0: 0.0'): the text inside
        elif '"' in line and _PASTE_QUOTE.match(line):
            line = _PASTE_QUOTE.sub(r"\1\2", line)  # a paste wrapped in quotes: the quote is no part of the log
        if "`" in line:
            line = _CODE_NUM.sub(r"\1", line)
        if "**" in line:
            line = _EMPHASIS_NUM.sub(r"\2", line)
        if (": \x27" in line or ': "' in line) and not ("{" in line and "}" in line) and _BARE_PAIR.search(line):
            line = _QUOTED_NUM.sub(r"\1\3", line)
        if "1.#" in line:
            line = _MSVC_NAN.sub(lambda m: "-inf" if m[1] and m[2] == "INF" else ("inf" if m[2] == "INF" else "nan"), line)
        if "\\" in line:
            line = _MD_ESCAPE.sub(r"\1", line)
        if line[:1] in "*\t " and line.lstrip()[:2] == "* ":
            line = line.lstrip()[2:]  # a markdown bullet ("* epoch 3", "\t * loss 0.52"): typography
        if line is not printed:
            shape = None  # the typography was undone: spans in this line are not spans in the printed one
        if ("hang" in line or "witch" in line) and "oss" in line and len(records) and _LOSS_CHANGE.search(line):
            loss_change = (lineno, len(records), line.strip()[:80])
            continue
        for rule in RULES:
            rec = rule.parse(line, state)
            if rec is None:
                continue
            if rec:
                if rule.name == "python-dict" and hasattr(records, "repr_keys"):
                    records.repr_keys.update(rec)
                if NAN_EVENT in rec:
                    keys = [slot[0] for slot in last] if isinstance(last, tuple) else last
                    rec = {next((k for k in keys if _LOSS_KEY.search(k)), "loss"): rec[NAN_EVENT]}
                if done_at:
                    after_done += 1
                    break
                records.append(_keras_record(rec, line, keras) if keras or "/step" in line else rec)
                last = rec
            if shape is not None and _settled(state) and rec and rule.name in _SHAPE_RULES and len(shapes) < MAX_SHAPES:
                slots = _slots(rec, line)
                if slots is not None:
                    _note_decimals(records, slots, line)
                    shapes[shape] = slots
            break
        else:
            if shape is not None and _settled(state) and len(shapes) < MAX_SHAPES:
                n = tries.get(shape, 0) + 1  # remember "no record" after two agreeing lines
                tries[shape] = n
                if n >= 2:
                    shapes[shape] = _NOTHING
    if block:
        flush()
    for key, _, _ in _PENDING:
        if state.get(key) and not done_at:  # a last table or block cut before its end (a crash, a paste)
            records.append(state.pop(key))
    if state.get("layout") and hasattr(records, "layout"):
        records.layout = state["layout"]
    if state.get("rows_unordered") and hasattr(records, "rows_in_order"):
        records.rows_in_order = False
    if loss_change and hasattr(records, "refile_before"):
        _refile_changed_loss(records, *loss_change)
    if after_done and hasattr(records, "warnings"):
        records.warnings.append(f"line {done_at} says training is over: the {after_done} record(s) after it "
                                "(evaluations of the final model) are not filed under a training step")
    return records, config


#: A whole line printed as a Python string's repr, as a notebook echoes a string a cell returned or a
#: list of them (gensim's loss callback in its users' notebooks: ``'Loss after epoch 0: 0.0'``): one
#: quote opens the line and one closes it, with none between
_STRING_REPR = re.compile(r"^'[^'\n]+'\s*$")


#: A paste wrapped in a pair of double quotes (a log quoted as one string in an issue: DeePMD-kit's
#: lcurve.out as '" #  step  rmse_trn ...' down to '... 1.0e-03"'): the line's only double quote opens
#: its first line or closes its last one. It is the paste's, not the log's; a line with two quotes
#: (a JSON record, a quoted value) keeps them.
_PASTE_QUOTE = re.compile(r'^\s*"([^"\n]*)$|^([^"\n]*?)"\s*$')


#: A line that announces the loss changes its definition from here on: MACE's "Changing loss based
#: on SWA" (and "... on Stage Two Weights"), where the energy and force weights jump and the loss
#: with them (6.76 -> 1832.76 between two epochs). Not a loss *scale* (mixed precision's scaler).
_LOSS_CHANGE = re.compile(r"\b(?:chang|switch)(?:e|es|ed|ing)?\s+(?:the\s+|to\s+(?:the\s+|a\s+)?(?:new\s+)?)?loss\b(?!\s*scal)", re.I)


def _refile_changed_loss(records, lineno: int, row: int, text: str) -> None:
    """After a line that announced a new loss (:data:`_LOSS_CHANGE`), the values before it measure
    another objective: set side by side in one column they read as a blow-up or a collapse at the
    change. The loss columns keep the values after the change (what the run optimised last, and
    what its end is judged on); those before it move to ``<name>_before_change``, and the reader
    says so."""
    moved = [k for k in list(records.rows_of) if _LOSS_KEY.search(str(k))
             and records.refile_before(k, row, f"{k}_before_change")]
    if moved:
        records.warnings.append(f"line {lineno} announces a new loss ({text!r}): the loss is judged from there on; "
                                f"the values before it are kept as {', '.join(f'{k}_before_change' for k in moved)}")


def read_textlog(path: Path) -> Run:
    skipped: list[int] = []
    try:
        with open(path, encoding=text_encoding(path), errors="replace") as fh:
            records, config = parse_lines(_file_lines(fh), str(path), skipped, RecordColumns())
            records.epochs_from_trailers(EPOCH_END)
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
        bare = read_bare_columns(path, _strip_prefix)  # numbers with no name anywhere: named after the file
        if bare is not None:
            return bare
        raise LogFormatError(path, "unknown format: no line looks like a training log (no 'loss', 'step', key=value ...)")
    meta = RunMeta(source=str(path), format="text-log", layout=records.layout)
    if skipped:
        meta.warnings.append(f"{printable(path.name)}:{skipped[0]}: {len(skipped)} line(s) longer than "
                             f"{MAX_LINE_CHARS} characters were not read")
    if records.has_raw_key("time/total_timesteps"):
        return records_to_run(records, meta, config=config, step_keys=[("time/total_timesteps", "timestep")])
    return records_to_run(records, meta, config=config)
