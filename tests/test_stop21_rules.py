"""Readers and rules from the stop-21 study of the benchmark (issue 9), each on a real public log
or a really trained run:

- image restoration's PSNR/SSIM and segmentation's Dice are higher-is-better evaluation figures,
  and BasicSR's ``l_pix`` is its training loss (BasicSR and NAFNet logs were refused before);
"""

import numpy as np
import pytest
import torch

import lrdoctor
from bench_logs import LOGS, is_blind
from lrdoctor.names import resolve_aliases

torch.set_num_threads(1)


def _real(rel: str):
    path = LOGS / rel
    if is_blind(path):
        pytest.skip(f"{rel.split('/')[0]} is being measured blind")
    return path


def _warned(report) -> dict:
    return {f.kind: f for f in report.findings if f.severity.rank >= 1}


def _denoiser_log(tmp_path, lr: float):
    """A tiny linear denoiser on scikit-learn's digits, trained for real; every 40 steps a
    BasicSR-style line pair: the training line with ``l_pix``, then the validation PSNR."""
    from sklearn.datasets import load_digits

    torch.manual_seed(0)
    x = torch.tensor(load_digits().data / 16.0, dtype=torch.float32)
    noisy = (x + 0.3 * torch.randn_like(x)).clamp(0, 1)
    tr, va = slice(0, 1400), slice(1400, None)
    model = torch.nn.Linear(64, 64)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    lines = []
    for it in range(1, 401):
        idx = torch.randint(0, 1400, (32,))
        loss = torch.nn.functional.l1_loss(model(noisy[tr][idx]), x[tr][idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if it % 40 == 0:
            with torch.no_grad():
                mse = torch.mean((model(noisy[va]).clamp(0, 1) - x[va]) ** 2).item()
            lines.append(f"<epoch:  1, iter:  {it:6d}, lr:{lr:.3e}> l_pix: {loss.item():.4e} ")
            lines.append(f"# Validation # psnr: {10 * np.log10(1.0 / mse):.4f}")
    path = tmp_path / "train_denoise.log"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_psnr_is_an_evaluation_figure_and_l_pix_the_loss(tmp_path):
    run = lrdoctor.read(_denoiser_log(tmp_path, 1e-2))
    assert run.meta.roles.get("loss") == "l_pix"
    assert run.meta.roles.get("eval_accuracy") == "psnr"
    psnr = run.series("eval_accuracy").finite().values
    assert psnr[-1] > psnr[0]  # the model learned: its PSNR rose
    assert "performance_reversal" not in _warned(lrdoctor.diagnose(run))


def test_a_dice_loss_is_no_task_metric():
    roles = resolve_aliases(["epoch", "dice_loss", "val_dice"])
    assert roles["loss"][0] == "dice_loss"
    assert roles["eval_accuracy"][0] == "val_dice"
    assert "task_metric" not in roles


def test_real_basicsr_and_nafnet_logs_are_read():
    sr = lrdoctor.read(_real("fresh20/basicsr-issue192-psnr/issue192.log"))
    assert sr.meta.roles.get("loss") == "l_pix"
    assert sr.series("loss").finite().values[0] == pytest.approx(6.0063e-02)
    naf = lrdoctor.read(_real("fresh20/nafnet-issue64-psnrdrop/issue64.log"))
    assert naf.meta.roles.get("eval_accuracy") == "psnr"
    assert naf.series("eval_accuracy").finite().values.tolist() == pytest.approx([25.4206, 23.9232, 24.7066, 23.6631])
