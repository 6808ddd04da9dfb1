"""Readers from the stop-29 study of the benchmark (issue 9), each on a real log, with a twin:

- Vowpal Wabbit's progress table (a header on two lines, a doubling example counter, held-out
  rows marked "h", a closing summary of totals).
- A line that announces a new loss (MACE's "Changing loss based on SWA"): the loss before it is
  another objective, kept apart instead of read as a blow-up at the change.
- Logs written as markdown (bullets, numbers in backticks); a "loss" that counts the epochs
  (a loop index, refused as a loss); spaCy v2's ``LOSS  P  R  F`` table; a tqdm description's
  metrics filed at the bar's count; Ludwig's per-split box tables; nolearn's table; NaN as the old
  Microsoft C runtime printed it ("1.#QNAN"); markdown escapes; CNTK's "ce" criterion; MATLAB's
  trainNetwork table; a step printed once in a heading is not the axis.
- overfitting: no rise read against a minimum at the printing resolution.
"""

from __future__ import annotations

import numpy as np
import pytest
from bench_logs import real_log

import lrdoctor
from lrdoctor.io.textlog import _LOSS_CHANGE, parse_lines


def _warned(report) -> dict:
    return {f.kind: f for f in report.findings if f.severity.rank >= 1}


# ---------------------------------------------------------------- Vowpal Wabbit

def test_vw_table_reads_the_progressive_loss_on_the_example_counter():
    """VW's own test 0097 (one pass over 200 examples): the loss is the "average loss" column
    at each doubling of the counter, "since last" is kept beside it, and the summary after
    "finished run" ("average loss = 0.195760", "best constant = 0.455000") is no report."""
    run = lrdoctor.read(real_log("fresh127/vw-0097-single-pass/0097.stderr"))
    assert run.meta.step_column == "example_counter" and run.meta.step_unit == "example"
    assert list(run.steps) == [1, 2, 4, 8, 16, 32, 64, 128]
    np.testing.assert_allclose(run.series("loss").values,
                               [1.0, 0.513618, 0.263121, 0.237739, 0.242021, 0.235878, 0.230921, 0.223511])
    np.testing.assert_allclose(run.series("loss_since_last").values[:3], [1.0, 0.027236, 0.012624])
    assert "best_constant" not in run and "weighted_example_sum" not in run


def test_vw_single_example_rows_are_no_best_to_diverge_from():
    """The same log's "since last" at example 2 is one example's loss (0.027): read as the loss,
    every later, well-averaged value was 8x "the best" and the run "diverged". The progressive
    average it is judged on instead falls and settles."""
    report = lrdoctor.diagnose(real_log("fresh127/vw-0097-single-pass/0097.stderr"))
    assert "divergence" not in _warned(report)
    assert "divergence" in report.coverage.ran


def test_vw_held_out_rows_are_the_evaluation_loss():
    """A multi-pass run with a holdout set marks its held-out rows with "h": their losses are
    the evaluation loss, the others the training loss."""
    run = lrdoctor.read(real_log("fresh127/vw-0001-ftrl-holdout/0001_ftrl_holdout.stderr"))
    assert run.series("eval_loss") is not None and run.series("loss") is not None
    held = {float(s) for s in run.series("eval_loss").steps}
    train = {float(s) for s in run.series("loss").steps}
    assert held and not held & train  # a row is one or the other


def test_vw_loss_pinned_at_one_is_no_learning_and_a_falling_twin_is_not():
    """VW issue 651: with a huge feature value the loss is exactly 1.000000 at every row (the
    predictions stay 0 against labels 1): no learning. VW's logistic run of issue 180 falls
    0.64 -> 0.08 on the same table."""
    stuck = _warned(lrdoctor.diagnose(real_log("fresh127/vw-651-huge-feature-no-learning/paste.txt")))
    assert "slow_progress" in stuck
    falling = lrdoctor.diagnose(real_log("fresh127/vw-180-logistic-kcd/paste.txt"))
    assert not _warned(falling) and "slow_progress" in falling.coverage.ran


def test_vw_header_alone_opens_no_table():
    """Only the two header lines together open the table: a line of prose that starts with
    "average since ..." is followed by a line that is not VW's second header, and the rows after
    it are read by the other rules as before."""
    lines = ["average  since         example        example  current  current  current",
             "epoch 1 loss 0.5", "epoch 2 loss 0.4"]
    records, _ = parse_lines(lines)
    assert [r.get("loss") for r in records if "loss" in r] == [0.5, 0.4]


# ---------------------------------------------------------------- an announced new loss

_MACE_SWA = "fresh125/mace-tutorial-mace02-com1-swa-force-regress/mace02_com1_run-123.log"


def test_announced_new_loss_is_judged_from_the_announcement():
    """MACE's tutorial run: the loss is 6.76 at epoch 34, the log says "Changing loss based on
    SWA", and the reweighted loss is 1832.76 at epoch 36 and falls to 41 by the end. The loss
    judged is the one after the change; the one before is kept as ``loss_before_change``, and the
    reader says so."""
    run = lrdoctor.read(real_log(_MACE_SWA))
    loss, before = run.series("loss"), run.series("loss_before_change")
    assert loss.values[0] == pytest.approx(1832.7644) and before.values[-1] == pytest.approx(6.7595)
    assert before.steps[-1] < loss.steps[0]
    assert any("announces a new loss" in w for w in run.meta.warnings)
    report = lrdoctor.diagnose(run)
    assert not {"divergence", "loss_spike"} & set(_warned(report))


def test_without_the_announcement_the_jump_is_a_blow_up(tmp_path):
    """The twin: the same log with its announcement line removed is one loss that jumped 270x
    and never came back near its best, which is what divergence means; so the line, not the
    numbers, is what changes the reading."""
    text = real_log(_MACE_SWA).read_text()
    assert "Changing loss based on SWA" in text
    plain = tmp_path / "mace_no_announcement.log"
    plain.write_text("\n".join(ln for ln in text.splitlines() if "Changing loss" not in ln) + "\n")
    run = lrdoctor.read(plain)
    assert "loss_before_change" not in run
    assert "divergence" in _warned(lrdoctor.diagnose(run))


@pytest.mark.parametrize("line, announces", [
    ("2024-07-24 01:52:17.606 INFO: Changing loss based on SWA", True),
    ("INFO: Changing loss based on Stage Two Weights", True),
    ("Switching to the new loss at epoch 40", True),
    ("Gradient overflow. Skipping step, loss scaler 0 reducing loss scale to 32768.0", False),
    ("changing loss scale to 65536", False),
    ("epoch 3 loss 0.52 (no change)", False),
])
def test_loss_change_words(line, announces):
    assert bool(_LOSS_CHANGE.search(line)) is announces


# ---------------------------------------------------------------- markdown logs, counters, spaCy v2

def test_markdown_bullets_and_code_numbers_are_typography():
    """ht445/geometric_gnns writes its log as markdown: "* epoch 3" and "\\t * loss `214.17`,
    time `...`". The bullets and backticks are typography: the loss is read at each epoch."""
    run = lrdoctor.read(real_log("fresh126/geognns-compgcn05-fb15k237/compgcn05.md"))
    loss = run.series("loss")
    assert loss is not None and loss.values[0] == pytest.approx(140.2, abs=0.05)
    assert loss.values.size >= 5


def test_a_loss_that_counts_the_epochs_is_no_loss():
    """The same repository's R-GCN log prints "loss `0`", "loss `1`", ... at epochs 0, 1, ...: a
    loop index under the loss's name. It is refused as a loss (exit 2 from the CLI names what it
    saw) instead of judged a divergence; the CompGCN twin, a real loss, is read."""
    from lrdoctor.errors import InputError

    with pytest.raises(InputError, match="no training metric recognised"):
        lrdoctor.diagnose(real_log("fresh126/geognns-rgcn01-fb15k237-head/rgcn01.md"))
    assert lrdoctor.read(real_log("fresh126/geognns-compgcn05-fb15k237/compgcn05.md")).series("loss") is not None


def test_counter_rule_needs_five_consecutive_integers():
    from lrdoctor.run import _is_counter

    assert _is_counter(np.array([0.0, 1, 2, 3, 4]))
    assert not _is_counter(np.array([0.0, 1, 2, 3]))  # too few to tell
    assert not _is_counter(np.array([0.5, 1.5, 2.5, 3.5, 4.5]))  # not from an integer
    assert not _is_counter(np.array([5.0, 4, 3, 2, 1]))  # a falling loss printed as integers


def test_spacy_v2_loss_header_in_capitals():
    """spaCy v2's text-classification example prints "LOSS  P  R  F" over its rows: the capital
    LOSS marks the header. Prose with a lower-case "loss" opens no table."""
    records, _ = parse_lines(["LOSS      P       R       F", "184.500 0.505   1.000   0.671", "120.250 0.612   0.950   0.744"])
    assert [r["loss"] for r in records] == [184.5, 120.25]
    records, _ = parse_lines(["Training the loss now", "1 2 3 4"])
    assert not any("loss" in r for r in records)


def test_tqdm_description_metrics_take_the_bar_count_as_step():
    """A bar whose description holds the metrics ("psnr = nan ... loss = 0.00000: 6%|..| 1911/30000")
    has no other axis than the bar's count: without it, reports that print the same values read
    as one report printed several times (the NMF NeRF paste of issue 13: six lines, three steps).
    A description that names its epoch keeps it and gets no second axis."""
    run = lrdoctor.read(real_log("fresh130/nmf-13-llff-psnr-nan/paste.txt"))
    assert list(run.steps) == [1911, 1913, 1915]
    records, _ = parse_lines(["Epoch 3 loss: 0.532:   6%|▋         | 1911/30000 [02:28<35:09, 13.32it/s]"])
    assert records == [{"epoch": 3.0, "loss": 0.532}]


def test_ludwig_split_tables_are_read_per_epoch():
    """Ludwig prints, at every epoch, a box-drawn table whose rows are the splits (train, vali,
    test) and whose columns are the metrics: each row is the split's metrics at that epoch (issue
    138: validation loss 1.2190 -> 1.6780 over epochs 4-5 while the training loss falls)."""
    run = lrdoctor.read(real_log("fresh132/ludwig-138-classifier-epochs4-5/paste.txt"))
    assert list(run.steps) == [4, 5]
    np.testing.assert_allclose(run.series("loss").values, [1.1529, 1.0847])
    np.testing.assert_allclose(run.series("eval_loss").values, [1.2190, 1.6780])
    assert run.series("test_loss") is not None


def test_a_box_table_without_split_rows_is_left_to_the_other_rules():
    """super-gradients' tree of metrics ("│   ├── Ppyoloeloss/loss = 2.2669") is drawn with the same
    box characters but holds no split rows: it is read as before."""
    run = lrdoctor.read(real_log("fresh9/text-supergradients-issue1162-map-collapse/issue1162.log"))
    assert run.meta.roles["loss"].lower() == "ppyoloeloss/loss"
    assert run.series("loss").values[0] == pytest.approx(2.2669)


def test_nolearn_table_with_two_word_names_and_durations():
    """nolearn's PrintLog: names of one or two words set apart by runs of blanks, a dashes rule,
    rows ending in a duration with its unit (Lasagne issue 529: the training loss NaN from the
    first epoch, the validation loss frozen at 4.51024)."""
    run = lrdoctor.read(real_log("fresh131/lasagne-529-nolearn-train-nan-valid-acc-zero/paste.txt"))
    assert run.meta.roles["loss"] == "train_loss" and run.meta.roles["eval_loss"] == "valid_loss"
    assert np.isnan(run.series("loss").values).all()
    assert "nonfinite" in _warned(lrdoctor.diagnose(run))
    # the twin: the same table with finite losses reads them as numbers
    records, _ = parse_lines(["  epoch    train loss    valid loss    valid acc  dur",
                              "-------  ------------  ------------  -----------  -----",
                              "      1       0.61230       0.55100      0.80000  0.05s"])
    assert records == [{"epoch": 1.0, "train_loss": 0.6123, "valid_loss": 0.551, "valid_acc": 0.8, "dur": 0.05}]


def test_msvc_nan_spellings_and_markdown_escapes():
    """CNTK (and any C++ trainer built with the old Microsoft C runtime) prints NaN as "1.#QNAN000"
    and infinity as "1.#INF00"; an unfenced markdown paste escapes "*" and "_". CNTK issue 406: the
    loss per sample is 1.#QNAN000 in the second window."""
    report = lrdoctor.diagnose(real_log("fresh131/cntk-406-cifar-qnan/paste.txt"))
    assert "nonfinite" in _warned(report)
    records, _ = parse_lines(["loss = 1.#INF00 acc = 0.5", "loss = -1.#IND00 acc = 0.5",
                              "ce = 2.30255688 \\* 16000; err = 0.89 \\* 16000", "train\\_loss: 0.5"])
    assert records[0]["loss"] == float("inf") and np.isnan(records[1]["loss"])
    assert records[2]["ce"] == 2.30255688 and records[3] == {"train_loss": 0.5}


def test_cntk_ce_criterion_is_the_loss():
    """CNTK's tutorials name their cross-entropy criterion "ce": it is the loss (issue 638)."""
    run = lrdoctor.read(real_log("fresh131/cntk-638-tutorial2-mnist-ce-stuck/paste.txt"))
    assert run.meta.roles["loss"] == "ce"
    assert run.series("loss").values[0] == pytest.approx(2.30255688)


# ---------------------------------------------------------------- overfitting at the printing resolution

def test_overfitting_is_not_read_against_a_minimum_at_the_printing_resolution(tmp_path):
    """A held-out loss printed to 5 decimals that touched 0.00001 and ended at 0.00012 beside a
    training loss of 0.00011 (a digits MLP fitted to ~0 on both sets) "rose 12x" only in its
    rounding: its minimum is one unit of the last printed decimal. The twin, printed the same way
    with a minimum of 0.00213 (213 units) that then triples, is overfitting as before."""
    from lrdoctor.detect.overfitting import DEFAULTS, _below_resolution

    assert _below_resolution(np.array([0.5, 0.00684, 0.00001, 0.00015, 0.00012]), DEFAULTS)
    assert not _below_resolution(np.array([0.2926, 0.2713, 0.3025]), DEFAULTS)  # an HF card's 4 decimals
    assert not _below_resolution(np.array([0.1234567891234, 0.0000123456789]), DEFAULTS)  # full precision
    train = [0.9, 0.3, 0.01, 0.003, 0.001, 0.0005, 0.0003, 0.0002]
    low = [0.8, 0.2, 0.00684, 0.00001, 0.00015, 0.00027, 0.00018, 0.00012]
    high = [0.8, 0.2, 0.00684, 0.00213, 0.00315, 0.00427, 0.00518, 0.00612]
    for name, val, flagged in (("low", low, False), ("high", high, True)):
        p = tmp_path / f"{name}.csv"
        p.write_text("epoch,train_loss,val_loss\n" + "".join(f"{e},{a:.5f},{b:.5f}\n" for e, (a, b) in enumerate(zip(train, val), 1)))
        assert ("overfitting" in _warned(lrdoctor.diagnose(p))) is flagged, name


def test_matlab_trainnetwork_table_with_its_two_line_header():
    """MATLAB's trainNetwork prints a bordered table whose header is read top to bottom over two
    lines ("Mini-batch" over "Loss"), with percentages, an elapsed time and blank validation cells;
    the iterations are the axis even under a "[STEP 2] ..." heading printed once above it."""
    run = lrdoctor.read(real_log("fresh134/matlab-heart-sounds-bilstm-fold1/paste.txt"))
    assert run.meta.roles["loss"] == "mini-batch_loss" and run.meta.roles["eval_loss"] == "validation_loss"
    assert run.meta.step_column == "iteration"
    assert run.series("loss").values[0] == pytest.approx(1.3868)
    assert run.series("eval_accuracy").values[0] == pytest.approx(54.82)
    headed = lrdoctor.read(real_log("fresh134/matlab-pitting-cnn-autoencoder/paste.txt"))
    assert headed.meta.step_column == "iteration" and headed.series("loss").values.size == 12
    # a one-line pipe header is left to the header-table rule, as before
    records, _ = parse_lines(["| epoch | loss | acc |", "| 1 | 0.5 | 0.8 |"])
    assert records == [{"epoch": 1.0, "loss": 0.5, "acc": 0.8}]


def test_a_step_printed_once_in_a_heading_is_not_the_axis():
    """detectron2's "Starting training from iteration 0" is read as {starting_training_from_iteration:
    0, iteration: 0}: a heading, not the axis of the 49 "iter: 19 ... total_loss: 0.1443" reports
    below it (read as one point before). fairseq's single line with ``num_updates`` beside its
    losses is a report, and stays the axis (tests/test_format_zoo.py)."""
    run = lrdoctor.read(real_log("fresh74/nyu-semi-d2-ft-lr004-warmup/train.log"))
    assert run.meta.step_column == "iter" and run.n_steps == 49
