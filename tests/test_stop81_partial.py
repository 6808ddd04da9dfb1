"""Stop 81's "checked in part": a kind that ran silent while some of its rules could not run says so.

**Silence must mean checked and healthy, also where a kind ran only in part.** slow_progress's
chance-level rules judge an accuracy against 1/K and a loss against ln K; without the class count K
in the config, and with no loss of the log sitting at ln K for an integer K, the rules that need K
return without judging, and the kind used to be listed under "checked:" with nothing said (a BEiT on
HuSHeM, four classes, accuracy 0.23-0.26 for six epochs, its card naming no class count). A kind's
spec now carries an optional ``partial(run, thresholds)`` that names, for a run the kind checked
and found silent, the rules that could not run and what would let them
(:class:`lrdoctor.detect.registry.KindSpec`); ``check`` puts it in ``Coverage.partial``, the JSON
report carries it, and the terminal and HTML reports print "checked in part: KIND (why)" instead of
listing the kind as checked. slow_progress uses it for the class count
(:func:`lrdoctor.detect._progress.chance.class_count_unmet`)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from bench_logs import real_log

import lrdoctor
from lrdoctor.detect import SPECS, check
from lrdoctor.detect._progress.chance import CLASS_COUNT_HOW, k_from_the_log
from lrdoctor.detect.progress import DEFAULTS

# unhealthy (initial_loss_anomaly, slow_progress): BEiT on HuSHeM's 4 classes, accuracy 0.2326-0.3023, no K in the card
_HUSHEM_BEIT = "fresh1506/hkivancoral-hushem-1x-beit-base-rms-001-fold3/training_results.md"
# healthy: DeiT on HuSHeM, accuracy 0.33 -> 0.64 (median under the two-class band), no K in the card
_HUSHEM_DEIT = "fresh1001/hkivancoral-hushem-deit-small-adamax-00001-fold1/training_results.md"
# ViT fine-tune whose first validation loss 0.6852 sits at ln 2: the chance rules read K = 2 off the log
_VIT_LN2 = "fresh1005/venuv62-vit-base-patch16-224/training_results.md"
# healthy: RoBERTa LoRA, training and validation loss only: no classification signal
_ROBERTA_LOSS_ONLY = "fresh1001/jysssacc-roberta-base-lora-lr0p0005/training_results.md"

_ACCURACY_AT_A_QUARTER = [0.24, 0.26, 0.25, 0.23, 0.27, 0.25, 0.24, 0.26, 0.25, 0.25]


def _chance_csv(tmp_path: Path) -> Path:
    """Ten evaluations of an accuracy at 0.25 beside a training loss falling 2.0 -> 0.92, whose later
    half (median 1.16) sits at no ln K: nothing in the log names a class count."""
    rows = ["step,loss,val_accuracy"] + [f"{100 * (i + 1)},{2.0 - 0.12 * i:.3f},{a}"
                                         for i, a in enumerate(_ACCURACY_AT_A_QUARTER)]
    path = tmp_path / "run.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_synthetic_accuracy_at_a_quarter_without_k_is_checked_in_part(tmp_path: Path) -> None:
    report = lrdoctor.diagnose(_chance_csv(tmp_path))
    assert not [f for f in report.findings if f.kind == "slow_progress"]
    assert "slow_progress" in report.coverage.ran
    note = report.coverage.partial["slow_progress"]
    assert "class count" in note and "val_accuracy" in note and "num_classes" in note
    assert "slow_progress" not in report.coverage.fully_checked


def test_synthetic_with_num_classes_is_judged_and_has_no_note(tmp_path: Path) -> None:
    report = lrdoctor.diagnose(_chance_csv(tmp_path), config={"num_classes": 4})
    found = [f for f in report.findings if f.kind == "slow_progress"]
    assert found and found[0].evidence["num_classes"] == 4
    assert report.coverage.partial == {}


def test_a_kind_with_findings_gets_no_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mechanism is the spec's, for any kind: ``check`` asks ``partial`` of a silent kind only,
    since a finding speaks for itself; the note of another kind's spec shows the same way."""
    spec = SPECS["divergence"]
    monkeypatch.setitem(SPECS, "divergence", dataclasses.replace(spec, partial=lambda run, th: "rule X needs Y"))
    run = lrdoctor.read(_chance_csv(tmp_path))
    _, cov = check(run)
    assert cov.partial["divergence"] == "rule X needs Y"
    monkeypatch.setitem(SPECS, "slow_progress", dataclasses.replace(SPECS["slow_progress"], partial=lambda run, th: "asked"))
    assert check(run)[1].partial["slow_progress"] == "asked"
    findings, cov = check(lrdoctor.read(_chance_csv(tmp_path), config={"num_classes": 4}))
    assert any(f.kind == "slow_progress" for f in findings)
    assert "slow_progress" not in cov.partial


def test_a_note_that_raises_is_reported_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(run, th):
        raise ValueError("boom")

    monkeypatch.setitem(SPECS, "divergence", dataclasses.replace(SPECS["divergence"], partial=broken))
    monkeypatch.delenv("LRDOCTOR_STRICT", raising=False)
    _, cov = check(lrdoctor.read(_chance_csv(tmp_path)))
    assert "divergence" in cov.ran and "ValueError: boom" in cov.partial["divergence"]
    monkeypatch.setenv("LRDOCTOR_STRICT", "1")
    with pytest.raises(ValueError):
        check(lrdoctor.read(_chance_csv(tmp_path)))


def test_hushem_beit_is_checked_in_part_in_coverage_and_json() -> None:
    report = lrdoctor.diagnose(real_log(_HUSHEM_BEIT))
    assert not [f for f in report.findings if f.kind == "slow_progress"]
    assert "eval_accuracy" in report.coverage.partial["slow_progress"]
    cov = json.loads(report.to_json())["coverage"]
    assert cov["partial"]["slow_progress"].startswith("the chance-level rules need the class count")
    assert "slow_progress" in cov["ran"]  # it ran: the note qualifies its silence


def test_hushem_beit_with_its_class_count_is_found_stuck() -> None:
    """What the note asks for is what lets the rules judge: the same log with num_classes 4."""
    report = lrdoctor.diagnose(real_log(_HUSHEM_BEIT), config={"num_classes": 4})
    assert any(f.kind == "slow_progress" for f in report.findings)
    assert report.coverage.partial == {}


def test_cli_prints_the_checked_in_part_line() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(Path(lrdoctor.__file__).parents[1]),
                                                                   os.environ.get("PYTHONPATH")) if p)}
    out = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", str(real_log(_HUSHEM_BEIT))],
                         capture_output=True, text=True, env={**env, "COLUMNS": "400"}, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("checked in part:")]
    assert lines and "slow_progress" in lines[0] and "--config" in lines[0]
    checked = next(ln for ln in out.stdout.splitlines() if ln.startswith("checked:"))
    assert "slow_progress" not in checked
    assert "1 of them in part" in out.stdout


def test_no_note_where_the_config_gives_k() -> None:
    path = real_log(_HUSHEM_DEIT)
    assert "slow_progress" in lrdoctor.diagnose(path).coverage.partial  # (without K it is due)
    report = lrdoctor.diagnose(path, config={"num_classes": 4})
    assert "slow_progress" in report.coverage.ran and not report.findings
    assert report.coverage.partial == {}


def test_no_note_where_the_log_names_k() -> None:
    run = lrdoctor.read(real_log(_VIT_LN2))
    assert k_from_the_log(run, DEFAULTS) == (2, "inferred: the first evaluation loss sits at ln K")
    report = lrdoctor.diagnose(run)
    assert "slow_progress" in report.coverage.ran and "slow_progress" not in report.coverage.partial


def test_no_note_without_a_classification_signal() -> None:
    report = lrdoctor.diagnose(real_log(_ROBERTA_LOSS_ONLY))
    assert "slow_progress" in report.coverage.fully_checked and report.coverage.partial == {}


def test_no_note_for_an_accuracy_above_every_chance(tmp_path: Path) -> None:
    """An accuracy whose median is above the two-class chance band is above chance for every K: no
    class count would change the verdict."""
    rows = ["step,loss,val_accuracy"] + [f"{100 * (i + 1)},{2.0 - 0.12 * i:.3f},{0.70 + 0.02 * i:.2f}" for i in range(10)]
    path = tmp_path / "run.csv"
    path.write_text("\n".join(rows) + "\n")
    assert lrdoctor.diagnose(path).coverage.partial == {}


def test_html_report_shows_checked_in_part() -> None:
    page = lrdoctor.diagnose(real_log(_HUSHEM_BEIT)).to_html()
    li = next(part for part in page.split("<li ") if part.startswith('class="checked-in-part"'))
    assert "checked in part:" in li and "slow_progress" in li and "class count" in li
    checked = next(part for part in page.split("<li ") if part.startswith('class="checked"'))
    assert "slow_progress" not in checked.split("</li>")[0]
    assert "1 of them in part" in page


def test_text_report_line_names_how_to_give_k() -> None:
    text = str(lrdoctor.diagnose(real_log(_HUSHEM_BEIT)))
    assert "checked in part: slow_progress" in text
    assert CLASS_COUNT_HOW.split(" (")[0] in " ".join(text.split())
