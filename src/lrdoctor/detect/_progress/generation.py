"""slow_progress rules that read a sequence-to-sequence model's generated outputs through its
evaluation columns: a generation score (ROUGE, BLEU) exactly 0 while the loss learned, and outputs
one token long at every evaluation. Both are warnings whose fixes are the generation settings: the
loss says what the model learned, and the generations say that none of it reaches the output."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lrdoctor.detect._progress.chance import _carried_on_training_lines, _is_accuracy, _score_long_at_zero
from lrdoctor.detect._progress.common import _loss_learned
from lrdoctor.finding import Finding, Severity
from lrdoctor.fmt import fmt
from lrdoctor.names import is_generated_length
from lrdoctor.run import Run, Series

if TYPE_CHECKING:
    from lrdoctor.detect.progress import ProgressThresholds

#: the ``rule`` of :func:`_score_zero_beside_a_loss_that_learned`'s finding (its fix rule keys on it)
ZERO_SCORE_RULE = "a generation score exactly 0 at every evaluation while the loss learned"


def _score_zero_while_learned(run: Run, th: ProgressThresholds) -> Finding | None:
    """The warning of :func:`_score_zero_beside_a_loss_that_learned` for the first score (not an
    accuracy) printed exactly 0 at every one of 3+ evaluations, long enough to judge
    (:func:`_score_long_at_zero`) and not carried on every update's line, while the training loss
    fell by more than ``max_total_drop`` (:func:`_pinned_task_metric` then leaves the score alone).
    The last of the no-learning rules: any of them that finds an error speaks first (an F-score at
    its floor)."""
    if not _loss_learned(run, th):
        return None
    for name in ("eval_accuracy", "task_metric", "success_rate"):
        s = run.series(name)
        if s is None:
            continue
        v = s.finite().values
        if v.size < 3 or v.min() < 0 or float(v.max()) != 0.0 or _is_accuracy(run, name):
            continue
        if _score_long_at_zero(run, name, s, v, th) and not _carried_on_training_lines(run, s):
            return _score_zero_beside_a_loss_that_learned(run, name, s)
    return None


def _score_zero_beside_a_loss_that_learned(run: Run, name: str, s: Series) -> Finding:
    """A score of generated text (ROUGE, BLEU, METEOR, an F1 over spans) printed exactly 0 at every
    evaluation the pinned-metric rule reads, while the training loss fell by more than
    ``max_total_drop``: the model learned something, yet no output shared one unit with its
    reference. Either the outputs are empty (a decoding set-up: a length cap, an EOS or pad token
    generated first) or the scorer drops them (``rouge_score``'s default tokenizer keeps only a-z and
    0-9, so Chinese or Arabic text scores 0). A warning, not the pinned rule's error: the loss shows
    learning, and which of the two it is the log cannot tell, but either way the reported score is
    no measure of the model and the run cannot be judged by it (mT5-small on a Chinese task:
    ROUGE-1/2/L 0.0 at all 7 evaluations while the training loss fell 2.03 -> 0.07)."""
    f = s.finite()
    col = run.meta.roles.get(name, name)
    ev = {"metric": col, "value": 0.0, "points": int(f.values.size), "rule": ZERO_SCORE_RULE}
    summary = (f"{col} was exactly 0 at every one of {f.values.size} evaluations while the training loss fell by more "
               "than half: the outputs are empty, or the scorer drops them")
    cause = ("The model learns, but no generated output shares a word with its reference: empty generations (a "
             "length cap, an EOS or pad token generated first, special tokens not skipped) or a scorer that drops "
             "the output's script (rouge_score's default tokenizer keeps only a-z and 0-9).")
    return Finding("slow_progress", Severity.WARNING, float(f.steps[0]), float(f.steps[-1]), summary, ev, cause)


def _generated_lengths(run: Run) -> list[tuple[str, Series]]:
    """Each mean-generated-length column of the run (:func:`is_generated_length`), as its finite series."""
    return [(col, s.finite()) for col in filter(is_generated_length, run.names) for s in (run.series(col),) if s is not None]


def generated_length_moved(run: Run, start: float, end: float) -> str | None:
    """The mean-generated-length column (:func:`_generated_lengths`) that printed more than one value
    at the evaluations from ``start`` to ``end`` (2+ of them), or None. ``gen_len`` is the mean token
    count of the outputs generated at an evaluation; outputs that did not change keep it to its last
    digit, so one that moved says the outputs changed between those evaluations, whatever a score
    beside it printed (the converse of :func:`_frozen_generations`, which reads an unmoving one as
    outputs that stopped changing). No threshold: one value, or more."""
    for col, f in _generated_lengths(run):
        v = f.values[(f.steps >= start) & (f.steps <= end)]
        if v.size >= 2 and float(np.ptp(v)) > 0.0:
            return col
    return None


#: the ``rule`` of :func:`_empty_generations`'s finding (its fix rule keys on it)
EMPTY_GENERATION_RULE = "generated outputs one token long at every evaluation"


def _empty_generations(run: Run, th: ProgressThresholds) -> Finding | None:
    """A mean generated length of at most one token at every one of ``pinned_fine_points``+
    evaluations: every output is the end-of-sequence token alone. Hugging Face's seq2seq examples
    log ``gen_len`` as the mean count of non-pad tokens of the generated ids, so an output of one
    word and its EOS counts 2, and 1.0 is the EOS with nothing before it: the model writes nothing,
    whatever its loss did (IndoNanoT5 on summarisation: Gen Len 1.0 at all five epochs while the
    training loss fell 1.52 -> 0.32 and ROUGE-2 stayed 0.0). A warning with the generation fixes: a
    decoding set-up (a length cap, EOS or pad generated first, a ``decoder_start_token_id`` that is
    the EOS) empties outputs as surely as a model that learned nothing."""
    for col, f in _generated_lengths(run):
        v = f.values
        if v.size < th.pinned_fine_points or not bool((v > 0).all()) or float(v.max()) > 1.0:
            continue
        ev = {"metric": col, "value": float(v.max()), "points": int(v.size), "rule": EMPTY_GENERATION_RULE}
        summary = (f"{col} was {fmt(float(v.max()))} at every one of {v.size} evaluations: each generated output is a single "
                   "token, the end-of-sequence alone, so the model writes nothing")
        cause = ("Empty generations: the decoder emits its end-of-sequence (or pad) token first, from a length cap, "
                 "a decoder start or forced BOS token that is the EOS, or a model that learned to stop at once.")
        return Finding("slow_progress", Severity.WARNING, float(f.steps[0]), float(f.steps[-1]), summary, ev, cause)
    return None


#: the ``rule`` of :func:`_frozen_generations`'s finding
FROZEN_GENERATION_RULE = "the mean generated length printed identically, with its fraction, at the last evaluations"


def _frozen_generations(run: Run, th: ProgressThresholds) -> Finding | None:
    """A mean generated length (``gen_len``) printed as one same value that is not a whole number
    at each of the last ``pinned_fine_points``+ evaluations, while the generation score logged
    beside it never rises above its value at the first of them: the outputs stopped changing.
    ``gen_len`` is the mean over the evaluation set of each output's token count; a mean such as
    39.0501 that repeats to its last digit means the set's total output length is the same at each
    evaluation, which outputs that move with the weights do not keep (mT5 on Lithuanian text
    simplification: Gen Len 39.0501 at seven evaluations while ROUGE-1 stayed at 0.001-0.02 and the
    training loss fell 16.4 -> 0.67). Not a whole number: 19.0 or 20.0 at every evaluation is every
    output cut at ``max_length`` (T5's default 20 with its EOS), a decoding setting the score still
    moves under. Not while the score rises: outputs whose length matches their references can keep
    one mean while their words improve (the same mT5 recipe at lr 1e-4: Gen Len 38.0501 at five
    evaluations while ROUGE-1 rose 0.60 -> 0.70). A warning: the log shows the outputs frozen, not
    why (a decoder collapsed to one output, weights no longer updated)."""
    found = next(((r, s) for r in ("eval_accuracy", "task_metric") for s in (run.series(r),) if s is not None), None)
    if found is None:
        return None
    role, score = found
    for col, f in _generated_lengths(run):
        v = f.values
        if v.size == 0:
            continue
        moved = np.flatnonzero(v != v[-1])
        n = int(v.size if moved.size == 0 else v.size - 1 - moved[-1])  # the tail of prints equal to the last
        if n < th.pinned_fine_points or float(v[-1]).is_integer():
            continue
        start = float(f.steps[-n])
        sc = score.finite()
        w = sc.values[sc.steps >= start]
        if w.size < 2 or float(w[1:].max()) > float(w[0]):
            continue
        ev = {"metric": col, "value": float(v[-1]), "points": n, "rule": FROZEN_GENERATION_RULE}
        scol = run.meta.roles.get(role, role)
        summary = (f"{col} was {float(v[-1]):.6g} at each of the last {n} evaluations while {scol} never rose above "
                   f"{fmt(float(w[0]))}: the generated outputs stopped changing")
        cause = ("The decoder's outputs no longer change with training: a model collapsed to one output for every input, "
                 "or weights that no longer update (an LR of 0, non-finite gradients skipped by the loss scaler).")
        return Finding("slow_progress", Severity.WARNING, start, float(f.steps[-1]), summary, ev, cause)
    return None
