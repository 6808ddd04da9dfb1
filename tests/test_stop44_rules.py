"""Rules from the stop-44 study of the benchmark (issue 9), each on a real log read in place, with
real twins:

- slow_progress: an error rate (WER, CER) that prints one single value at every evaluation of a
  Trainer's results table (or of a log from the start of training), over an evaluation set of 50+
  units, is a model whose outputs never changed: the accuracy rule's mirror.
"""

from __future__ import annotations

import pytest
from bench_logs import real_log
from trained_digits import warned, write_lines

import lrdoctor


def _pinned(report) -> bool:
    f = warned(report, at_least=2).get("slow_progress")
    return f is not None and f.evidence.get("rule") == "one single value over the whole run"


def test_an_error_rate_that_never_moves_is_a_model_whose_outputs_never_changed():
    # XLS-R on a two-word command set: WER 0.6859 at all four evaluations of the card's table while
    # the validation loss went 1.34 -> 1.05 (the table's first row is at epoch 23.8: 21 steps an epoch)
    report = lrdoctor.diagnose(real_log("fresh142/saranscript-hrdipto-xlsr-left-right-shuru/training_results.md"))
    f = warned(report, at_least=2)["slow_progress"]
    assert f.evidence["metric"] == "eval_wer" and f.evidence["value"] == 0.6859 and f.evidence["points"] == 4


def test_an_error_rate_that_moves_or_counts_few_words_is_not_pinned(tmp_path):
    # wav2vec2 on the TIMIT demo: WER 1.0153 -> 0.3535 as the model learns
    assert not _pinned(lrdoctor.diagnose(real_log("fresh407/asini-wav2vec2-timit-demo/training_results.md")))
    # BLIP captioning scored on 11 words: 0.9091 = 10/11 three times is no proof on so small a set
    assert not _pinned(lrdoctor.diagnose(real_log("fresh262/hfcard-shyamgv-blip-large-shyam/training_results.md")))


def test_the_same_pinned_rate_in_an_excerpt_from_mid_run_is_not_judged(tmp_path):
    # the last three evaluations of the pinned card as JSON lines: a log that starts at step 1000
    # may show a model that converged before it
    rows = [r.split("|")[1:-1] for r in open(real_log("fresh142/saranscript-hrdipto-xlsr-left-right-shuru/training_results.md")).read().splitlines()[3:]]
    lines = [f'{{"epoch": {c[1].strip()}, "step": {c[2].strip()}, "eval_loss": {c[3].strip()}, "eval_wer": {c[4].strip()}}}' for c in rows]
    assert len(lines) == 3 and all('"eval_wer": 0.6859' in x for x in lines)
    assert not _pinned(lrdoctor.diagnose(write_lines(tmp_path / "log.jsonl", lines)))


_DIFF = "fresh177/hfcommit-imdatta0-qwen2-7b-metamath-default-{}/readme_diff.txt"


def _rows(rel: str) -> list[list[float]]:
    """The numbers of a diff view's table rows, read by hand: marker, then "| a | b | c | d |"."""
    out = []
    for line in open(real_log(rel)).read().splitlines():
        if line[:3] in ("- |", "+ |"):
            out.append([float(c) for c in line[3:].strip(" |").split("|")])
    return out


def test_a_table_read_from_a_commit_diff_view_is_the_removed_run():
    # the Hub's commit page of a card whose table a later run replaced: every row is "- | ... |"
    rel = _DIFF.format("b516966")
    run = lrdoctor.read(real_log(rel))
    rows = _rows(rel)
    assert run.series("loss").values.tolist() == [r[0] for r in rows]
    assert run.series("eval_loss").values.tolist() == [r[3] for r in rows]
    assert run.steps.tolist() == [r[2] for r in rows]
    # the LoRA run whose loss climbs 0.175 -> 0.33 from its first report and stays there
    assert "divergence" in warned(lrdoctor.diagnose(real_log(rel)), at_least=2)


def test_a_diff_view_with_both_versions_is_read_as_the_file_after_the_commit(tmp_path):
    old, new = _DIFF.format("b516966"), _DIFF.format("ba59103")
    header = open(real_log(old)).read().splitlines()[:2]
    removed = [ln for ln in open(real_log(old)).read().splitlines() if ln[:3] == "- |"]
    added = ["+" + ln[1:] for ln in open(real_log(new)).read().splitlines() if ln[:3] == "- |"]
    path = write_lines(tmp_path / "diff.txt", header + removed + added)
    run = lrdoctor.read(path)
    assert run.series("loss").values.tolist() == [r[0] for r in _rows(new)]
    # without the markers' proof (two marked rows only), "- | ..." stays what markdown makes of it
    short = write_lines(tmp_path / "two.txt", header + removed[:2])
    with pytest.raises(lrdoctor.LogFormatError):
        lrdoctor.read(short)


def test_a_rendered_table_with_metric_names_of_several_unknown_words_is_read():
    # a summariser's card: "... Rougelsum Generated Length" over rows of nine cells ("No log" first)
    run = lrdoctor.read(real_log("fresh406/hf-clinical-summarization-themarina/training_results.txt"))
    assert run.series("eval_generated_length").values.tolist() == [19.0, 19.0, 19.0]
    assert run.series("eval_rougelsum").values.tolist() == [0.0337, 0.0337, 0.0337]
    # pyannote's segmentation card: "Der False Alarm Missed Detection Confusion" over four metrics
    run = lrdoctor.read(real_log("fresh413/tgrhn-seg-ami/training_results.txt"))
    assert [n for n in run.names if n.startswith("eval_")][:4] == ["eval_der", "eval_false_alarm", "eval_missed_detection", "eval_confusion"]
    assert run.series("eval_false_alarm").values[:2].tolist() == [0.0424, 0.0492]


def test_a_rendered_header_whose_words_group_more_than_one_way_is_not_guessed(tmp_path):
    # the same rows under a header whose three unknown words must make two names: "False Alarm" +
    # "Missed", or "False" + "Alarm Missed"; the reader does not pick one
    lines = open(real_log("fresh413/tgrhn-seg-ami/training_results.txt")).read().splitlines()
    head = lines[0].replace("Missed Detection", "Missed")
    with pytest.raises(lrdoctor.LogFormatError):
        lrdoctor.read(write_lines(tmp_path / "t.txt", [head] + lines[1:]))


def test_a_trainer_table_is_the_whole_run_for_a_constant_accuracy(tmp_path):
    # ResNet-18 on an image folder, three epochs: accuracy 0.3958 at all three evaluations, at
    # steps 6, 13 and 18 (no even logging period proves the start; the card's table is the run)
    report = lrdoctor.diagnose(real_log("fresh416/hfcard-embunna-resnet18-finetuned-resnet/training_results.md"))
    f = warned(report, at_least=2)["slow_progress"]
    assert f.evidence["rule"] == "one single value over the whole run" and f.evidence["value"] == 0.3958
    # the same card's rows as the first records of a JSON-lines log, whose run may go on: three
    # equal prints at uneven steps are no proof there
    rows = [r.split() for r in open(real_log("fresh416/hfcard-embunna-resnet18-finetuned-resnet/training_results.md")).read().splitlines()[1:]]
    assert [r[-1] for r in rows] == ["0.3958"] * 3
    lines = [f'{{"epoch": {r[-4]}, "step": {r[-3]}, "eval_accuracy": {r[-1]}}}' for r in rows]
    assert not _pinned(lrdoctor.diagnose(write_lines(tmp_path / "log.jsonl", lines)))


def _flip(report) -> bool:
    f = warned(report, at_least=2).get("slow_progress")
    return f is not None and f.evidence.get("rule", "").startswith("two constant-predictor rates")


def test_an_accuracy_that_flips_between_a_and_its_complement_is_a_constant_predictor():
    # FedProx on Sent140: test accuracy 0.4061, 0.5939, 0.4061, 0.5939, 0.4061 (the two class shares)
    # (its loss at ln 2 makes the chance rule speak first in a diagnosis; the flip rule alone says the same)
    from lrdoctor.detect._progress.chance import _flipping_constant_predictor
    from lrdoctor.detect.progress import DEFAULTS

    f = _flipping_constant_predictor(lrdoctor.read(real_log("fresh211/fedprox-2-sent140-lstm-flipflop/paste.txt")), DEFAULTS)
    assert f is not None and f.evidence["num_classes"] == 2 and f.evidence["points"] == 5
    # nolearn's valid_acc in percent: 47.83 then 52.17 (11/23, 12/23) at every later epoch
    report = lrdoctor.diagnose(real_log("fresh131/nolearn-35-lasagne-neuralnet-nan/paste.txt"))
    assert _flip(report)


def test_complementary_accuracies_on_a_tiny_evaluation_set_prove_nothing():
    # SetFit on 4 evaluation examples: 0.75 then 0.25 is one answer apart
    assert not _flip(lrdoctor.diagnose(real_log("fresh250/setfit-sst2-8-8/training_results.md")))
    # a Keras run on 9 validation images: 0.5556 and 0.4444 are 5/9 and 4/9 to the printed digits
    assert not _flip(lrdoctor.diagnose(real_log("fresh175/eyenet-9-dr-small-subset-keras/paste.txt")))


def test_a_diff_view_stored_with_its_line_numbers_between_the_rows_is_read():
    # a card's commit page whose stored text keeps the view's line numbers (57, 58, ...) on lines of
    # their own: Training Loss 0.0 and Validation Loss nan at all three epochs, accuracy 0.0112
    run = lrdoctor.read(real_log("fresh412/khalidrajan-roberta-crf-nan/training_results.txt"))
    assert run.steps.tolist() == [340.0, 680.0, 1020.0]
    assert run.series("eval_accuracy").values.tolist() == [0.0112] * 3
    assert "nonfinite" in warned(lrdoctor.diagnose(real_log("fresh412/khalidrajan-roberta-crf-nan/training_results.txt")))


_ARY, _ARQ = ("fresh427/shijia-xlmr-ar{}-corr-1e-4/training_results.md".format(x) for x in ("y", "q"))


def test_a_correlation_printed_as_nan_is_one_of_constant_predictions():
    # XLM-R on a relatedness set: Spearman nan at 7 of 9 evaluations (scipy's spearmanr of a constant
    # input), -0.039 and -0.027 at the others, beside flat finite losses
    f = warned(lrdoctor.diagnose(real_log(_ARY)), at_least=2)["slow_progress"]
    assert f.evidence["undefined_points"] == 7 and f.evidence["points"] == 9
    # its sibling: nan at 6 of 12; the nonfinite error names constant predictions, not an overflow,
    # so it neither hides the no-learning error nor prescribes an LR cut
    report = lrdoctor.diagnose(real_log(_ARQ))
    got = warned(report, at_least=2)
    assert got["nonfinite"].evidence["undefined_correlation"] is True and "slow_progress" in got
    params = [fx.parameter for fx in got["nonfinite"].fixes]
    assert params and not {"lr", "learning_rate", "max_grad_norm"} & set(params)


def test_a_learning_correlation_and_a_real_blow_up_are_not_constant_predictions(tmp_path):
    # DistilBERT on STS-B: Pearson and Spearman climb past 0.8
    assert "slow_progress" not in warned(lrdoctor.diagnose(real_log("fresh427/keikofujii-distilbert-stsb/training_results.txt")))
    # the sibling's table with its validation loss NaN at the same evaluations: then it is a blow-up
    lines = open(real_log(_ARQ)).read().splitlines()
    out = lines[:2]
    for ln in lines[2:]:
        c = ln.split("|")
        if c[4].strip() == "nan":
            c[3] = " nan "
        out.append("|".join(c))
    got = warned(lrdoctor.diagnose(write_lines(tmp_path / "t.md", out)), at_least=2)
    assert "undefined_correlation" not in got["nonfinite"].evidence and "slow_progress" not in got


def test_a_rendered_header_that_repeats_a_score_before_each_facet_is_read():
    # a paraphraser's card: "Rouge2 Precision Rouge2 Recall Rouge2 Fmeasure" over three values a row
    run = lrdoctor.read(real_log("fresh425/gayanin-t5-small-paraphrasing-mlm/training_results.txt"))
    assert [n for n in run.names if n.startswith("eval_rouge2")] == ["eval_rouge2_precision", "eval_rouge2_recall", "eval_rouge2_fmeasure"]
    assert run.series("eval_rouge2_fmeasure").values[:3].tolist() == [0.5131, 0.5184, 0.5226]
    assert "slow_progress" not in warned(lrdoctor.diagnose(real_log("fresh425/gayanin-t5-small-paraphrasing-mlm/training_results.txt")))


def test_a_task_metric_nan_beside_finite_losses_is_the_metric_s_not_a_blow_up():
    # a SegFormer card whose mean IoU is nan at every evaluation while its losses stay finite: the
    # metric divides by zero; the prescription is the metric's guard, not an LR cut
    f = warned(lrdoctor.diagnose(real_log("fresh383/hfcard-q2jlbar-segformer-b0-brooks-or-dunn/training_results.md")), at_least=2)["nonfinite"]
    assert f.evidence["losses_finite"] is True and "undefined_correlation" not in f.evidence
    assert [fx.parameter for fx in f.fixes] == ["compute_metrics"]
