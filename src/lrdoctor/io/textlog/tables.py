"""Line rules for tables printed one row per line: pytorch/examples' ``| key value |`` cells,
stable-baselines' ASCII tables, header-then-rows logs and whitespace-aligned console tables
(Ultralytics YOLO, fastai)."""

from __future__ import annotations

import html
import re
import unicodedata

from lrdoctor.io.textlog._base import NUM, _NUM_FULL, _UNIT, _num
from lrdoctor.names import SPLIT_WORDS, UNDEFINED_CLASSES_SUFFIX

_BATCHES = re.compile(r"^(?P<b>\d+)\s*/\s*(?P<t>\d+)\s+batches$", re.I)

_CELL_KEY = re.compile(r"[A-Za-z][A-Za-z _/.\-]*")

_CELL_VAL = re.compile(rf"(?P<val>{NUM}){_UNIT}", re.I)

#: fairseq's end-of-epoch validation summary names the subset it scored in a cell of its own:
#: "| epoch 028 | valid on 'valid' subset | loss 9.329 | nll_loss 8.088 | ppl 272.04 | num_updates
#: 9165 | best_loss 9.11817" (the training summary of the same epoch and update count prints
#: "| epoch 028 | loss 8.977 | ..."): the line's values are that subset's
FAIRSEQ_SUBSET = re.compile(r"^(?P<split>valid|test|dev)\w* on '?[\w.\-]+'? subset$", re.I)

#: the cells of such a line that say when it was written, kept bare: fairseq's update count is
#: the step its training lines are filed at
_SUBSET_STAMPS = frozenset({"epoch", "num_updates"})


def subset_fields(rec: dict, split: str) -> dict:
    """``rec``'s values as the ``split``'s (``valid_loss``, ``valid_best_loss``), the epoch and the
    update count kept bare, and a key already named for the split left as it is."""
    return {(k if k in _SUBSET_STAMPS or k.startswith(f"{split}_") else f"{split}_{k}"): v for k, v in rec.items()}


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
    split = None
    for cell in (c.strip() for c in s.strip("|").split("|")):
        if not cell:
            continue
        if cell.endswith("subset"):
            sm = FAIRSEQ_SUBSET.match(cell)
            if sm:
                split = sm["split"].lower()
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
    if split:
        rec = subset_fields(rec, split)
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

#: (baselines' deepq logger writes spaced keys: ``| mean 100 episode reward | -21 |``); a key is
#: never a number: ``| 1.2720 | 0 |`` is a row of values, as a Keras-callback HF card's two-column
#: results table ("Train Loss | Epoch") prints them
_SB3_ROW = re.compile(rf"^\|\s+(?P<key>(?!{NUM}\s*\|)[\w\-.%]+(?: [\w\-.%]+)*)\s*\|\s*(?P<val>{NUM})\s*\|\s*$", re.I)


def _sb3_table(line: str, state: dict) -> dict | None:
    """SB3's ASCII dump; records are emitted when the closing ``-----`` line arrives
    (pasted tables often carry a leading space on every line), or at the end of the log for
    a last table cut before its closing line (``parse_lines`` flushes ``state["sb3_rec"]``)."""
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


#: Ray Tune's (and RLlib's) console result blocks: "Result for PPO_CartPole-v0_0:" then the result
#: dict as indented YAML, keys in alphabetical order, nested dicts as deeper blocks:
#: "  episode_reward_mean: 21.3", "  info:", "    learner:", ..., "  training_iteration: 3"
_RAY_HEADER = re.compile(r"^Result for \S+:\s*$")
_RAY_LINE = re.compile(rf"^ +(?P<key>[A-Za-z_][\w/.\-]*):(?:\s+(?P<val>{NUM}))?\s*$", re.I)


def _ray_result(line: str, state: dict) -> dict | None:
    """Ray Tune's result blocks (see ``_RAY_HEADER``): one record per block. Its step keys
    (``training_iteration``, ``timesteps_total``) come after the metrics in the alphabetical order,
    so lines cannot be filed one by one under the last step seen (each block's reward went to the
    iteration before). A nested value keeps its own name (the first of a name wins). The block
    pending in ``state["ray_rec"]`` is returned at the next header; ``parse_lines`` ends it at the
    first line outside it, and at the end of the log."""
    if _RAY_HEADER.match(line):
        done = state.pop("ray_rec", None)
        state["ray_rec"] = {}
        return done or {}
    if "ray_rec" not in state:
        return None
    m = _RAY_LINE.match(line)
    if m is None:
        return {} if not line.strip() else None
    if m["val"] is None:
        return {}  # a section opens ("info:", "learner:")
    # a nested value keeps its own name, as RLlib's users quote it ("total_loss", "kl", "cur_lr");
    # the first of a name wins: the top-level figures come first in the alphabetical order
    # ("episode_reward_mean" before the "evaluation:" section's own)
    state["ray_rec"].setdefault(m["key"], _num(m["val"]))
    return {}


def ray_block_goes_on(line: str) -> bool:
    """Whether ``line`` belongs to a pending Ray Tune result block (indented, blank, or a new header)."""
    return not line.strip() or line[:1] == " " or bool(_RAY_HEADER.match(line))


def sb3_table_goes_on(line: str) -> bool:
    """Whether ``line`` belongs to an SB3/baselines table (a section, a row, a border). A pending
    table is complete at the first line that does not: baselines tables pasted without their
    dashed borders run one into the next ("Iteration 3025", rows, "Iteration 3026", rows)."""
    s = line.strip()
    return not s or s.startswith("---") or bool(_SB3_SECTION.match(s) or _SB3_ROW.match(s))


#: a header cell: an identifier, "@" included for a ranking metric's cut-off ("ndcg@10", "recall@5":
#: sentence-transformers' and recommenders' evaluator columns), and a closing "(X)" as ultralytics
#: names its box and mask metrics ("metrics/mAP50(B)", "metrics/precision(M)")
_HEADER_CELL = re.compile(r"^(?:\d-)?[A-Za-z_][\w/.\-@]*(?:\([A-Za-z]{1,3}\))?$")  # ("1-f1": a score of class 1, below)

#: a table cell holding a number and its unit ("1.36s", "12%", "340ms")
_UNIT_CELL = re.compile(rf"^({NUM})\s*(?:s|ms|sec|%)?$", re.I)

#: a table cell that says it holds no value: HF Trainer's results table writes "No log" under
#: "Training Loss" until the first logged training loss; "-", "n/a" and "None" elsewhere
_NO_VALUE = re.compile(r"^(?:no log|n/?a|none|-+|—)$", re.I)

#: a markdown/notebook table header cell may hold words with spaces ("Training Loss"), never digits,
#: except at the end of a word ("Train Rouge1", "Eval Top5": Keras callbacks' HF card tables) or
#: between its letters ("Train Top-3-accuracy", the same cards' top-k columns); a
#: word that starts with a digit ("epoch 1", "loss 0.5") is a value, not a name ("rewards / match":
#: TRL's reward-function columns)
_SPACED_CELL = re.compile(r"^[A-Za-z_][A-Za-z_/.\-@]*(?:\d+[A-Za-z_/.\-@]+)*\d*(?: +[A-Za-z_/.\-][A-Za-z_/.\-@]*(?:\d+[A-Za-z_/.\-@]+)*\d*)*$")

#: ...and a name of two or more words may end in a bare index, the class or label it is about
#: ("F1 Class 1", "Precision Label 0": a per-class metric column); one word and a number ("epoch 1")
#: stays a value
_INDEXED_CELL = re.compile(r"^[A-Za-z_][\w/.\-@]*(?: +[A-Za-z_][\w/.\-@]*)+ +\d+$")

#: ...or in a decimal, the operating point it is measured at ("Tpr At Fpr 0.01": a detector's true
#: positive rate at a 1% false positive rate, a column of many phishing classifiers' HF cards). Such
#: a cell also reads as "key value" (pytorch/examples' "| valid loss 5.72 |"), so a header takes it
#: only beside names that carry no number (:func:`_parameter_cells_in_a_header`)
_PARAMETER_CELL = re.compile(r"^[A-Za-z_][\w/.\-@]*(?: +[A-Za-z_][\w/.\-@]*)+ +\d*\.\d+$")


def _parameter_cells_in_a_header(cells: list[str]) -> bool:
    """True when the cells that end in a decimal after two or more words are fewer than half of a
    line whose other cells are all names (an index after words included, "F1 Class 1"): a header
    naming one or two columns by their operating point. A line of "key value" cells puts a number
    in every cell (pytorch/examples' "| end of epoch 1 | time: 32.39s | valid loss 5.72 | valid ppl
    304.40 |")."""
    param = [c for c in cells if _PARAMETER_CELL.match(c)]
    plain = [c for c in cells if _SPACED_CELL.match(c) or _INDEXED_CELL.match(c) or _HEADER_CELL.match(c)]
    return bool(param) and 2 * len(param) < len(cells) and len(param) + len(plain) == len(cells)


#: the two-word column names of HF Trainer's results table ("Training Loss", "Validation Loss")
_HF_PAIR = re.compile(r"\b(Training|Train|Validation|Valid|Eval|Evaluation|Test) (Loss|Accuracy|Acc)\b|\b(Gen) (Len)\b")


#: fastai v1's two-word column names in lower case, as its results table reads once its HTML
#: is copied as text ("epoch train loss valid loss accuracy"); only on a line that starts with
#: "epoch", fastai's first column, so prose is never a header
_FASTAI_PAIR = re.compile(r"\b(train|training|valid|validation|val|test) (loss)\b", re.I)


#: a unit in parentheses closing a header cell: "total time (s)", "lr (x1e-4)"
_HEADER_UNIT = re.compile(r"\s+\([^()]{1,12}\)$")


#: a cell that prints a one-key dict, as ``evaluate``'s ``compute`` returns one and a
#: ``compute_metrics`` that passes it on leaves it in the card: "{'accuracy': 0.8455882352941176}"
_ONE_KEY_DICT = re.compile(rf"\{{\s*['\"][A-Za-z_][\w ]*['\"]\s*:\s*(?P<val>{NUM})\s*\}}")


def _without_leading_symbols(cell: str) -> str:
    """``cell`` without the symbols (Unicode categories S*, with their joiners, variation selectors
    and combining marks) and blanks before its first letter, when a letter follows them; else
    ``cell`` unchanged."""
    i = 0
    while i < len(cell) and (unicodedata.category(cell[i])[0] in "SZ" or unicodedata.category(cell[i]) in ("Mn", "Cf")):
        i += 1
    return cell[i:] if 0 < i < len(cell) and cell[i].isalpha() else cell


def _spaced_hf_header(s: str) -> list[str] | None:
    """The cells of HF Trainer's results table copied from a rendered page with its borders lost,
    one space between words ("Training Loss Epoch Step Validation Loss Wer"): the two-word names
    are HF's ("Training Loss", "Validation Loss"), every other word is one column. Only a header
    with an epoch or step column and a loss pair; None otherwise."""
    if s[:6].lower() == "epoch " and "loss" in s and "|" not in s and "\t" not in s and "," not in s and _FASTAI_PAIR.search(s):
        # fastai v1's table copied from a notebook's HTML: "epoch train loss valid loss accuracy_thresh"
        joined = _FASTAI_PAIR.sub(lambda m: f"{m[1]}_{m[2]}", s)
        cells = joined.split()
        return cells if len(cells) >= 3 and all(_HEADER_CELL.match(c) for c in cells) else None
    if ("Loss" not in s and "Gen Len" not in s) or "|" in s or "\t" in s or "," in s or not _HF_PAIR.search(s):
        return None  # (a substring test first: this runs on every line of a text log)
    joined = _HF_PAIR.sub(lambda m: f"{m[1]}_{m[2]}" if m[1] else f"{m[3]}_{m[4]}", s)
    # the Trainer's own three-word column (``eval_model_preparation_time``, transformers >= 4.44)
    joined = joined.replace("Model Preparation Time", "Model_Preparation_Time")
    cells = joined.split()
    # (two columns suffice: a notebook's "Step Training Loss", the Trainer's progress table before any
    # evaluation, copied as text; the line holds nothing but the step word and HF's loss pair)
    if len(cells) < 2 or not all(_HEADER_CELL.match(c) for c in cells) or not {"epoch", "step"} & {c.lower() for c in cells}:
        return None
    return cells


#: the columns of HF Trainer's results table that are no evaluation metric
_HF_TRAIN_COLUMNS = {"training_loss", "train_loss", "epoch", "step", "validation_loss", "eval_loss"}


def _hf_evaluation_names(names: list[str]) -> list[str]:
    """HF Trainer's results table (model cards, notebooks: "Training Loss | Epoch | Step |
    Validation Loss | Accuracy | F1"; a notebook's progress table has "Epoch" or "Step" alone)
    holds one row per evaluation, and every column after the
    validation loss is that evaluation's metric: "accuracy" is ``eval_accuracy`` in the
    trainer's own log, not a training accuracy. Other tables keep their names."""
    if not ("training_loss" in names and {"step", "epoch"} & set(names) and "validation_loss" in names):
        return names
    return [n if n in _HF_TRAIN_COLUMNS or n.startswith(("eval_", "validation_")) else f"eval_{n}" for n in names]


#: ``RunMeta.layout`` of a sentence-transformers (or SetFit) "Training Logs" table: the model-card
#: callback of those libraries writes "Epoch | Step | Training Loss | ...", the epoch first, where
#: the Trainer's own card writes "Training Loss | Epoch | Step | Validation Loss". Its losses are
#: the library's pair and ranking objectives (CosineSimilarityLoss is an MSE of cosines,
#: MultipleNegativesRankingLoss a cross-entropy over the batch's candidates), not a cross-entropy
#: over the task's classes.
SENTENCE_TRANSFORMERS_LAYOUT = "sentence-transformers"
_SENTENCE_TRANSFORMERS_HEAD = ("epoch", "step", "training_loss")


def _column_names(cells: list[str]) -> list[str]:
    """A table header's cells as column names: lower case, spaces as underscores, HF results
    tables' metric columns named as the evaluation's. Beside a column named as the training
    loss, a bare "loss" is the other loss the table reports, the evaluation's
    (sentence-transformers' "Training Logs": "Epoch | Step | Training Loss | loss |
    score_spearman_cosine", the evaluation set's loss and score)."""
    names = [re.sub(r"\s+", "_", c.lower()) for c in cells]
    # "1-f1", "1-recall": a score of class 1, the positive label (a populism classifier's card: "1-f1"
    # 0.1259 = 2PR/(P+R) of its "1-precision" 0.0672 and "1-recall" 1.0), named as "F1 Class 1" is
    names = [f"{n[2:]}_class_{n[0]}" if n[:1].isdigit() and n[1:2] == "-" and len(n) > 2 else n for n in names]
    if "loss" in names and {"training_loss", "train_loss"} & set(names) and "eval_loss" not in names:
        names = ["eval_loss" if n == "loss" else n for n in names]
    return _hf_evaluation_names(names)


#: the last word of a metric's name that a ``compute_metrics`` key split into words ends with
#: ("wer_score" -> "Wer Score", "exact_match" -> "Exact Match", "mean_iou" -> "Mean Iou")
_NAME_TAILS = frozenset({"score", "match", "rate", "error", "iou", "accuracy", "len",
                         "correlation", "coefficient", "macro", "micro", "weighted",
                         "ortho",  # (the HF audio course's Whisper fine-tune: "Wer Ortho" before "Wer")
                         "beta",  # (an F-beta score, "f_beta" -> "F Beta": a PII tagger's recall-weighted F5)
                         "auc",  # (scikit-learn's roc_auc_score as "roc_auc": "Roc Auc", "Pr Auc")
                         "squared",  # (a regression head's "r_squared": "R Squared" after "Mape")
                         "normalized"})  # (a Whisper fine-tune's "wer_normalized", the WER after
                                         # Whisper's text normaliser, beside the raw "wer")


#: the facets a score that ``evaluate`` returns in parts is reported by ("bertscore_f1" from
#: BERTScore's precision, recall and f1 lists)
_FACET_WORDS = frozenset({"f1", "precision", "recall"})


def _plain_word(names: list[str], j: int) -> bool:
    """True when ``names[j]`` is a word no rule places on its own: no Trainer column, no metric's
    whole name, no name tail and no name already joined. Such a word belongs to the name after it."""
    word = names[j].removeprefix("eval_")
    return names[j] not in _HF_TRAIN_COLUMNS and word not in _METRIC_WORDS and word not in _NAME_TAILS and "_" not in word


#: the parts of a ROUGE score as the ``rouge_score`` package returns them (``Score(precision, recall,
#: fmeasure)``): after a ROUGE word, one of them is that score's facet, not a column of its own
_ROUGE_FACETS = frozenset({"precision", "recall", "fmeasure"})


def _facet_of(names: list[str], i: int) -> bool:
    """True when ``names[i]`` is a facet word after a plain word (:func:`_plain_word`): the facet of
    that score ("Bleu Ter Chrf Rougel Meteor Bertscore F1" over six metric values: "bertscore_f1").
    After a whole metric name a facet is its own column ("Accuracy F1"), except a ``rouge_score``
    facet after a ROUGE word ("Rougel Fmeasure Bertscore F1 Combined Score" over three values)."""
    word, before = names[i].removeprefix("eval_"), names[i - 1].removeprefix("eval_")
    if word in _ROUGE_FACETS and before.startswith("rouge") and before.removeprefix("rouge") in {"1", "2", "l", "lsum"}:
        return True
    return word in _FACET_WORDS and _plain_word(names, i - 1)


def _starts_a_tailed_name(names: list[str], i: int) -> bool:
    """True when ``names[i]`` is a name a tail just closed ("positive_rate") and the word before it
    is a plain word (:func:`_plain_word`): that word is the name's first ("False Positive Rate" is
    one column, ``false_positive_rate``, as a ``compute_metrics`` key of three words renders). Only
    called while the header still has more words than a row has values."""
    word = names[i].removeprefix("eval_")
    return "_" in word and word.rsplit("_", 1)[1] in _NAME_TAILS and _plain_word(names, i - 1)


def _ends_a_name(names: list[str], i: int) -> bool:
    """True when ``names[i]`` is a tail that can end the name of the word before it, itself a metric
    word: then it ends that name and the tail after it starts another ("Roc Auc Accuracy" is
    "roc_auc", "accuracy"; after "Validation Loss", "Accuracy Score" is one name)."""
    return (i >= 1 and names[i].removeprefix("eval_") in _NAME_TAILS and names[i - 1] not in _HF_TRAIN_COLUMNS
            and names[i - 1].removeprefix("eval_") not in _NAME_TAILS)


#: words that are a whole metric's name in HF's results tables (``compute_metrics`` keys of one
#: word, as ``evaluate`` and the task examples name them): the fixed points between which the words
#: of the other names are grouped (:func:`_join_unknown_runs`)
_METRIC_WORDS = frozenset({"accuracy", "acc", "f1", "precision", "recall", "wer", "cer", "bleu", "sacrebleu", "meteor",
                           "chrf", "ter", "der", "confusion", "mse", "mae", "rmse", "mape", "smape", "map", "mar",
                           "iou", "dice", "auc", "auroc", "perplexity", "pearson", "pearsonr", "spearman", "spearmanr",
                           "matthews", "mcc", "kappa", "loss", "jaccard", "psnr", "ssim", "fid",
                           "runtime", "delta1", "delta2", "delta3", "rouge1", "rouge2", "rougel", "rougelsum"})


def _trainer_columns_end(names: list[str]) -> int:
    """Where the Trainer's own leading columns ("training_loss", "epoch", "step", "validation_loss")
    end and the evaluation's metric names begin."""
    fixed = 0
    while fixed < len(names) and names[fixed] in _HF_TRAIN_COLUMNS:
        fixed += 1
    return fixed


def _join_unknown_runs(names: list[str], values: int) -> list[str] | None:
    """The metric names of an HF results table whose words :data:`_NAME_TAILS` could not group:
    between the Trainer's own columns and the one-word names of :data:`_METRIC_WORDS`, each run of
    other words holds whole names. When there are as many names to make as runs, each run is one
    name (a summariser's "Rougelsum Generated Length"); when one run must make ``m`` names and
    its length divides by ``m``, it is cut into names of equal length (pyannote's "Der False Alarm
    Missed Detection Confusion": two two-word names between "Der" and "Confusion"). None when
    neither settles the grouping."""
    fixed = _trainer_columns_end(names)
    runs: list[list[int]] = []
    for i in range(fixed, len(names)):
        word = names[i].removeprefix("eval_")
        if word in _METRIC_WORDS or "_" in word:
            continue
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    make = values - (len(names) - sum(len(r) for r in runs))  # names the runs must make
    if not runs or make < len(runs):
        return None
    if make == len(runs):
        cuts = [[r] for r in runs]
    elif len(runs) == 1 and len(runs[0]) % make == 0:
        size = len(runs[0]) // make
        cuts = [[runs[0][k:k + size] for k in range(0, len(runs[0]), size)]]
    else:
        return None
    joined = {r[0]: "_".join([names[r[0]]] + [names[j].removeprefix("eval_") for j in r[1:]]) for c in cuts for r in c}
    inside = {j for c in cuts for r in c for j in r[1:]}
    out = [joined.get(i, n) for i, n in enumerate(names) if i not in inside]
    return out if len(out) == values else None


def _join_metric_words(head: list[str], values: int) -> list[str]:
    """HF's results table copied with its borders lost names each ``compute_metrics`` key in
    title-case words ("Training Loss Epoch Step Validation Loss Wer Score" over rows of five
    numbers): a Keras-callback header, whose lone split words start the names, is cut at them
    (:func:`_join_split_runs`); otherwise, where the header has more words than a row has values, a
    word from :data:`_NAME_TAILS` joins the word before it, from the right, until the counts match;
    then the runs of words that are no metric's whole name are grouped (:func:`_join_unknown_runs`).
    The header is kept unchanged when they cannot be made to match."""
    names = list(head)
    split = _join_split_runs(names, values)
    if split is not None:
        return split
    i = len(names) - 1
    while len(names) > values and i > 0:
        if ((names[i].removeprefix("eval_") in _NAME_TAILS and names[i - 1] not in _HF_TRAIN_COLUMNS
                and not _ends_a_name(names, i - 1)) or _facet_of(names, i) or _starts_a_tailed_name(names, i)):
            names[i - 1:i + 1] = [f"{names[i - 1]}_{names[i].removeprefix('eval_')}"]
        i -= 1
    if len(names) > values:
        names = _join_unknown_runs(names, values) or _join_repeated_head(names, values) or names
    return names if len(names) == values else head


def _join_split_runs(names: list[str], values: int) -> list[str] | None:
    """A Keras-callback card's header, where a lone split word (:data:`~lrdoctor.names.SPLIT_WORDS`)
    starts each metric's name and the name runs to the next split word or Trainer column ("Train
    Loss Validation Loss Train Overall Precision Train Overall Recall ... Epoch" over seven values:
    LayoutLM on FUNSD). None when the counts do not match."""
    out: list[str] = []
    i = 0
    while i < len(names):
        j = i + 1
        if names[i] in SPLIT_WORDS:
            while j < len(names) and names[j] not in SPLIT_WORDS and names[j] not in _HF_TRAIN_COLUMNS:
                j += 1
        out.append("_".join(names[i:j]))
        i = j
    return out if len(out) == values and len(out) < len(names) else None


def _join_repeated_head(names: list[str], values: int) -> list[str] | None:
    """The metric names of an HF results table whose metric words start with one word that comes
    back: a ``compute_metrics`` that splits one score into its facets names each ``score_facet``,
    and the rendered header repeats the score's word before each facet (a paraphraser's "Rouge2
    Precision Rouge2 Recall Rouge2 Fmeasure" over three values). Each name runs from one
    occurrence of that word to the next. None when the counts do not match."""
    fixed = _trainer_columns_end(names)
    rest = names[fixed:]
    if len(rest) < 4:
        return None
    first = rest[0]
    cuts = [i for i, n in enumerate(rest) if n == first]
    if len(cuts) < 2 or fixed + len(cuts) != values:
        return None
    bounds = cuts + [len(rest)]
    joined = ["_".join([rest[a]] + [w.removeprefix("eval_") for w in rest[a + 1:b]]) for a, b in zip(bounds, bounds[1:])]
    return names[:fixed] + joined


def _header_table(line: str, state: dict) -> dict | None:
    """A ``|``-separated header of names followed by rows of numbers (baselines PPO1's
    ``pol_surr | vf_loss | kl | ent`` optimisation table)."""
    s = line.strip().strip("*#=").strip()
    if s[:6].lower() == "epoch " and "  " in s and not ({"|", "\t", ","} & set(s)) and _FASTAI_PAIR.search(s):
        # columns set apart by runs of blanks, names of one or two words: nolearn's PrintLog
        # ("epoch    train loss    valid loss    train/val    valid acc  dur"); one blank inside a
        # name, two or more between names
        cells = re.split(r"\s{2,}", s)
        if len(cells) >= 3 and all(_SPACED_CELL.match(c) or _HEADER_CELL.match(c) for c in cells):
            state["pipe_header"] = _column_names(cells)
            state["pipe_units"] = True  # its rows print durations with their unit ("0.05s")
            return {}
    hf = _spaced_hf_header(s)
    if hf is not None:
        state["pipe_header"] = _hf_evaluation_names([c.lower() for c in hf])
        state["spaced_hf"] = True
        return {}
    sep = "|" if "|" in s else ("\t" if "\t" in s else ",")
    cells = [c.strip() for c in s.strip("|").split(sep)]
    while sep == "|" and len(cells) >= 3 and cells[-1] == "" and (cells[-2] == "" or all(cells[:-1])):
        cells.pop()  # (empty trailing header cells, "| R Squared | | |": columns no row fills)
    if sep == "|" and not state.get("pipe_header") and len(cells) >= 3 and cells[0] == "" and all(cells[1:]):
        cells[0] = "index"  # pandas' to_markdown: the unnamed index column's header cell is blank
    if sep == "|" and not state.get("pipe_header"):
        # a unit in parentheses after a spaced name is no part of it: pytorch-tabnet's
        # "| EPOCH |  train  |   valid  | total time (s)" (a header row with no closing bar)
        cells = [_HEADER_UNIT.sub("", c) for c in cells]
        # a number sign after a counter's name is no part of it: neupy's "| Epoch # | Train err |"
        cells = [c[:-1].rstrip() if c.endswith("#") and len(c) > 1 else c for c in cells]
        # pictographs before a name are no part of it: a model card's "| 🏋♂ Training Loss | 🕑 Epoch |"
        cells = [_without_leading_symbols(c) for c in cells]
    # names with spaces only between bars or tabs (a Jupyter table copied as text is tab-separated:
    # "Step<TAB>Training Loss")
    spaced = sep in "|\t" and (all(_SPACED_CELL.match(c) or _INDEXED_CELL.match(c) or _HEADER_CELL.match(c) for c in cells)
                                or _parameter_cells_in_a_header(cells)) and any(" " in c for c in cells)
    # (an identifier may hold digits beside spaced names: HF's "| Validation Loss | Rouge1 | F1 |")
    if len(cells) >= 2 and (spaced or all(_HEADER_CELL.match(c) for c in cells)) and any(not _NUM_FULL.match(c) for c in cells):
        # (HF notebooks print "Step | Training Loss | Validation Loss | Wer")
        state["pipe_header"] = _column_names(cells)
        if state["pipe_header"][:3] == list(_SENTENCE_TRANSFORMERS_HEAD):
            state["layout"] = SENTENCE_TRANSFORMERS_LAYOUT
        words = s.replace("|", " ").split()
        # bars that group one-word names ("ID  Step  maxR |  avgR  stdR |  expR  objC": ElegantRL's
        # evaluator): a row of as many numbers is read word by word
        # (names within a group are aligned by runs of blanks; "| Training Loss | Epoch |" has one-blank names)
        grouped = sep == "|" and any(_ALIGNED.search(c) for c in cells)
        state["pipe_words"] = words if grouped and len(words) > len(cells) and all(_WORD_NAME.match(w) for w in words) else None
        return {}
    head = state.get("pipe_header")
    if not head:
        return None
    missing = None
    if state.get("spaced_hf") and s[:6].lower() == "no log":
        # HF's "No log" cell (no training loss logged yet): the column it stands in holds no value
        s, missing = "0" + s[6:], 0
    undefined: dict[str, float] = {}
    if "[" in s and "|" in s:
        undefined = _undefined_classes(s, head)
        s, head = _without_list_cells(s, head)
    rec = _header_row(s, head, state, missing)
    if rec and undefined:
        rec.update(undefined)
    return rec


def _header_row(s: str, head: list[str], state: dict, missing: int | None) -> dict | None:
    """The record of data row ``s`` (list cells already taken out) of a header table with
    column names ``head``; ``missing`` is the index of a cell that holds no value."""
    if "{" in s:
        s = _ONE_KEY_DICT.sub(lambda m: m["val"], s)
    cells = [c for c in re.split(r"[|,\s]+", s.strip("|")) if c]
    if state.get("spaced_hf") and len(cells) < len(head) and all(_NUM_FULL.match(c.removesuffix("%")) for c in cells):
        head = state["pipe_header"] = _join_metric_words(head, len(cells))
    words = state.get("pipe_words")
    if words and all(_NUM_FULL.match(c) for c in cells):
        if words[-1].rstrip(".") == "etc" and len(cells) >= len(words):
            # "etc." names the columns after the named ones (ElegantRL's extra objectives)
            words = words[:-1] + [f"etc_{i}" for i in range(1, len(cells) - len(words) + 2)]
        if len(cells) == len(words):
            return {w: _num(c) for w, c in zip(words, cells)}
        return None  # (a row cut short, "0  3.20e+01  -95.16 |": no row of this table)
    if state.get("pipe_units") and len(cells) == len(head) and all(_UNIT_CELL.match(c) for c in cells):
        return {k: _num(_UNIT_CELL.match(c)[1]) for k, c in zip(head, cells)}
    if len(cells) == len(head) and any(c[-1:] == "%" for c in cells) and all(_NUM_FULL.match(c.removesuffix("%")) for c in cells):
        # scores printed as percentages in a results table copied as text ("1 0.047 0.051537 91.35%
        # 95.23% 93.25% 98.56%", a PII tagger's card): the number is the value, on the 0-100 scale
        return {k: _num(c.removesuffix("%")) for i, (k, c) in enumerate(zip(head, cells)) if i != missing}
    if len(cells) == len(head) and all(_NUM_FULL.match(c) or _CLOCK.match(c) for c in cells) and not all(_CLOCK.match(c) for c in cells):
        # (fastai's tab-separated table ends each row with its "time" cell, "00:03": a duration, no metric)
        return {k: _num(c) for i, (k, c) in enumerate(zip(head, cells)) if not _CLOCK.match(c) and i != missing}
    if "|" in s:  # a bordered table whose cells carry units: Turi Create's "| 1 | 5.2557 | 1.36s |"
        cells = [c.strip() for c in _without_border(s).split("|")]
        while len(cells) > len(head) and cells[-1] == "":
            cells.pop()  # (the empty trailing cells of a header that had them: "| 0.388 | | |")
        hits = [_UNIT_CELL.match(c) or _CONSOLE_CELL.match(c) for c in cells]  # (also "0/299", "7.17G": YOLOv3's results table)
        if len(cells) == len(head) and all(h or not c or _NO_VALUE.match(c) for h, c in zip(hits, cells)) and any(hits):
            # a cell that says it holds no value ("No log": HF's results table before the first
            # logged training loss), or holds nothing (a PII tagger's card leaves the F1 of an entity
            # absent from the evaluation set empty: "| 0.8065 | 0.0 | |||"), is a missing value, not
            # the end of the table
            return {k: _num(m[1]) for k, m in zip(head, hits) if m}
    return None


def _without_border(row: str) -> str:
    """``row`` without one border ``|`` at each end: ``str.strip("|")`` would also take the empty
    cells that end a row ("| 0.0 | |||" is a value and three empty cells, not one value)."""
    s = row.strip()
    s = s[1:] if s.startswith("|") else s
    return s[:-1] if s.endswith("|") else s


#: a table cell holding a list of numbers: HF's results table prints a metric that ``evaluate``
#: returns as a list as it is ("Sacrebleu-precisions": "[92.246, 84.243, 78.785, 75.434]")
_LIST_CELL = re.compile(rf"^\[\s*{NUM}(?:\s*,\s*{NUM})*\s*\]$")


def _undefined_classes(row: str, head: list[str]) -> dict[str, float]:
    """For each list cell of ``row`` (see ``_LIST_CELL``) with non-finite entries, its column's
    count of them, under the column's name and ``UNDEFINED_CLASSES_SUFFIX``: an HF card's "Per
    Category Accuracy" of "[nan, 0.9943]" is a class the evaluation held no pixel of (0/0)."""
    raw = [c.strip() for c in row.strip().strip("|").split("|")]
    if len(raw) != len(head):
        return {}
    out = {}
    for name, c in zip(head, raw):
        if _LIST_CELL.match(c):
            vals = [_num(v) for v in c.strip("[] ").split(",")]
            bad = sum(1 for v in vals if v != v or abs(v) == float("inf"))
            if bad and len(vals) > 1:
                out[name + UNDEFINED_CLASSES_SUFFIX] = float(bad)
    return out


def _without_list_cells(row: str, head: list[str]) -> tuple[str, list[str]]:
    """``row`` (a ``|``-separated data row of a table with header ``head``) and ``head`` without
    the columns whose cell in this row is a list of numbers (see ``_LIST_CELL``): a list is no
    value of one metric at one step, and its commas would split it into cells of its own."""
    raw = [c.strip() for c in row.strip().strip("|").split("|")]
    drop = {i for i, c in enumerate(raw) if _LIST_CELL.match(c)}
    if not drop or len(raw) != len(head):
        return row, head
    return "|".join(c for i, c in enumerate(raw) if i not in drop), [h for i, h in enumerate(head) if i not in drop]


#: two names in one cell set apart by a run of blanks: column alignment, not a spaced name
_ALIGNED = re.compile(r"\S\s{2,}\S")

#: a one-word column name of a bar-grouped table ("maxR", "avgR", "etc.")
_WORD_NAME = re.compile(r"^[A-Za-z][\w./%\-]*$")

#: a console-table header cell ("Epoch", "GPU_mem", "box_loss", "Box(P", "mAP50-95)")
_CONSOLE_NAME = re.compile(r"^[A-Za-z_(][\w/.\-()@:]*$")

#: a console-table value: a number, "44/1000" (the epoch of E), or "6.73G" (memory)
_CONSOLE_CELL = re.compile(rf"^(?P<v>{NUM})(?:/\d+)?(?:[KMGT]i?B?)?$", re.I)

#: "_loss" columns that are no component of a summed loss: a whole loss of one split
_NOT_PARTS = ("train_", "training_", "val_", "valid_", "validation_", "eval_", "test_", "metrics/")

#: a wall-clock duration cell: "00:02", "47:41", "1:30:29"
_CLOCK = re.compile(r"^\d{1,3}:\d\d(?::\d\d)?$")


#: a tqdm bar rendered without its bar, as notebook outputs keep it: ": 100% 8/8 [00:08<00:00, 1.04s/it]"
#: (Ultralytics 8.3 draws its bar with box-drawing characters and ends it without brackets:
#: ": 100% ━━━━━━━━━━━━ 12/12 1.3s/it 15.1s")
_BARLESS = re.compile(r":?\s\d{1,3}% (?:[\u2500-\u259f]+ )?\d+/\d+(?: \[| [\d.]+(?:s/it|it/s)\b)")


def _without_progress_tail(line: str) -> str:
    """``line`` cut before the tqdm bar it ends in (``: 100%|#####| 16/16 [00:06<00:00, ...]``,
    or ``: 100% 8/8 [00:08<00:00, ...]`` where a notebook dropped the bar's blocks, or Ultralytics
    8.3's ``: 100% ━━━━ 12/12 1.3s/it 15.1s``); found with
    ``str.find`` so that no pattern rescans a long run of spaces."""
    i = line.find("%|")
    if i < 0:
        j = line.find("% ")
        if j < 0:
            return line
        m = _BARLESS.search(line, max(0, j - 6))
        return line[:m.start()].rstrip() if m else line
    head = line[:i].rstrip("0123456789")
    return head.rstrip().rstrip(":")


#: a console-table header holds a metric identifier (``box_loss``, ``mAP50``, or ``LOSS`` in capitals as
#: spaCy v2's text-classification example prints ``LOSS  P  R  F``), which prose
#: ("Training the loss now") does not, or starts with ``Epoch`` (YOLOv5/v7: ``Epoch gpu_mem
#: box obj cls total labels img_size``)
_CONSOLE_METRIC = re.compile(r"_loss$|^(?:box\(|mask\()?map", re.I)

#: the first name of a console table's header that makes it one whatever the other names say: the
#: step column ("iter  tr_rmse  va_rmse  obj", LIBMF's matrix-factorisation table)
_STEP_FIRST = frozenset({"epoch", "iter", "iteration", "step"})


def _console_key(cell: str, validation: bool, epoch_table: bool) -> str:
    key = cell.lower().removeprefix("box(").removeprefix("mask(").strip("()")
    # YOLOv5's console "mAP@.5  mAP@.5:.95" is results.csv's "mAP_0.5", "mAP_0.5:0.95"
    key = key.replace("@.", "_0.").replace(":.", ":0.")
    if epoch_table and key == "total":
        return "loss"  # YOLOv5/v7 print the components and their total
    if epoch_table and key in ("box", "obj", "cls", "dfl", "seg"):
        return f"{key}_loss"  # YOLOv5 before v6 names the loss parts bare ("box obj cls")
    return f"metrics/{key}" if validation and key != "class" else key


#: spaCy v3's ``spacy train`` table header: "E    #       LOSS TOK2VEC  LOSS NER  ENTS_F  ENTS_P  ENTS_R  SCORE"
_SPACY_HEADER = re.compile(r"^E\s+#\s+LOSS\s")


def _spacy_key(cell: str) -> str:
    """A spaCy table column: ``E`` the epoch, ``#`` the step, ``LOSS NER`` the NER component's loss
    (a name spaCy cut to fit its column, ``LOSS TRANS...``, keeps its stem), ``SCORE`` the dev-set
    score, the rest lower case."""
    if cell == "E":
        return "epoch"
    if cell == "#":
        return "step"
    if cell.startswith("LOSS "):
        return cell[5:].rstrip(".").strip().lower().replace(" ", "_") + "_loss"
    if cell == "SCORE":
        return "dev_score"  # the weighted dev-set score spaCy selects its best model by
    return cell.lower()


#: spaCy v2's ``spacy train`` table header: "Itn  Dep Loss  NER Loss  UAS  NER P  NER R  NER F  Tag %  Token %  CPU WPS"
#: (v2.0 abbreviates with dots: "Itn.  Dep Loss  NER Loss  UAS  NER P.  NER R.  NER F.  Tag %")
_SPACY2_HEADER = re.compile(r"^Itn\.?\s{2,}\S.*\bLoss\b")


def _spacy2_key(cell: str) -> str:
    """A spaCy v2 table column: ``Itn`` the pass over the training data (an epoch), ``NER Loss``
    the NER component's summed loss, ``NER F`` its development-set F-score, ``Tag %`` a share.
    A trailing abbreviation dot ("Itn.", "NER P.") is typography."""
    cell = cell.rstrip(".")
    if cell == "Itn":
        return "epoch"
    if cell == "NER F":
        return "dev_ner_f1"  # the entity F1 on the development set (v3 prints it as ENTS_F)
    return cell.replace("%", "pct").strip().lower().replace(" ", "_")


#: ``RunMeta.layout`` of a Vowpal Wabbit progress table (:func:`_vw_table`): its "average loss" is
#: the loss function VW was given (squared by default, logistic or hinge on request) or, for a
#: multiclass reduction (``--oaa``, ``--ect``, ``--csoaa``, ``--bootstrap`` over them), the 0/1 loss,
#: the share of wrong predictions so far; the table does not say which.
VOWPAL_WABBIT_LAYOUT = "vowpal-wabbit"

#: Vowpal Wabbit's progress table, a header on two lines: "average  since  example  example
#: current  current  current" over "loss  last  counter  weight  label  predict  features"; the
#: table of VowpalWabbit's pull request 113 adds a fourth "current" over "pass" (the pass over the
#: data the row's example is in: a counter, no metric; the rows are read the same)
_VW_HEADER = re.compile(r"^average\s+since\s+example\s+example\s+current\s+current\s+current(?:\s+current)?$")
_VW_SUBHEADER = re.compile(r"^loss\s+last\s+counter\s+weight\s+label\s+predict\s+features(?:\s+pass)?$")


def _vw_row(cells: list[str]) -> dict | None:
    """One row of Vowpal Wabbit's progress table. Each example is scored before it is learned
    from (progressive validation), and "average loss", the mean over every example so far, is
    the loss VW itself reports at the end: it is the run's loss. "since last" covers the
    examples since the row above, and the counter doubles between rows, so its first rows are
    one or two examples each (0.027 beside 1.0 in VW's test 0097): against such a best any
    later, well-averaged value reads as a blow-up. It is kept as ``loss_since_last``. A row
    ending in "h" reports the held-out examples of a multi-pass run: the evaluation loss. The
    label and prediction cells may be words (multiclass, contextual bandits) and are no metric."""
    held = cells[-1] == "h"
    if held:
        cells = cells[:-1]
    if len(cells) < 4 or not all(_NUM_FULL.match(c) for c in cells[:4]):
        return None
    avg, since, example = _num(cells[0]), _num(cells[1]), _num(cells[2])
    if held:
        return {"example_counter": example, "eval_loss": avg, "eval_loss_since_last": since}
    return {"example_counter": example, "loss": avg, "loss_since_last": since}


#: the split names a row of a per-split table starts with (Ludwig's "train", "vali", "test")
_SPLIT_ROW = {"train": "train", "training": "train", "vali": "val", "val": "val", "valid": "val",
              "validation": "val", "dev": "val", "eval": "val", "evaluation": "val", "test": "test"}


def _split_table(line: str, state: dict) -> dict | None:
    """A table drawn with box characters (``tabulate``'s fancy_grid) whose rows are the data
    splits and whose columns are metrics, as Ludwig prints one per output feature at every epoch::

        │ rating   │   loss │   accuracy │   hits_at_k │
        │ train    │ 1.1529 │     0.3988 │      0.9133 │
        │ vali     │ 1.2190 │     0.2708 │      0.8958 │

    Each row is filed as ``<split>_<metric>`` (``train_loss``, ``val_accuracy``); the header's
    first cell names the output feature, not a metric. Border lines are consumed."""
    s = line.strip()
    if s[:1] in "╒╞├╘╔╠╚" and s[-1:] in "╕╡┤╛╗╣╝":
        return {} if state.get("split_header") else None
    if not (s.startswith("│") and s.endswith("│") and s.count("│") >= 3):
        return None
    cells = [c.strip() for c in s[1:-1].split("│")]
    split = _SPLIT_ROW.get(cells[0].lower())
    head = state.get("split_header")
    if split is None:
        if all(_CONSOLE_NAME.match(c) for c in cells[1:]) and not any(_NUM_FULL.match(c) for c in cells[1:]):
            state["split_header"] = [c.lower() for c in cells[1:]]
            return {}
        return None
    if not head or len(cells) - 1 != len(head) or not all(_NUM_FULL.match(c) for c in cells[1:]):
        return None
    return {f"{split}_{name}": _num(c) for name, c in zip(head, cells[1:])}


#: a name cell of a header drawn over two lines ("Mini-batch" over "Accuracy", "Time Elapsed" over
#: "(hh:mm:ss)"); digits never
_TWO_LINE_CELL = re.compile(r"^[A-Za-z(][A-Za-z :()\-/]*$")


def _two_line_header_table(line: str, state: dict) -> dict | None:
    """MATLAB's ``trainNetwork`` verbose table: ``|``-bordered, its header on two lines whose cells
    are read top to bottom ("Mini-batch" over "Loss" is ``mini-batch_loss``), rows of numbers
    with percentages and an elapsed time, blank cells where no validation ran that iteration::

        |  Epoch  |  Iteration  |  Time Elapsed  |  Mini-batch  |  Validation  |  Mini-batch  |  ...
        |         |             |   (hh:mm:ss)   |   Accuracy   |   Accuracy   |     Loss     |  ...
        |       1 |           1 |       00:03:33 |       23.81% |       54.82% |       1.3868 |  ..."""
    s = line.strip()
    if not s.startswith("|"):
        return None
    if not s.strip("|=-+ "):
        return {} if ("mt_top" in state or "mt_header" in state) else None  # a rule of "=" or "-"
    cells = [c.strip() for c in s.strip("|").split("|")]
    top = state.get("mt_top")
    if top is None and "mt_header" not in state:
        low = [c.lower() for c in cells]
        if len(cells) >= 4 and low[0] == "epoch" and "iteration" in low and all(_TWO_LINE_CELL.match(c) for c in cells):
            state["mt_top"] = cells
            return {}
        return None
    if top is not None:
        del state["mt_top"]
        if len(cells) == len(top) and all(not c or _TWO_LINE_CELL.match(c) for c in cells):
            state["mt_header"] = _column_names([_HEADER_UNIT.sub("", f"{a} {b}".strip()) for a, b in zip(top, cells)])
            return {}
        state["mt_header"] = _column_names(top)
    head = state["mt_header"]
    if len(cells) != len(head):
        return None
    rec: dict = {}
    for name, c in zip(head, cells):
        v = c[:-1].rstrip() if c.endswith("%") else c
        if not c or _CLOCK.match(c):
            continue
        if not _NUM_FULL.match(v):
            return None
        rec[name] = _num(v)
    return rec


#: scikit-learn's gradient boosting with ``verbose=1`` (``sklearn.ensemble._gb.VerboseReporter``):
#: "      Iter       Train Loss      OOB Improve   Remaining Time " (the OOB column only with
#: ``subsample < 1``; releases before 0.14 wrote "Estimated Time"), then one row per reported
#: iteration, "         1           0.4448           22.84m": the time left carries its unit. The
#: reporter of scikit-learn's pull request 3817 adds an "End Time" column, the wall-clock time the
#: fit is expected to end ("     1           1.2427            5.95m     31 Oct 15:36"): a clock, no metric
_SKLEARN_GB_HEADER = re.compile(r"^\s*Iter\s{2,}Train Loss(?P<oob>\s{2,}OOB Improve)?\s{2,}(?:Remaining|Estimated) Time(?:\s{2,}End Time)?\s*$")
_SKLEARN_GB_ROW = re.compile(rf"^\s*(?P<i>\d+)\s+(?P<loss>{NUM})(?:\s+(?P<oob>{NUM}))?\s+\d+(?:\.\d+)?[smh]?"
                             r"(?:\s+\d{1,2} [A-Z][a-z]{2} \d{1,2}:\d{2})?\s*$", re.I)


def _sklearn_gb(line: str, state: dict) -> dict | None:
    """scikit-learn's gradient-boosting progress table (see ``_SKLEARN_GB_HEADER``): the header is
    no record, each row the training loss (``train_loss``; the deviance) of the stages fitted so
    far and, with subsampling, the out-of-bag improvement (``oob_improve``) at its iteration."""
    head = _SKLEARN_GB_HEADER.match(line)
    if head:
        state["sklearn_gb"] = bool(head["oob"])
        return {}
    if "sklearn_gb" not in state:
        return None
    row = _SKLEARN_GB_ROW.match(line)
    if row is None or bool(row["oob"]) != state["sklearn_gb"]:
        return None
    rec = {"iter": float(row["i"]), "train_loss": _num(row["loss"])}
    if row["oob"]:
        rec["oob_improve"] = _num(row["oob"])
    return rec


def _vw_table(line: str, state: dict) -> dict | None:
    """Vowpal Wabbit's output: its two header lines, its rows (``_vw_row``), and the summary after
    "finished run", whose totals ("average loss = 0.07", "best constant = 999.9") are no report of
    training and are consumed here (a record without the counter would read as one more row)."""
    s = line.strip()
    if _VW_HEADER.match(s):
        state["vw"] = "header"
        state["layout"] = VOWPAL_WABBIT_LAYOUT
        return {}
    vw = state.get("vw")
    if vw == "header":
        state["vw"] = "rows" if _VW_SUBHEADER.match(s) else None
        return {} if state["vw"] else None
    if vw == "rows":
        if s == "finished run":
            state["vw"] = "summary"
            return {}
        return _vw_row(s.split()) if s else None
    if vw == "summary":
        return {}
    return None


#: pandas' ``DataFrame.to_string`` (a notebook's text output of ``pd.DataFrame(history.history)``,
#: NeuralProphet's and darts' metrics frames): the header is indented by the width of the unnamed
#: index column ("    SmoothL1Loss       MAE  SmoothL1Loss_val"), each row starts with its index
#: ("0       0.529957  4.660971          0.453362"); a named index prints its name alone on the
#: line under the header ("epoch"); a frame too long to show prints "..." rows and ends with
#: "[120 rows x 4 columns]".
_PANDAS_FOOTER = re.compile(r"^\[\d+ rows x \d+ columns\]$")
_PANDAS_INDEX = re.compile(r"^-?\d+$")


def _pandas_frame(line: str, state: dict) -> dict | None:
    """A row of a pandas frame printed with its index (see ``_PANDAS_FOOTER``): the row's values
    under the header's names. The index is filed under its name when the frame names it, and is
    otherwise no value: the rows keep their order, which is all an unnamed index says."""
    s = line.strip()
    if not s or any(c in s for c in "|,\t=;"):
        return None
    cells = s.split()
    names = state.get("pandas_header")
    if line[:1] == " " and all(_CONSOLE_NAME.match(c) for c in cells) and not any(_NUM_FULL.match(c) for c in cells):
        # an indented line of names: the header of a frame (the unnamed index's blank label
        # before it), or, right under one, the index's name alone
        if names and len(cells) == 1 and state.get("pandas_rows", 0) == 0 and state.get("pandas_index") is None:
            state["pandas_index"] = cells[0].lower()
            return {}
        state["pandas_header"], state["pandas_rows"], state["pandas_index"] = cells, 0, None
        return None  # (other rules may read the same line as their header)
    if not names:
        return None
    if len(cells) == 1 and state.get("pandas_rows", 0) == 0 and _CONSOLE_NAME.match(cells[0]) and state.get("pandas_index") is None:
        state["pandas_index"] = cells[0].lower()  # a named index's name (printed unindented)
        return {}
    if _PANDAS_FOOTER.match(s):
        state.pop("pandas_header", None)
        return {}
    if cells[0] == "..." or (len(cells) == len(names) + 1 and _PANDAS_INDEX.match(cells[0]) and all(c == "..." for c in cells[1:])):
        return {} if state.get("pandas_rows") else None  # a truncated frame's elided rows
    if len(cells) != len(names) + 1 or not _PANDAS_INDEX.match(cells[0]):
        return None
    vals = cells[1:]
    if not all(_NUM_FULL.match(c) for c in vals):
        return None
    rec = {n: _num(v) for n, v in zip(names, vals)}
    if state.get("pandas_index"):
        rec[state["pandas_index"]] = float(cells[0])
    state["pandas_rows"] = state.get("pandas_rows", 0) + 1
    return rec


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
    if _SPACY_HEADER.match(s):
        # names hold one blank ("LOSS NER") and columns are set apart by two or more
        state["console_header"] = [_spacy_key(c) for c in re.split(r"\s{2,}", s)]
        state["spacy"] = True
        return {}
    if s.startswith("#") and not state.get("console_header"):
        names = s.lstrip("#").split()
        if len(names) >= 3 and names[0].lower() == "step" and all(_CONSOLE_NAME.match(c) for c in names):
            # a commented header over aligned rows (DeePMD-kit's lcurve.out: "#  step  rmse_val
            # rmse_trn ... lr"; numpy.savetxt's header): later comment lines are no rows
            state["console_header"] = [c.lower() for c in names]
            return {}
    if _SPACY2_HEADER.match(s):
        state["console_header"] = [_spacy2_key(c) for c in re.split(r"\s{2,}", s)]
        return {}
    cells = s.split()
    if len(cells) >= 3 and all(_CONSOLE_NAME.match(c) for c in cells) and \
            (cells[0].lower() in _STEP_FIRST or any(_CONSOLE_METRIC.search(c) for c in cells) or "LOSS" in cells):
        if cells[0].lower() in _STEP_FIRST and _FASTAI_PAIR.search(s):
            return None  # fastai's "epoch train loss valid loss ...", HF's "Step Training Loss": two-word names (the header-table rule)
        if _spaced_hf_header(s) is not None:
            return None  # HF's results table with its borders lost, whose metric names read as a console
            # table's ("Training Loss Epoch Step Validation Loss Mse Mae Rmse Mape R Squared": "R" is
            # YOLO's recall): two-word names, the header-table rule's
        validation, epoch_table = cells[0].lower() == "class", cells[0].lower() == "epoch"
        state["console_header"] = [_console_key(c, validation, epoch_table) for c in cells]
        return {}
    head = state.get("console_header")
    if head and "cp" in head and len(cells) in (len(head), len(head) - 1):
        # skorch's checkpoint column ("cp") holds "+" on the epochs it saved and nothing on the
        # others: a marker, no metric, and a blank cell that shifts the row
        i = head.index("cp")
        if len(cells) == len(head) and cells[i] == "+":
            cells = cells[:i] + cells[i + 1:]
        if len(cells) == len(head) - 1:
            head = head[:i] + head[i + 1:]
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
    if state.get("spacy") and rec.get("step") == 0:
        # spaCy sums each component's loss over the steps since the last evaluation: the row at
        # step 0 holds one batch's, no level the later sums of 200 batches can be compared with
        rec = {k: v for k, v in rec.items() if not k.endswith("_loss")}
    # (the parts of one loss: not fastai's "train_loss valid_loss", a loss and an eval loss)
    parts = [k for k in rec if k.endswith("_loss") and not k.startswith(_NOT_PARTS)]
    if len(parts) >= 2 and "loss" not in rec:
        rec["loss"] = float(sum(rec[k] for k in parts))  # YOLO optimises (and results.csv sums) the parts
    if "epoch" in rec:
        state["console_epoch"] = rec["epoch"]
    elif "console_epoch" in state:
        rec["epoch"] = state["console_epoch"]
    return rec


#: the rule under the header of a table in tabulate's "simple" format (H2O's scoring history, many
#: scripts' ``tabulate(rows, headers)``): a run of dashes over each column, blanks between them
RULE_LINE = re.compile(r"^\s*-{2,}(?:\s+-{2,}){2,}\s*$")
_RULE_RUN = re.compile(r"-{2,}")


def _ruled_table(line: str, state: dict, header: str) -> dict | None:
    """A table whose header is underlined by one run of dashes per column (tabulate's "simple"
    format). The dashes span each column's full width, so a cell is read by position: names and
    values may hold blanks ("2015-10-22 14:06:21", "0.038 sec", "Training Epochs"), and a column
    with nothing in a row is left blank (H2O's training_speed on its first row). Cells that hold
    no number (a timestamp, "rows/sec") are no metric. A row where no column that counts training
    (epochs, samples, duration, trees) is above 0 is the placeholder H2O writes before any
    training (0 epochs, 0 samples, 0.000 sec, every metric nan or inf, the error rate 1): nothing
    was measured there, so its nans are no record of a blow-up, and the row is dropped. A header
    another table rule already read (spaCy's "E  #  LOSS TOK2VEC ...", nolearn's "epoch  train loss
    valid loss") stays with it. Names are lower case with underscores, as the other tables'.
    ``header`` is the line above, as printed; the open table is ``state["ruled"]``: (the number of
    dash runs of its rule, its named columns as (start, end, name))."""
    table = state.get("ruled")
    if line.lstrip()[:2] == "--" and RULE_LINE.match(line):
        spans = [(m.start(), m.end()) for m in _RULE_RUN.finditer(line)]
        if table:
            if len(spans) == table[0]:
                return {}  # the rule H2O prints where it leaves rows out ("---  ---  ..."): the table goes on
            del state["ruled"]
            return None
        if state.get("console_header") or state.get("pipe_header"):
            return None  # another table rule read the header above (spaCy's, nolearn's): its rows are its own
        names = [re.sub(r"\s+", "_", header[a:b].strip().lower()) for a, b in spans]
        if sum(bool(n) for n in names) < 3:
            return None  # no header above: a separator
        # a value may stand a little past its dashes (a long number under a short rule): each cell
        # runs to the start of the next column
        starts = [a for a, _ in spans] + [10**9]
        state["ruled"] = (len(spans), [(starts[i], starts[i + 1], n) for i, n in enumerate(names) if n])
        return {}
    if not table:
        return None
    rec: dict = {}
    for a, b, name in table[1]:
        cell = line[a:b].strip()
        m = _UNIT_CELL.match(cell) if cell else None
        if m is not None:
            rec[name] = _num(m[1])
    if not rec:
        del state["ruled"]  # a line that is no row of the table: it has ended
        return None
    counters = [v for k, v in rec.items() if _RULED_COUNTER.search(k)]
    if counters and not any(v > 0 for v in counters):
        return {}  # no epoch, sample or second of training yet: see the docstring
    return rec


#: a ruled table's columns that count the training done so far (H2O: "epochs", "samples",
#: "Training Duration", "number_of_trees", "iterations"): a row where none is above 0 was written
#: before training
_RULED_COUNTER = re.compile(r"epoch|sample|iteration|tree|duration|step", re.I)


#: one ``<th>``/``<td>`` cell of an HTML table row (its text may hold tags: ``<b>0.31</b>``)
_HTML_CELL = re.compile(r"<t([hd])\b[^>]*>(.*?)</t[hd]\s*>", re.I | re.S)
_HTML_TAG = re.compile(r"<[^>]*>")


def _html_cell_values(name: str, text: str) -> dict | None:
    """The numbers of one data cell: a number, a missing value ("No log", "-"), a clock time
    (no metric), or the dict an ``evaluate`` metric returns (``{'accuracy': 0.9272}``: its one
    value under the column's name, several under their own keys). None when the cell is
    none of these (a row of words is no row of a metrics table)."""
    import ast

    if _NUM_FULL.match(text):
        return {name: _num(text)}
    if not text or _NO_VALUE.match(text) or _CLOCK.match(text):
        return {}
    if text.startswith("{") and text.endswith("}") and len(text) <= 2000:
        try:
            d = ast.literal_eval(text)  # a literal only: the text is never executed
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None
        if isinstance(d, dict):
            nums = {str(k): float(v) for k, v in d.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            if len(nums) == 1:
                return {name: next(iter(nums.values()))}
            prefix = "eval_" if name.startswith("eval_") else ""
            return {f"{prefix}{re.sub(r'[^a-z0-9]+', '_', k.lower()).strip('_')}": v for k, v in nums.items()}
    return None


def _html_table(line: str, state: dict) -> dict | None:
    """An HTML table of metrics, one ``<tr>`` per report: HF Trainer's progress table in a
    notebook's saved output (``NotebookProgressCallback``: "Epoch | Training Loss | Validation
    Loss | Accuracy", a ``{'accuracy': 0.9272}`` cell where ``compute_metrics`` returns
    ``evaluate``'s dict) and pandas' ``DataFrame.to_html`` of a history. The header row's
    ``<th>`` cells name the columns; a row is read when every cell is a number, a missing
    value or such a dict. Every line inside the table is consumed, so no other rule reads
    a cell's dict as a record of its own."""
    t = state.get("html_table")
    if t is None:
        if "<" not in line or "<table" not in line.lower():  # (cheap test first: every line passes here)
            return None
        t = state["html_table"] = {"head": None, "row": []}
    low = line.lower()
    t["row"].extend((k.lower(), _HTML_TAG.sub("", c).strip()) for k, c in _HTML_CELL.findall(line))
    rec: dict = {}
    if "</tr" in low:
        row, t["row"] = t["row"], []
        cells = [html.unescape(c) for _, c in row]
        if row and all(k == "h" for k, _ in row) and all(_SPACED_CELL.match(c) or _HEADER_CELL.match(c) for c in cells if c):
            t["head"] = _column_names(cells)
        elif t["head"] and len(cells) == len(t["head"]):
            got = [_html_cell_values(n, c) for n, c in zip(t["head"], cells)]
            if all(g is not None for g in got):
                for g in got:
                    rec.update(g)
    if "</table" in low:
        state.pop("html_table", None)
    return rec


#: Chainer's PrintReport header (ESPnet1 and other Chainer trainers): "epoch  iteration
#: main/loss  validation/main/loss ..." in left-aligned columns
_CHAINER_HEADER = re.compile(r"^epoch\s{2,}iteration\s{2,}\S")
_TOKEN = re.compile(r"\S+")


def _chainer_report(line: str, state: dict) -> dict | None:
    """A Chainer PrintReport row: its cells sit under the header names they belong to, and a
    cell the trainer had no value for is blank (the validation entries between evaluations), so
    the values are matched to names by position, not by count: each value belongs to the last
    header name starting at or before it (a long value pushes the ones after it right)."""
    if line[:5] == "epoch" and _CHAINER_HEADER.match(line):
        state["chainer_cols"] = [(m.start(), m.group()) for m in _TOKEN.finditer(line.rstrip())]
        return {}
    cols = state.get("chainer_cols")
    if not cols:
        return None
    toks = list(_TOKEN.finditer(line.rstrip()))
    if not toks or not all(_NUM_FULL.match(t.group()) for t in toks):
        return None
    rec: dict = {}
    j = 0
    for t in toks:
        while j + 1 < len(cols) and cols[j + 1][0] <= t.start():
            j += 1
        name = cols[j][1]
        if cols[j][0] > t.start() or name in rec:
            return None  # a value before the first column, or two in one: no row of this table
        rec[name] = _num(t.group())
    return rec


#: a markdown table's separator cell (``:---:``, ``---``, ``:--``)
_SEPARATOR_CELL = re.compile(r"^\s*:?-{3,}:?\s*$")


def unflatten_markdown_table(line: str) -> list[str] | None:
    """The rows of a markdown table whose line breaks a page's text extraction turned into spaces
    ("| Training Loss | Epoch | Step | Validation Loss | |:---:|:---:|:---:|:---:| | No log | 1.0 | 3 |
    2.6373 | ..."): one line per row, as written before the breaks were lost; None for a line that
    holds no such table. The separator row fixes the column count ``n``; the header is the ``n``
    cells before it, and every row is ``n`` cells closed by the empty cell that a row's closing
    ``|``, a space and the next row's opening ``|`` leave between them, or by the line's last ``|``
    before text that followed the table. Reading stops at the first group that does not fit. Cheap
    on other lines: only a line with 12+ pipes and two runs of dashes is split."""
    if line.count("|") < 12 or line.count("---") < 2:
        return None
    cells = line.split("|")
    sep = [bool(_SEPARATOR_CELL.match(c)) for c in cells]
    s = next((i for i, x in enumerate(sep) if x), None)
    if s is None:
        return None
    n = 0
    while s + n < len(cells) and sep[s + n]:
        n += 1
    # the header: n cells before the empty cell that ends it; the separator run is followed by
    # the empty cell between rows
    if n < 2 or s - n - 1 < 0 or cells[s - 1].strip() or s + n >= len(cells) or cells[s + n].strip():
        return None
    header = cells[s - n - 1:s - 1]
    if not all(c.strip() for c in header):
        return None
    out = ["|" + "|".join(header) + "|", "|" + "|".join(cells[s:s + n]) + "|"]
    i = s + n + 1
    # a row ends at the empty cell before the next row, or at the line's last "|", after which
    # the text that followed the table has no "|" of its own
    while i + n < len(cells) and (not cells[i + n].strip() or i + n == len(cells) - 1):
        out.append("|" + "|".join(cells[i:i + n]) + "|")
        i += n + 1
    return out if len(out) >= 3 else None
