"""Rules from the stop-57 study (issue 9), each on the real log that met it, read in place, and on
a twin written by a really trained model:

- slow_progress's weak-correlation rule: a correlation score (Pearson, Spearman, Matthews) that never
  reached Cohen's "medium" effect, 0.3, over three or more evaluations is a warning (below 0.1 it was
  already an error);
- the frozen rules' convergence guard: equal prints at the end of a curve whose last three steps
  shrank in one direction into them are the tail of a geometric approach (an LR run out), not a
  model that stopped changing.
"""

from __future__ import annotations

import numpy as np
import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, held_out_loss, warned, write_lines

import lrdoctor

STSB_WEAK = "fresh463/gokuls-mobilebert-sa-stsb-256/training_results.md"
COLA_HEALTHY = "fresh523/markuscolab-distilbert-cola/training_results.md"
PHI3_CONVERGED = "fresh775/codephi3-128k-appslora3k/training_results.md"


def _pixel_regression(columns: slice, epochs: int = 6) -> list[str]:
    """Log lines of a 16-unit tanh regressor of the digit's value (0-9) from the pixels in ``columns``,
    trained with Adam (lr 0.01) on 1400 digits, with its held-out Pearson correlation each epoch."""
    torch.set_num_threads(1)
    x, y, _ = digits_mlp(0)
    x, t = x[:, columns], y.float()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    lines = []
    for epoch in range(1, epochs + 1):
        losses = []
        for i in range(0, 1400, 50):
            loss = torch.nn.functional.mse_loss(model(x[i:i + 50]).squeeze(1), t[i:i + 50])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        with torch.no_grad():
            p = model(x[1400:]).squeeze(1).numpy()
            val = float(np.mean((p - t[1400:].numpy()) ** 2))
        r = float(np.corrcoef(p, t[1400:].numpy())[0, 1])
        lines.append(f"epoch {epoch} train_loss {np.mean(losses):.4f} val_loss {val:.4f} val_pearson {r:.4f}")
    return lines


def _slow(report):
    return warned(report).get("slow_progress")


def test_a_correlation_that_never_reaches_a_medium_effect_is_slow_progress():
    # MobileBERT distilled on STS-B (labelled unhealthy): Pearson 0.008 -> 0.16 over six epochs,
    # where fine-tunes that learn the task pass 0.8 within two; above 0.1, so the negligible rule
    # (an error) was silent
    f = _slow(lrdoctor.diagnose(lrdoctor.read(real_log(STSB_WEAK))))
    assert f is not None
    assert f.severity.name == "WARNING"
    assert "weak" in f.evidence["rule"] and f.evidence["value"] < 0.3


def test_a_learned_correlation_is_not_slow_progress():
    # DistilBERT on CoLA (labelled healthy): Matthews correlation 0.5+ from its first evaluation
    assert _slow(lrdoctor.diagnose(lrdoctor.read(real_log(COLA_HEALTHY)))) is None


def test_a_trained_regressor_fed_one_row_of_pixels(tmp_path):
    # the twin: the input pipeline hands the model only the top row of each 8x8 digit, so its
    # held-out Pearson crawls 0.2 -> 0.27 over six epochs
    lines = _pixel_regression(slice(0, 8))
    r = [float(s.split()[-1]) for s in lines]
    assert 0.1 < max(r) < 0.3
    f = _slow(lrdoctor.diagnose(lrdoctor.read(write_lines(tmp_path / "log.txt", lines))))
    assert f is not None and "weak" in f.evidence["rule"]


def test_a_trained_regressor_that_sees_the_whole_image(tmp_path):
    # the healthy twin: the same regressor on all 64 pixels passes 0.6 within six epochs, though
    # its first evaluations sat below 0.3
    lines = _pixel_regression(slice(0, 64))
    r = [float(s.split()[-1]) for s in lines]
    assert r[0] < 0.3 < max(r)
    assert _slow(lrdoctor.diagnose(lrdoctor.read(write_lines(tmp_path / "log.txt", lines)))) is None


def test_an_evaluation_loss_that_converges_into_equal_prints_is_not_frozen():
    # a Phi-3 LoRA (labelled healthy): validation loss 0.6695, 0.6671, 0.6661, 0.6654, then 0.6653 at
    # the last four evaluations as its cosine LR ran out; the steps into the tail shrank (24, 10, 7,
    # 1 printing steps), and the frozen-evaluation rule called the model dead
    assert _slow(lrdoctor.diagnose(lrdoctor.read(real_log(PHI3_CONVERGED)))) is None


def test_a_trained_model_whose_lr_decays_geometrically(tmp_path):
    # the twin: the digits MLP at SGD lr 0.2 with the LR multiplied by 0.4 each epoch; its held-out
    # loss printed at 3 decimals falls by 145, 7, then 1 printing steps into a value it prints at
    # every later epoch
    torch.set_num_threads(1)
    x, y, model = digits_mlp(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    decay = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.4)
    lines = []
    for epoch in range(1, 15):
        train, _ = fit_epoch(model, opt, x, y)
        decay.step()
        lines.append(f"epoch {epoch} train_loss {train:.3f} val_loss {held_out_loss(model, x, y):.3f}")
    v = [s.split()[-1] for s in lines]
    assert len(set(v[-4:])) == 1 and v[0] != v[-1]
    assert _slow(lrdoctor.diagnose(lrdoctor.read(write_lines(tmp_path / "log.txt", lines)))) is None
