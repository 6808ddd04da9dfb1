"""The HTML report (lrdoctor.report.html): real logs read in place, a really trained model
that diverges, the real CLI in a subprocess, hostile column names, tiny and non-finite runs.
The page is checked with the standard library's html.parser (tests/report_html_helpers.py);
tests/test_report_html_browser.py opens it in a real browser."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import lrdoctor
from lrdoctor.report.html import render
from lrdoctor.report.html_plots import thin, use_log_scale

from report_html_helpers import parse, train_to_csv

torch.set_num_threads(1)

TUNING = Path(__file__).resolve().parents[1] / "bench" / "detection_logs" / "tuning"

#: log -> the curves its page must draw (written by hand from the files' columns: every
#: role's metric, then every other logged column; never the step or epoch axis)
REAL = {
    "hf-whisper-ja-5k-overfit/trainer_state.json":
        ["loss", "eval_loss", "lr", "eval_runtime", "eval_samples_per_second", "eval_steps_per_second", "eval_wer"],
    "text-fairseq-issue311-clip100/issue311_log.txt":
        ["loss", "lr", "grad_norm", "grad_clip_fraction", "nll_loss", "ppl", "wps", "ups", "wpb", "bsz", "oom"],
    "keras-cnn-sentence-nan/issue7.log": ["loss", "eval_loss", "task_metric", "eval_accuracy"],
    "text-wav2letter-inf/issue220.log":  # 3 points
        ["loss", "lr", "lrcriterion", "train-ter", "data/dev-clean-ter", "avg-isz", "avg-tsz", "max-tsz", "hrs", "runtime"],
    "hf-bart-samsum-single-row/trainer_state.json": ["loss", "lr"],  # healthy, one point
    "sb3-zoo-dqn-cartpole/0.monitor.csv": ["ep_return", "episode_return", "episode_length", "t"],  # healthy
}


def check_page(page: str, report, plots: list[str]) -> dict:
    """Structure every page must have; returns the parsed parts for further checks."""
    assert page.startswith("<!DOCTYPE html>")
    doc = parse(page)
    head = doc.find_all("header", id="headline")
    assert len(head) == 1 and report.run.meta.source in head[0].text and report.run.meta.format in head[0].text
    worst = report.worst.value if report.worst else "ok"
    assert doc.find_all("p", cls="verdict")[0].attrs["data-worst"] == worst
    # every finding, in order, with its summary, fix rows, watch rows and evidence keys
    cards = doc.find_all("article", cls="finding")
    assert [c.attrs["data-kind"] for c in cards] == [f.kind for f in report.findings]
    for card, f in zip(cards, report.findings):
        assert f"sev-{f.severity.value}" in card.classes and f.summary in card.text
        fixes = card.find_all("table", cls="fixes")
        rows = fixes[0].find_all("tbody")[0].find_all("tr") if fixes else []
        assert [r.find_all("td")[0].text for r in rows] == [x.parameter for x in f.fixes]
        for r, x in zip(rows, f.fixes):
            assert len(r.find_all("td")) == 6 and r.find_all("td")[5].text == ("yes" if x.applicable else "no")
        watch = card.find_all("table", cls="watch")
        assert len(watch[0].find_all("tbody")[0].find_all("tr") if watch else []) == len(f.watch)
        ev = card.find_all("table", cls="evidence")
        assert [r.find_all("td")[0].text for r in ev[0].find_all("tbody")[0].find_all("tr")] == list(f.evidence) if f.evidence else not ev
    # coverage: every kind that ran with all its rules, every kind checked in part or skipped with its reason
    checked = doc.find_all("li", cls="checked")
    assert len(checked) == 1 and all(k in checked[0].text for k in report.coverage.fully_checked)
    assert not any(k in checked[0].text.split(", ") for k in report.coverage.partial)
    in_part = " ".join(li.text for li in doc.find_all("li", cls="checked-in-part"))
    assert all(k in in_part and why in in_part for k, why in report.coverage.partial.items())
    skipped = " ".join(li.text for li in doc.find_all("li", cls="not-checked"))
    assert all(k in skipped and why in skipped for k, why in report.coverage.skipped.items())
    # roles: each role with its column
    roles = {tuple(td.text for td in tr.find_all("td")) for tr in doc.find_all("table", cls="roles")[0].find_all("tr")[1:]}
    assert {(r, c) for r, c in report.run.meta.roles.items()} <= roles
    # one figure with exactly one <svg> per plotted metric, nothing fetched
    figs = doc.find_all("figure", cls="plot")
    assert [f.attrs["data-metric"] for f in figs] == plots
    assert all(len(f.find_all("svg")) == 1 for f in figs) and page.count("<svg") == len(plots)
    assert "http://" not in page.replace("http://www.w3.org/", "") and "https://" not in page
    assert not doc.find_all("script") and not doc.find_all("img") and not doc.find_all("link")
    return {"doc": doc, "cards": cards, "figs": {f.attrs["data-metric"]: f for f in figs}}


def span_ids(fig) -> set[str]:
    return {n.attrs["id"] for n in fig.iter() if n.attrs.get("id", "").startswith("span-")}


@pytest.mark.parametrize("log", sorted(REAL))
def test_real_logs_render_every_part(log):
    report = lrdoctor.diagnose(lrdoctor.read(TUNING / log))
    page = report.to_html()
    parts = check_page(page, report, REAL[log])
    # each finding with a step span is shaded on at least one curve, under its own id
    all_spans = set().union(*(span_ids(f) for f in parts["figs"].values())) if parts["figs"] else set()
    for i, f in enumerate(report.findings):
        if f.start_step is not None:
            assert any(s.startswith(f"span-{i}-") for s in all_spans), (f.kind, all_spans)


def test_overfitting_is_shaded_on_loss_and_eval_loss():
    report = lrdoctor.diagnose(lrdoctor.read(TUNING / "hf-whisper-ja-5k-overfit/trainer_state.json"))
    kinds = [f.kind for f in report.findings]
    assert "overfitting" in kinds  # the log's label (manifest): train falls, eval rises after step 1000
    i = kinds.index("overfitting")
    figs = check_page(report.to_html(), report, REAL["hf-whisper-ja-5k-overfit/trainer_state.json"])["figs"]
    on = [m for m, fig in figs.items() if any(s.startswith(f"span-{i}-") for s in span_ids(fig))]
    assert on == ["loss", "eval_loss"]
    # the loss falls from ~1 to 1e-4: a log axis; the eval loss stays within 0.32-0.42: linear
    assert figs["loss"].attrs["data-yscale"] == "log" and figs["eval_loss"].attrs["data-yscale"] == "linear"


def test_a_finding_is_shaded_on_the_column_its_evidence_names():
    """The Keras log turns NaN in loss and val_loss from epoch 2: two nonfinite findings, each
    shaded on its own curve only (not both on the loss)."""
    log = "keras-cnn-sentence-nan/issue7.log"
    report = lrdoctor.diagnose(lrdoctor.read(TUNING / log))
    figs = check_page(report.to_html(), report, REAL[log])["figs"]
    curve_of = {"loss": "loss", "val_loss": "eval_loss", "eval_loss": "eval_loss"}  # raw or canonical -> curve
    seen = set()
    for i, f in enumerate(report.findings):
        if f.kind == "nonfinite":
            on = [m for m, fig in figs.items() if any(s.startswith(f"span-{i}-") for s in span_ids(fig))]
            assert on == [curve_of[f.evidence["metric"]]], (f.evidence["metric"], on)
            seen.add(curve_of[f.evidence["metric"]])
    assert seen == {"loss", "eval_loss"}


def test_torch_model_at_too_high_lr_through_the_cli(tmp_path):
    log = train_to_csv(tmp_path / "lr0.5.csv", lr=0.5)
    out = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", str(log), "--format", "html"],
                         capture_output=True, timeout=120)
    assert out.returncode == 1, out.stderr.decode()[-2000:]  # an error-level finding: exit 1, as documented
    page = out.stdout.decode("utf-8")
    report = lrdoctor.diagnose(lrdoctor.read(log))
    kinds = [f.kind for f in report.findings]
    assert "divergence" in kinds and "nonfinite" in kinds  # the loss left 1e20 then turned NaN
    parts = check_page(page, report, ["loss", "lr", "grad_norm"])
    loss = parts["figs"]["loss"]
    assert loss.attrs["data-yscale"] == "log"
    # the NaN steps are drawn as crosses on the loss curve, the spans of divergence and nonfinite on it
    assert loss.find_all("g", id="nonfinite-0")
    assert any(s.startswith(f"span-{kinds.index('divergence')}-0") for s in span_ids(loss))
    assert any(s.startswith(f"span-{kinds.index('nonfinite')}-0") for s in span_ids(loss))
    if "grad_explosion" in kinds:
        assert any(s.startswith(f"span-{kinds.index('grad_explosion')}-") for s in span_ids(parts["figs"]["grad_norm"]))
    # the same page as the library's
    assert page == report.to_html()


def test_healthy_torch_model_has_no_error_card(tmp_path):
    log = train_to_csv(tmp_path / "lr0.01.csv", lr=0.01)
    report = lrdoctor.diagnose(lrdoctor.read(log))
    parts = check_page(render(report), report, ["loss", "lr", "grad_norm"])
    assert not [c for c in parts["cards"] if "sev-error" in c.classes]
    assert not parts["figs"]["loss"].find_all("g", id="nonfinite-0")


HOSTILE = ["<script>alert('col')</script>", 'acc" onmouseover="alert(1)', "<img src=x onerror=alert(2)>"]


def write_hostile(folder: Path) -> Path:
    path = folder / "run'<script>alert(3).csv"
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["step", "loss", *HOSTILE])
        for i in range(60):
            out.writerow([i, 2.0 / (i + 1) + (5.0 if i == 40 else 0.0), i * 0.5, 0.5 + i / 200, "nan" if i == 30 else i])
    return path


def test_hostile_column_names_file_name_and_config_are_escaped(tmp_path):
    path = write_hostile(tmp_path)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("optimizer:\n  lr: 0.1\n  name: \"<script>alert(4)</script>\"\n")
    out = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", str(path), "--config", str(cfg), "--format", "html"],
                         capture_output=True, timeout=120)
    assert out.returncode in (0, 1), out.stderr.decode()[-2000:]
    page = out.stdout.decode("utf-8")
    assert "<script" not in page.lower() and "<img" not in page.lower()
    doc = parse(page)
    # no element the input could have injected, no event handler attribute anywhere
    assert not [n.tag for n in doc.iter() if n.tag in ("script", "img", "iframe", "object", "embed")]
    assert not [(n.tag, a) for n in doc.iter() for a in n.attrs if a.lower().startswith("on")]
    # ... and the strings are shown as text: the column names as curve captions, the file name, the config
    captions = [f.find_all("figcaption")[0].text for f in doc.find_all("figure", cls="plot")]
    for name in HOSTILE:
        assert any(name in c for c in captions), (name, captions)
    assert "run'<script>alert(3).csv" in doc.find_all("header", id="headline")[0].text
    assert "<script>alert(4)</script>" in doc.find_all("section", id="config")[0].text


def test_one_to_three_points_and_non_finite_values(tmp_path):
    for n in (1, 2, 3):
        path = tmp_path / f"n{n}.csv"
        path.write_text("step,loss,grad_norm\n" + "".join(f"{i},{1.0 / (i + 1)},{0.5}\n" for i in range(n)))
        report = lrdoctor.diagnose(lrdoctor.read(path))
        check_page(render(report), report, ["loss", "grad_norm"])
    path = tmp_path / "nonfinite.csv"
    path.write_text("step,loss,lr,grad_norm\n0,2.0,0.1,1.0\n1,inf,0.1,nan\n2,nan,0.1,nan\n3,nan,0.1,inf\n")
    report = lrdoctor.diagnose(lrdoctor.read(path))
    figs = check_page(render(report), report, ["loss", "lr", "grad_norm"])["figs"]
    assert figs["loss"].find_all("g", id="nonfinite-0") and figs["grad_norm"].find_all("g", id="nonfinite-2")
    assert "nonfinite" in [f.kind for f in report.findings]


def test_log_scale_and_thinning_arithmetic():
    assert use_log_scale(np.array([2.3, 0.1, 0.02]))            # two decades
    assert not use_log_scale(np.array([2.3, 0.1, 0.05]))        # 46x: linear
    assert not use_log_scale(np.array([2.0, -1.0, 0.001]))      # a negative value: linear
    assert not use_log_scale(np.array([np.nan, np.inf, 1.0]))   # one finite value
    steps = np.arange(100_000.0)
    values = np.ones(100_000)
    values[77_777] = 50.0
    x, y = thin(steps, values, 2000)
    assert x.size == 2000 and y.max() == 50.0 and abs(x[np.argmax(y)] - 77_777) < 100  # the spike survives, in place


PROBE = """
import sys
sys.argv = ["lrdoctor", "diagnose", sys.argv[1], "--format", "text"]
import lrdoctor, lrdoctor.cli
lrdoctor.Report.to_html  # the method exists without drawing anything
try:
    lrdoctor.cli.main()
except SystemExit:
    pass
print("MPL", "matplotlib" in sys.modules, file=sys.stderr)
"""


def test_import_and_text_report_stay_free_of_matplotlib(tmp_path):
    csv_path = tmp_path / "m.csv"
    csv_path.write_text("step,loss,lr\n" + "".join(f"{i},{2.0 / (i + 1)},0.001\n" for i in range(200)))
    out = subprocess.run([sys.executable, "-c", PROBE, str(csv_path)], capture_output=True, text=True, timeout=120)
    assert "roles:" in out.stdout and "MPL False" in out.stderr, out.stderr[-2000:]
