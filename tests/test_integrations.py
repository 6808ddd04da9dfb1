"""The one-line callbacks with the real libraries on tiny CPU models."""

import json

import numpy as np
import pytest
import torch

import lrdoctor
from tests.conftest import TinyRegressor, tiny_regression_data
from lrdoctor import schedules as S

torch.set_num_threads(1)


def rows(path):
    return [json.loads(line) for line in (path / "lrdoctor.jsonl").read_text().splitlines()]


def test_hf_trainer_callback(tmp_path):
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    from lrdoctor.integrations.hf import LRDoctorCallback

    data = tiny_regression_data()
    args = transformers.TrainingArguments(output_dir=str(tmp_path / "out"), max_steps=30, per_device_train_batch_size=8,
                                          logging_steps=5, report_to=[], use_cpu=True, save_strategy="no",
                                          disable_tqdm=True, learning_rate=1e-2, warmup_steps=5, max_grad_norm=1.0)
    cb = LRDoctorCallback(str(tmp_path / "lrd"))
    transformers.Trainer(model=TinyRegressor(), args=args, train_dataset=data, callbacks=[cb]).train()
    r = rows(tmp_path / "lrd")
    assert [x["step"] for x in r] == list(range(30))
    # the applied LR per step is HF's own linear warmup/decay
    expected = 1e-2 * (S.warmup(5) * S.linear_decay(30, start_step=5))(np.arange(30))
    np.testing.assert_allclose([x["lr"] for x in r], expected, rtol=1e-6)
    assert all(x["max_grad_norm"] == 1.0 for x in r)  # pre-clip norm from clip_grad_norm_
    assert sum("loss" in x for x in r) == 6  # the trainer's logged losses, on their steps
    cfg = json.loads((tmp_path / "lrd" / "lrdoctor-config.json").read_text())
    assert cfg["learning_rate"] == 1e-2 and cfg["max_grad_norm"] == 1.0
    report = lrdoctor.diagnose(tmp_path / "lrd")
    assert [f for f in report.findings if f.severity.value == "error"] == []


def test_lightning_callback(tmp_path):
    pl = pytest.importorskip("lightning.pytorch")
    from lrdoctor.integrations.lightning import LRDoctorCallback

    class M(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 1)

        def training_step(self, batch, i):
            x, y = batch
            return torch.nn.functional.mse_loss(self.lin(x), y)

        def configure_optimizers(self):
            opt = torch.optim.SGD(self.parameters(), lr=0.05)
            sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    ds = torch.utils.data.TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
    trainer = pl.Trainer(max_steps=16, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(tmp_path),
                         callbacks=[LRDoctorCallback(str(tmp_path / "lrd"))])
    trainer.fit(M(), torch.utils.data.DataLoader(ds, batch_size=4))
    r = rows(tmp_path / "lrd")
    assert [x["step"] for x in r] == list(range(16))
    np.testing.assert_allclose([x["lr"] for x in r], 0.05 * 0.5 ** (np.arange(16) // 5), rtol=1e-12)
    assert all(np.isfinite(x["loss"]) and x["grad_norm"] > 0 for x in r)
    assert all(x["scheduled_lr"] == x["lr"] for x in r)  # nothing overwrote the scheduler


def test_sb3_callback_feeds_rl_detectors(tmp_path):
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO

    from lrdoctor.integrations.sb3 import LRDoctorCallback

    cb = LRDoctorCallback(str(tmp_path / "lrd"))
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=256, seed=0, verbose=0, device="cpu",
                learning_rate=0.03, n_epochs=10, ent_coef=0.0, batch_size=32)
    model.learn(4096, callback=cb)
    r = rows(tmp_path / "lrd")
    assert [x["step"] for x in r] == [256 * (i + 1) for i in range(16)]
    assert sum("train/approx_kl" in x for x in r) >= 14 and "rollout/ep_rew_mean" in r[-1]
    kinds = {f.kind for f in cb.monitor.findings}
    assert "kl_exceeded" in kinds  # the same finding as offline on this configuration (test_rl.py)
    cfg = json.loads((tmp_path / "lrd" / "lrdoctor-config.json").read_text())
    assert cfg["n_epochs"] == 10 and cfg["n_actions"] == 2
    offline = lrdoctor.diagnose(tmp_path / "lrd")
    assert "kl_exceeded" in {f.kind for f in offline.findings}


def test_sb3_callback_policy_that_never_moves_is_entropy_at_uniform(tmp_path):
    """lr 1e-9: the policy stays uniform over CartPole's 2 actions; the callback knows K = 2."""
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO

    from lrdoctor.integrations.sb3 import LRDoctorCallback

    cb = LRDoctorCallback(str(tmp_path / "lrd"))
    PPO("MlpPolicy", "CartPole-v1", n_steps=128, seed=0, verbose=0, device="cpu", learning_rate=1e-9,
        n_epochs=2).learn(128 * 24, callback=cb)
    f = [f for f in cb.monitor.findings if f.kind == "entropy_collapse"]
    assert [x.evidence["direction"] for x in f] == ["to_uniform"]
    assert f[0].evidence["n_actions"] == 2 and f[0].evidence["level"] > 0.98 * np.log(2)
