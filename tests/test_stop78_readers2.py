"""Stop 78 (readers2): a Hugging Face results table whose header lists the evaluation keys sorted
(the rows logged before a resume, read back from ``trainer_state.json``, which the Trainer writes with
``sort_keys=True``) and whose later rows print them in the Trainer's own order (the loss first) has
its validation loss read from each later row's first cell; the other metrics' cells of those rows,
whose order the file does not give, are dropped. And a paste wrapped in a pair of double quotes
(DeePMD-kit's lcurve.out quoted in an issue) is read without them.

Real logs of the benchmark are read in place; their healthy twins stay as they were."""

from __future__ import annotations

import numpy as np
from bench_logs import real_log
from trained_digits import warned, write_lines

import lrdoctor
from lrdoctor.io.records import _reads_as_reordered, reorder_resumed_rows
from lrdoctor.run import RunMeta


# ---------------------------------------------------------------- a results table after a resume


def _table(rows: list[list[float]]) -> tuple[dict, dict]:
    names = ["eval_accuracy", "eval_f1", "validation_loss"]
    cols = {n: np.array([r[i] for r in rows], dtype=float) for i, n in enumerate(names)}
    return cols, {n: np.ones(len(rows), dtype=bool) for n in names}


def test_rows_in_the_trainers_order_give_their_first_cell_to_the_loss():
    """Accuracy | F1 | Validation Loss (sorted); from the third row the cells are loss, accuracy, f1.
    The loss is read from the first cell; accuracy and F1 of those rows are dropped."""
    cols, masks = _table([[0.90, 0.60, 0.50], [0.91, 0.63, 0.45], [0.41, 0.92, 0.66], [0.40, 0.93, 0.68]])
    meta = RunMeta(source="t")
    reorder_resumed_rows(cols, masks, meta)
    assert list(cols["validation_loss"]) == [0.50, 0.45, 0.41, 0.40]
    assert list(masks["eval_accuracy"]) == list(masks["eval_f1"]) == [True, True, False, False]
    assert list(cols["eval_accuracy"][:2]) == [0.90, 0.91] and meta.warnings


def test_a_reordered_row_is_one_whose_moved_cells_all_come_nearer():
    prev = np.log([0.91, 0.63, 0.45])
    assert _reads_as_reordered(prev, np.log([0.41, 0.92, 0.66]), 2)  # loss, accuracy, f1
    assert not _reads_as_reordered(prev, np.log([0.92, 0.66, 0.41]), 2)  # the header's order, improving
    assert not _reads_as_reordered(prev, np.log([0.80, 0.70, 0.60]), 2)  # a bad evaluation, not a reorder


def test_a_table_in_one_order_or_of_two_columns_is_read_as_printed():
    """A sorted header whose rows never change order (the loss's largest step is no reorder), and a
    two-column table (a trade of places is unswap_columns' to judge), are read as printed."""
    cols, masks = _table([[0.80, 0.78, 0.50], [0.84, 0.82, 0.45], [0.86, 0.85, 0.41], [0.87, 0.86, 0.40]])
    reorder_resumed_rows(cols, masks, RunMeta(source="t"))
    assert list(cols["validation_loss"]) == [0.50, 0.45, 0.41, 0.40] and masks["eval_f1"].all()
    cols = {"eval_accuracy": np.array([0.8, 0.84, 0.41, 0.40]), "validation_loss": np.array([0.5, 0.45, 0.86, 0.87])}
    masks = {k: np.ones(4, dtype=bool) for k in cols}
    reorder_resumed_rows(cols, masks, RunMeta(source="t"))
    assert list(cols["validation_loss"]) == [0.5, 0.45, 0.86, 0.87]


_RESUMED = {
    # (file, the validation loss read back)
    "fresh742/paraphrazer-flan-t5-base-par3/training_results.md": [1.4021, 1.3751, 1.3693],
    "fresh428/ner-gec-roberta-v3-column-swap/training_results.md":
        [0.2389, 0.2182, 0.1986, 0.1899, 0.1857, 0.1784, 0.1767, 0.1783],
    "fresh676/mravi-nli-multilingual-xlmr-large/training_results.md":
        [0.4262, 0.4042, 0.3783, 0.3913, 0.3783, 0.385, 0.4326, 0.4158],
}


def test_real_resumed_cards_read_their_validation_loss_and_stay_silent():
    """A FLAN-T5 paraphraser (ROUGE-1 53.5 under "Validation Loss" from row 2), a RoBERTa tagger
    (loss, precision, recall, f1, accuracy from row 5) and an XLM-R NLI model (loss, accuracy, f1
    from row 3): labelled healthy or edge, each read as an overfitting from the misplaced loss."""
    for rel, loss in _RESUMED.items():
        run = lrdoctor.read(str(real_log(rel)))
        assert list(run.metrics["validation_loss"]) == loss, rel
        assert "overfitting" not in warned(lrdoctor.diagnose(run)), rel


def test_real_resumed_lilt_cards_find_their_labelled_overfitting():
    """LiLT on XFUND (two runs, labelled overfitting at step 1000): the validation loss 1.00 -> 1.41
    -> ... -> 1.94, read as 0.70-0.77 (F1 and precision cells) from step 2500 / 4500 before."""
    for rel, end in (("fresh764/kavg-lilt-ser-pt-xfund/training_results.md", 1.8042),
                     ("fresh764/kavg-lilt-ser-pt-sin-xfund/training_results.md", 1.2061)):
        run = lrdoctor.read(str(real_log(rel)))
        assert run.metrics["validation_loss"][-1] == end, rel
        assert "overfitting" in warned(lrdoctor.diagnose(run)), rel


def test_real_cards_in_one_order_are_read_as_printed():
    """Healthy twins: cards of the same shape (Trainer's order, loss first) are untouched."""
    for rel in ("fresh676/darius07-xnli-en-xlmr-base/training_results.md",
                "fresh428/xlmr-base-finetuned-pos/training_results.md"):
        run = lrdoctor.read(str(real_log(rel)))
        assert not any("header's names" in w for w in run.meta.warnings), rel
        assert not warned(lrdoctor.diagnose(run), 2), rel


def test_real_sorted_card_that_never_resumed_is_read_as_printed():
    """LiLT relation extraction (F1 | Validation Loss | Precision | Recall: sorted keys, the loss not
    first, 11 rows in that order): its loss's largest step is no reorder, and the card keeps its
    labelled overfitting."""
    run = lrdoctor.read(str(real_log("fresh635/sridoc-lilt-re-it/training_results.md")))
    assert not any("Trainer's own order" in w for w in run.meta.warnings)
    assert run.metrics["validation_loss"][0] == 0.258 and run.metrics["validation_loss"][-1] == 0.5582
    assert "overfitting" in warned(lrdoctor.diagnose(run))


# ---------------------------------------------------------------- a paste wrapped in quotes

_LCURVE = ["#  step      rmse_trn    rmse_e_trn    rmse_f_trn         lr",
           "      0      2.77e+01      6.40e-01      8.74e-01    1.0e-03",
           "    100      1.39e+01      2.22e-01      4.39e-01    1.0e-03",
           "    200      8.11e+00      1.61e-01      2.56e-01    1.0e-03"]


def test_a_quoted_paste_reads_as_the_unquoted_log(tmp_path):
    plain = lrdoctor.read(write_lines(tmp_path / "plain.out", _LCURVE))
    quoted = lrdoctor.read(write_lines(tmp_path / "quoted.txt", ['" ' + _LCURVE[0]] + _LCURVE[1:-1] + [_LCURVE[-1] + '"']))
    assert list(quoted.steps) == list(plain.steps) == [0, 100, 200]
    assert set(quoted.metrics) == set(plain.metrics)
    for k in plain.metrics:
        assert np.array_equal(quoted.metrics[k], plain.metrics[k]), k


def test_a_line_with_two_quotes_keeps_them(tmp_path):
    """A JSON record's quotes are its own: a line with two or more is no wrapped paste."""
    run = lrdoctor.read(write_lines(tmp_path / "log.txt", [f'{{"step": {i}, "loss": {1.0 / (i + 1):.4f}}}' for i in range(5)]))
    assert list(run.metrics["loss"]) == [1.0, 0.5, 0.3333, 0.25, 0.2]


def test_real_quoted_lcurve_is_read_and_its_unquoted_twin_is_unchanged():
    """DeePMD-kit issue 781: lcurve.out pasted as one quoted string (unreadable before). The only such
    paste in the benchmark; labelled healthy, it stays silent. The twin, an lcurve.out as the
    trainer writes it, reads as before and stays silent."""
    run = lrdoctor.read(str(real_log("fresh164/deepmd-781-lcurve-trn-only/paste.txt")))
    assert list(run.steps) == [0, 100, 200, 300, 400, 500]
    assert run.meta.roles["loss"] == "rmse_trn" and run.metrics["rmse_trn"][-1] == 5.81
    assert not warned(lrdoctor.diagnose(run))
    twin = lrdoctor.read(str(real_log("fresh164/deepmd-starter-kit-lcurve/lcurve.out")))
    assert twin.meta.roles["loss"] == "rmse_trn" and not warned(lrdoctor.diagnose(twin))
