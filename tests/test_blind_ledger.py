"""The blind ledger of issue 9's benchmark (stop 71): every slice's one blind measurement, kept line by
line in bench/blind_ledger.jsonl (``detection_quality.py --measure SLICE --ledger``) and scored again
without running anything (``--blind``). The ledger holds the measured labels to their manifests: a
label that lrdoctor met blind is never changed afterwards."""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

from trained_logistic import imbalanced_logistic_log

BENCH = Path(__file__).resolve().parents[1] / "bench"
SCRIPT = BENCH / "detection_quality.py"


def _bench():
    spec = importlib.util.spec_from_file_location("ledger_detection_quality", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while being built
    spec.loader.exec_module(mod)
    return mod


def _run(*args, timeout=120):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_every_ledger_line_is_its_manifest_entry_as_measured_and_each_slice_was_measured_once():
    dq = _bench()
    rows = dq.read_ledger(dq.LEDGER)
    assert len(rows) >= 402  # stops 69-71's blind slices, backfilled from their measurements
    keys = [(r["slice"], r["id"]) for r in rows]
    assert len(keys) == len(set(keys)), "a log measured blind twice"
    commits = {}
    for r in rows:
        assert re.fullmatch(r"[0-9a-f]{40}", r["measured_at"]), (r["slice"], r["measured_at"])
        assert commits.setdefault(r["slice"], r["measured_at"]) == r["measured_at"], f"{r['slice']} measured twice"
    assert set(commits) <= set(dq.SLICES), sorted(set(commits) - set(dq.SLICES))
    cases = {(c.slice, c.id): c for c in dq.load_cases(only=tuple(commits)).cases}
    for r in rows:
        c = cases.get((r["slice"], r["id"]))
        assert c is not None, f"{r['slice']}/{r['id']}: measured blind, gone from its manifest (drop its ledger line too)"
        assert c.label == r["label"], f"{r['slice']}/{r['id']}: label {r['label']!r} measured blind, now {c.label!r}"
        assert c.kinds == r["kinds"], f"{r['slice']}/{r['id']}: kinds {r['kinds']} measured blind, now {c.kinds}"
        assert (dq.HERE / r["file"]).is_file(), r["file"]


def test_the_ledger_scores_to_the_figures_each_stop_recorded_when_it_measured():
    """Stop 69's 35 slices (at 1bd4dbeb) and stop 70's 25 (at 30d9b55f), as docs/benchmarks.md
    recorded them at the time: the backfilled lines are those measurements."""
    out = _run("--blind")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "### lrdoctor, blind at 1bd4dbebbdd1 (35 slices): 126 logs (95 healthy/edge)\n" \
           "precision 0.88  recall 0.53  cases passed 91/126  healthy/edge runs with an error finding 2  unreadable 0" in text
    assert "### naive baseline, blind at 1bd4dbebbdd1 (35 slices): 126 logs (95 healthy/edge)\n" \
           "precision 0.20  recall 0.04  cases passed 54/126  healthy/edge runs with an error finding 11  unreadable 4" in text
    assert "### lrdoctor, blind at 30d9b55f3517 (25 slices): 114 logs (82 healthy/edge)\n" \
           "precision 1.00  recall 0.59  cases passed 94/114  healthy/edge runs with an error finding 1  unreadable 0" in text
    assert "### lrdoctor, blind, all:" in text and "### naive baseline, blind, all:" in text


def _hand_line(slice_name, run_id, label, kinds, predicted, errors=(), failed=""):
    side = {"predicted": predicted, "errors": list(errors), "failed": failed, "broken": []}
    return json.dumps({"slice": slice_name, "id": run_id, "file": f"{slice_name}/{run_id}/log.csv", "label": label,
                       "kinds": kinds, "config": {}, "span": 10.0, "first": 0.0, "lrdoctor": side,
                       "naive": {"predicted": {}, "errors": [], "failed": "", "broken": []},
                       "measured_at": "a" * 40})


def test_blind_scores_a_ledger_by_hand(tmp_path):
    """Three logs: a divergence found at error, a healthy run given an overfitting error, and an
    unhealthy run whose slow_progress is missed: precision 1/2, recall 1/2, one case passed, one
    healthy run with an error."""
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text("\n".join([
        _hand_line("s1", "a", "unhealthy", {"divergence": 3.0}, {"divergence": 4.0}, ["divergence"]),
        _hand_line("s1", "b", "healthy", {}, {"overfitting": 5.0}, ["overfitting"]),
        _hand_line("s2", "c", "unhealthy", {"slow_progress": 0.0}, {}),
    ]) + "\n")
    out = _run("--blind", ledger)
    assert out.returncode == 0, out.stderr
    assert "### lrdoctor, blind at aaaaaaaaaaaa (2 slices): 3 logs (1 healthy/edge)\n" \
           "precision 0.50  recall 0.50  cases passed 1/3  healthy/edge runs with an error finding 1  unreadable 0" in out.stdout
    assert "precision nan  recall 0.00  cases passed 1/3" in out.stdout  # the naive side found nothing, passed the healthy run


def test_a_bad_ledger_is_one_line_naming_the_file_and_line(tmp_path):
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text(_hand_line("s1", "a", "healthy", {}, {}) + "\n{not json\n")
    out = _run("--blind", ledger)
    assert out.returncode == 2 and not out.stdout
    assert out.stderr.strip() == f"{ledger}:2: not JSON (Expecting property name enclosed in double quotes)"
    ledger.write_text('{"slice": "s1"}\n')
    out = _run("--blind", ledger)
    assert out.returncode == 2 and out.stderr.strip().startswith(f"{ledger}:1: no 'id'")
    assert _run("--blind", tmp_path / "none.jsonl").returncode == 2


def test_a_new_slice_is_ledgered_once_at_the_commit_measured(tmp_path):
    """Two runs trained here (one at an LR too small to leave chance, one that learns) make a new
    slice; ``--measure --ledger`` appends their lines with the commit measured and the paths relative
    to the logs folder, and refuses the same slice a second time."""
    logs = tmp_path / "logs"
    for run_id, lr in (("stuck", 1e-6), ("trained", 0.5)):
        (logs / "blindy" / run_id).mkdir(parents=True)
        imbalanced_logistic_log(logs / "blindy" / run_id / "log.csv", lr)
    entries = [{"id": run_id, "file": f"blindy/{run_id}/log.csv", "slice": "blindy", "label": label,
                "kinds": [{"kind": k, "onset": 20.0} for k in kinds], "source": "trained here", "licence": "test"}
               for run_id, label, kinds in (("stuck", "unhealthy", ["slow_progress"]), ("trained", "healthy", []))]
    (logs / "manifest_blindy.yaml").write_text(yaml.safe_dump(entries))
    ledger = tmp_path / "ledger.jsonl"
    out = _run("--logs", logs, "--measure", "blindy", "--ledger", ledger)
    assert out.returncode == 0, out.stderr
    assert "blind ledger" in out.stdout and "2 lines appended" in out.stdout
    lines = [json.loads(x) for x in ledger.read_text().splitlines()]
    assert [(d["id"], d["file"], d["label"]) for d in lines] == [
        ("stuck", "blindy/stuck/log.csv", "unhealthy"), ("trained", "blindy/trained/log.csv", "healthy")]
    head = subprocess.run(["git", "-C", str(SCRIPT.parent), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=False).stdout.strip()
    assert {d["measured_at"].removesuffix("-dirty") for d in lines} == {head or "unknown"}
    assert "slow_progress" in lines[0]["lrdoctor"]["errors"] and lines[1]["lrdoctor"]["predicted"] == {}
    again = _run("--logs", logs, "--measure", "blindy", "--ledger", ledger)
    assert again.returncode == 2 and "already in" in again.stderr and "measured blind once" in again.stderr
    assert len(ledger.read_text().splitlines()) == 2
    alone = _run("--ledger", ledger)
    assert alone.returncode == 2 and "--measure SLICE" in alone.stderr
    scored = _run("--blind", ledger)
    assert scored.returncode == 0
    assert "2 logs (1 healthy/edge)\nprecision 1.00  recall 1.00  cases passed 2/2" in scored.stdout
