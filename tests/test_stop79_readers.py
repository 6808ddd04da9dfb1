"""Readers of stop 79: formats of logs the readers refused, on their arithmetic and real logs read in place.

**A tqdm bar fused with a logged line** (``io/textlog/prefix.py``): tqdm ends each redraw with
``"\\r"``, so a line logged while the bar is up lands right after the bar; the bar was taken off only
after a logger's header, never before one, so the header stayed and hid the record. strftime's
``"%d-%b-%y %H:%M:%S"`` date ("11-May-21 19:48:31") is now a header's anchor too.

**Bare pairs after a banner** (``io/textlog/named.py``, ``_bare_pairs``): "====epoch 15 SupervisedLoss
15.53" was refused for its "=" (a separator elsewhere), though "**** epoch" and "--- epoch" were read;
a camelCase key splits into its words as the key-value rule splits it (``supervised_loss``).

**kraken's ketos table wrapped by rich** (``io/textlog/named.py``, ``_ketos_wrapped``): in a narrow
terminal the metrics after the stage's bar are wrapped into a table, each name cut to its column
("val_accura…") with its value below it; a cut name is read as the kraken metric it begins.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from bench_logs import real_findings, real_log

import lrdoctor
from lrdoctor.io.textlog import parse_lines
from lrdoctor.io.textlog.named import KETOS_METRICS
from lrdoctor.io.textlog.prefix import strip_prefix

_ADGCL = "fresh173/adgcl-1-transfer-finetune-reply/paste.txt"  # edge (plateau, on 5 epochs: not judged)
_KETOS_WRAPPED = "fresh30/kraken-issue703-valacc-collapse/ketos_train.log"  # unhealthy, performance_reversal
_KETOS_WIDE = "fresh30/kraken-issue603-dup-lines/ketos_train.log"  # healthy, the same bar in a wide terminal
_KETOS_SEG = "fresh30/kraken-issue581-segtrain/ketos_segtrain.log"  # healthy, segmentation trainer, wide terminal
_JITTOR = "fresh131/jittor-123-example-steps-272-286/paste.txt"  # healthy
_LMOPS_DICT = "fresh43/lmops-48-minillm-sft-dev/train.log"  # edge (overfitting): pairs before a dict, no step
_CLEVERHANS = "fresh187/cleverhans-pr274-madry-mnist-advtrain/paste.txt"  # healthy
_QUOTED_BAR_LOGGER = "fresh188/deeptradingagent-6-avg-reward-zero/paste.txt"  # edge: "> bar" then "INFO:name:"

_BAR = " 14%|\u2588\u258d        | 14/100 [00:44<04:32,  3.17s/it]"


def _write(tmp_path: Path, text: str, name: str = "paste.txt") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# ---------------------------------------------------------------- a bar before a header: arithmetic


def test_a_bar_before_a_logger_header_goes_with_the_header():
    line = "11-May-21 19:48:31 - ====epoch 15 SupervisedLoss 15.53"
    assert strip_prefix(_BAR + line) == "====epoch 15 SupervisedLoss 15.53"
    assert strip_prefix(line) == "====epoch 15 SupervisedLoss 15.53"  # "%d-%b-%y %H:%M:%S" is an anchor
    assert strip_prefix(_BAR + "epoch 15 loss 0.5") == "epoch 15 loss 0.5"  # no header: as before
    assert strip_prefix("12-Foo-21 19:48:31 - epoch 1 loss 0.5") == "12-Foo-21 19:48:31 - epoch 1 loss 0.5"


def test_bare_pairs_after_a_banner_and_camel_case_keys():
    assert parse_lines(["====epoch 15 SupervisedLoss 15.53"])[0] == [{"epoch": 15.0, "supervised_loss": 15.53}]
    assert parse_lines(["==> epoch 3 loss 0.52"])[0] == [{"epoch": 3.0, "loss": 0.52}]
    recs = parse_lines([_BAR + "11-May-21 19:48:31 - ====epoch 15 SupervisedLoss 15.53",
                        "11-May-21 19:48:32 - EvalTrain: 0.69 EvalVal: 0.52"])[0]
    assert recs == [{"epoch": 15.0, "supervised_loss": 15.53}, {"eval_train": 0.69, "eval_val": 0.52}]


# ---------------------------------------------------------------- ketos wrapped table: arithmetic


def _ketos_stage(stage: int, acc: str, word: str) -> str:
    bar = "\u2501" * 11
    return (f"stage {stage}/\u221e {bar} 10510/10510 0:13:20 \u2022   13.14it/s val_accura\u2026 early_stopp\u2026\n"
            f"                                  0:00:00               {acc:<11} 1/5 0.92637\n"
            f"                                                        val_word_a\u2026\n"
            f"                                                        {word}\n")


def test_ketos_wrapped_table_reads_each_value_under_its_cut_name():
    lines = (_ketos_stage(3, "0.9", "0.7") + _ketos_stage(4, "0.5", "0.25")).splitlines()
    recs = [r for r in parse_lines(lines)[0] if r]
    assert recs == [{"epoch": 3.0, "val_accuracy": 0.9}, {"epoch": 3.0, "val_word_accuracy": 0.7},
                    {"epoch": 4.0, "val_accuracy": 0.5}, {"epoch": 4.0, "val_word_accuracy": 0.25}]


def test_a_cut_name_that_begins_two_metrics_names_nothing():
    assert sum(n.startswith("val_") for n in KETOS_METRICS) > 1
    bar = "\u2501" * 5
    lines = [f"stage 2/\u221e {bar} 10/10 0:00:20 \u2022   13.14it/s val_\u2026",
             "                                                   0.9"]
    assert all("val_accuracy" not in r for r in parse_lines(lines)[0])


# ---------------------------------------------------------------- real logs, read in place


def test_adgcl_fused_bar_and_logging_lines_are_read():
    run = lrdoctor.read(real_log(_ADGCL))
    assert run.meta.aliases.get("loss") == "supervised_loss"
    assert run.metrics["epoch"].tolist() == [15.0, 16.0, 17.0, 18.0, 19.0]
    np.testing.assert_allclose(run.metrics["supervised_loss"][[0, -1]], [15.531131243316297, 15.475374019360721])
    np.testing.assert_allclose(run.metrics["eval_val"][[0, -1]], [0.5249709707249905, 0.539224884837385])


def test_kraken_703_wrapped_table_is_read_and_its_collapse_found():
    run = lrdoctor.read(real_log(_KETOS_WRAPPED))
    assert run.steps.tolist() == [6, 7, 8, 9]
    np.testing.assert_allclose(run.metrics["val_accuracy"], [0.926, 0.853, 0.044, 0.030])
    np.testing.assert_allclose(run.metrics["val_word_accuracy"][:3], [0.779, 0.641, 0.0])
    assert np.isnan(run.metrics["val_word_accuracy"][3])  # stage 9's word accuracy was cut from the paste
    found = real_findings(_KETOS_WRAPPED, "performance_reversal")
    assert found and found[0].severity.rank >= 1


def test_wide_terminal_ketos_logs_read_as_before_and_stay_silent():
    for rel in (_KETOS_WIDE, _KETOS_SEG):
        report = lrdoctor.diagnose(lrdoctor.read(real_log(rel)))
        assert [f.kind for f in report.findings if f.severity.rank >= 1] == []
    assert lrdoctor.read(real_log(_KETOS_WIDE)).meta.aliases.get("eval_accuracy") == "val_word_accuracy"


def test_a_quoted_bar_before_a_logger_header_keeps_its_record():
    run = lrdoctor.read(real_log(_QUOTED_BAR_LOGGER))
    assert run.meta.aliases.get("q_values") == "avg_q"
    report = lrdoctor.diagnose(run)
    assert [f.kind for f in report.findings if f.severity.rank >= 1] == []


# ---------------------------------------------------------------- a step's pairs before a dict; cleverhans


def test_a_step_line_keeps_its_pairs_before_a_dict():
    line = "step 272, loss = 0.0155 {'hold_vars': 14, 'lived_vars': 64}"
    assert parse_lines([line])[0] == [{"step": 272.0, "loss": 0.0155, "hold_vars": 14.0, "lived_vars": 64.0}]
    # pairs before a dict on a line that does not start with its step stay the dict's business
    assert parse_lines(["dev | avg_loss: 2.5 | {'exact_match': 0.0}"])[0] == [{"exact_match": 0.0}]


def test_cleverhans_accuracies_are_named_by_their_words():
    recs = parse_lines(["Test accuracy on legitimate examples: 0.9814",
                        "Test accuracy on adversarial examples: 0.2328"])[0]
    assert recs == [{"test_accuracy_legitimate": 0.9814}, {"test_accuracy_adversarial": 0.2328}]


def test_jittor_steps_are_read_and_stay_silent():
    run = lrdoctor.read(real_log(_JITTOR))
    assert "loss" in run.names  # the loss under its own name: no alias
    assert run.steps.tolist() == list(range(272, 287))
    np.testing.assert_allclose(run.metrics["loss"][[0, 6, -1]], [0.015559729188680649, 0.007838393561542034,
                                                                0.009926200844347477])
    report = lrdoctor.diagnose(run)
    assert [f.kind for f in report.findings if f.severity.rank >= 1] == []


def test_pairs_before_a_dict_without_a_step_read_as_before():
    run = lrdoctor.read(real_log(_LMOPS_DICT))
    assert "avg_loss" not in run.names and "exact_match" in run.names


def test_cleverhans_log_is_read_and_stays_silent():
    run = lrdoctor.read(real_log(_CLEVERHANS))
    assert run.meta.aliases.get("eval_accuracy") == "test_accuracy_legitimate"
    assert run.metrics["epoch"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    np.testing.assert_allclose(run.metrics["test_accuracy_legitimate"][:6], [0.9814, 0.9875, 0.9879, 0.9886, 0.9901, 0.9913])
    np.testing.assert_allclose(run.metrics["test_accuracy_adversarial"][:6], [0.2328, 0.4358, 0.6959, 0.7668, 0.7875, 0.8104])
    report = lrdoctor.diagnose(run)
    assert [f.kind for f in report.findings if f.severity.rank >= 1] == []
