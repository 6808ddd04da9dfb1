"""The HTML report in a real browser: Debian's chromium, driven headless by playwright
(``executable_path``: playwright never downloads a browser, nothing is fetched at run time).

The page must render without a console error, every curve must have a real size, every
finding card must be visible, each finding's span must sit over its steps on the curve,
a hostile log must not run anything, and the screenshot must not be blank. CI installs
chromium (.ci/run); a machine without it fails here with the install line rather than
skipping, unless LRDOCTOR_NO_BROWSER=1 says this machine deliberately has none.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import lrdoctor

from report_html_helpers import train_to_csv
from test_report_html import TUNING, write_hostile

torch.set_num_threads(1)


def chromium_path() -> str:
    path = os.environ.get("LRDOCTOR_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    if os.environ.get("LRDOCTOR_NO_BROWSER") == "1":
        pytest.skip("LRDOCTOR_NO_BROWSER=1: this machine has no chromium")
    pytest.fail("the HTML report's browser test needs Debian's chromium: apt-get install -y chromium "
                "(or set LRDOCTOR_CHROMIUM=/path/to/chromium); CI installs it in .ci/run")


@pytest.fixture(scope="module")
def browser():
    exe = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # --no-sandbox: CI containers run as root, where chromium's sandbox refuses to start
        b = p.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


def open_page(browser, path: Path):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("request", lambda r: problems.append(f"request: {r.url}") if not r.url.startswith("file://") else None)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, problems


def not_blank(png: Path) -> float:
    from PIL import Image  # pillow comes with matplotlib

    pixels = np.asarray(Image.open(png).convert("L"), dtype=float)
    return float(pixels.std())


def test_diverging_run_renders_in_chromium(browser, tmp_path):
    log = train_to_csv(tmp_path / "lr0.5.csv", lr=0.5)
    report = lrdoctor.diagnose(lrdoctor.read(log))
    html = tmp_path / "report.html"
    html.write_text(report.to_html(), encoding="utf-8")
    page, problems = open_page(browser, html)
    cards = page.locator("article.finding")
    assert cards.count() == len(report.findings) >= 2
    for i in range(cards.count()):
        assert cards.nth(i).is_visible()
        box = cards.nth(i).bounding_box()
        assert box["width"] > 300 and box["height"] > 50
    svgs = page.locator("figure.plot svg")
    assert svgs.count() == 3
    for i in range(3):
        box = svgs.nth(i).bounding_box()
        assert box["width"] > 300 and box["height"] > 100, box
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert not_blank(shot) > 20, "the screenshot is (nearly) one colour"
    assert problems == []
    page.close()


def test_finding_spans_sit_over_their_steps(browser, tmp_path):
    """On the whisper run's loss curve (steps 25-5000), each finding's shaded span starts and
    ends where its steps are along the curve's horizontal extent (1% of the width)."""
    report = lrdoctor.diagnose(lrdoctor.read(TUNING / "hf-whisper-ja-5k-overfit/trainer_state.json"))
    html = tmp_path / "whisper.html"
    html.write_text(report.to_html(), encoding="utf-8")
    page, problems = open_page(browser, html)
    steps = report.run.series("loss").steps
    first, last = float(steps[0]), float(steps[-1])
    curve = page.locator("#plot-0 g#curve-0").bounding_box()
    assert curve["width"] > 300
    checked = 0
    for i, f in enumerate(report.findings):
        span = page.locator(f"#plot-0 g#span-{i}-0")
        if span.count() == 0:
            continue
        box = span.bounding_box()
        left = (box["x"] - curve["x"]) / curve["width"]
        right = (box["x"] + box["width"] - curve["x"]) / curve["width"]
        tol = 0.01 + 4 / curve["width"]  # a single step is drawn as a 2 px line
        assert abs(left - (float(f.start_step) - first) / (last - first)) < tol, (f.kind, left)
        assert abs(right - (float(f.end_step) - first) / (last - first)) < tol, (f.kind, right)
        checked += 1
    assert checked >= 2  # overfitting (1000-5000) and plateau (1675-5000) at least
    assert problems == []
    page.close()


def test_hostile_log_runs_nothing_in_chromium(browser, tmp_path):
    report = lrdoctor.diagnose(lrdoctor.read(write_hostile(tmp_path)))
    html = tmp_path / "hostile.html"
    html.write_text(report.to_html(), encoding="utf-8")
    page, problems = open_page(browser, html)
    page.locator("figure.plot").first.hover()  # an injected onmouseover would fire here
    page.wait_for_timeout(200)
    assert page.evaluate("document.querySelectorAll('script, img, iframe').length") == 0
    assert "<script>alert('col')</script>" in page.locator("#plots").inner_text()
    assert problems == []  # no dialog, no console error, no request beyond the file
    page.close()
