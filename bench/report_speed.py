"""Benchmark: render the HTML report of a 100k-step log against the terminal report of the same run.

    python bench/report_speed.py [--steps 100000] [--repeat 3]

The log (CSV: step, loss, eval_loss every 100 steps, lr, grad_norm, tokens, throughput)
diverges at 60% of the run and turns NaN at 80%, so the page has findings, shaded spans,
non-finite markers and a log axis. Prints the median time (interleaved runs) of
``render_text`` (the peer: what ``--format text`` does) and ``render_html``, their ratio, the
page size, the CLI end to end in both formats, and, for one curve, what the thinning to MAX_PLOT_POINTS saves against drawing
all points (the floor it is measured against is the same curve, unthinned).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import lrdoctor
from lrdoctor.report import render_html, render_text
from lrdoctor.report import html_plots

torch.set_num_threads(1)


def make_log(path: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    s = np.arange(n)
    loss = 3 * np.exp(-s / (n / 5)) + 0.05 * rng.standard_normal(n) + 0.5
    blow = s >= int(0.6 * n)
    loss[blow] *= np.exp((s[blow] - 0.6 * n) / (0.02 * n))  # diverges: e-fold every 2% of the run
    loss[s >= int(0.8 * n)] = np.nan
    grad = np.abs(1 + 0.1 * rng.standard_normal(n)) * np.where(blow, loss / 0.6, 1.0)
    ev = np.full(n, np.nan)
    ev[::100] = loss[::100] + 0.1
    lr = 3e-3 * np.minimum(1, (s + 1) / 1000)
    with open(path, "w") as fh:
        fh.write("step,loss,eval_loss,lr,grad_norm,tokens,throughput\n")
        for i in range(n):  # eval_loss only every 100 steps: an empty cell elsewhere, as loggers write
            e = f"{ev[i]:.6g}" if np.isfinite(ev[i]) else ""
            fh.write(f"{i},{loss[i]:.6g},{e},{lr[i]:.6g},{grad[i]:.6g},{i * 4096},{1000 + rng.standard_normal():.6g}\n")


def median_time(fn, repeat: int) -> float:
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"log_{args.steps}.csv"
        make_log(path, args.steps)
        t = time.perf_counter()
        report = lrdoctor.diagnose(lrdoctor.read(path))
        t_diag = time.perf_counter() - t
        render_html(report)  # warm-up: matplotlib's import and font cache are paid once per process
        t_text, t_html = [], []
        for _ in range(args.repeat):  # interleaved, so both see the same machine load
            t_text.append(median_time(lambda: render_text(report), 1))
            t_html.append(median_time(lambda: render_html(report), 1))
        page = render_html(report)
        a, b = statistics.median(t_text), statistics.median(t_html)
        print(f"log: {args.steps} steps x 6 metrics ({path.stat().st_size / 1e6:.1f} MB); read + diagnose {t_diag:.2f} s; "
              f"findings: {', '.join(f.kind for f in report.findings)}")
        print(f"render_text (--format text)  median {a * 1000:.0f} ms")
        print(f"render_html (--format html)  median {b * 1000:.0f} ms  ({page.count('<svg')} curves, page {len(page.encode()) / 1e3:.0f} kB)")
        print(f"ratio html / text = {b / a:.1f}")
        # one curve thinned (what the page does) vs all points (the floor the thinning is measured against)
        series = report.run.series("loss")
        plot = html_plots.Plot("loss", "loss", "loss")
        t_thin = median_time(lambda: html_plots.svg_plot(series, plot, 0, "step", log=True), args.repeat)
        size_thin = len(html_plots.svg_plot(series, plot, 0, "step", log=True))
        keep = html_plots.MAX_PLOT_POINTS
        html_plots.MAX_PLOT_POINTS = 10 ** 9
        try:
            orig = html_plots.thin
            html_plots.thin = lambda s, v, m=None: (s, v)
            t_all = median_time(lambda: html_plots.svg_plot(series, plot, 0, "step", log=True), args.repeat)
            size_all = len(html_plots.svg_plot(series, plot, 0, "step", log=True))
        finally:
            html_plots.thin = orig
            html_plots.MAX_PLOT_POINTS = keep
        # end to end, as a user runs it: the CLI in a fresh process (imports, read, diagnose, render)
        cli = {}
        for fmt in ("text", "html", "text", "html"):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", str(path), "--format", fmt],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            cli.setdefault(fmt, []).append(time.perf_counter() - t)
        ct, ch = min(cli["text"]), min(cli["html"])
        print(f"CLI end to end (best of 2): --format text {ct:.2f} s, --format html {ch:.2f} s (ratio {ch / ct:.2f})")
        print(f"one curve ({len(series)} points): thinned to {keep}: {t_thin * 1000:.0f} ms, {size_thin / 1e3:.0f} kB; "
              f"all points: {t_all * 1000:.0f} ms, {size_all / 1e3:.0f} kB ({t_all / t_thin:.1f}x time, {size_all / size_thin:.0f}x size)")


if __name__ == "__main__":
    main()
