"""`lrdoctor.recommend` / `lrdoctor recommend`: the first post-mortem's network gets 1e-3 with
its reasons; each rule of the decision tree (depth, size table, batch scaling, LoRA alpha/r,
RAFT = SFT/4, RL defaults, Adam warmup 2/(1-beta2)) applies with its source; a real
torch module is inspected; bad input is one clear line and exit 2."""

import json
import math
import subprocess
import sys

import pytest
import torch
from torch import nn

import lrdoctor
from lrdoctor.recommender import describe_module, parse_count

torch.set_num_threads(1)

PM1 = dict(arch="transformer", params="4.9M", layers=6, optimizer="adam", batch_size=512, regime="alphazero")


def test_post_mortem_network_gets_1e_3_with_its_reasons():
    r = lrdoctor.recommend(**PM1)
    assert r.lr == 1e-3
    assert r.range[0] < 1e-3 < r.range[1] and r.range[1] < 1e-2  # 1e-2 (the flaky tests' LR) is outside
    assert r.confidence == "high"
    rules = [x.rule for x in r.reasons]
    assert "Adam default" in rules and "1/depth" in rules and "batch size" in rules
    assert any("post-mortem #1" in x.source for x in r.reasons)
    assert any("Kingma" in x.source for x in r.reasons)
    assert r.warmup.steps == round(2 / (1 - 0.999)) and r.warmup.needed  # attention model
    assert "Ma & Yarats" in r.warmup.reason.source
    assert r.sweep.startswith("lrdoctor sweep ") and "1.0e-3" in r.sweep and "--seeds" in r.sweep
    assert "cosine" in r.schedule


def test_cli_json_has_lr_and_sources():
    p = subprocess.run([sys.executable, "-m", "lrdoctor", "recommend", "--arch", "transformer", "--params", "4.9M",
                        "--layers", "6", "--optimizer", "adam", "--batch-size", "512", "--regime", "alphazero",
                        "--format", "json"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["lr"] == 1e-3 and d["confidence"] == "high"
    assert all(x["source"] for x in d["reasons"]) and d["warmup"]["steps"] == 2000
    t = subprocess.run([sys.executable, "-m", "lrdoctor", "recommend", "--arch", "gru", "--optimizer", "adam"],
                       capture_output=True, text=True)
    assert t.returncode == 0 and "source:" in t.stdout and "lrdoctor sweep" in t.stdout


def test_every_recommendation_lists_its_sources():
    cases = [PM1, dict(regime="ppo"), dict(regime="dqn"), dict(regime="lora", lora_r=16, lora_alpha=32),
             dict(regime="raft", sft_lr=2e-4), dict(arch="cnn", optimizer="sgd", batch_size=1024),
             dict(arch="transformer", params="1.3B", optimizer="adamw"), dict()]
    for c in cases:
        r = lrdoctor.recommend(**c)
        assert r.reasons and all(x.source.strip() for x in r.reasons), c
        assert r.warmup.reason.source and r.confidence in ("high", "medium", "low")
        assert r.range[0] < r.lr < r.range[1]


def test_depth_and_size_rules():
    assert lrdoctor.recommend(arch="transformer", params="20M", layers=12, optimizer="adam").lr == pytest.approx(1e-3 * 6 / 12)
    # GPT-3 table: 350M -> 3e-4, 1.3B -> 2e-4 (Brown et al. 2020)
    assert lrdoctor.recommend(arch="transformer", params="350M", optimizer="adamw").lr == pytest.approx(3e-4)
    assert lrdoctor.recommend(arch="transformer", params="1.3B", optimizer="adamw").lr == pytest.approx(2e-4)


def test_batch_scaling_rules():
    sgd = lrdoctor.recommend(arch="cnn", optimizer="sgd", batch_size=1024)
    assert sgd.lr == pytest.approx(0.1 * 1024 / 256)  # Goyal et al.: linear
    assert sgd.warmup.needed  # large batch: gradual warmup
    adam = lrdoctor.recommend(arch="mlp", optimizer="adam", batch_size=1024, ref_batch_size=256, ref_lr=1e-3)
    assert adam.lr == pytest.approx(1e-3 * math.sqrt(1024 / 256))  # square-root rule
    far = lrdoctor.recommend(arch="mlp", optimizer="adam", batch_size=8192, ref_batch_size=64, ref_lr=1e-3)
    assert far.confidence == "low"


def test_finetuning_lora_raft_rl():
    lora = lrdoctor.recommend(regime="lora", lora_r=16, lora_alpha=16)
    assert lora.lr == pytest.approx(2e-4 * 2 / (16 / 16))  # 2e-4 is quoted at alpha/r = 2
    assert lora.warmup.ratio == pytest.approx(0.03)
    raft = lrdoctor.recommend(regime="rlvr", sft_lr=2e-4)
    assert raft.lr == pytest.approx(2e-4 / 4) and raft.confidence == "low"
    assert any("hypothesis" in x.source for x in raft.reasons)
    assert "cycle" in raft.schedule
    assert lrdoctor.recommend(regime="ppo").lr == pytest.approx(3e-4)
    dqn = lrdoctor.recommend(regime="dqn")
    assert dqn.lr == pytest.approx(1e-4) and dqn.range[1] < 3e-3  # post-mortem #5's 3e-3 is outside
    ppo_gru = lrdoctor.recommend(regime="ppo", arch="gru")
    assert ppo_gru.warmup.needed and "three-phase" in ppo_gru.schedule


def test_warmup_length_from_beta2_and_run_length():
    assert lrdoctor.recommend(arch="transformer", optimizer="adam", beta2=0.98).warmup.steps == 100
    short = lrdoctor.recommend(arch="transformer", optimizer="adam", total_steps=3000)
    assert short.warmup.steps == 300  # capped at 10% of a short run


class Tiny(nn.Module):
    def __init__(self, layers=6, d=64):
        super().__init__()
        self.embed = nn.Linear(10, d)
        self.body = nn.TransformerEncoder(nn.TransformerEncoderLayer(d, 4, 128, batch_first=True), layers,
                                          enable_nested_tensor=False)
        self.head = nn.Linear(d, 3)


def test_real_module_is_inspected():
    m = Tiny()
    d = describe_module(m)
    assert d.params == sum(p.numel() for p in m.parameters())
    assert d.arch == "transformer" and d.layers == 6 and d.has_attention
    r = lrdoctor.recommend(model=m, optimizer="adam", regime="alphazero")
    assert r.lr == 1e-3 and r.description.params == d.params
    deep = lrdoctor.recommend(model=Tiny(layers=12), optimizer="adam")
    assert deep.lr == pytest.approx(5e-4)
    rnn = describe_module(nn.Sequential(nn.LSTM(8, 16, num_layers=3)))
    assert rnn.arch == "recurrent" and rnn.layers == 3
    assert lrdoctor.recommend(model=nn.LSTM(8, 16), optimizer="adam").warmup.needed
    mlp = describe_module(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)))
    assert mlp.arch == "mlp" and mlp.layers == 2


def test_parse_count():
    assert parse_count("4.9M") == 4_900_000 and parse_count("125k") == 125_000 and parse_count(7) == 7
    with pytest.raises(ValueError, match="'params'"):
        parse_count("lots")


def test_bad_input_is_one_line_and_exit_2():
    with pytest.raises(ValueError, match="'regime' parameter must be one of"):
        lrdoctor.recommend(regime="supervised-ish")
    p = subprocess.run([sys.executable, "-m", "lrdoctor", "recommend", "--params", "many"], capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "'params'" in p.stderr
