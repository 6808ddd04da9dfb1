"""Line rules for one trainer's print format each: nanoGPT, NVIDIA's speech trainers and
WaveGlow, karpathy's makemore, Lightning's ModelCheckpoint lines, WeNet-style bare
``key value`` pairs, YOLOv5's results.txt rows, fastai 0.7's bare rows, FuxiCTR's epoch trailers
and ``[Metrics]`` lines, FermiNet's, Synaptic/Neataptic's and DenseFusion's step lines, pytorch/examples'
(and Ignite's) CartPole episode lengths, kraken's accuracy reports and "Grokking Deep RL"'s progress
lines."""

from __future__ import annotations

import re

from lrdoctor.io.textlog._base import NUM, _NUM_FULL, _STEPLIKE, _num
from lrdoctor.io.textlog.key_value import _CAMEL, _as_split, _key_values

_NANOGPT_ITER = re.compile(rf"^\s*iter\s+(?P<step>\d+):\s*loss\s+(?P<loss>{NUM})", re.I)

_NANOGPT_EVAL = re.compile(rf"^\s*step\s+(?P<step>\d+):\s*train loss\s+(?P<tl>{NUM}),\s*val loss\s+(?P<vl>{NUM})", re.I)


def _nanogpt(line: str, state: dict) -> dict | None:
    m = _NANOGPT_ITER.match(line)
    if m:
        rec = {"step": int(m["step"]), "loss": _num(m["loss"])}
        t = re.search(rf"time\s+({NUM})\s*ms", line)
        if t:
            rec["time_ms"] = _num(t[1])
        return rec
    m = _NANOGPT_EVAL.match(line)
    if m:
        return {"step": int(m["step"]), "train_loss_eval": _num(m["tl"]), "val_loss": _num(m["vl"])}
    return None


#: NVIDIA's speech trainers (tacotron2, flowtron, mellotron and their many forks):
#: ``"Train loss {} {:.6f} Grad Norm {:.6f} {:.2f}s/it".format(iteration, loss, grad_norm, dt)``
#: and ``"Validation loss {}: {:9f}  ".format(iteration, val_loss)``; WaveGlow / nv-wavenet print
#: ``"{}:\t{:.9f}".format(iteration, loss)`` (a bare iteration, a tab, a 9-decimal loss).
_NV_TRAIN = re.compile(rf"^\s*Train loss\s+(?P<it>\d+)\s+(?P<loss>{NUM})\s+Grad Norm\s+(?P<g>{NUM})(?:\s+(?P<dt>{NUM})s/it)?", re.I)

_NV_VAL = re.compile(rf"^\s*Validation loss\s+(?P<it>\d+):\s+(?P<loss>{NUM})\s*$", re.I)

_WAVEGLOW = re.compile(r"^\s*(?P<it>\d+):\t(?P<loss>-?(?:\d+\.\d{4,}|nan|inf))\s*$", re.I)

#: ...and a WaveGlow fork that names both numbers, each joined to its word by an underscore:
#: ``"step_{}:\tloss_{:.9f}".format(iteration, loss)`` ("step_78620:	loss_4191.683593750"); the
#: words are the file's own, so the step and the loss are read under them
_WAVEGLOW_NAMED = re.compile(r"^\s*step_(?P<it>\d+):\t+loss_(?P<loss>-?(?:\d+\.\d{4,}|nan|inf))\s*$", re.I)

#: karpathy's makemore / "Neural Networks: Zero to Hero": ``print(f'{i:7d}/{max_steps:7d}: {loss.item():.4f}')``
_STEP_OF_MAX_LOSS = re.compile(rf"^\s*(?P<i>\d+)\s*/\s*(?P<n>\d+):\s+(?P<loss>{NUM})\s*$", re.I)


#: stable-baselines3's EvalCallback (verbose=1): "Eval num_timesteps=5000, episode_reward=-1203.44
#: +/- 25.13" and "Episode length: 200.00 +/- 0.00" (the spread already dropped by the reader)
_SB3_EVAL = re.compile(rf"^\s*Eval num_timesteps=(\d+), episode_reward=({NUM})")
_SB3_EVAL_LENGTH = re.compile(rf"^\s*Episode length: ({NUM})\s*$")


#: the TD3 authors' "Evaluation over 10 episodes: -123.456" (copied into many TD3/DDPG repositories)
#: and pytorch-a2c-ppo-acktr's " Evaluation using 10 episodes: mean reward 123.45000"
_EVAL_OVER = re.compile(rf"^\s*Evaluation (?:over|using) \d+ episodes?:\s*(?:mean reward\s*)?({NUM})\s*$")


def _rl_evaluation(line: str, state: dict) -> dict | None:
    """An evaluation report of an RL trainer: SB3's EvalCallback (the evaluation's mean return at its
    timestep, under the names SB3's own logger gives them, ``eval/mean_reward`` and
    ``eval/mean_ep_length``), or a mean evaluation return over N episodes (TD3, pytorch-a2c-ppo-acktr)."""
    if line.lstrip()[:4] == "Eval":
        m = _SB3_EVAL.match(line)
        if m:
            return {"time/total_timesteps": float(m[1]), "eval/mean_reward": _num(m[2])}
        m = _EVAL_OVER.match(line)
        if m:
            return {"eval/mean_reward": _num(m[1])}
    elif line.lstrip()[:15] == "Episode length:":
        m = _SB3_EVAL_LENGTH.match(line)
        if m:
            return {"eval/mean_ep_length": _num(m[1])}
    return None


#: Keras' ModelCheckpoint / EarlyStopping (verbose): "Epoch 00005: val_loss improved from 0.31234 to
#: 0.21234, saving model to best.h5"
_KERAS_IMPROVED = re.compile(rf"^\s*Epoch (\d+): ([\w/.\-]+) improved from (?:{NUM}|inf|-inf) to ({NUM})")

#: pytorchtools' EarlyStopping (copied into countless PyTorch loops): "Validation loss decreased
#: (0.412345 --> 0.398765).  Saving model ..."
_VAL_DECREASED = re.compile(rf"^\s*Validation loss decreased \(\s*(?:{NUM}|inf)\s*-->\s*({NUM})\s*\)")


def _checkpoint_message(line: str, state: dict) -> dict | None:
    """A checkpoint callback's message is read as no record: it is printed only when the monitored
    value improved, so its values are a biased sample of a curve the epoch lines print whole (read as
    a series, they would never rise); and its numbers are no fields ("improved from ... to ..." made
    columns ``val_loss_improved_from`` and ``to``)."""
    if "improved from" in line and _KERAS_IMPROVED.match(line):
        return {}
    if "loss decreased (" in line and _VAL_DECREASED.match(line):
        return {}
    return None


#: torchtune's recipes print "1|100|Loss: 1.2345432424545288" (epoch|step|loss) on their progress bar
_TORCHTUNE = re.compile(rf"^\s*(\d+)\|(\d+)\|Loss: ({NUM})")

#: Flax/CLU's LoggingWriter: "[100] loss=1.2, accuracy=0.5" (the step in brackets, then its scalars)
_CLU_STEP = re.compile(r"^\s*\[(\d+)\]\s+(?=[A-Za-z_][\w/.\-]*=)")


def _bracketed_step(line: str, state: dict) -> dict | None:
    """torchtune's "epoch|step|Loss: x" and CLU's "[step] name=value, ..." lines."""
    if "|Loss: " in line:
        m = _TORCHTUNE.match(line)
        if m:
            return {"epoch": float(m[1]), "step": float(m[2]), "loss": _num(m[3])}
    if line.lstrip()[:1] == "[" and "=" in line:
        m = _CLU_STEP.match(line)
        if m:
            rec = _key_values(line[m.end():], {})
            if rec:
                return {"step": float(m[1]), **{k: v for k, v in rec.items() if k != "step"}}
    return None


#: an epoch's evaluation printed with its metric as the unit of the number: a hand-kept note of a
#: detector fine-tune ("Epoch3: 55.7map", "Epoch 4: 46.3 mAP"); the word after the number names it
#: (COCO's mean average precision), whatever remark follows
_EPOCH_VALUE_METRIC = re.compile(rf"^\s*Epoch\s*(?P<ep>\d+)\s*:\s*(?P<val>{NUM})\s?(?P<metric>map|ap|map50)\b", re.I)


def _epoch_value_metric(line: str, state: dict) -> dict | None:
    """``Epoch3: 55.7map``: the epoch, and the value under the metric name written after it."""
    m = _EPOCH_VALUE_METRIC.match(line) if line.lstrip()[:5].lower() == "epoch" else None
    if m is None:
        return None
    return {"epoch": int(m["ep"]), m["metric"].lower(): _num(m["val"])}


def _step_of_max(line: str, state: dict) -> dict | None:
    m = _STEP_OF_MAX_LOSS.match(line) if ":" in line else None
    if m is None or int(m["i"]) > int(m["n"]):
        return None
    return {"step": int(m["i"]), "loss": _num(m["loss"])}


def _nvidia_speech(line: str, state: dict) -> dict | None:
    m = _NV_TRAIN.match(line)
    if m:
        rec = {"iteration": int(m["it"]), "loss": _num(m["loss"]), "grad_norm": _num(m["g"])}
        if m["dt"]:
            rec["sec_per_it"] = _num(m["dt"])
        return rec
    m = _NV_VAL.match(line) or None
    if m:
        return {"iteration": int(m["it"]), "val_loss": _num(m["loss"])}
    m = (_WAVEGLOW.match(line) or _WAVEGLOW_NAMED.match(line)) if "\t" in line else None
    if m:
        return {"iteration": int(m["it"]), "loss": _num(m["loss"])}
    return None


#: CatBoost 0.x's console (issue 274, 2018): ``0:      learn 0.6355974416passed: 17.4 sec      total: 3m 13s
#: remaining: 3h 42m 6s``: no colon after ``learn`` and no tab between its value and the time the
#: iteration took, so the general rules read the time alone. Read the round and the learn value (the
#: objective on the training set, as the ``learn:`` of later versions: ``records.resolve_bare_splits``
#: names it); the times are no metric.
_CATBOOST_LEGACY = re.compile(rf"^\s*(?P<it>\d+):\s+learn\s+(?P<learn>{NUM})passed:\s")


def _catboost_legacy(line: str, state: dict) -> dict | None:
    """One iteration of CatBoost 0.x's console (``_CATBOOST_LEGACY``): its boosting round and learn value."""
    m = _CATBOOST_LEGACY.match(line) if "passed:" in line else None
    if m is None:
        return None
    return {"boosting_round": float(m["it"]), "learn": _num(m["learn"])}


#: Lightning's ModelCheckpoint (verbose): "Epoch 2, global step 150: 'val_loss' reached 3.54525
#: (best 3.54525), saving model to ..." ("was not in top 1" lines carry no value)
_CKPT_REACHED = re.compile(rf"^\s*Epoch (?P<ep>\d+), global step (?P<step>\d+): '(?P<key>[\w/.\-]+)' reached (?P<val>{NUM})", re.I)


#: Lightning's ModelCheckpoint file names, as a listing of the checkpoint folder shows them
#: ("epoch=3-val_loss=0.3512-test_loss=0.40.ckpt", the metrics named in ``filename`` with
#: ``auto_insert_metric_name``): each ``key=value`` between the dashes is one report's figure
_CKPT_FILE = re.compile(r"(?:^|[\s/])(?P<name>[\w=.\-]*?epoch=\d+[\w=.\-]*?)\.ckpt\b")

_CKPT_PAIR = re.compile(rf"(?:^|[-_/])(?P<key>[A-Za-z][A-Za-z_/]*)=(?P<val>{NUM})(?=-|$)")


def _lightning_checkpoint(line: str, state: dict) -> dict | None:
    """A ModelCheckpoint message ("... 'val_loss' reached 3.54525 ..."), or a checkpoint file name
    carrying its epoch and metrics (a listing of ``checkpoints/``)."""
    m = _CKPT_REACHED.match(line) if "reached" in line else None
    if m is not None:
        return {"epoch": int(m["ep"]), "global_step": int(m["step"]), m["key"]: _num(m["val"])}
    if ".ckpt" in line and "epoch=" in line:
        f = _CKPT_FILE.search(line)
        pairs = {p["key"]: _num(p["val"]) for p in _CKPT_PAIR.finditer(f["name"])} if f else {}
        if "epoch" not in pairs or not set(pairs) - {"epoch", "step"}:
            return None  # (a name with no metric, "epoch=3-step=24.ckpt", is no report)
        state["rows_unordered"] = True  # a listing is in name order: "epoch=10" before "epoch=2"
        return pairs
    return None


#: Bare "key value" pairs with no ':' or '=' (WeNet's "TRAIN Batch 4/203700 loss 12.646465
#: loss_att 10.92 lr 0.00032621 rank 0", "Epoch 74 CV info cv_loss 7.6275", TF NMT-style
#: "global step 6000 learning rate 0.1937 step-time 0.67 perplexity 13.56"): read only when
#: at least two pairs are found and one key names a metric, so prose is not read as numbers.
_BARE_TOKEN = re.compile(rf"^{NUM}(?:s|ms)?$", re.I)

_BARE_KEY = re.compile(r"^[A-Za-z_][\w\-]{0,40}$")

#: "1600/287417": a counter i of N
_COUNT_OF = re.compile(r"^(\d+)/\d+$")

_BARE_METRIC = re.compile(r"loss|^cost$|^lr$|^ppl$|perplexity|^acc|accuracy|reward|^wer$|^cer$|^bleu$", re.I)

_BARE_TWO_WORD = {("learning", "rate"): "lr", ("global", "step"): "global_step"}

_BARE_EVAL_LEAD = frozenset({"cv", "dev", "valid", "val", "validation", "eval", "evaluation", "test"})

#: a split word standing before the name of a figure in a line of bare pairs, and the prefix it gives
_BARE_SPLIT_WORDS = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
                     "eval": "eval", "evaluation": "eval", "test": "test", "dev": "dev"}


#: improved_wgan_training's ``lib/plot.py`` (and its many forks): "iter 99<TAB>disc cost<TAB>-0.81",
#: each further figure a "<TAB>name<TAB>value" pair
_TAB_PAIRS_HEAD = re.compile(r"^\s*(iter|iteration|step|epoch)\s+(\d+)$", re.I)
_TAB_NAME = re.compile(r"^[A-Za-z_][\w .\-/]{0,60}$")


def _tab_pairs(line: str, state: dict) -> dict | None:
    """A step, then tab-separated name / value pairs whose names may hold spaces ("disc cost")."""
    if line.count("\t") < 2:
        return None
    fields = line.rstrip("\r\n").split("\t")
    head = _TAB_PAIRS_HEAD.match(fields[0])
    rest = fields[1:]
    if head is None or len(rest) % 2 or not rest:
        return None
    rec: dict = {head[1].lower(): float(head[2])}
    for name, value in zip(rest[0::2], rest[1::2]):
        if not _TAB_NAME.match(name.strip()) or not _NUM_FULL.match(value.strip()):
            return None
        rec[re.sub(r"\s+", "_", name.strip())] = _num(value.strip())
    return rec


#: Keras-GAN (eriklindernoren) and its many copies: "410 [D loss: 0.69, acc: 50.00%] [G loss: 0.72]",
#: also "48: [D loss: 7.97, acc: 0.50]  [A loss: 0.00, acc: 1.00]": the step, then one bracket per player
_GAN_ROW = re.compile(r"^\s*(\d+):?\s+(\[[A-Za-z]{1,12} loss:[^\]]*\](?:\s*\[[A-Za-z]{1,12} loss:[^\]]*\])+)\s*$")
_GAN_SECTION = re.compile(r"\[([A-Za-z]{1,12}) loss:([^\]]*)\]")
_GAN_FIELD = re.compile(rf"^\s*([A-Za-z_][\w.]{{0,30}}?)\.?\s*:\s*({NUM})%?\s*$", re.I)


def _gan_row(line: str, state: dict) -> dict | None:
    """A step and one bracketed section per player, each opened by the player's loss: every
    other field of a section is that player's (``d_acc``, ``g_mse``), so the two players'
    accuracies do not overwrite each other."""
    m = _GAN_ROW.match(line) if "loss:" in line else None
    if m is None:
        return None
    rec: dict = {"step": float(m[1])}
    for player, body in _GAN_SECTION.findall(m[2]):
        p = player.lower()
        fields = body.split(",")
        first = fields[0].strip()
        if not _NUM_FULL.match(first):
            return None
        rec[f"{p}_loss"] = _num(first)
        for f in fields[1:]:
            kv = _GAN_FIELD.match(f)
            if kv is None:
                return None
            rec[f"{p}_{kv[1].lower()}"] = _num(kv[2])
    return rec


#: DeepXDE's training display (physics-informed networks): under "Step  Train loss  Test loss  Test
#: metric", a step and three bracketed lists: the loss terms (PDE residuals, boundary conditions)
#: on the training and the test points, and the metrics ("[]" when none)
_DEEPXDE_ROW = re.compile(r"^\s*`?(\d+)\s+\[([^\]]*)\]\s+\[([^\]]*)\]\s+\[([^\]]*)\]\s*$")


_DEEPXDE_TRAIN_ONLY = re.compile(r"^\s*`?(\d+)\s+\[([^\]]*)\]\s*$")


def _deepxde_terms(body: str) -> list[float] | None:
    parts = [p.strip() for p in body.split(",") if p.strip()]
    if not parts or not all(_NUM_FULL.match(p) for p in parts):
        return None
    return [float(_num(p)) for p in parts]


#: DeepXDE's closing summary restates the best row ("Best model at step 0:", then "  train loss:
#: 5.47e+03", "  test loss: ...", "  test metric: [...]"): no new report
_DEEPXDE_BEST = re.compile(r"^\s*Best model at step \d+:\s*$")
_DEEPXDE_SUMMARY = re.compile(r"^\s*(?:train loss|test loss|test metric):", re.I)


def _unevaluated_on_test(train: list[float], test: list[float]) -> bool:
    """True when a DeepXDE test row prints a term as exactly 0 that the training row beside it
    does not: a term DeepXDE never computed on the test points. Its test points hold no boundary
    or initial-condition points unless asked to (``num_test`` draws from the domain's interior), so
    every such term prints 0 there, row after row (Lotka-Volterra: training terms [3.75e-02,
    1.59e+00, 1.00e+04, 2.25e+02], test terms [3.72e-02, 1.59e+00, 0.00e+00, 0.00e+00]). A
    computed loss of exactly 0 beside a positive training term is no measurement: the two lists
    then sum different objectives. No threshold: the printed 0 itself."""
    return len(train) == len(test) and any(b == 0.0 and a != 0.0 for a, b in zip(train, test))


def _deepxde_row(line: str, state: dict) -> dict | None:
    """A DeepXDE display row: the training loss is the sum of its terms (the total DeepXDE
    minimises, with unit weights as printed), the test loss likewise; the first metric is kept.

    When the test row leaves terms uncomputed (:func:`_unevaluated_on_test`: the boundary
    conditions, 0 on test points drawn from the interior), its sum is the residual of the
    remaining terms alone, not the held-out value of the objective the training loss sums: it is
    kept as ``test_residual``, a column without the evaluation-loss role, for the run (the
    pattern is the model's, the same at every row). Read as an evaluation loss beside the
    training total, it makes a gap no model has: the PDE residual at init is near 0 while the
    boundary terms make the training total 1e4, and both PDE residuals then move together
    (training 3.75e-02 -> 2.92e+02 -> 6.90, test 3.72e-02 -> 3.00e+02 -> 6.81) while the total falls."""
    if state.get("deepxde_best"):
        if _DEEPXDE_SUMMARY.match(line):
            return {}
        del state["deepxde_best"]
    if "Best model" in line and _DEEPXDE_BEST.match(line):
        state["deepxde_best"] = True
        return {}
    m = _DEEPXDE_ROW.match(line) if "[" in line else None
    if m is None:
        # once the display was seen, a row may hold the training terms alone: the steps between
        # test evaluations (an L-BFGS stage, or a second table that restates its first row)
        one = _DEEPXDE_TRAIN_ONLY.match(line) if state.get("deepxde") and "[" in line else None
        train = _deepxde_terms(one[2]) if one else None
        return {"step": float(one[1]), "train_loss": sum(train)} if train else None
    train, test = _deepxde_terms(m[2]), _deepxde_terms(m[3])
    if train is None or test is None:
        return None
    state["deepxde"] = True
    if _unevaluated_on_test(train, test):
        state["deepxde_partial_test"] = True
    held_out = "test_residual" if state.get("deepxde_partial_test") else "test_loss"
    rec: dict = {"step": float(m[1]), "train_loss": sum(train), held_out: sum(test)}
    metric = _deepxde_terms(m[4]) if m[4].strip() else None
    if metric:
        rec["test_metric"] = metric[0]
    return rec


#: what a line of bare pairs may hold beside them: a progress share ("prog 20.00%") and a colon
#: standing alone between words (RWKV-LM's "miniE 1 s 833 prog 20.00% : ppl 5.41 loss 1.69 lr 3.3e-04")
_BARE_ASIDE = re.compile(r"(?<!\S)(?:\d+(?:\.\d+)?%|:)(?!\S)")


#: a label that leads a line of bare pairs, up to its colon: "Train: Loss 0.52 Acc 0.83", a federated
#: loop's "10 Clients Training: Loss 0.52 Acc 0.23" and "ALL Clients Testing: Loss 0.61 Acc 0.07"
#: (words, after an optional count; a label holding a step, "Epoch 3 Train:", is the other rules')
_BARE_LABEL = re.compile(r"^\s*(?:\d+\s+)?((?:[A-Za-z][A-Za-z\-]*\s+){0,3}[A-Za-z][A-Za-z\-]*)\s*:\s+(?=[A-Za-z])")

#: the label's words that make the line an evaluation's ("Testing", "Validation"): the split words
#: of bare pairs other than the training split's, and their verb forms
_LABEL_SPLITS = {**{w: s for w, s in _BARE_SPLIT_WORDS.items() if s != "train"},
                 "testing": "test", "validating": "val", "evaluating": "eval"}


#: a banner of equals signs that leads a line of bare pairs, glued to its first word or not: adgcl's
#: "====epoch 15 SupervisedLoss 15.53", a "==> epoch 3 loss 0.52"; a decoration, not a separator (the
#: "=" test below would refuse the line, while "**** epoch" and "--- epoch" were read)
_BARE_BANNER = re.compile(r"^\s*={2,}>?\s*(?=[A-Za-z])")


def _bare_pairs(line: str, state: dict) -> dict | None:
    label = _BARE_LABEL.match(line) if ":" in line else None
    if label:
        split = next((_LABEL_SPLITS[w] for w in label[1].lower().split() if w in _LABEL_SPLITS), None)
        rec = _bare_pairs(line[label.end():], state)
        return _as_split(rec, split) if rec and split else rec
    if line[:8].lstrip()[:2] == "==":
        line = _BARE_BANNER.sub("", line)
    if "%" in line or " : " in line:
        line = _BARE_ASIDE.sub(" ", line)
    if any(c in line for c in ":=|\t(%") or ", " in line:
        return None  # separators (a comma too: "current loss 5.54, ppl 254.05"), tables and "value (avg)" segments are the other rules' shapes
    toks = line.split()
    if not any(_BARE_METRIC.search(t) for t in toks):
        return None
    rec: dict = {}
    i = 0
    while i < len(toks) - 1:
        two = (toks[i].lower(), toks[i + 1].lower())
        if two in _BARE_TWO_WORD and i + 2 < len(toks) and _BARE_TOKEN.match(toks[i + 2]):
            rec.setdefault(_BARE_TWO_WORD[two], _num(toks[i + 2].rstrip("ms")))
            i += 3
            continue
        split = _BARE_SPLIT_WORDS.get(two[0])
        if split and i + 2 < len(toks) and _BARE_KEY.match(toks[i + 1].rstrip(".")) and _BARE_TOKEN.match(toks[i + 2]) \
                and not _BARE_TOKEN.match(toks[i + 1]):
            # "train loss 0.5 val loss 0.6", "test acc 0.8": the split word names whose figure follows
            # (read alone, the val loss was a second "loss" and dropped, the test accuracy a training one)
            rec.setdefault(f"{split}_{toks[i + 1].rstrip('.').lower().replace('-', '_')}", _num(toks[i + 2].rstrip("ms")))
            i += 3
            continue
        key = toks[i].rstrip(".")  # "Training Acc. 0.1062": an abbreviation's full stop
        if _BARE_KEY.match(key) and _BARE_TOKEN.match(toks[i + 1]):
            # a camelCase key splits into its words as the key-value rule splits it (adgcl's
            # "SupervisedLoss 15.53" is supervised_loss, as "SupervisedLoss: 15.53" would be)
            key = key if key.islower() else _CAMEL.sub("_", key)
            rec.setdefault(key.lower().replace("-", "_"), _num(toks[i + 1].rstrip("ms")))
            i += 2
            continue
        of = _COUNT_OF.match(toks[i + 1])
        if of and key.lower() in ("batch", "iter", "iteration", "step"):
            rec.setdefault(key.lower(), float(of[1]))  # "Batch 1600/287417": batch i of N
            i += 2
            continue
        i += 1
    if len(rec) < 2 or not any(_BARE_METRIC.search(k) for k in rec):
        return None
    lead = next((t.lower().strip("[]") for t in toks[:3] if t.lower().strip("[]") in _BARE_EVAL_LEAD), None)
    if lead is not None:  # "CV Batch 4/0 loss 28.5", "[valid] epoch 3 loss 0.52": the line's fields are the evaluation's
        rec = {(k if _STEPLIKE.match(k) or k == "rank" or k.startswith(lead) else f"{lead}_{k}"): v for k, v in rec.items()}
    return rec


#: YOLOv5's results.txt (and its console's epoch rows pasted without their header): 15
#: whitespace-separated fields, the first "epoch/epochs", the second the GPU memory "5.61G".
#: Columns as YOLOv5 (utils/plots.py, plot_results) names them.
_YOLOV5_ROW = re.compile(rf"^\s*(\d+)/(\d+)\s+({NUM})G((?:\s+{NUM}){{13}})\s*$", re.I)

_YOLOV5_COLUMNS = ("box_loss", "obj_loss", "cls_loss", "loss", "labels", "img_size", "metrics/precision",
                   "metrics/recall", "metrics/map_0.5", "metrics/map_0.5:0.95", "val/box_loss", "val/obj_loss",
                   "val/cls_loss")


def _yolov5_results(line: str, state: dict) -> dict | None:
    """A YOLOv5 results.txt row: ``0/89 5.61G 0.07745 0.0277 0.01785 0.123 7 640 0.7966 ...``;
    the validation loss is the sum of its parts, as the results.csv reader makes it."""
    if "G " not in line:
        return None
    m = _YOLOV5_ROW.match(line)
    if m is None:
        return None
    vals = [_num(v) for v in m[4].split()]
    rec = {"epoch": float(m[1]), "gpu_mem": _num(m[3]), **dict(zip(_YOLOV5_COLUMNS, vals))}
    rec["val_loss"] = rec["val/box_loss"] + rec["val/obj_loss"] + rec["val/cls_loss"]
    return rec


#: fastai 0.7's ``fit()`` rows: the numpy array ``[epoch, trn_loss, val_loss, *metrics]``
#: printed bare ("[ 0.       1.38319  1.3851 ]"), the epoch an integer with numpy's trailing dot
_FASTAI07_ROW = re.compile(rf"^\s*\[\s*(\d+)\.\s+((?:{NUM}\s+){{0,5}}{NUM})\s*\]\s*$")


def _fastai07_row(line: str, state: dict) -> dict | None:
    """fastai 0.7 (the 2018 course's library) prints one array per epoch, with its header
    (``epoch  trn_loss  val_loss  accuracy``) in a widget that copies of the output lose. Read
    as that table only when the rows count epochs 0, 1, 2, ... in order from the first one, so a
    stray bracketed list of numbers is no record: the training loss, the validation loss, then
    the metrics (unnamed: ``valid_metric_1``, ...)."""
    if "[" not in line or "]" not in line:
        return None
    m = _FASTAI07_ROW.match(line)
    if m is None:
        return None
    epoch = int(m[1])
    if epoch != state.get("fastai07_next", 0):
        return None
    vals = [_num(v) for v in m[2].split()]
    if len(vals) < 2:
        return None
    state["fastai07_next"] = epoch + 1
    rec = {"epoch": float(epoch), "train_loss": vals[0], "valid_loss": vals[1]}
    rec.update({f"valid_metric_{i}": v for i, v in enumerate(vals[2:], 1)})
    return rec


#: A line that only closes an epoch, after that epoch's reports (FuxiCTR/BARS:
#: "************ Epoch=1 end ************"; "Epoch 3 finished", "End of epoch 2"); nothing else
#: is on it (pytorch/examples' "| end of epoch 1 | time: ... | valid loss 5.60" carries values,
#: and is a record of its own)
_EPOCH_TRAILER = re.compile(r"^\W*(?:epoch\s*[=:#]?\s*(?P<a>\d+)(?:\s*/\s*\d+)?\s*(?:end|ended|finished|done|completed?)"
                            r"|end of epoch\s*[=:#]?\s*(?P<b>\d+)(?:\s*/\s*\d+)?)\W*$", re.I)

#: the field an epoch trailer is read into; the reader files the records before it under its
#: epoch (:func:`lrdoctor.io.records.epochs_from_trailers`)
EPOCH_END = "__epoch_end__"


def _epoch_trailer(line: str, state: dict) -> dict | None:
    """An epoch trailer: the epoch of the reports *above* it. Read as a plain ``epoch`` record,
    it would file each epoch's reports under the epoch before (FuxiCTR's validation logloss of
    epoch 2 at epoch 1), and the first epoch's reports under none."""
    if "poch" not in line:
        return None
    m = _EPOCH_TRAILER.match(line)
    if m is None:
        return None
    return {EPOCH_END: float(m["a"] or m["b"])}


#: FuxiCTR's evaluation line: "[Metrics] logloss: 0.370202 - AUC: 0.796254", printed by its
#: ``evaluate`` on the validation set at each epoch's end (the training loss comes on its own
#: "Train loss: 0.380281" line)
_METRICS_TAG = "[Metrics]"


def _fuxictr_metrics(line: str, state: dict) -> dict | None:
    """The validation's metrics of a ``[Metrics]`` line, named as the validation's."""
    if not line.lstrip().startswith(_METRICS_TAG):
        return None
    rec = _key_values(line.lstrip()[len(_METRICS_TAG):], state)
    return _as_split(rec, "val") if rec else None


#: pycocotools' evaluation summary (``COCOeval.summarize``), twelve lines after every COCO-style
#: evaluation of a detector (detectron2, mmdetection, PaddleDetection, torchvision's references,
#: YOLOX): " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.002"
_COCO_SUMMARY = re.compile(rf"^\s*Average (?P<what>Precision|Recall)\s+\((?:AP|AR)\)\s*@\[\s*IoU=(?P<iou>[\d.:]+)\s*\|"
                           rf"\s*area=\s*(?P<area>\w+)\s*\|\s*maxDets=\s*(?P<dets>\d+)\s*\]\s*=\s*(?P<v>{NUM})\s*$")

#: the lines of the summary that are the evaluation's headline figures: COCO mAP and its
#: IoU-0.5 and IoU-0.75 forms over all areas at 100 detections (the names YOLOv5 and mmdet use)
_COCO_HEADLINE = {"0.50:0.95": "eval_map", "0.50": "eval_map50", "0.75": "eval_map75"}


def _coco_summary(line: str, state: dict) -> dict | None:
    """The headline figures of a COCO evaluation summary (``eval_map``, ``eval_map50``,
    ``eval_map75``); its other lines (per-area AP, the recalls) are consumed with no value: read
    as key-value pairs they made columns "iou" (0.5) and "max_dets" (100) of every summary line.
    A value of -1 is pycocotools' "no such objects in the evaluation set": no value."""
    if "Average" not in line or "IoU=" not in line:
        return None
    m = _COCO_SUMMARY.match(line)
    if m is None:
        return None
    name = _COCO_HEADLINE.get(m["iou"]) if m["what"] == "Precision" and m["area"] == "all" and m["dets"] == "100" else None
    v = _num(m["v"])
    return {name: v} if name is not None and v >= 0 else {}


#: A mixed-precision step that overflowed: DeepSpeed's and NVIDIA fp16_optimizer's "[deepscale]
#: OVERFLOW! Rank 0 Skipping step. Attempted loss scale: 1, reducing to 1" (the scale the step
#: tried, and the one the dynamic scaler set after it; "but hysteresis is 2" lines keep the scale)
_AMP_OVERFLOW = re.compile(rf"OVERFLOW!.*?Attempted loss scale:\s*(?P<a>{NUM})(?:,\s*reducing to\s*(?P<b>{NUM}))?", re.I)


def _amp_overflow(line: str, state: dict) -> dict | None:
    """The overflow's loss scales (``overflow_scale``, ``overflow_scale_next``) and the count of
    overflows so far (``overflow_count``): consecutive overflow lines at one scale are distinct
    skipped steps, not one report printed twice, and the count keeps their records apart."""
    if "OVERFLOW!" not in line:
        return None
    m = _AMP_OVERFLOW.search(line)
    if m is None:
        return None
    state["overflow_count"] = state.get("overflow_count", 0) + 1
    rec = {"overflow_scale": _num(m["a"]), "overflow_count": float(state["overflow_count"])}
    if m["b"] is not None:
        rec["overflow_scale_next"] = _num(m["b"])
    return rec


#: YOLACT's train.py: "[ 17]   12950 || B: 4.292 | C: 2.520 | M: 5.012 | S: 0.205 | T: 12.029 || ETA:
#: 3 days, 6:47:58 || timer: 0.357" (epoch, iteration, one letter per loss term, T the total)
_YOLACT_ROW = re.compile(r"^\s*\[\s*(?P<ep>\d+)\]\s+(?P<it>\d+)\s+\|\|(?P<terms>(?:\s*[A-Z]:\s*\S+\s*\|)+)\s*T:\s*(?P<t>\S+)\s*\|\|")

#: YOLACT's loss letters (train.py's ``loss_types``)
_YOLACT_TERMS = {"B": "box_loss", "C": "conf_loss", "M": "mask_loss", "P": "proto_loss", "D": "coef_div_loss",
                 "E": "class_exist_loss", "S": "sem_seg_loss", "I": "mask_iou_loss"}


def _yolact(line: str, state: dict) -> dict | None:
    """A YOLACT training row: the iteration is the step, T the training loss, each letter its term."""
    if "||" not in line:
        return None
    m = _YOLACT_ROW.match(line)
    if m is None:
        return None
    try:
        rec = {"epoch": float(m["ep"]), "iteration": float(m["it"]), "loss": _num(m["t"])}
        for part in m["terms"].split("|"):
            if ":" in part:
                k, v = part.split(":", 1)
                rec[_YOLACT_TERMS.get(k.strip(), f"{k.strip().lower()}_loss")] = _num(v.strip())
    except ValueError:
        return None
    return rec


#: karpathy/llm.c's main.log: "s:0 trl:11.0091 lr:0.000001 norm:15.37", "s:250 tel:6.3097" and
#: "s:250 eval:0.2547" (the step, then the train loss, the validation loss, the LR, the gradient
#: norm, the HellaSwag accuracy; modded-nanogpt's early records use it too)
_LLMC_ROW = re.compile(rf"^s:(\d+)((?:\s+(?:trl|tel|lr|norm|eval):{NUM})+)\s*$")

_LLMC_KEYS = {"trl": "train_loss", "tel": "val_loss", "lr": "lr", "norm": "grad_norm", "eval": "eval_accuracy"}


#: llm.c's train_gpt2.cu on stdout: "step   61/74 | loss 3.208939 (+nanz)| norm 1.4800 (+nanz)| lr 3.00e-04 |
#: 44.57 ms | ..." (each figure followed by its z-score against the recent ones, "nan" until it has
#: enough history); the z-score is the trainer's outlier alarm, not a metric
_LLMC_STDOUT = re.compile(rf"^\s*step\s+(\d+)\s*/\s*\d+\s*\|\s*(?:train\s+)?loss\s+({NUM})\s*(?:\([^()|]{{0,20}}z\))?\s*\|"
                          rf"\s*norm\s+({NUM})\s*(?:\([^()|]{{0,20}}z\))?\s*\|\s*lr\s+({NUM})")


def _llmc(line: str, state: dict) -> dict | None:
    """An llm.c log line: main.log's, or a step printed on stdout."""
    if line.lstrip()[:4] == "step" and "z)" in line:
        m = _LLMC_STDOUT.match(line)
        return {"step": float(m[1]), "loss": _num(m[2]), "grad_norm": _num(m[3]), "lr": _num(m[4])} if m else None
    if not line.startswith("s:"):
        return None
    m = _LLMC_ROW.match(line)
    if m is None:
        return None
    rec = {"step": float(m[1])}
    for part in m[2].split():
        k, v = part.split(":", 1)
        rec[_LLMC_KEYS[k]] = _num(v)
    return rec


#: Trax's training loop: "Step    500: train WeightedCategoryCrossEntropy |  0.50712883" and
#: "Step    500: eval      WeightedCategoryAccuracy |  0.81406250" (one metric per line)
_TRAX_ROW = re.compile(rf"^\s*Step\s+(\d+):\s+(train|eval)\s+([A-Za-z]\w*)\s*\|\s*({NUM})\s*$")


def _trax(line: str, state: dict) -> dict | None:
    """A Trax metric line: the step, and the metric under its split's name."""
    if "|" not in line or not line.lstrip().startswith("Step"):
        return None
    m = _TRAX_ROW.match(line)
    if m is None:
        return None
    return {"step": float(m[1]), f"{m[2]}_{m[3]}": _num(m[4])}


#: FermiNet's (JAX) training loop, through absl: "Step 03447: -14.9133 E_h, variance=0.0626 E_h^2,
#: pmove=0.52" (newer releases print "exp. variance="). The number in Hartree (E_h) is the mean local
#: energy, which is the loss FermiNet minimises (its ``train_stats.csv`` files it as ``energy``); the
#: variance of the local energy and the MCMC acceptance ratio ``pmove`` are diagnostics, not losses.
_FERMINET_ROW = re.compile(rf"^\s*Step\s+(?P<step>\d+):\s+(?P<e>{NUM})\s+E_h,\s*(?:exp\.\s+)?variance=(?P<var>{NUM})\s+E_h\^2"
                           rf",\s*pmove=(?P<pmove>{NUM})")


def _ferminet(line: str, state: dict) -> dict | None:
    """A FermiNet step line: the energy as the loss (the variational energy is the objective the
    optimiser descends), its variance and pmove beside it. Unread, the unit after the energy hid the
    only loss column and the run was refused as having no training metric."""
    if "E_h" not in line:
        return None
    m = _FERMINET_ROW.match(line)
    if m is None:
        return None
    return {"step": float(m["step"]), "loss": _num(m["e"]), "energy_variance": _num(m["var"]), "pmove": _num(m["pmove"])}


#: Synaptic's ``Trainer`` and Neataptic's ``Network.train`` with ``log``: ``console.log('iterations',
#: iterations, 'error', error, 'rate', currentRate)`` (Neataptic: ``'iteration'``). The error is the
#: cost the trainer minimises over the training set (its ``cost`` option, MSE by default) and the rate
#: the learning rate of that iteration; a browser console adds the source link of the logging call
#: (``network.js:587``) on a line of its own.
_SYNAPTIC_ROW = re.compile(rf"^\s*iterations?\s+(?P<it>\d+)\s+error\s+(?P<err>{NUM})\s+rate\s+(?P<rate>{NUM})\s*$")
_CONSOLE_SOURCE = re.compile(r"^\s*[\w.\-]+\.js:\d+\s*$")


def _synaptic(line: str, state: dict) -> dict | None:
    """A Synaptic/Neataptic training line: the error as the loss (the trainer's own cost), the rate
    as the LR. Read by the generic rules, ``error`` named no loss (an error may be a task's error
    rate) and the run was refused; after such a line, a console's ``file.js:N`` link is no record."""
    if state.get("synaptic") and _CONSOLE_SOURCE.match(line):
        return {}
    if "error" not in line:
        return None
    m = _SYNAPTIC_ROW.match(line)
    if m is None:
        return None
    state["synaptic"] = True
    return {"iteration": float(m["it"]), "loss": _num(m["err"]), "lr": _num(m["rate"])}


#: DenseFusion's training logger: ``'Train time {0} Epoch {1} Batch {2} Frame {3} Avg_dis:{4}'`` (after
#: the logging module's stamp). The batch counter restarts each epoch; Avg_dis is the mean over the
#: batch of ``dis``, the distance between the model's points under the predicted and the true pose
#: that DenseFusion's loss is built from (``loss = mean(dis * c - w * log c)``, w = 0.015, c the
#: confidence): the only training objective the line prints, so it is read as the loss.
_DENSEFUSION_TRAIN = re.compile(rf"Train time \d+h \d+m \d+s Epoch (?P<ep>\d+) Batch (?P<b>\d+) Frame \d+ Avg_dis:(?P<dis>{NUM})\s*$")


def _densefusion(line: str, state: dict) -> dict | None:
    """A DenseFusion training line: the epoch, the batch within it, and the average distance as the
    loss. Read by the generic rules, ``avg_dis`` named no loss and the run was refused (a paste whose
    distance spiked and went NaN at its tenth batch was never reported)."""
    if "Avg_dis:" not in line:
        return None
    m = _DENSEFUSION_TRAIN.search(line)
    if m is None:
        return None
    return {"epoch": float(m["ep"]), "batch": float(m["b"]), "loss": _num(m["dis"])}


#: PaddlePaddle's v2 event handler (its book's chapters and model zoo): "Pass 0, Batch 100, Cost
#: 2.308956, {'classification_error_evaluator': 0.9453125}" at a batch, and "Test with Pass 0, Cost
#: 2.302830, {...}" after each pass. A pass is Paddle's word for an epoch and the batch counter
#: restarts with it; the metrics dict may be absent, empty or hold several evaluators. The book's
#: chapters show the handler's output as Python comments ("# Pass 0, Batch 0, Cost 2.780790, {...}").
_PADDLE_V2 = re.compile(rf"^\s*(?:#\s*)?(?P<test>Test with )?Pass (?P<ep>\d+)(?:, Batch (?P<b>\d+))?, Cost (?P<cost>{NUM})"
                        r"(?:,\s*(?P<metrics>\{.*\}))?\s*$")
#: one ``'name': number`` item of the event's metrics dict
_PADDLE_METRIC = re.compile(rf"'(?P<k>[^']+)':\s*(?P<v>{NUM})")


def _paddle_v2(line: str, state: dict) -> dict | None:
    """A PaddlePaddle v2 event line: the pass as the epoch, the batch within it, ``Cost`` the
    training loss; a test line files its cost and metrics under ``test_`` (a test cost is no
    training loss)."""
    if "Pass " not in line or "Cost " not in line:
        return None
    m = _PADDLE_V2.match(line)
    if m is None:
        return None
    pre = "test_" if m["test"] else ""
    rec = {"epoch": float(m["ep"]), f"{pre}cost": _num(m["cost"])}
    if m["b"] is not None and not pre:
        rec["batch"] = float(m["b"])
    for it in _PADDLE_METRIC.finditer(m["metrics"] or ""):
        rec[f"{pre}{it['k']}"] = _num(it["v"])
    return rec


#: Marian NMT's training display: "Ep. 1 : Up. 18000 : Sen. 13,161,686 : Cost 2.09789205 [* 1,234 @
#: 5,432 after 12,345,678] : Time 1277.30s : 13729.39 words/s [: gNorm 1.2345] [: L.r. 2.8284e-04]",
#: and its validators' lines "[valid] Ep. 1 : Up. 80000 : cross-entropy : 67.9483 : new best"
_MARIAN_TRAIN = re.compile(rf"^\s*Ep\.\s+(\d+)\s+:\s+Up\.\s+(\d+)\s+:\s+Sen\.\s+[\d,]+\s+:\s+Cost\s+({NUM})(?P<rest>.*)$")
_MARIAN_VALID = re.compile(rf"^\s*\[valid\]\s+Ep\.\s+(\d+)\s+:\s+Up\.\s+(\d+)\s+:\s+([\w\-]+)\s+:\s+({NUM})\b")
_MARIAN_EXTRA = re.compile(rf":\s+(gNorm|L\.r\.)\s+({NUM})")
#: Marian's validation metrics that are its loss (``--valid-metrics``: cross-entropy, ce-mean-words, ce-sum)
_MARIAN_LOSSES = frozenset({"cross-entropy", "ce-mean-words", "ce-mean", "ce-sum"})


def _marian(line: str, state: dict) -> dict | None:
    """A Marian line: the update is the step, ``Cost`` the training loss (per word or per sentence,
    as ``--cost-type`` says), ``L.r.`` and ``gNorm`` the LR and gradient norm; a validator's line
    files its metric under ``valid_`` (its cross-entropy as ``valid_loss``)."""
    if "Up." not in line:
        return None
    m = _MARIAN_TRAIN.match(line)
    if m is not None:
        rec = {"epoch": float(m[1]), "step": float(m[2]), "loss": _num(m[3])}
        for key, val in _MARIAN_EXTRA.findall(m["rest"]):
            rec["lr" if key == "L.r." else "grad_norm"] = _num(val)
        return rec
    m = _MARIAN_VALID.match(line)
    if m is None:
        return None
    name = "valid_loss" if m[3] in _MARIAN_LOSSES else f"valid_{m[3]}"
    return {"epoch": float(m[1]), "step": float(m[2]), name: _num(m[4])}


#: pt.darts (khanrc/pt.darts) and the NAS code built on it (Cream's CDARTS, PC-DARTS forks):
#: "Train: [ 1/50] Step 000/390 Loss 2.302 Prec@(1,5) (10.9%, 50.0%)"; a layer-wise search prints
#: "Train: Layer 1/3 Epoch  4/25 Step 000/002 Loss 2.214 ..."; the loss and precisions are running
#: averages over the epoch (or over the evaluation)
_DARTS_HEAD = r"^\s*(?P<split>Train|Valid|Retrain|Test)\s*:\s*(?:Layer\s+\d+/\d+\s+)?(?:\[\s*(?P<ep>\d+)/\d+\]|Epoch\s+(?P<ep2>\d+)/\d+)\s+"
_DARTS_STEP = re.compile(rf"{_DARTS_HEAD}Step\s+(?P<i>\d+)/(?P<n>\d+)\s+"
                         rf"Loss\s+(?P<loss>{NUM})\s.*?Prec@\(1,5\)\s*\(\s*(?P<t1>{NUM})%,\s*{NUM}%\)\s*$")
_DARTS_FINAL = re.compile(rf"{_DARTS_HEAD}Final Prec@1\s+(?P<t1>{NUM})%\s*$")


def _pt_darts(line: str, state: dict) -> dict | None:
    """A pt.darts line (see ``_DARTS_STEP``). A training line is a report at the global step
    ``(epoch - 1) x batches + step`` (it prints ``step/(batches - 1)``). An evaluation's lines are
    running averages over its batches: the last one seen is its result, filed when its "Final
    Prec@1" line closes it, at the last training step, as ``valid_loss`` and ``valid_top1``.
    Another phase's lines (a distillation "Retrain") are consumed without a record."""
    if "Prec@" not in line:
        return None
    m = _DARTS_STEP.match(line)
    if m is not None:
        split = m["split"]
        if split == "Train":
            ep, i, n = int(m["ep"] or m["ep2"]), int(m["i"]), int(m["n"]) + 1
            state["darts_step"] = float((ep - 1) * n + i)
            return {"epoch": float(ep), "step": state["darts_step"], "loss": _num(m["loss"]), "top1": _num(m["t1"])}
        if split in ("Valid", "Test"):
            state["darts_eval"] = (_num(m["loss"]), _num(m["t1"]))
        return {}
    m = _DARTS_FINAL.match(line)
    if m is None:
        return None
    held = state.pop("darts_eval", None)
    if m["split"] not in ("Valid", "Test") or held is None or "darts_step" not in state:
        return {}
    return {"step": state["darts_step"], "valid_loss": held[0], "valid_top1": _num(m["t1"])}


#: PyTorch-StudioGAN's evaluation lines: "FID score (Step: 62000, Using test moments): 103.559",
#: "Inception score (Step: 62000, 10000 generated images): 4.446", and the running best "Best FID
#: score (Step: 42000, Using test moments): 49.03" (the step of the best, not of this report)
_STUDIOGAN_EVAL = re.compile(rf"(?:^|[>\]]\s*)(?P<best>Best )?(?P<name>[A-Za-z][\w/.\-]*(?: [A-Za-z][\w/.\-]*)?) score \(Step: (?P<step>\d+), [^)]*\):\s*(?P<val>{NUM})\s*$")


def _studiogan_eval(line: str, state: dict) -> dict | None:
    """A StudioGAN evaluation: the metric at its step. The running best is filed at the step of
    the evaluation it follows (as ``best_fid_score``), not at the step it names, which lies in
    the past and would read as the log going back to a new run."""
    if " score (Step: " not in line:
        return None
    m = _STUDIOGAN_EVAL.search(line)
    if m is None:
        return None
    key = m["name"].strip().lower().replace(" ", "_") + "_score"
    if m["best"]:
        at = state.get("studiogan_step")
        return {"step": at, f"best_{key}": _num(m["val"])} if at is not None else {}
    state["studiogan_step"] = float(m["step"])
    return {"step": float(m["step"]), key: _num(m["val"])}



#: The PyTorch tutorials' progress prints, copied into countless scripts: the character-level RNN
#: classifier's "5000 5% (0m 12s) 2.4177 Coelho / Portuguese ✓" (iteration, share, elapsed time,
#: loss, then a sample), and the generator's and seq2seq translator's "0m 6s (5000 5%) 3.1506" /
#: "1m 47s (- 25m 1s) (5000 6%) 2.8632" (elapsed time, remaining time, iteration and share, loss).
_TUTORIAL_ITER_FIRST = re.compile(rf"^\s*(\d+)\s+\d+%\s+\(\s*-?\d+m\s+-?\d+s\s*\)\s+({NUM})(?:\s|$)", re.I)
_TUTORIAL_TIME_FIRST = re.compile(rf"^\s*-?\d+m\s+-?\d+s\s+(?:\(\s*-\s*-?\d+m\s+-?\d+s\s*\)\s+)?\(\s*(\d+)\s+\d+%\s*\)\s+({NUM})\s*$", re.I)


def _pytorch_tutorial(line: str, state: dict) -> dict | None:
    """A PyTorch tutorial's progress print (see :data:`_TUTORIAL_ITER_FIRST`): iteration and loss."""
    if "%" not in line or "m " not in line:
        return None
    m = _TUTORIAL_ITER_FIRST.match(line) or _TUTORIAL_TIME_FIRST.match(line)
    return {"iter": float(m[1]), "loss": _num(m[2])} if m else None


#: Darknet's per-iteration line (pjreddie/darknet's detector, AlexeyAB's fork, with its "avg loss"
#: and "hours left"): "1066: 530.486694, 6989.017090 avg, 0.000500 rate, 1.285783 seconds, 4264
#: images"; its classifier prints the epoch after the iteration: "40245, 4.021: 6.907692, 6.910023
#: avg, 0.081346 rate, ...". The first number after the colon is the batch's loss, the second its
#: running average, then the LR.
_DARKNET = re.compile(rf"^\W?\s*(\d+)(?:\s*,\s*({NUM}))?\s*:\s*({NUM})\s*,\s*({NUM})\s+avg(?:\s+loss)?\s*,\s*({NUM})\s+rate\s*,", re.I)
#: ...and its per-output-layer statistics between them ("Region 106 Avg IOU: 0.387106, Class: ...,
#: count: 4"; "v3 (mse loss, Normaliz..."): of the boxes assigned to that layer in that batch, so a
#: layer assigned none prints nan (0/0), which is no blow-up; they are read as no record.
_DARKNET_LAYER = re.compile(r"^\W?\s*(?:Region|Detection|v3 \()\s*\d*.*\bAvg IOU\s*:", re.I)


def _darknet(line: str, state: dict) -> dict | None:
    """A Darknet iteration line (see :data:`_DARKNET`), or one of its layer lines (no record)."""
    if "rate" in line and "avg" in line:
        m = _DARKNET.match(line)
        if m:
            rec = {"iteration": float(m[1]), "loss": _num(m[3]), "avg_loss": _num(m[4]), "lr": _num(m[5])}
            if m[2] is not None:
                rec["epoch"] = _num(m[2])
            return rec
    if "IOU" in line and _DARKNET_LAYER.match(line):
        return {}
    return None


#: Caffe's solver prints each output blob of its nets on a line of its own: "Test net output #1:
#: loss = 8.02739 (* 1 = 8.02739 loss)" after "Iteration 9000, Testing net (#0)", and "Train net
#: output #0: loss = 0.209952 (* 1 = 0.209952 loss)" after each training display. A test net's
#: blob is the evaluation's (``test_loss``, ``test_accuracy``); read as a bare "loss" it was filed
#: in the training loss. The "(* w = v loss)" tail is the blob's weighted share of the objective.
_CAFFE_NET_OUTPUT = re.compile(rf"^\s*(?P<net>Test|Train) net output #\d+\s*:\s*(?P<key>[A-Za-z_][\w./\-]*)\s*=\s*(?P<val>{NUM})", re.I)


def _caffe_net_output(line: str, state: dict) -> dict | None:
    """A Caffe net-output line (see :data:`_CAFFE_NET_OUTPUT`): the blob's value, a test net's
    named as the evaluation's."""
    if "net output" not in line:
        return None
    m = _CAFFE_NET_OUTPUT.match(line)
    if not m:
        return None
    key = m["key"].lower()
    return {(f"test_{key}" if m["net"].lower() == "test" else key): _num(m["val"])}


#: pytorch/examples' ``reinforce.py`` and ``actor_critic.py`` before 2017-11 (copied into PyTorch
#: Ignite's ``examples/reinforcement_learning``): ``'Episode {}\tLast length: {:5d}\tAverage length:
#: {:.2f}'.format(i_episode, t, running_reward)``. Both train on CartPole, whose reward is +1 for
#: every step the pole stays up, so an episode's length is its return: the same scripts later print
#: the same two numbers as ``Last reward`` and ``Average reward``. The average is the running
#: ``running_reward * 0.99 + t * 0.01``. An arrow key pressed while the script ran echoes in caret
#: notation before a line ("^[[BEpisode 180 ...": the terminal's cursor-down, typed, not printed).
_CARTPOLE_LENGTHS = re.compile(rf"^\s*(?:\^\[\[[A-D])*Episode\s+(?P<ep>\d+)\s+Last length:\s*(?P<last>{NUM})\s+Average length:\s*(?P<avg>{NUM})\s*$")


def _cartpole_lengths(line: str, state: dict) -> dict | None:
    """A pytorch/examples (or Ignite) CartPole policy-gradient line: the episode, and the last and
    running-average episode lengths under the names the scripts' later wording gives them
    (``last_reward``, ``average_reward``: the running average is the return). Read by the generic
    rules, ``last_length`` and ``average_length`` named no training signal and the run was refused."""
    if "Last length:" not in line:
        return None
    m = _CARTPOLE_LENGTHS.match(line)
    if m is None:
        return None
    return {"episode": float(m["ep"]), "last_reward": _num(m["last"]), "average_reward": _num(m["avg"])}


#: keras-io's DDPG example (``examples/rl/ddpg_pendulum.py``, and the notebooks and ports copied
#: from it): ``print("Episode * {} * Avg Reward is ==> {}".format(ep, avg_reward))``, the episode and
#: the mean return of the last 40 episodes. The asterisks and the arrow left nothing a key rule reads.
_KERAS_IO_AVG_REWARD = re.compile(rf"^\s*Episode \* (?P<ep>\d+) \* Avg Reward is ==> (?P<avg>{NUM})\s*$")


def _keras_io_avg_reward(line: str, state: dict) -> dict | None:
    """A keras-io DDPG line (``_KERAS_IO_AVG_REWARD``): the episode and ``avg_reward``, its words."""
    if "Avg Reward is ==>" not in line:
        return None
    m = _KERAS_IO_AVG_REWARD.match(line)
    if m is None:
        return None
    return {"episode": float(m["ep"]), "avg_reward": _num(m["avg"])}


#: tinygrad's MLPerf trainers (``examples/mlperf/model_train.py``): the step, then comma-separated
#: figures each followed by what it is, ``    1 93.44 s run, 11.8750 loss, 0.000000000001 LR,
#: 642.43 GB used,  19644.30 GFLOPS`` (the timings may be split further: ``ms run``, ``ms python``).
#: The figure before ``loss`` is the loss and the one before ``LR`` the learning rate; the times, the
#: memory and the throughput are no training metric.
_TINYGRAD_STEP = re.compile(r"^\s*(?P<i>\d+)\s+(?P<rest>\S.*)$")
_TINYGRAD_FIGURE = re.compile(rf"^(?P<v>{NUM})\s+(?P<what>[A-Za-z][A-Za-z/ ]{{0,30}})$")
#: the figures tinygrad names that are training metrics, under the names the records take
_TINYGRAD_METRICS = {"loss": "loss", "LR": "lr"}


def _tinygrad_step(line: str, state: dict) -> dict | None:
    """One tinygrad MLPerf step line (``_TINYGRAD_STEP``): the step, the loss and the LR; every
    comma-separated segment must be a figure and its word, and one of them the loss."""
    if " loss," not in line:
        return None
    m = _TINYGRAD_STEP.match(line)
    if m is None:
        return None
    rec = {"step": float(m["i"])}
    for seg in m["rest"].split(","):
        f = _TINYGRAD_FIGURE.match(seg.strip())
        if f is None:
            return None
        name = _TINYGRAD_METRICS.get(f["what"])
        if name is not None:
            rec[name] = _num(f["v"])
    return rec if "loss" in rec else None


#: Julia's ``@show`` macro, which the Flux model zoo and Flux users print their training with: the
#: expression, `` = ``, then its value: ``loss(x, y) = 0.0913``, ``accuracy(m, x, label, 0.0:9) =
#: 0.10525``; a tuple of expressions and a tuple of values, ``(i, loss(dataset[1]...)) = (1,
#: 0.296)``. A value of Flux's Tracker (before Zygote, 2019) is shown wrapped, ``param(0.0913)``, or
#: marked, ``0.296 (tracked)``. An expression is a call, whose function's name is the metric's
#: (``loss``, ``accuracy``), or a bare variable (the loop's ``i``), kept under its own name.
_JULIA_VALUE = re.compile(rf"^(?:param\((?P<p>{NUM})\)|(?P<v>{NUM})(?: \(tracked\))?)$")
_JULIA_CALL = re.compile(r"^(?P<fn>[A-Za-z_][A-Za-z_0-9!]{0,40})\(.*\)$")
_JULIA_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z_0-9]{0,40}$")


def _julia_top_level(text: str) -> list[str]:
    """``text`` cut at its commas outside brackets (a tuple's elements), each stripped."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def _julia_name(expr: str) -> str | None:
    """The name an ``@show`` expression gives its value: a call's function, or a bare variable."""
    m = _JULIA_CALL.match(expr)
    if m is not None:
        return m["fn"]
    return expr if _JULIA_VARIABLE.match(expr) else None


def _julia_show(line: str, state: dict) -> dict | None:
    """One ``@show`` line (see ``_JULIA_VALUE``): each expression's name and its scalar value. A line
    whose values are no scalars (a matrix, ``[0.0 0.0; 1.46 0.0] (tracked)``) or whose expressions are
    no calls nor variables is another rule's."""
    if " = " not in line or "(" not in line:
        return None
    expr, _, value = line.strip().partition(" = ")
    if expr[:1] == "(" and expr[-1:] == ")" and value[:1] == "(" and value[-1:] == ")":
        exprs, values = _julia_top_level(expr[1:-1]), _julia_top_level(value[1:-1])
        if len(exprs) != len(values) or len(exprs) < 2:
            return None
    else:
        exprs, values = [expr], [value]
        if _JULIA_CALL.match(expr) is None:
            return None  # (a single bare variable, "x = 3", is any key-value line's)
    rec = {}
    for e, v in zip(exprs, values):
        name, m = _julia_name(e), _JULIA_VALUE.match(v)
        if name is None or m is None or name in rec:
            return None
        rec[name] = _num(m["p"] if m["p"] is not None else m["v"])
    return rec


#: cleverhans's tutorials and examples (mnist_tutorial_tf.py, the adversarial-training scripts) after each
#: epoch's evaluation: ``'Test accuracy on legitimate examples: %0.4f'`` (the clean test set) and ``'Test
#: accuracy on adversarial examples: %0.4f'`` (the same set under attack). Read by the key-value rule, a key
#: kept its last two words ("legitimate_examples"), and no role took it.
_CLEVERHANS_ACCURACY = re.compile(rf"^\s*Test accuracy on (legitimate|adversarial) examples:\s*(?P<v>{NUM})\s*$")


def _cleverhans_accuracy(line: str, state: dict) -> dict | None:
    """A cleverhans test accuracy, on the clean examples or the adversarial ones, named by the
    line's own words (``test_accuracy_legitimate``, ``test_accuracy_adversarial``)."""
    m = _CLEVERHANS_ACCURACY.match(line) if "accuracy on" in line else None
    return {f"test_accuracy_{m[1]}": _num(m["v"])} if m else None


#: kraken's ``ketos train`` (3.0 on: a rich progress bar, PyTorch Lightning underneath) in a terminal too
#: narrow for the metrics after its bar: rich wraps them into a table under the bar, each name cut to
#: its column ("val_accura…") and its value below it, starting at the same column (kraken issue 703):
#:   ``stage 6/∞ ━━━━ 10510/10510 0:13:20 •   13.14it/s val_accura… early_stopp…``
#:   ``                                  0:00:00               0.926       1/5 0.92637``
#:   ``                                                        val_word_a…``
#:   ``                                                        0.779``
#: A wide terminal prints the same fields as "val_accuracy: 0.865" on the bar's line (the key-value rule's).
_KETOS_STAGE = re.compile(r"^stage (\d+)/(?:\u221e|\d+) \u2501+ \d+/\d+ ")
#: the metrics kraken's trainers log (kraken/lib/train.py's ``self.log``: the recognition trainer's
#: character and word accuracy, the segmentation trainer's pixel accuracy, mean accuracy, mean and
#: frequency-weighted IoU): a name rich cut ("val_accura…") is read as the one of these it begins, when
#: exactly one does; the early-stopping counter ("early_stopp…": "1/5 0.92637") is no metric of the model
KETOS_METRICS = ("val_accuracy", "val_word_accuracy", "val_mean_acc", "val_mean_iu", "val_freq_iu")
_KETOS_NAME = re.compile(r"(?<!\S)([A-Za-z_]\w*)(\u2026?)(?!\S)")
_KETOS_VALUE = re.compile(rf"(?<!\S){NUM}(?!\S)")


def _ketos_names(line: str, start: int = 0) -> dict[int, str] | None:
    """The metric names of a wrapped ketos table line, by the column each starts at (a cut name as the
    one of ``KETOS_METRICS`` it begins); None where the line holds anything but names."""
    found = list(_KETOS_NAME.finditer(line, start))
    if not found or len(found) != len(line[start:].split()):
        return None
    names: dict[int, str] = {}
    for m in found:
        whole = [n for n in KETOS_METRICS if (n.startswith(m[1]) if m[2] else n == m[1])]
        if len(whole) == 1:
            names[m.start()] = whole[0]
    return names


def _ketos_wrapped(line: str, state: dict) -> dict | None:
    """A ketos stage whose metrics rich wrapped under its bar (see ``_KETOS_STAGE``): each value row
    files the values that start at a named column, with the stage as the epoch; the bar line and the
    name rows are consumed without a record."""
    stage = _KETOS_STAGE.match(line) if line[:6] == "stage " and "\u2026" in line else None
    if stage:
        bar_end = line.find("it/s")  # the names follow the bar's speed
        names = _ketos_names(line, bar_end + 4) if bar_end > 0 else None
        if names is None:
            return None
        state["ketos"] = {"epoch": float(stage[1]), "names": names}
        return {}
    open_table = state.get("ketos")
    if open_table is None:
        return None
    if not line.strip() or line[:1] not in " \t":
        del state["ketos"]  # the table ends at a line that is not one of its indented rows
        return None
    names = _ketos_names(line)
    if names is not None:
        open_table["names"] = names
        return {}
    rec: dict = {}
    for m in _KETOS_VALUE.finditer(line):
        if m.start() in open_table["names"]:
            rec[open_table["names"][m.start()]] = _num(m[0])
    return {"epoch": open_table["epoch"], **rec} if rec else {}


#: kraken's ``ketos train`` (0.9 to 2.0) after each epoch's evaluation on its validation set:
#: ``message('Accuracy report ({}) {:0.4f} {} {}'.format(epoch, accuracy, chars, error))``, the
#: epoch (a "stage" in its progress bar), the character accuracy, the characters evaluated and the
#: errors among them. It follows the epoch's progress bar, on the bar's line when the bar was not
#: ended by a newline.
_KRAKEN_ACCURACY = re.compile(rf"Accuracy report \((?P<ep>\d+)\)\s+(?P<acc>{NUM})\s+(?P<chars>\d+)\s+(?P<err>\d+)\s*$")


def _kraken_accuracy(line: str, state: dict) -> dict | None:
    """A kraken accuracy report: the validation character accuracy and error count at its epoch.
    Read by the generic rules, the report's numbers had no names (and a bar before it left only
    its epoch), so the run was refused."""
    if "Accuracy report (" not in line:
        return None
    m = _KRAKEN_ACCURACY.search(line)
    if m is None:
        return None
    return {"epoch": float(m["ep"]), "val_accuracy": _num(m["acc"]), "val_errors": float(m["err"])}


#: the progress line of "Grokking Deep Reinforcement Learning"'s notebooks (mimoralea/gdrl: DQN, DDQN,
#: REINFORCE, VPG, A3C, GAE, A2C, DDPG, TD3, SAC, PPO), every minute of training: ``'el {}, ep {:04},
#: ts {:07}, ar 10 {:05.1f}\u00B1{:05.1f}, 100 {:05.1f}\u00B1{:05.1f}, ex 100 {:02.1f}\u00B1{:02.1f},
#: ev {:05.1f}\u00B1{:05.1f}'``: elapsed time, episodes, timesteps, the mean (and spread) of the
#: training return over the last 10 and the last 100 episodes, of the exploration ratio over the last
#: 100, and of the evaluation return over the last 100 evaluations (the score its "solved" test uses).
#: the spread after a mean ("001.0\u00b1000.0"); the reader drops it before the rules see the line
_SPREAD_TAIL = rf"(?:\s*(?:\u00b1|\+/-)\s*{NUM})?"
_GDRL_PROGRESS = re.compile(rf"^\s*el [\d:]+, ep (?P<ep>\d+), ts (?P<ts>\d+), ar 10 (?P<ar10>{NUM}){_SPREAD_TAIL}, "
                            rf"100 (?P<ar100>{NUM}){_SPREAD_TAIL}, ex 100 (?P<ex>{NUM}){_SPREAD_TAIL}, ev (?P<ev>{NUM}){_SPREAD_TAIL}\s*$")


def _gdrl_progress(line: str, state: dict) -> dict | None:
    """A gdrl progress line: the timesteps as the step, the mean training return over the last 100
    episodes (``mean_100_reward``, the return) before the one over 10, the exploration ratio, and the
    mean evaluation return (``eval_return``). Read by the generic rules, only ``ep``, ``ts`` and ``ev``
    came out (the spreads joined each number to the next), none naming a training signal."""
    if not line.lstrip().startswith("el "):
        return None
    m = _GDRL_PROGRESS.match(line)
    if m is None:
        return None
    return {"episode": float(m["ep"]), "timesteps": float(m["ts"]), "mean_100_reward": _num(m["ar100"]),
            "mean_10_reward": _num(m["ar10"]), "exploration_ratio": _num(m["ex"]), "eval_return": _num(m["ev"])}
