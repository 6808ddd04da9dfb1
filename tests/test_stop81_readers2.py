"""Columns that take a role their own name contradicts (stop 81, readers2): each fix on a few
synthetic names, on real logs of the benchmark read in place, and on a healthy twin of the same
shape whose findings must not move.

- a running best of a score (``best_pseudo_dice``, ``best_val_acc``, ``best_miou``,
  ``best_mean_dice``) fills no score role, eval_accuracy or task_metric: it never falls, so every
  fall, plateau and reversal judgment on it is empty (``names.is_running_best_score``);
- a "cost" beside a trading environment's summary (FinRL's ``total_cost`` beside
  ``total_trades``, ``end_total_asset``) is a transaction cost, not a loss
  (``names.TRADING_WORDS``);
- torchrec's final "Test, metrics {...}" holds the test set's figures (``test_*``), not the last
  epoch's again (``key_value._DICT_SPLIT_LEAD``)."""

from pathlib import Path

import lrdoctor
from lrdoctor.io import read
from lrdoctor.io.textlog.key_value import _python_dict
from lrdoctor.names import is_running_best_score, resolve_aliases, tokens

LOGS = Path(__file__).resolve().parents[1] / "bench" / "detection_logs"

NNUNET_BLOWUP = LOGS / "fresh4" / "text-nnunet-issue2290-2d-blowup"
NNUNET_NAN = LOGS / "fresh54" / "nnunet-2357-nan-epoch0"
NNUNET_HEALTHY = LOGS / "fresh139" / "nnunet-1784-epoch29-io-crash"
SPARK_COLLAPSE = LOGS / "fresh97" / "spark-27-resnet50-finetune-collapse" / "train.log"
AERIAL_HEALTHY = LOGS / "fresh197" / "aerial-7cls-resnet50-featext" / "7cls.txt"
TORCHREC = LOGS / "fresh888" / "torchrec-i1057-bert4rec-run1" / "paste.log"
PEFT_HEALTHY = LOGS / "fresh26" / "peft-lora-mrpc-roberta" / "lora_mrpc.log"
FINRL_REVERSAL = LOGS / "fresh91" / "finrl-1348-ddpg-reward-zero" / "train.log"


def _only_file(folder: Path) -> Path:
    files = [p for p in folder.iterdir() if p.is_file()]
    assert len(files) == 1, files
    return files[0]


def _roles(path: Path) -> dict:
    return dict(read(path).meta.roles)


def _warned(path: Path) -> dict[str, str]:
    return {f.kind: f.severity.name for f in lrdoctor.diagnose(str(path)).findings if f.severity.rank >= 1}


# --- (a) the rule on names -------------------------------------------------------------------

def test_a_running_best_is_named_by_best_or_highest_only():
    assert is_running_best_score(tokens("best_pseudo_dice"))
    assert is_running_best_score(tokens("best_val_acc"))
    assert is_running_best_score(tokens("highest_mrr"))
    # "max" is as often the best threshold of the evaluation at hand (keras-insightface's LFW)
    assert not is_running_best_score(tokens("lfw_evaluation_max_accuracy"))
    assert not is_running_best_score(tokens("pseudo_dice"))


def test_a_running_best_fills_no_score_role_and_the_current_score_does():
    roles = resolve_aliases(["epoch", "train_loss", "val_loss", "pseudo_dice", "best_pseudo_dice"])
    assert roles["eval_accuracy"][0] == "pseudo_dice"
    assert "task_metric" not in roles  # the running best is not the training side's score either
    roles = resolve_aliases(["epoch", "train_L", "train_acc", "best_val_acc"])
    assert roles["task_metric"][0] == "train_acc"
    assert "eval_accuracy" not in roles
    assert "task_metric" not in resolve_aliases(["epoch", "loss", "best_miou", "currently_best_miou"])


def test_a_cost_beside_a_trading_summary_is_no_loss():
    trading = ["episode", "begin_total_asset", "end_total_asset", "total_reward", "total_cost", "total_trades", "sharpe"]
    roles = resolve_aliases(trading)
    assert "loss" not in roles
    assert roles["ep_return"][0] == "total_reward"
    # the same word in a classifier's log is its loss (rasbt's notebooks: "Epoch: 001 | Cost: 2.30")
    assert resolve_aliases(["epoch", "cost", "train_acc"])["loss"][0] == "cost"
    assert resolve_aliases(["epoch", "total_cost", "train_acc"])["loss"][0] == "total_cost"


# --- (b) real logs ---------------------------------------------------------------------------

def test_nnunet_reads_its_pseudo_dice_not_the_best_so_far_and_keeps_its_findings():
    """nnU-Net prints "Pseudo dice [...]" and "Yayy! New best EMA pseudo Dice: 0.82": the score
    role is the current Dice; the labelled divergence and nonfinite stay found."""
    for folder, kind in ((NNUNET_BLOWUP, "divergence"), (NNUNET_NAN, "nonfinite")):
        path = _only_file(folder)
        roles = _roles(path)
        assert roles.get("eval_accuracy") == "pseudo_dice"
        assert "best_pseudo_dice" not in roles.values()
        assert kind in _warned(path)


def test_spark_reads_no_frozen_best_as_its_validation_accuracy():
    """SparK's fine-tuning log prints "best_val_acc": 43.54 on every line while train_acc collapses
    25 -> 0.18: the frozen running best made a false slow_progress at step 0; the labelled
    divergence and performance_reversal stay found."""
    roles = _roles(SPARK_COLLAPSE)
    assert "best_val_acc" not in roles.values()
    assert roles["task_metric"] == "train_acc"
    warned = _warned(SPARK_COLLAPSE)
    assert {"divergence", "performance_reversal"} <= set(warned)
    assert "slow_progress" not in warned


def test_finrl_reads_no_transaction_cost_as_its_loss():
    """FinRL's episode summary (begin/end_total_asset, total_reward, total_cost, total_trades):
    the only series judged is the episode's return."""
    roles = _roles(FINRL_REVERSAL)
    assert "loss" not in roles
    assert roles["ep_return"] == "total_reward"


# --- (c) healthy twins -----------------------------------------------------------------------

def test_healthy_twins_stay_silent():
    """A healthy nnU-Net run and a healthy Keras loop that print their running best beside the
    current score: read on the current score, no finding."""
    path = _only_file(NNUNET_HEALTHY)
    assert _roles(path).get("eval_accuracy") == "pseudo_dice"
    assert _warned(path) == {}
    roles = _roles(AERIAL_HEALTHY)
    assert "best_val_acc" not in roles.values()
    assert _warned(AERIAL_HEALTHY) == {}


# --- torchrec's "Test, metrics {...}" ----------------------------------------------------------

def test_a_split_before_a_dict_names_its_figures():
    assert _python_dict("Test, metrics {'Recall@1': 0.125, 'NDCG@5': 0.25}", {}) == {"test_Recall@1": 0.125, "test_NDCG@5": 0.25}
    assert _python_dict("val: {'accuracy': 0.5}", {}) == {"val_accuracy": 0.5}
    # a step before the dict keeps it the training side's record (PEFT's "epoch 0: {...}")
    assert _python_dict("epoch 0: {'accuracy': 0.7}", {}) == {"accuracy": 0.7, "epoch": 0.0}


def test_torchrec_files_its_test_line_apart_from_the_last_epoch():
    """torchrec's BERT4Rec example: "Epoch 100, metrics {... 'NDCG@5': 0.3065 ...}" then "Test,
    metrics {... 'NDCG@5': 0.2468 ...}": epoch 100 keeps its own figure."""
    run = read(TORCHREC)
    assert run.meta.roles["eval_accuracy"] == "NDCG@5"
    ndcg = run.series("NDCG@5")
    assert abs(ndcg.values[-1] - 0.30653970688581467) < 1e-9
    assert abs(run.series("test_NDCG@5").values[-1] - 0.2467787005007267) < 1e-9


def test_peft_epoch_dicts_stay_read_and_silent():
    """A healthy PEFT LoRA run printing "epoch N: {'accuracy': ..., 'f1': ...}": read as before."""
    run = read(PEFT_HEALTHY)
    assert not any(n.startswith(("test_", "val_", "eval_")) for n in run.names if n not in ("eval_accuracy",))
    assert _warned(PEFT_HEALTHY) == {}
