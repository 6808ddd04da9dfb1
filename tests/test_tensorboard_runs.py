"""TensorBoard folders: one run written in train/ and validation/ subfolders (Keras' callback)
keeps its two curves apart; several runs in one folder are not merged into one."""

import pytest
import torch
from torch.utils.tensorboard import SummaryWriter

import lrdoctor
from lrdoctor.errors import InputError

torch.set_num_threads(1)


def _train(folder, writers=("train", "validation"), epochs=8, lr=0.1):
    """A small MLP on a synthetic 3-class problem; each epoch's mean training loss and
    validation loss are written, Keras-style, as ``epoch_loss`` in two subfolders."""
    torch.manual_seed(0)
    x = torch.randn(600, 8)
    y = (x[:, 0] + x[:, 1] > 0).long() + (x[:, 2] > 1).long()
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    w = {name: SummaryWriter(str(folder / name)) for name in writers}
    for ep in range(epochs):
        tot = 0.0
        for i in range(0, 500, 50):
            loss = torch.nn.functional.cross_entropy(model(x[i:i + 50]), y[i:i + 50])
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss.detach()) / 10
        with torch.no_grad():
            val = float(torch.nn.functional.cross_entropy(model(x[500:]), y[500:]))
        w[writers[0]].add_scalar("epoch_loss", tot, ep)
        if len(writers) > 1:
            w[writers[1]].add_scalar("epoch_loss", val, ep)
    for v in w.values():
        v.close()


def test_train_and_validation_subfolders_are_two_curves_of_one_run(tmp_path):
    _train(tmp_path)
    run = lrdoctor.read(tmp_path)
    assert run.meta.roles["loss"] == "train/epoch_loss" and run.meta.roles["eval_loss"] == "validation/epoch_loss"
    assert run.series("loss").values.size == 8 and run.series("eval_loss").values.size == 8
    # before, both files' "epoch_loss" were merged into one column: 16 points on 8 steps
    assert not (run.series("loss").values == run.series("eval_loss").values).all()


def test_several_runs_in_one_folder_are_refused_by_read_and_listed_by_the_cli(tmp_path):
    import subprocess
    import sys

    for name in ("lr0.1", "lr1.0"):
        _train(tmp_path / name, writers=("",), lr=float(name[2:]))
    with pytest.raises(InputError, match="holds 2 runs"):
        lrdoctor.read(tmp_path)
    assert lrdoctor.read(tmp_path / "lr0.1").n_steps == 8
    out = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert "lr0.1" in out.stdout and "lr1.0" in out.stdout, out.stdout + out.stderr
