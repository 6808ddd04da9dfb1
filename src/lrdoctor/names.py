"""Canonical metric names (roles) and how raw column names are matched to them.

Readers keep every column under its own name; :func:`resolve_aliases` decides which raw
column plays each role. Two passes:

1. **Aliases**: an ordered table of the names real tools write (HF, Lightning, Keras,
   YOLO, SB3, baselines, CleanRL, keras-rl, RLlib, fairseq, MLX, nanoGPT, TensorBoard tags).
   Matching ignores case and separators (``Loss/train`` = ``loss_train`` = ``loss.train``).
   When several candidates are present the first listed wins.
2. **Inference** for the roles still unfilled: token rules (:data:`ROLE_RULES`) on the
   split name, e.g. any ``*loss*`` column without an evaluation word is a training-loss
   candidate. Candidates with fewer extra words win (``loss`` over ``box_loss``).

A user overrides either pass with ``roles={"loss": "my_col"}`` (``--metric loss=my_col``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable

__all__ = [
    "ALIASES", "Alias", "normalize", "tokens", "resolve_aliases", "RL_MARKERS", "ROLES", "ROLE_RULES",
    "TRAINING_ROLES", "STEP_NAMES", "GAN_ROLES", "GAN_TERMS", "loss_term_kind", "SPLIT_WORDS", "EVAL_WORDS",
    "TEXT_SCORE_WORDS", "is_generated_length", "DETECTION_SCORE_WORDS", "is_f_beta", "is_preference_statistic",
    "SOURCE_SEPARATION_WORDS",
]

#: the words that name a data split in a metric's name or a run's ("validation_loss", "Train
#: Accuracy", a TensorBoard run ``validation``)
SPLIT_WORDS = frozenset({"train", "training", "validation", "valid", "val", "eval", "test"})

#: the words that name a column as an evaluation's ("eval mean loss", "val_auc", "dev_f1")
EVAL_WORDS = frozenset({"eval", "evaluation", "val", "valid", "validation", "test", "dev"})

#: the words of a score of generated text against a reference, as a sequence-to-sequence model's
#: ``compute_metrics`` logs them (ROUGE, BLEU, chrF, METEOR)
TEXT_SCORE_WORDS = frozenset({"rouge", "rouge1", "rouge2", "rougel", "rougelsum", "bleu", "sacrebleu", "chrf", "meteor"})


def is_generated_length(name: str) -> bool:
    """True for a column of the mean generated length (HF's ``gen_len``, ``eval_gen_len``, ``Gen
    Len``): the words ``gen``/``generated`` and ``len``/``length`` in its name."""
    words = set(tokens(name))
    return bool(words & {"gen", "generated"}) and bool(words & {"len", "length"})


@dataclass(frozen=True)
class Alias:
    """A raw metric name and the factor that turns it into the canonical one.

    ``scale=-1`` is for stable-baselines3's ``train/entropy_loss``, which is minus the
    policy entropy.
    """

    raw: str
    scale: float = 1.0


def _a(*names: str) -> tuple[Alias, ...]:
    return tuple(Alias(n) for n in names)


#: canonical name -> aliases in order of preference (any spelling: compared after normalize()).
ALIASES: dict[str, tuple[Alias, ...]] = {
    "loss": _a(
        "loss", "train_loss", "train/loss", "training_loss", "train_loss_step", "train/loss_step",
        "loss_step", "train/loss_epoch", "train_loss_epoch", "total_loss", "train/total_loss",
        "Loss/train", "Train/Loss", "loss/total", "losses/total_loss", "mean_loss", "avg_loss", "average_loss",
        "objective", "loss_end", "train/loss_total", "lm_loss", "train/lm_loss", "nll_loss", "train_nll",
        "losses/td_loss", "td_loss", "train/td_loss", "train/loss_avg", "running_loss", "batch_loss",
        "closs",  # LLaMA2-Accessory's MetricLogger: the causal-LM loss
        "lossvalue",  # insightface's MXNet metric of its triplet and softmax losses ("lossvalue=0.174548")
        "all_loss", "loss_all", "overall_loss",  # the sum of a detector's parts (DFace's MTCNN trainer)
        "l_pix", "l_g_pix",  # BasicSR/NAFNet (and ESRGAN's generator): the pixel (L1/L2) loss, the main objective
        "train/objective",  # MatConvNet's cnn_train: info.train.objective, the network's objective (io/matconvnet.py)
        "tot",  # CenterTrack's log.txt: "epoch: 1 |tot 8.034233 | hm 0.780280 | ..." (the total of its heads)
        # an actor-critic's critic regression (its TD loss): SB3 SAC/TD3, CleanRL SAC, Acme
        "train/critic_loss", "critic_loss", "losses/qf_loss", "qf_loss",
    ),
    "eval_loss": _a(
        "eval_loss", "val_loss", "eval/loss", "val/loss", "valid_loss", "validation_loss",
        "val_loss_epoch", "validation/loss", "Loss/val", "Loss/valid", "Loss/test", "Val/Loss", "test_loss",
        "valid/loss", "dev_loss", "eval/lm_loss", "val/lm_loss",
        "val/objective",  # MatConvNet's cnn_train: info.val.objective (io/matconvnet.py)
    ),
    "lr": _a(
        "lr", "learning_rate", "train/learning_rate", "train/lr", "lr-adamw", "lr-adam", "lr-sgd",
        "lr/pg1", "x/lr1", "lr/pg0", "x/lr0", "optimizer/lr", "lr_0", "learning rate", "charts/learning_rate",
        "train/lr_0", "lr/group0", "lr-AdamW", "info/learner/default_policy/learner_stats/cur_lr", "cur_lr",
    ),
    "scheduled_lr": _a("scheduled_lr", "sched_lr", "scheduler_lr", "lr_scheduled"),
    "grad_norm": _a(
        "grad_norm", "train/grad_norm", "gradient_norm", "grad_norm_total", "total_norm", "gnorm",
        "avg_grad_norm", "grad_norm/total", "train/gradient_norm", "train/gnorm", "grad-norm", "norm",
        "info/learner/default_policy/learner_stats/grad_gnorm", "grad_gnorm",
        "grad",  # Demucs-family loggers (HT-Demucs, SCNet): "Train Summary | Epoch 2 | Loss=0.1857 | Grad=16170.3185"
    ),
    "max_grad_norm": _a("max_grad_norm", "grad_clip", "clip_grad_norm", "gradient_clip_val", "clip_norm"),
    "clip_coef": _a("clip_coef", "grad_clip_coef", "clip_coefficient", "clip_scale"),
    "grad_clip_fraction": _a("grad_clip_fraction", "clipped_fraction", "grad_clipped", "clip_rate", "grad_clip_rate", "clip_pct"),
    "epoch": _a("epoch", "train/epoch", "epochs"),
    "update_ratio": _a("update_ratio", "update_to_weight", "update/weight", "train/update_ratio"),
    # Reinforcement learning (stable-baselines3, baselines, CleanRL, keras-rl, RLlib, look-alikes).
    "approx_kl": _a(
        "approx_kl", "train/approx_kl", "losses/approx_kl", "approxkl", "loss/approxkl",
        "info/learner/default_policy/learner_stats/kl", "learner_stats/kl", "approx_kl_div", "mean_kl",
        "actor/ppo_kl", "ppo_kl",  # verl (PPO/GRPO for LLMs): the update's approximate KL
    ),
    "clip_fraction": _a("clip_fraction", "train/clip_fraction", "losses/clipfrac", "clipfrac", "loss/clipfrac"),
    "entropy": (
        Alias("entropy"), Alias("losses/entropy"), Alias("train/entropy"), Alias("policy_entropy"),
        Alias("loss/policy_entropy"), Alias("info/learner/default_policy/learner_stats/entropy"),
        Alias("train/entropy_loss", -1.0), Alias("entropy_loss", -1.0),
        Alias("loss_ent"),  # baselines PPO1 logs the mean entropy itself under loss_ent
    ),
    "value_loss": _a(
        "value_loss", "train/value_loss", "losses/value_loss", "vf_loss", "loss/value_loss",
        "info/learner/default_policy/learner_stats/vf_loss", "loss_vf_loss",
        "value_function_loss", "mean_value_function_loss",  # rsl_rl: "Mean value_function loss: 0.01"
    ),
    "policy_loss": _a(
        "policy_loss", "train/policy_loss", "losses/policy_loss", "train/policy_gradient_loss", "pg_loss",
        "loss/policy_loss", "info/learner/default_policy/learner_stats/policy_loss", "loss_pol_surr",
        "surrogate_loss", "mean_surrogate_loss",  # rsl_rl: "Mean surrogate loss: -0.01"
    ),
    "explained_variance": _a(
        "explained_variance", "train/explained_variance", "losses/explained_variance", "vf_explained_var",
        "info/learner/default_policy/learner_stats/vf_explained_var",
        "ev_tdlam_before",  # baselines PPO1/TRPO: explained variance of the TD(lambda) returns
    ),
    "ep_return": _a(
        "rollout/ep_rew_mean", "charts/episodic_return", "episode_reward", "ep_rew_mean", "eprewmean",
        "ep_r",  # MorvanZhou's RL tutorials print "Ep: 12 | Ep_r: -153.2"
        "episode_reward_mean", "train_return", "episodic_return", "return", "reward", "mean_reward",
        "ep_reward", "episode_return", "avg_reward", "average_reward", "total_reward",
        "env_runners/episode_return_mean", "Train/Reward", "Reward/train",
        "meanrew", "avgrew", "avgr",  # camelCase "MeanRew", "avgR" once a text log's keys are lower-cased (DeepRM, DeepQLearning.jl)
        "smo_r", "epi_r", "smor", "epir",  # ElegantRL's early console: "SmoR: -106  EpiR -120" (smoothed, then episode return)
    ),
    "eval_return": _a(
        "eval/mean_reward", "test_return", "eval_return", "eval/episodic_return", "eval/true_reward",
        "eval_reward", "evaluation/episode_reward_mean", "test_reward", "eval/episode_reward", "Test/Reward",
    ),
    "q_values": _a(
        "q_values", "losses/q_values", "train/q_values", "q_mean", "train/q_mean", "mean_q", "avg_q",
        "average_q", "q_value", "mean_q_value", "avg_q_value", "qvalue", "q_val", "mean_qvalue",
    ),
    "q_max": _a("q_max", "train/q_max", "losses/q_max", "max_q", "qmax", "max_q_value"),
    "q_min": _a("q_min", "train/q_min", "losses/q_min", "min_q", "qmin", "min_q_value"),
    "q_range": _a("q_range", "train/q_range", "losses/q_range", "q_spread"),
    "success_rate": _a("success_rate", "rollout/success_rate", "eval/success_rate", "charts/success_rate"),
    "eval_accuracy": _a(
        "eval_accuracy", "val_acc", "val_accuracy", "eval/accuracy", "val/acc", "valid_acc", "valid_accuracy",
        "validation_accuracy", "eval_acc", "Accuracy/val", "val/accuracy",
        "dev_score",  # spaCy's "spacy train" table: SCORE, the weighted dev-set score of its components
        # a test figure yields to a validation curve (rasbt prints "valid accuracy" per epoch, "test accuracy" once)
        "test_acc", "test_accuracy", "Accuracy/test",
        "metrics/mAP50-95(B)", "metrics/mAP_0.5:0.95", "metrics/mAP50(B)", "metrics/mAP_0.5",
        "metrics/accuracy_top1",
        "coco/bbox_mAP", "bbox_mAP", "coco/segm_mAP", "segm_mAP",  # mmdetection/mmengine "Epoch(val)" lines
        "pseudo_dice", "average_global_foreground_dice",  # nnU-Net v2 / v1: validation Dice, per epoch
    ),
    "task_metric": _a("task_metric", "accuracy", "acc", "train_acc", "train_accuracy", "Accuracy/train", "f1"),
    "cycle": _a("cycle", "generation", "round", "raft_cycle", "iteration_cycle"),
    # GANs: the two players' losses (Keras GAN examples, DCGAN/CycleGAN/pix2pix loggers)
    "d_loss": _a("d_loss", "loss_d", "discriminator_loss", "dis_loss", "disc_loss", "loss_dis", "loss_disc",
                 "errD", "train/d_loss", "loss/d", "d/loss"),
    # mixed precision: the loss scale at which an fp16 step overflowed, and the scale the dynamic
    # scaler set after it (DeepSpeed's "OVERFLOW! ... Attempted loss scale: 1, reducing to 1")
    "overflow_scale": _a("overflow_scale"),
    "overflow_scale_next": _a("overflow_scale_next"),
    "g_loss": _a("g_loss", "loss_g", "generator_loss", "gen_loss", "loss_gen", "errG", "train/g_loss", "loss/g", "g/loss"),
}

#: Every role a column can play (the keys of :data:`ALIASES` plus ``step``).
ROLES: tuple[str, ...] = ("step", *ALIASES)

#: Roles that hold a training signal; a log with none of them cannot be diagnosed.
TRAINING_ROLES = (
    "loss", "eval_loss", "grad_norm", "ep_return", "eval_return", "approx_kl", "q_values", "q_max",
    "q_range", "entropy", "value_loss", "policy_loss", "eval_accuracy", "task_metric", "success_rate",
    "explained_variance", "d_loss", "g_loss", "overflow_scale",
)

#: Roles of a GAN's two players; a run that logs both is adversarial (:attr:`Run.is_gan`).
GAN_ROLES = ("d_loss", "g_loss")

#: words of a GAN generator's extra loss terms: feature matching and VGG perceptual losses
#: (pix2pixHD, SPADE/GauGAN), one more term of the game, not an objective of the run's own
GAN_TERMS = frozenset({"feat", "vgg", "perceptual", "fm"})

#: Canonical names whose presence marks a reinforcement-learning run. Supervised loss
#: detectors do not judge an RL run's ``loss``: a TD or PPO loss may rise while the agent
#: improves (its targets move with the returns).
RL_MARKERS = ("ep_return", "eval_return", "approx_kl", "q_values", "q_max", "q_range", "explained_variance")

#: Step-axis column names (normalised), most specific first, with the unit of one step.
STEP_NAMES: tuple[tuple[str, str], ...] = (
    ("step", "step"), ("global_step", "step"), ("current_steps", "step"), ("train/global_step", "step"),
    ("trainer/global_step", "step"), ("time/total_timesteps", "timestep"), ("total_timesteps", "timestep"),
    ("timesteps_total", "timestep"), ("num_timesteps", "timestep"), ("timesteps", "timestep"),
    ("global_timestep", "timestep"), ("frames", "timestep"), ("total_frames", "timestep"), ("num_frames", "timestep"),
    ("env_steps", "timestep"), ("env_step", "timestep"),  # Tianshou: its benchmark CSVs and TensorBoard x-axis
    ("timestepssofar", "timestep"), ("nb_steps", "timestep"), ("num_env_steps_sampled", "timestep"),
    ("total_t", "timestep"),  # the TD3 authors' "Total T: 10000 Episode Num: 12 ..." (and the repositories that copy it)
    ("train_step", "step"), ("training_step", "step"), ("completed_step", "step"), ("global_steps", "step"),
    ("iteration", "step"), ("iter", "step"), ("it", "step"), ("iters", "step"), ("num_updates", "update"),
    ("train/n_updates", "update"), ("update", "update"), ("updates", "update"), ("nupdates", "update"),
    ("learning_iteration", "update"),  # rsl_rl's "Learning iteration 8391/10000"
    ("training_iteration", "update"), ("batch", "step"), ("episode", "episode"), ("episodes", "episode"),
    ("epoch", "epoch"), ("cycle", "cycle"), ("generation", "cycle"),
    ("itn", "epoch"),  # spaCy v2's "spacy train" table: one "Itn" row per pass over the training data
    ("boosting_round", "round"),  # gradient boosting (XGBoost, LightGBM, CatBoost)
    ("example_counter", "example"),  # Vowpal Wabbit's progress table: examples seen (online learning)
    ("steps", "step"),  # HiFi-GAN's "Steps : 5, Gen Loss Total : ..." (last: an RL line's "steps: 200" is an episode's length)
    ("round", "round"),  # federated learning's communication rounds ("ROUND 3", Flower's "round 3"), when nothing finer is logged
)

_SEP = re.compile(r"[\s\-_/.:]+")


def normalize(name: str) -> str:
    """Case- and separator-blind spelling: ``'Loss/train'``, ``'loss-train'``, ``'LOSS.train'`` -> ``'loss_train'``."""
    return _SEP.sub("_", name.strip().lower()).strip("_")


#: misspellings that trainers print and many repositories copied, read as the word meant:
#: crnn.pytorch's "Test loss: %f, accuray: %f", in its forks and the CRNN ports that copied it
_MISSPELT = {"accuray": "accuracy"}


def tokens(name: str) -> list[str]:
    """The words of a column name (``'train/box_loss'`` -> ``['train', 'box', 'loss']``); camelCase is split too."""
    # "mAP" is one word, not camelCase (mean average precision: "mAP@0.5", "val_mAP"); "@" parts
    # an IoU threshold from its metric ("Map@0.50" -> map, 0, 50)
    # (and a digit before a capitalised word: Trax's "L2Loss" is l2 + loss, "E2E" stays one word)
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[0-9])(?=[A-Z][a-z])", "_", re.sub(r"(?<![A-Za-z])mAP", "map", name.strip()))
    ts = [t for t in normalize(spaced.replace("@", "_")).split("_") if t]
    ts = [w for t in ts for w in _unfuse(t)]
    ts = [_MISSPELT.get(t, t) for t in ts]
    # the plural a hand-written loop names its list by ("train_losses.append(loss)"): one loss per
    # entry; a bare "losses" stays a word (nlpia2's char-RNN history keeps 1 - accuracy under it)
    if len(ts) > 1 and "losses" in ts:
        ts = ["loss" if t == "losses" else t for t in ts]
    if "l" in ts:
        ts = _loss_letter(spaced, ts)
    for i in range(len(ts) - 1):
        # (and its abbreviation "CrossE" / "cross_e", the tf.Print label of TensorFlow 0.x
        # tutorials' cross-entropy: "e" alone after "cross" is no other word)
        if ts[i] == "cross" and ts[i + 1] in ("entropy", "e"):  # CNTK's "CrossEntropy loss": a loss, not a policy entropy
            ts[i:i + 2] = ["xent"]
            break
    for i in range(len(ts) - 2):
        # a negative log-likelihood spelt out (TFP's "Training negative log-likelihood: 344.790"): the NLL
        if ts[i] in ("negative", "neg") and ts[i + 1] == "log" and ts[i + 2] in ("likelihood", "lik", "prob", "probability"):
            ts[i:i + 3] = ["nll"]
            break
    return ts


_EVAL = {"val", "valid", "validation", "eval", "evaluation", "test", "dev", "holdout", "cv", "va"}  # cv: speech recipes' cross-validation set; va: LIBMF's "va_rmse" beside "tr_rmse"

#: Figures whose name a split word is fused to ("trainloss", "valloss", "testacc"), and the split
#: words that fuse; single letters only pair up (see :func:`_letter_pairs`).
_FUSED_BASES = ("loss", "acc", "accuracy", "cost", "err", "error")
_FUSED_SPLITS = frozenset({"train", "training", "trn", "tr", "val", "valid", "validation", "eval", "test", "dev"})


def _unfuse(t: str) -> list[str]:
    """``"valloss"`` -> ``["val", "loss"]``: a split word fused to the figure it qualifies."""
    for base in _FUSED_BASES:
        if t.endswith(base) and t[: -len(base)] in _FUSED_SPLITS:
            return [t[: -len(base)], base]
    return [t]


#: COCO's average precision and recall, whose evaluator reports them per object size, small /
#: medium / large: mmdet's "bbox_mAP_s", "bbox_mAP_m", "bbox_mAP_l" (and pycocotools' "APs", "APl")
DETECTION_SCORE_WORDS = frozenset({"map", "ap", "ar", "mar"})


def _loss_letter(raw: str, ts: list[str]) -> list[str]:
    """``L`` is the loss of the formulas: a capital ``L`` word names a loss (SparK's ``train_L``,
    ``last_L``); a small ``l`` only beside a split word (PNGAN's ``g_trn_l``), since alone it is
    as likely a length (SB3's Monitor ``l``: the episode's length). Never after a detection score
    (:data:`DETECTION_SCORE_WORDS`): there it is COCO's "large" size bucket, and mmdet's
    ``bbox_mAP_l`` filed under a validation prefix (``val_bbox_map_l``) is the mAP of large objects,
    not a validation loss."""
    capital = [w for w in re.split(r"[^A-Za-z0-9]+", raw) if w]
    split = any(t in _FUSED_SPLITS for t in ts)
    if len(capital) != len(ts) or DETECTION_SCORE_WORDS & set(ts):
        return ts  # the words did not split the same way (camelCase, "@"), or a score's size bucket: leave them
    return ["loss" if t == "l" and (w == "L" or split) else t for w, t in zip(capital, ts)]


def _letter_pairs(words: dict[str, list[str]]) -> None:
    """Read "t"/"v" as train/validation where both spellings of one figure are logged ("tloss"
    and "vloss", "t_acc" and "v_acc": jeffheaton's early-stopping loops). Alone, a "v" is as
    likely the value of an actor-critic ("v_loss" beside "pi_loss"), so only a pair counts."""
    norms = {raw: normalize(raw).replace("_", "") for raw in words}
    by = {n: raw for raw, n in norms.items()}
    for raw, n in norms.items():
        if n[:1] == "t" and n[1:] in _FUSED_BASES and "v" + n[1:] in by:
            words[raw] = ["train", n[1:]]
            words[by["v" + n[1:]]] = ["val", n[1:]]
#: tokens of a running best, not a current value
_BEST = {"min", "best", "lowest", "minimum"}

#: the words of a running best of a higher-is-better score ("highest_mrr", "best_bleu"): no evaluation
#: of the weights as they stand
_RUNNING_BEST = ("best", "max", "highest", "maximum")
#: The words that name a running best of a score in every role's column: "best" and "highest" say the
#: figure is the maximum reached so far (nnU-Net's "Yayy! New best EMA pseudo Dice", Pointcept's
#: "best_miou", a Keras loop's "best_val_acc"), monotone by construction: it never falls, so no fall,
#: plateau or reversal judgment on it means anything, and the score a rule would take it for is the
#: current one beside it. ("max" stays out: "max_accuracy" is as often the best threshold of the
#: evaluation at hand, keras-insightface's LFW "max_accuracy", as a running best.)
RUNNING_BEST_SCORE_WORDS = frozenset({"best", "highest"})

#: the roles that hold a higher-is-better score of the current weights: a running best
#: (:data:`RUNNING_BEST_SCORE_WORDS`) fills none of them
SCORE_ROLES = frozenset({"eval_accuracy", "task_metric"})


def is_running_best_score(ts: list[str]) -> bool:
    """True for a score named as the best so far (``best_pseudo_dice``, ``best_val_acc``): see
    :data:`RUNNING_BEST_SCORE_WORDS`."""
    return bool(RUNNING_BEST_SCORE_WORDS & set(ts))


#: The words of a trading environment's summary (FinRL's "begin_total_asset", "end_total_asset",
#: "total_trades", "Sharpe"): beside them a "cost" column ("total_cost") is the transaction cost the
#: trades paid (FinRL's env_stocktrading: ``cost += price * shares * transaction_cost_pct``), a
#: money figure of the episode, not a loss the optimiser descends.
TRADING_WORDS = frozenset({"trades", "asset", "portfolio", "sharpe"})


def _trading_cost(t: list[str], trading: bool) -> bool:
    """True for a "cost" column whose only loss word is "cost", in a log whose other columns name a
    trading environment (``trading``: :data:`TRADING_WORDS`): a transaction cost, not a loss."""
    return trading and "cost" in t and not _has(t, *(w for w in _LOSS_WORDS if w != "cost"))


_RL_LOSS = {"policy", "pol", "entpen", "value", "vf", "pg", "entropy", "ent", "coef", "actor", "critic", "alpha", "kl", "q", "qf", "temperature"}
#: The suffix of the column a text reader adds beside a per-class metric printed as a list whose
#: entries are partly or wholly non-finite ("Pseudo dice [0.0, nan, nan, 0.0]", an HF card's
#: "Per Category Accuracy" cell "[nan, 0.9943]"): how many classes the metric was undefined for at
#: that report. The metric's own column is the mean of its finite entries, so the NaN would
#: otherwise be lost; ``nonfinite`` reads this column.
UNDEFINED_CLASSES_SUFFIX = "_nan_classes"

#: words of a quantity named after the loss that is no loss: the fp16 loss scale (DeepSpeed's
#: "loss scale", Megatron's "loss_scale") multiplies the loss; it is not one; nor is its
#: exponential (Megatron's "lm loss PPL"), which perplexity_column reads as such
_NOT_A_LOSS = {"scale", "scaler", "ppl", "perplexity"}
_AUX = {"box", "cls", "dfl", "obj", "seg", "aux", "reg", "mask", "rpn", "l1", "giou", "bbox", "kd", "z", "moe",
        "router", "balance", "contrastive", "recon", "recons", "reconstruction", "kld", "perceptual", "gen", "disc", "g", "d",
        "generator", "discriminator", "adv", "adversarial", "gan", "dg"}
#: timer/throughput words ("per" is none: CNTK's TrainLossPerSample, AvgLearningRatePerSample;
#: "samples_per_second" is caught by its other words)
_TIME = {"time", "ms", "sec", "secs", "seconds", "speed", "throughput", "elapsed", "eta", "mem", "memory", "tflops",
         "mfu", "tokens", "samples", "s"}

#: the stages PaddlePaddle's trainers (PaddleSeg, PaddleDetection, PaddleOCR, PaddleClas) time
#: under a "cost": "batch_cost: 0.4066, reader_cost: 0.00017, ips: 9.8 samples/sec" and
#: "batch_cost: 2.0325 data_cost: 1.2" are the seconds a batch and its loading took
_TIMED_STAGES = frozenset({"batch", "reader", "data"})


def _timer_cost(t: list[str]) -> bool:
    """True for Paddle's timers named as a stage's "cost" (``batch_cost``, ``reader_cost``,
    ``data_cost``, their averages): the two words and no other loss word, so "batch loss cost"
    or a "data_loss" term stays a loss."""
    return "cost" in t and bool(_TIMED_STAGES & set(t)) and not _has(t, *(w for w in _LOSS_WORDS if w != "cost"))


@dataclass(frozen=True)
class RoleRule:
    """Infer ``role`` for a column whose words satisfy ``match`` (only when no alias filled it)."""

    role: str
    match: Callable[[list[str]], bool]


#: the words that name COCO's evaluator or the task it scores: detectron2's "bbox/AP", "segm/AP",
#: "keypoints/AP"; mmpose's and mmdet 3's "coco/AP"; PASCAL VOC's "voc/AP50"
_COCO_TASKS = frozenset({"coco", "bbox", "segm", "keypoints", "voc"})

#: the names of music source separation's signal-to-distortion ratio: BSS Eval's SDR and the
#: Music Demixing Challenge's nSDR ("new" SDR, the MDX 2021 ranking score)
SOURCE_SEPARATION_WORDS = frozenset({"sdr", "nsdr"})

#: words that make a column a loss term
_LOSS_WORDS = ("loss", "nll", "xent", "ce", "cost", "logloss", "mlogloss", "nloglik")  # (XGBoost's gamma-nloglik, poisson-nloglik; CNTK's "ce", its tutorials' cross-entropy criterion)


def _has(ts: list[str], *words: str) -> bool:
    return any(w in ts for w in words)


def is_f_beta(ts: list[str]) -> bool:
    """True for an F-beta score's name (``fbeta_score``, a Trainer table's "F Beta"; PII detection
    weighs recall with F5): an F-score like F1, with another weight on recall."""
    return "fbeta" in ts or any(a == "f" and b == "beta" for a, b in zip(ts, ts[1:]))


_DISC = {"d", "dis", "disc", "discriminator", "netd"}
_GEN = {"g", "gen", "generator", "netg", "dg"}  # dg: PaddlePaddle's DCGAN "DG-Loss", the loss of D(G(z))


def _gan_player(t: list[str], player: set[str], parts: set[str]) -> bool:
    """A GAN player's loss: a loss word with the player's word (``loss_D``, ``Dis Loss``), or
    the player's letter with one of its parts and nothing else (CycleGAN's ``D_A``/``G_B``,
    pix2pix's ``D_real``/``G_GAN``)."""
    if _EVAL & set(t) or (_DISC & set(t) and _GEN & set(t)):
        return False  # an evaluation figure, or a pair under one name ("gen/dis_loss")
    if _has(t, *_LOSS_WORDS):
        return bool(player & set(t)) and len(t) <= 3
    return len(t) == 2 and t[0] in player and t[1] in parts


#: words of a preference-tuning statistic (TRL's DPO family: "rewards/chosen", "rewards/margins",
#: "rewards/accuracies"), never an RL return
_PREFERENCE = frozenset({"chosen", "rejected", "margins", "margin", "accuracies"})


def is_preference_statistic(name: str) -> bool:
    """``rewards/chosen``, ``eval_rewards/margins``, ``Rewards/accuracies``: a preference-tuning statistic
    of TRL's DPO family (the implicit rewards of the chosen and rejected answers), whose presence says
    the loss beside it is a pairwise preference loss."""
    t = tokens(name)
    return "rewards" in t and bool(_PREFERENCE & set(t))


def _gan_word(t: list[str]) -> bool:
    """A GAN player's or adversarial term's word: one such term alone is no objective."""
    return bool((_DISC | _GEN | {"adv", "adversarial", "gan"}) & set(t))


#: the words of an error: a share of wrong answers (or a regression error), lower-is-better, never an accuracy
ERROR_WORDS = ("err", "error", "errors")


def _split_norm(t: list[str]) -> bool:
    """Gradient boosting's metrics named after the data set: LightGBM's "training's l2", "valid_1's
    l2" (read as ``training_l2``, ``valid_1_l2``), XGBoost's classification error "train-error",
    "test-merror"; neupy's "Train err" and "Valid err" (its loss function's value). Only a split word,
    an optional index and the metric: a bare "l2" elsewhere is a weight or gradient norm, and an
    error rate of another name is judged as one (WER, CER). LightGBM's ``cv()`` prints the mean over
    the held-out folds as "cv_agg's l1: 0.5987 + 0.0012" (4.x: "cv_agg's valid l1"): a validation's."""
    if t[:2] == ["cv", "agg"] and len(t) in (3, 4):
        t = ["valid", t[-1]] if len(t) == 3 else t[2:]
    return len(t) in (2, 3) and t[-1] in ("l1", "l2", "error", "merror", "err") and t[0] in _FUSED_SPLITS and (len(t) == 2 or t[1].isdigit())


#: Token rules, tried for each role still unfilled after the alias pass.
ROLE_RULES: tuple[RoleRule, ...] = (
    # a running best ("Min_val_loss: 1e10", best_loss) is not the loss of the current weights
    RoleRule("eval_loss", lambda t: _has(t, *_LOSS_WORDS) and bool(_EVAL & set(t)) and not ((_RL_LOSS | _BEST | _NOT_A_LOSS) & set(t)) and not _timer_cost(t)),
    RoleRule("loss", lambda t: _has(t, *_LOSS_WORDS) and not (_EVAL | _RL_LOSS | _AUX | _TIME | _BEST | _NOT_A_LOSS) & set(t) and not _timer_cost(t)),
    # a regression run that logs no "loss" names its objective by the error (DCRNN: train_mae,
    # val_mae); only when no *loss* column filled the role
    RoleRule("eval_loss", lambda t: (_has(t, "mae", "mse", "rmse") or _split_norm(t)) and bool(_EVAL & set(t))),
    RoleRule("loss", lambda t: (_has(t, "mae", "mse", "rmse") or _split_norm(t)) and not (_EVAL | _TIME) & set(t)),
    RoleRule("lr", lambda t: (_has(t, "lr") or ("learning" in t and "rate" in t)) and not _has(t, "scheduled", "sched", "max", "min", "init", "base", "peak")),
    RoleRule("grad_norm", lambda t: (_has(t, "grad", "gradient", "grads") and _has(t, "norm", "l2")) and not _has(t, "max", "clip", "clipped")),
    RoleRule("approx_kl", lambda t: _has(t, "approxkl") or ("approx" in t and "kl" in t)),
    RoleRule("q_values", lambda t: (_has(t, "q", "qvalue", "qvalues", "qval") and _has(t, "mean", "avg", "average", "values", "value", "estimate")) or t == ["q"]),
    # (not one seed's replicate: Tianshou's benchmark CSVs hold "rew", the mean over seeds, beside
    # "rew:seed_0_..._test_rew.csv" for each seed)
    # ...nor a preference-tuning statistic: TRL's DPO/KTO/ORPO "rewards/chosen", "rewards/rejected",
    # "rewards/margins" are the implicit rewards of the chosen and rejected answers, no episode return
    RoleRule("eval_return", lambda t: _has(t, "reward", "return", "rew", "returns", "rewards") and bool(_EVAL & set(t)) and not _has(t, "std", "min", "max", "seed", *_PREFERENCE)),
    RoleRule("ep_return", lambda t: _has(t, "reward", "return", "rew", "eprewmean", "returns", "rewards") and not (_EVAL | {"std", "min", "max", "discounted", "normalized", "seed"} | _PREFERENCE) & set(t)),
    # prec1/prec5: timm's and pytorch/examples' summary.csv "eval_prec1" (precision@1 = top-1 accuracy)
    # (not an error named by its top-k: CNTK's "errTop1", a "val_top1_err" is the share of wrong
    # answers, lower-is-better; see ``is_class_error``)
    RoleRule("eval_accuracy", lambda t: (_has(t, "acc", "ac", "accuracy", "top1", "prec1", "map", "map50", "f1", "auc", "auroc", "iou", "miou") or is_f_beta(t))
             and bool(_EVAL & set(t) or "metrics" in t)
             and not _has(t, *ERROR_WORDS)),
    # image restoration's PSNR/SSIM and segmentation's Dice are higher-is-better evaluation figures
    # (BasicSR/NAFNet print "# psnr: 25.42  # ssim: 0.78" after each validation): an evaluation
    # unless named as a training figure; never a column with a loss word (a "dice_loss")
    RoleRule("eval_accuracy", lambda t: _has(t, "psnr", "ssim", "dice") and "train" not in t and not _has(t, *_LOSS_WORDS)),
    # ...and so is music source separation's signal-to-distortion ratio (BSS Eval's SDR, Vincent,
    # Gribonval & Fevotte 2006; the Music Demixing Challenge's "nSDR", Mitsufuji et al. 2021), in dB,
    # higher-is-better, computed on whole validation tracks (ZFTurbo's trainer: "Instr guitar sdr:
    # <dB> (Std: <dB>)" after each validation; Demucs and SCNet: "valid_nsdr"); never a running best
    # ("new_best_valid_nsdr") nor a loss term (SpeechBrain's "si-snr_loss" is another quantity)
    RoleRule("eval_accuracy", lambda t: _has(t, *SOURCE_SEPARATION_WORDS) and "train" not in t
             and not _has(t, *_LOSS_WORDS, *_RUNNING_BEST)),
    # mean average precision is a ranking over a whole dataset (COCO's and VOC's evaluators): no
    # trainer computes it on its training batches, so a bare "map"/"mAP@0.5" is an evaluation
    # (ultralytics/yolov3's results.txt "map" column, SuperGradients' "Map@0.50")
    RoleRule("eval_accuracy", lambda t: _has(t, "map", "map50", "map5095") and "train" not in t and not _has(t, *_LOSS_WORDS)),
    # ...and so is the area under the ROC curve, a ranking of every example of a set against every
    # other (Hanley & McNeil 1982): it exists only for the whole set with both classes in it, so a
    # bare "auc"/"AUROC" is the evaluation's unless named as the training side's (Keras' "auc" beside
    # its "val_auc", which the rule above has already taken; Skip-GANomaly's test "AUC" per epoch)
    RoleRule("eval_accuracy", lambda t: _has(t, "auc", "auroc") and not _has(t, "train", "training", "trn") and not _has(t, *_LOSS_WORDS)),
    # ...and so is COCO's "AP" where the name says it is the evaluator's: detectron2's metrics.json
    # "bbox/AP", "segm/AP50", mmpose's and mmdet 3's "coco/AP" (no trainer computes it on training
    # batches either); a bare "ap" alone may be anything, so only beside the task or the evaluator
    RoleRule("eval_accuracy", lambda t: _has(t, "ap", "ap50", "ap75") and bool(_COCO_TASKS & set(t) or _EVAL & set(t))
             and "train" not in t and not _has(t, *_LOSS_WORDS)),
    # ...and so are the scores of generated text against references (ROUGE, BLEU, METEOR, chrF,
    # SQuAD's exact match): they need the model to generate, which only an evaluation loop does
    # (HF Seq2SeqTrainer's results table: "Rouge1 | Rouge2 | Rougel | Rougelsum | Gen Len")
    # (and the ranking metrics of retrieval and recommendation, NDCG and MRR at a cut-off: a ranking
    # of held-out queries or items, which sentence-transformers' and RecBole's evaluators compute:
    # "dev_mrr_dot_ndcg@10", "ndcg@10", "mrr@5")
    RoleRule("eval_accuracy", lambda t: (_has(t, "rouge", "rouge1", "rouge2", "rougel", "rougelsum", "bleu", "sacrebleu", "meteor", "chrf", "chrf++",
                                              "ndcg", "mrr")
                                         or ("exact" in t and "match" in t))
             and "train" not in t and not _has(t, *_LOSS_WORDS, *_RUNNING_BEST)),
    # ...and the correlations GLUE and STS report at evaluation (run_glue's "eval_spearmanr",
    # "eval_pearson", CoLA's "eval_matthews_correlation"; SimCSE's "eval_stsb_spearman"), when
    # named as an evaluation's
    RoleRule("eval_accuracy", lambda t: _has(t, "spearman", "spearmanr", "pearson", "pearsonr", "matthews", "mcc")
             and bool(_EVAL & set(t)) and not _has(t, *_LOSS_WORDS)),
    # (the training side's figure: an evaluation's second metric, "eval_f1" beside "eval_accuracy",
    # is no training accuracy for the generalisation-gap rule to compare with)
    # (a correlation or agreement score printed on the training lines with no split named, as a
    # custom GLUE loop's "mcc=  0.000000" beside its loss: a score, not a loss)
    RoleRule("task_metric", lambda t: (_has(t, "acc", "accuracy", "accuracies", "top1", "prec1", "map", "map50", "f1", "success", "auc", "auroc", "miou")
             or is_f_beta(t)
             or (_has(t, "psnr", "ssim", "dice", "matthews", "mcc", "kappa", "spearman", "spearmanr", "pearson", "pearsonr")
                 and not _has(t, *_LOSS_WORDS))) and not _EVAL & set(t) and not _has(t, *ERROR_WORDS)),
    RoleRule("d_loss", lambda t: _gan_player(t, _DISC, {"a", "b", "real", "fake", "x", "y"})),
    RoleRule("g_loss", lambda t: _gan_player(t, _GEN, {"a", "b", "gan", "adv", "x", "y"})),
)


def loss_term_kind(raw: str) -> str | None:
    """``"train"`` for a training loss term, ``"eval"`` for an evaluation loss, None for anything
    else, a running best (``best_loss``, ``min_val_loss``), an fp16 loss scale, an RL term or a
    timer included (the same words the role rules use)."""
    t = tokens(raw)
    if not _has(t, *_LOSS_WORDS) or (_RL_LOSS | _BEST | _NOT_A_LOSS | _TIME) & set(t) or _timer_cost(t):
        return None
    return "eval" if _EVAL & set(t) else "train"


def _is_time(ts: list[str]) -> bool:
    return bool(_TIME & set(ts)) or _timer_cost(ts)


def perplexity_column(raw_names: Iterable[str], evaluation: bool) -> str | None:
    """A perplexity column (``ppl``, ``train_perplexity``; ``val_ppl``, ``eval_perplexity`` when
    ``evaluation``), the exponential of a cross-entropy: a log that prints only perplexity
    (TF NMT, WeNet-style LM prints) is judged on its logarithm, the loss it exponentiates."""
    for raw in raw_names:
        t = tokens(raw)
        if not _has(t, "ppl", "perplexity") or _has(t, "best", "min", "max") or (_RL_LOSS | _TIME) & set(t):
            continue
        if bool(_EVAL & set(t)) == evaluation:
            return raw
    return None


def _training_twin(eval_raw: str, words: dict[str, list[str]], used: set[str]) -> str | None:
    """The column named as the evaluation loss less its split word ("SmoothL1Loss" for
    "SmoothL1Loss_val", "loss_l1" for "val_loss_l1"), when exactly one has a loss word: tried
    after the plain loss rule found nothing, before a regression error (MAE) is taken for the loss.
    Never a GAN player's or an RL term (a "d_trn_l" beside "val_d_loss" is the critic's)."""
    base = [w for w in words[eval_raw] if w not in _EVAL]
    twins = [raw for raw, t in words.items() if raw not in used and raw != eval_raw and _has(t, *_LOSS_WORDS)
             and [w for w in t if w not in ("train", "training", "trn", "tr")] == base
             and not (_EVAL | _RL_LOSS | _TIME | _BEST | _NOT_A_LOSS) & set(t) and not _gan_word(t)]
    return twins[0] if len(twins) == 1 else None


def resolve_aliases(raw_names: Iterable[str], explicit: dict[str, str] | None = None,
                    never_finite: Iterable[str] = (), empty: Iterable[str] = ()) -> dict[str, tuple[str, float]]:
    """Map roles to ``(raw column, scale)`` for the raw columns present.

    ``explicit`` (role -> raw column) is applied first and always wins. Then the alias
    table, then :data:`ROLE_RULES` for roles still unfilled. A column in ``never_finite``
    (NaN on every row it was logged) is no candidate of the word rules for a loss role when
    another column with a loss word is finite: a guessed loss that was never computed, beside
    terms that were, is a term the run does not train on (DAFormer's
    ``src.loss_imnet_feat_dist: nan`` beside a falling ``decode.loss_seg``). The alias table
    still names a NaN ``loss`` or ``total_loss``: that is the objective, and it blew up. A column
    in ``empty`` (no row kept: its rows had no step) plays no role, so the next alias can (an SB3
    table cut above its ``train/`` header leaves a bare ``loss`` that the cut dropped).

    >>> resolve_aliases(["Step", "Loss/train", "train/learning_rate"])["loss"]
    ('Loss/train', 1.0)
    """
    empty = set(empty)
    # (a count of a per-class metric's undefined classes plays no role: ``UNDEFINED_CLASSES_SUFFIX``)
    raw_names = [r for r in raw_names if r not in empty and not r.endswith(UNDEFINED_CLASSES_SUFFIX)]
    by_norm: dict[str, str] = {}
    for raw in raw_names:
        by_norm.setdefault(normalize(raw), raw)
    out: dict[str, tuple[str, float]] = {}
    for role, raw in (explicit or {}).items():
        if role != "step":
            out[role] = (raw, 1.0)
    used = {raw for raw, _ in out.values()}
    for canon, aliases in ALIASES.items():
        if canon in out:
            continue
        for alias in aliases:
            raw = by_norm.get(normalize(alias.raw))
            if raw is not None and raw not in used:
                out[canon] = (raw, alias.scale)
                used.add(raw)
                break
    step_norms = {n for n, _ in STEP_NAMES}
    words = {raw: tokens(raw) for raw in raw_names}
    _letter_pairs(words)
    for raw, t in words.items():
        if "cv" in t and ("train" in t or "training" in t):
            # XGBoost's cross-validation "cv-train-logloss": the training folds' figure (the "cv"
            # of speech recipes' "cv_loss" is their held-out set)
            words[raw] = [w for w in t if w != "cv"]
    dead = set(never_finite)
    if not any(raw not in dead and _has(words[raw], *_LOSS_WORDS) for raw in raw_names):
        dead = set()  # every loss term is NaN: the blow-up is the finding
    # ...and per split: an evaluation loss that is NaN at every evaluation is the evaluation's
    # blow-up unless another evaluation loss was computed (an HF card's "Validation Loss: nan"
    # on every row beside a finite training loss is the finding, not a dead auxiliary term)
    live_eval = any(raw not in dead and _has(words[raw], *_LOSS_WORDS) and _EVAL & set(words[raw]) for raw in raw_names)
    # (a trading environment's summary names its transaction cost "total_cost": no loss)
    trading = any(TRADING_WORDS & set(t) for t in words.values())
    loss_rules_tried = 0
    for rule in ROLE_RULES:
        if rule.role == "loss" and "loss" not in out and "eval_loss" in out and loss_rules_tried == 1:
            twin = _training_twin(out["eval_loss"][0], words, used)
            if twin is not None:
                # the evaluated loss's own training column is the objective, whatever its words
                # (NeuralProphet's "SmoothL1Loss" beside "SmoothL1Loss_val", "RegLoss" and "MAE":
                # "l1" marks a box term elsewhere, and a regulariser is never evaluated)
                out["loss"] = (twin, 1.0)
                used.add(twin)
        loss_rules_tried += rule.role == "loss"
        if rule.role in out:
            continue
        cands = [raw for raw in raw_names if raw not in used and normalize(raw) not in step_norms
                 and rule.match(words[raw]) and not (rule.role != "loss" and _is_time(words[raw]))
                 and not (rule.role == "loss" and raw in dead) and not (rule.role == "eval_loss" and raw in dead and live_eval)
                 and not (rule.role in SCORE_ROLES and is_running_best_score(words[raw]))
                 and not (rule.role in ("loss", "eval_loss") and _trading_cost(words[raw], trading))]
        if cands:
            # fewer extra words win; for an evaluation role a "test" column (often one final
            # figure) yields to a validation one ("valid accuracy" per epoch, "test accuracy" once)
            best = min(cands, key=lambda r: (rule.role.startswith("eval") and "test" in words[r],
                                             len(words[r]), raw_names.index(r)))
            out[rule.role] = (best, 1.0)
            used.add(best)
    # a log that prints one loss term and no other loss trains on that term: EDSR names its
    # loss by the function ("[L1: 5.9633]"), a word that elsewhere marks one term of several
    if "loss" not in out:
        terms = [raw for raw in raw_names if raw not in used and _has(words[raw], *_LOSS_WORDS)
                 and not (_EVAL | _RL_LOSS | _TIME | _BEST | _NOT_A_LOSS) & set(words[raw])]
        if len(terms) == 1 and _AUX & set(words[terms[0]]) and not _gan_word(words[terms[0]]):
            out["loss"] = (terms[0], 1.0)
            used.add(terms[0])
    # an episode-indexed log with no named return: its average/score column is the return
    # ("Episode 100  Avg: -20.24  BestAvg: -19.8", "episode 12 score 150")
    if not any(r in out for r in ("ep_return", "eval_return", "loss")) and any(
            normalize(r) in ("episode", "episodes", "ep") for r in raw_names):
        for cand in ("avg", "average", "avg_score", "average_score", "mean_score", "score", "avg_reward", "mean"):
            if cand in by_norm and by_norm[cand] not in used:
                out["ep_return"] = (by_norm[cand], 1.0)
                used.add(by_norm[cand])
                break
    # a bare "kl" (VAE, distillation) or "loss_kl" (VITS, RVC: the VAE's KL term; OpenAI
    # baselines PPO1's pposgd_simple: the update's mean KL(old || new)) is only PPO's
    # approximate KL beside other RL signals
    if "approx_kl" not in out and any(r in out for r in ("ep_return", "entropy", "policy_loss", "value_loss", "clip_fraction")):
        for bare in ("kl", "loss_kl"):
            if bare in by_norm and by_norm[bare] not in used:
                out["approx_kl"] = (by_norm[bare], 1.0)
                break
    # a bare "clip" beside a gradient norm is the share of updates clipped, in percent:
    # fairseq's meter pair ("| clip 100% | gnorm 918.19") and ESPnet2's reporter
    # ("grad_norm=54.606, clip=100.000": 100 when clipped, 0 when not, averaged); alone,
    # "clip" may be a threshold or PPO's clip range
    if ("grad_clip_fraction" not in out and "clip" in by_norm and by_norm["clip"] not in used
            and ("gnorm" in by_norm or "grad_norm" in by_norm)):
        out["grad_clip_fraction"] = (by_norm["clip"], 1.0)
    return out
