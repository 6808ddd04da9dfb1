"""The general rule: ``key=value`` / ``key: value`` pairs anywhere on a line, with the step
words, brackets, split prefixes and framework idioms (MetricLogger "value (avg)", mmengine
``Epoch(val)``, PaddleClas, MXNet, timm, ESPnet, Catalyst) that decide which step and which
split the values belong to; Python dict lines; "name value" segments."""

from __future__ import annotations

import ast
import json
import re

from lrdoctor.io.textlog._base import NUM, _NUM_FULL, _STEPLIKE, _UNIT, _num
from lrdoctor.io.textlog.prefix import LEVEL
from lrdoctor.names import EVAL_WORDS, UNDEFINED_CLASSES_SUFFIX

#: rasbt's deeplearning-models: ``Epoch: 001/020 | Batch 0150/0176 | Cost: 1.5725``
_EPOCH_BATCH_OF = re.compile(r"^\s*Epoch:\s*(?P<ep>\d+)/\d+\s*\|\s*Batch\s+(?P<i>\d+)/(?P<n>\d+)\s*\|", re.I)

#: ``key=value`` / ``key: value``. A key starts only at the start of a run of key characters
#: (digits before its first letter are skipped inside the match): otherwise every position
#: of a long word would start a scan to the end of that word, quadratic in its length.
_KV = re.compile(rf"(?<![\w/.\-@])(?:[^\W_A-Za-z]|[/.\-])*(?P<key>[A-Za-z_][\w/.\-@]*(?:\s[A-Za-z_][\w/.\-@]*)?)[\x27\x22]?\s*(?:=|:)\s*(?P<val>{NUM}){_UNIT}(?!\w|\.\w)", re.I)

#: an epoch/step heading framed by marks, nothing else on the line: PointNet's "**** EPOCH 010 ****",
#: Pointnet_Pointnet2_pytorch's "**** Epoch 1 (4/128) ****", whose count of the total is the epoch
#: (the number before it is a counter that restarts when a run is resumed); not "---- EPOCH 010
#: EVALUATION ----", a heading of the same epoch's evaluation
_FRAMED_STEP = re.compile(r"^\s*[*=#~\-]{2,}\s*(step|iter|iteration|epoch|episode)\s+(\d+)(?:\s*\(\s*(\d+)\s*/\s*\d+\s*\))?\s*[*=#~\-]*\s*$", re.I)

#: the first two characters of a framed heading (``_FRAMED_STEP``), a cheap test before the pattern
_FRAMES = frozenset({"**", "==", "##", "~~", "--"})

_STEP_WORD = re.compile(r"^\s*\[?(step|iter|iteration|epoch|episode)\s*(?:\[\s*)?(\d+)", re.I)

#: units that trail a value and may be read as the first word of the next key
_UNIT_WORDS = frozenset({"s", "ms", "sec", "secs", "min", "h", "it"})

#: words that are the previous key's (non-numeric) value, not the start of the next key:
#: StudioGAN's "ada_p: No Discriminator_loss: 4.88613" is ada_p = No, then Discriminator_loss
_VALUE_WORDS = frozenset({"no", "yes", "true", "false", "none", "off", "on"})


#: a word boundary inside camelCase: an upper-case letter after two or more lower-case ones
_CAMEL = re.compile(r"(?<=[a-z]{2})(?=[A-Z])")


#: split words written with an abbreviation dot before the metric ("Val. Loss", "Valid. Acc.")
_SPLIT_ABBREV = frozenset({"val", "valid", "eval", "test", "train", "dev", "avg"})


#: a verb written between a key and its separator ("success rate is: 89.0", "loss was = 0.3")
_COPULAS = frozenset({"is", "was", "are", "were"})


def _key_name(raw: str) -> str:
    """snake_case key; a leading lower-case unit word belongs to the previous value, not to the
    key ("0.831s loss=1.19" is "loss", not "s_loss")."""
    if ". " in raw:  # a sentence ends inside the two-word key: ML-Agents' "3DBall. Step: 10000."
        head, tail = raw.rsplit(". ", 1)
        word = head.split()[-1] if head.split() else ""
        # ...unless the dot abbreviates a split: bentrevett's seq2seq "Val. Loss: 4.783" is the
        # validation loss, not a bare "Loss"
        raw = f"{word} {tail}" if word.lower() in _SPLIT_ABBREV else tail
    if raw.strip() == "L1":
        return "l1_loss"  # the loss named by its function in capitals (EDSR's "[L1: 5.9633]"); a small l1 is a norm
    if not raw.islower():  # CNTK's "TrainLossPerSample" -> train_loss_per_sample ("mAP", "mIoU" stay whole)
        raw = _CAMEL.sub("_", raw)
    words = raw.split()
    if len(words) > 1 and words[-1].lower() in _COPULAS:
        words = words[:-1]  # MAML's "epoch is: 3, eval success rate is: 89.000": the verb is no part of the name
        raw = " ".join(words)
    if len(words) > 1 and words[0].lower() in _VALUE_WORDS:
        raw = " ".join(words[1:])
    words = raw.split()
    # (a unit word apart from the key, "s loss": one joined to it by "_" is the key's own word,
    # "min_episode_rewards", the minimum of a pandas Series print, not minutes)
    if len(words) > 1 and words[0] in _UNIT_WORDS:
        return "_".join(w.lower() for w in words[1:])
    return raw.strip().lower().replace(" ", "_")


#: prose logs: "Loss is 1.2645824. Current learning rate is 0.0463" (BigDL, Analytics Zoo),
#: "epoch 3 mAP is 0.3790 ..." (simple-faster-rcnn-pytorch's train.py); only well-known metric
#: words, so "Throughput is 408" adds no column (mAP in its own capitals: "the map is" is prose)
_IS = re.compile(rf"(?<![\w])(?P<key>loss|learning rate|lr|accuracy|reward|(?-i:mAP|MAP))\s+is\s+(?P<val>{NUM})", re.I)

#: a training script announcing a non-finite loss in words, with no number, as the whole line:
#: "NaN detected" (visual-semantic-embedding), "Detected NaN", "NaN encountered in loss"; not
#: an AMP skip ("NaN detected in gradients, skipping step") or any other sentence
_NAN_WORDS = re.compile(r"^\W*(?:nans? (?:detected|encountered)|(?:detected|encountered) (?:a )?nan)(?: in (?:the )?(?:loss|cost))?\W*$"
                        # YOLACT's loss averager (utils/functions.py MovingAverage.add): "Warning: Moving
                        # average ignored a value of nan" for each non-finite loss it is handed
                        r"|^\W*(?:warning:\s*)?moving average ignored a value of (?:nan|inf)\W*$", re.I)

#: fairseq's NanDetector, which the trainer switches on to re-run a step whose loss or gradients
#: came out NaN/inf: "Inf detected in output of decoder.layers.21, shape: torch.Size([1024, 2,
#: 1024]), forward input max: 64288.0, input min: -47264.0" (a blow-up, whatever its numbers)
_NAN_DETECTOR = re.compile(r"\b(?:nan|inf) detected in (?:the )?(?:output|input|grad(?:ient)?)s? of \S", re.I)

#: the key of such an announcement; the reader files its NaN under the loss column of the
#: record before it (``parse_lines``), "Cost" in "Epoch 2 Update 550 Cost 25.9 ... NaN detected"
NAN_EVENT = "nonfinite_announced"

#: frameworks' own words for a non-finite loss, wherever they stand in the line (behind an
#: exception's class name, a logger's prefix): each is the exact message of a library, or of a
#: training-loop template that many repositories copy, printed when the loss stops being finite
_FRAMEWORK_NAN = re.compile(
    r"Loss became infinite or NaN at iteration"  # detectron2's train loop (FloatingPointError) and its forks
    r"|non-finite loss, ending training"  # YOLOv5's early train loop, and the classification templates that copy it
    r"|Invalid loss, terminating training"  # Keras' TerminateOnNaN callback
    r"|NaN loss during training"  # TensorFlow's NanTensorHook (NanLossDuringTrainingError)
    r"|Model diverged with loss = NaN"  # TensorFlow's NanTensorHook, and the cifar10 tutorial's assert
    r"|Nan in summary histogram for"  # TensorFlow's HistogramSummary kernel handed a NaN tensor
    r"|Tensor had (?:NaN|Inf) values"  # tf.debugging.check_numerics (the object detection API's "LossTensor is inf or nan")
    r"|Minimum loss scale reached"  # fairseq's DynamicLossScaler: fp16 overflows on every step (FloatingPointError)
)


#: ESPnet's own words for a non-finite gradient norm, printed once for each step whose update it
#: skips: ESPnet2's trainer ("The grad norm is nan. Skipping updating the model.", the norm as
#: ``clip_grad_norm_`` returned it, so "inf" too) and ESPnet1's updaters ("grad norm is nan. Do not
#: update model."). The norm itself is the number the line prints: a ``grad_norm`` report, which the
#: ``nonfinite`` detector weighs like any other (a few skipped steps are a scaler's calibration,
#: ``persistent_points`` in a row a blow-up)
_FRAMEWORK_GRAD_NAN = re.compile(r"\bgrad norm is (nan|inf)\b\.?\s*(?:Skipping updating the model|Do not update model)", re.I)


def _framework_nan(line: str, state: dict) -> dict | None:
    """A library's announcement of a non-finite loss (see ``_FRAMEWORK_NAN``): a NaN filed under
    the loss of the record before it, like the other announcements; or of a non-finite gradient
    norm (``_FRAMEWORK_GRAD_NAN``): the norm it printed, as a ``grad_norm`` report of its own."""
    if ("aN" in line or "nan" in line or "Nan" in line or "finite" in line or "nvalid loss" in line or "loss scale" in line) \
            and _FRAMEWORK_NAN.search(line):
        return {NAN_EVENT: float("nan")}
    if "norm is" in line:
        m = _FRAMEWORK_GRAD_NAN.search(line)
        if m:
            return {"grad_norm": float(m[1])}
    return None

#: Deeplearning4j's ScoreIterationListener: "Score at iteration 60 is 2.3456" (the score is the
#: network's loss)
_DL4J_SCORE = re.compile(rf"score at iteration (\d+) is ({NUM})", re.I)

#: keras-io's "writing a training loop from scratch" (and the loops copied from it):
#: "Training loss (for one batch) at step 100: 3.1449"; also "loss at batch 5 = 17.4767" (a
#: loop that prints its loss tensor per batch)
_AT_STEP = re.compile(rf"^\s*(?P<key>[A-Za-z][\w ]{{0,40}}?)\s*(?:\([^)]{{0,40}}\))?\s+at (?:step|batch|iteration|iter) (?P<step>\d+)\s*[:=]\s*(?P<val>{NUM})", re.I)

#: the deeplearning.ai courses' "Cost after iteration 100: 0.693147" (and the notebooks that copy
#: them), "Loss after epoch 3: 0.52": the number after the unit is the step, the one after the
#: colon the value (read as "cost_after_iteration: 100" the step was filed as the cost)
_AFTER_STEP = re.compile(rf"^\s*(?P<key>[A-Za-z][\w ]{{0,40}}?)\s+after\s+(?:the\s+)?(?P<unit>epoch|iteration|iter|step|batch|episode)\s*#?\s*"
                         rf"(?P<step>\d+)\s*[:=]\s*(?P<val>{NUM})(?![\w.])", re.I)

#: the "name: value" pairs that follow an "at step" record on its line ("Training loss at step 0:
#: 1.64, accuracy: 0.0576": a TF2 PointNet loop)
_MORE_PAIRS = re.compile(rf"[,;|]\s*(?P<key>[A-Za-z][\w ]{{0,40}}?)\s*[:=]\s*(?P<val>{NUM})(?![\w.])")

#: "Start of epoch 0": the epoch whose lines follow
_START_OF_EPOCH = re.compile(r"^\s*start of epoch (\d+)\s*$", re.I)

#: Sample Factory's "Avg episode reward: [(0, '-1.416')]": policy 0's mean return, quoted
_SF_REWARD = re.compile(rf"avg episode reward:\s*\[\(\s*0\s*,\s*'({NUM})'\s*\)", re.I)

#: DeepSpeed-Chat's "Epoch 1/3 with loss 0.6737638572528841"
_WITH = re.compile(rf"(?<![\w])with (?P<key>loss|train loss|training loss)\s+(?P<val>{NUM})(?![\w.])", re.I)

#: a scheduler's prose: Keras' "LearningRateScheduler setting learning rate to 0.001.",
#: "ReduceLROnPlateau reducing learning rate to 1e-4.", OpenNMT's "Decaying learning rate to 0.0156"
_LR_TO = re.compile(rf"(?<![\w])(?:learning rate|lr) to ({NUM})(?!\w|\.\d)", re.I)

#: "[Iteration 45457]": the global iteration counter of the same logs
_ITER_BRACKET = re.compile(r"\[iteration\s+(\d+)\]", re.I)

#: pytorch/examples ImageNet's "Epoch: [127][ 35/464]" (or "[127/300][ 35/464]"): batch i of T in epoch e;
#: mmcv's "Epoch [1][50/7330]" (epochs from 1: no colon)
#: also mmengine's "Epoch(train) [1][10/90]" (an "Epoch(val)" line files its metrics at the epoch,
#: not at a step computed from the validation loader) and "Epoch:[0/19](100/24681)" (minimind)
_EPOCH_BRACKETS = re.compile(
    r"(?:epoch|train)(?P<mode>\((?:train|val|test)\))?(?P<colon>:?)\s*\[\s*(?P<ep>\d+)(?:\s*/\s*\d+)?\s*\]\s*"
    r"(?:\[\s*(?P<i>\d+)\s*/\s*(?P<n>\d+)\s*\]|\(\s*(?P<pi>\d+)\s*/\s*(?P<pn>\d+)\s*\))", re.I)

#: the same two brackets with no word before them, leading the line: pytorch/examples' DCGAN
#: "[0/25][50/782] Loss_D: 1.2 Loss_G: 3.4" and crnn.pytorch's "[7/25][60/60] Loss: 19.398106"
#: (epoch e of E from 0, batch i of N): the step is e * N + i
_BARE_EPOCH_BRACKETS = re.compile(r"\s*\[\s*(?P<ep>\d+)\s*/\s*\d+\s*\]\s*\[\s*(?P<i>\d+)\s*/\s*(?P<n>\d+)\s*\]")

#: timm's "Train: 3 [ 100/1251 (  8%)]" (and OpenPCDet's "Train:    1/3 ( 33%) [  49/323 ( 15%)]"):
#: batch i of N in epoch e; pytorch/examples' "Train Epoch: 1 [640/60000 (1%)]" counts samples
#: PaddleClas: ``[Train][Epoch 24/120][Iter: 0/304]lr(...): 0.001, top1: 0.97, CELoss: 0.0176``
#: (1-based epochs: its eta counts ``(epochs - epoch + 1) * iters``); ``[Eval][Epoch 24][Iter: 0/50]``
#: lines hold the evaluation's fields
_PADDLECLAS = re.compile(r"\[(?P<mode>Train|Eval)\]\[Epoch (?P<ep>\d+)(?:/\d+)?\]\[Iter: (?P<i>\d+)/(?P<n>\d+)\]", re.I)

_LR_NAMED = re.compile(rf"(?<![\w])lr\([A-Za-z]\w{{0,40}}\):\s*({NUM})", re.I)

#: MXNet's ``Epoch[4] Train-accuracy=0.5488`` / ``Epoch[4] Batch [100]``: the index in brackets
#: anywhere on the line (the line starts with a timestamp and ``Node[0]``)
_WORD_INDEX = re.compile(r"(?<![\w\[])(epoch|iter|iteration)\[(\d+)\](?!\s*\[?\s*\d+\s*/)", re.I)

#: mmcv's IterBasedRunner "Iter [50/40000]\tlr: ..." and mmengine's "Iter(train) [  50/40000]":
#: the global iteration; "Iter(val) [500]" / "Iter(val) [500/500]" lines hold an evaluation
#: (their number is the evaluated iteration or the validation loader's batch, not a step)
_ITER_BRACKETS = re.compile(r"(?<![\w])iter(?P<mode>\((?:train|val|test)\))?\s*\[\s*(?P<i>\d+)(?:\s*/\s*\d+)?\s*\]", re.I)

#: flashy's (audiocraft, encodec) "Train Summary | Epoch 25 | lr=5.67E-02 | ce=0.090 | ...":
#: the epoch, and whose summary the fields are (Valid, Evaluate, Generate are not training's)
_FLASHY_SUMMARY = re.compile(r"(?<![\w])(?P<stage>train|valid|evaluate|generate|test)\s+summary\s*\|\s*epoch\s+(?P<ep>\d+)", re.I)

#: " of 8 batches" before a key's colon, or " per 100 training steps" (the window a running
#: mean is printed over: "Training loss per 100 training steps: 0.4195", Transformers-Tutorials)
_OF_COUNT = re.compile(r"\s+(?:of|per)\s+\d+\s+[A-Za-z]+(?:\s+[A-Za-z]+)?(?=\s*:)")

#: MONAI's tutorials: "{step}/{epoch_len}, train_loss: {loss:.4f}" under an "epoch 1/10" line;
#: char-rnn's "982/9500 (epoch 5.168), train_loss = 1.5989"
_LEADING_COUNT = re.compile(r"^\s*(\d+)/\d+(?:\s*\([^)]{0,40}\))?,\s+[A-Za-z]")

#: LitGPT's "Epoch 1 | iter 46 step 1 | loss train: 3.724, val: n/a": the micro-batch and the
#: optimizer step
_ITER_STEP = re.compile(r"(?<![\w])iter\s+(\d+)\s+step\s+(\d+)(?![\w.])", re.I)

#: LLMs-from-scratch's "Ep 1 (Step 000100): Train loss 6.672, Val loss 6.683"
_PAREN_STEP = re.compile(r"\(\s*step\s+(\d+)\s*\)", re.I)

#: "Training of Epoch 18 - loss: 10.78" (DeepSpeech), "[Epoch 19/30] [Train loss: 0.02]",
#: tianshou's "Epoch #1: ...": an epoch word and number inside the line, read when nothing else
#: gave the line a step or an epoch; also "Test Epoch: [5/1000] Acc@1:47.33%" (Barlow-Twins-HSIC's
#: kNN monitor, after SimCLR's), a colon before the bracket
_EPOCH_INSIDE = re.compile(r"(?<![\w/])epoch\s*(?::\s*\[\s*|#\s*|\[\s*|\s)(\d+)(?:\s*/\s*\d+)?(?![\w.])", re.I)

#: a counter of the step kind inside the line: yunjey's pytorch-tutorial "Epoch [1/75], Step
#: [110/464], Loss: 0.31" (and the many loops copied from it), "Epoch 1 - Batch 1600/287417 -
#: Training Loss 2.29", "Train step 1040 -- Loss: 11.17"
_COUNTER_INSIDE = re.compile(r"(?<![\w])(?:train(?:ing)?\s+)?(step|iter|iteration|batch)\s*"
                             r"(?:\[\s*(\d+)\s*/\s*\d+\s*\]|\s(\d+)\s*/\s*\d+(?![\w.])|\s(\d+)(?=\s*(?:--|\||,|$)))", re.I)

#: gradient-boosting libraries' round counters: XGBoost's "[12]\ttrain-rmse:17.1\teval-rmse:17.9"
#: and LightGBM's "[12]\ttraining's l2: 0.5\tvalid_1's l2: 0.6"; CatBoost's "12:\tlearn: 0.68\ttest: 0.69"
_BOOST_ROUND = re.compile(r"^\s*(?:\[(\d+)\]\t|(\d+):\s+learn\b)")  # (a tab: "[18482] Fps is" is a process id)

_TIMM_TRAIN = re.compile(r"(?<![\w])train(?: epoch)?\s*:\s*(\d+)(?:\s*/\s*\d+\s*\(\s*\d+%\s*\))?\s*\[\s*(\d+)\s*/\s*(\d+)\s*\(\s*\d+%\s*\)\s*\]", re.I)

#: ESPnet2's "7epoch:train:7126-7500batch:" and "7epoch results:": the epoch (its batch counter
#: restarts every epoch, so rows stay in log order)
_ESPNET_EPOCH = re.compile(r"(?<![\w])(\d+)epoch(?::(?:train|valid):\d+-\d+batch:| results:)")

#: "best" leading the line: every value of it is a best so far (see :func:`_key_values`)
_BEST_LEAD = re.compile(r"^\W*best\b", re.I)

#: "best" among the words just before a key ("Yayy! New best EMA pseudo Dice: 0.8196")
_BEST_BEFORE = re.compile(r"(?<![\w])best(?: [A-Za-z]\w{0,20}){0,3} ?$", re.I)

#: Catalyst's "0/2 * Epoch 0 (train): ..." and "0 * Epoch (valid) metrics: ...": the epoch
_CATALYST_EPOCH = re.compile(r"^\s*(\d+)(?:/\d+)?\s*\*\s*Epoch\s*(\d+)?\s*\(", re.I)

#: an evaluation mode right after "Epoch" at the start of a line: "Epoch 0 (valid):", "Epoch(val)"
_EVAL_MODE = re.compile(r"(?<![\w])epoch\b[ \d]{0,12}\((?P<mode>valid|val|validation|eval|test)\)", re.I)

#: "key: a/b (p%)": a count of a in b and its percentage, the figure a person reads
_FRACTION_PCT = re.compile(rf"(?<![\w/.\-])(?P<key>[A-Za-z_][A-Za-z_ ]{{0,30}}?)\s*:\s*\d+\s*/\s*\d+\s*\(\s*(?P<pct>{NUM})\s*%\s*\)", re.I)

#: words of a score whose "a/b (p%)" is read as p
_SCORE_WORD = re.compile(r"acc|correct|precision|recall|top\d|f1|success|dice|iou|map", re.I)

#: a line led by an evaluation split's name: "Test set: ...", "Test set results: ...", "Validation set: ...", "Eval: ...",
#: DeepSpeech's "Validation of Epoch 0 - loss: 95.8", PyTorch-Ignite's examples' "Validation Results
#: - Epoch: 1  Avg accuracy: 0.85 Avg loss: 0.35"; or the name in brackets as a tag: "[valid] epoch 3 loss 0.52",
#: after a mode word too: MatchZoo's "[Eval:test] Iter:77 map=0.5679" and "[Eval:valid] ..." (two splits, two columns);
#: ReChorus' "Test After Training: (HR@5:0.9161,NDCG@5:0.7829,...)" (the final test, filed under the last
#: epoch it was read as that epoch's dev score) and the kNN monitor's "Test Epoch: [5/1000] Acc@1:47.33%";
#: ACNet's "val at epoch 5, top1=60.48000, top5=97.16000, loss=1.444115" (its validation's loss, not
#: the training loss), after the logger's name and level that the prefix reader keeps when that name
#: is a split word ("train INFO: val at epoch 5, ...")
_SPLIT_LINE = re.compile(r"^[\s\\]*(?:[A-Za-z_]\w*\s+" + LEVEL + r"\s*:\s*)?\[?(?:(?:eval|evaluation|train|training)\s*:\s*)?(test|val|valid|validation|eval|evaluation|dev)(?: set| after training| epoch)?(?: results| metrics)?"
                         r"(?:\]|\s*(?::|-\s|\[\s*\d+\s*/\s*\d+\s*\]|\s+(?:of|at)\s+epoch\b))", re.I)

#: a split's name leading the metrics after the step fields: rasbt's deeplearning-models print
#: "***Epoch: 001/040 | Train. Acc.: 32.408% | Loss: 1.743" and then "***Epoch: 001/040 | Valid.
#: Acc.: 33.340% | Loss: 1.714": the second line's Loss is the validation's. Only when the split
#: leads: in "Epoch 3 | loss 0.5 | val_acc 0.8" the plain loss comes first and is the training one
_SPLIT_AFTER_STEP = re.compile(r"^\W*(?:epoch|step|iter|iteration)\s*:?\s*\d+(?:\s*/\s*\d+)?\s*\|\s*(test|val|valid|validation|eval)\b", re.I)

#: ...or after the step and a blank, named with a colon: DeepChem's ValidationCallback prints
#: "Step 1000 validation: roc_auc_score=0.74314" (the colon tells the split from a key that
#: starts with its word, "Step 3 val_loss 0.5", and from "Epoch 3 val loss 0.5")
_SPLIT_COLON_AFTER_STEP = re.compile(r"^\W*(?:epoch|step|iter|iteration)\s*:?\s*\d+(?:\s*/\s*\d+)?\s*,?\s+"
                                     r"(test|val|valid|validation|eval|evaluation|dev)\s*:", re.I)

#: a split's name, then the epoch's number, then the fields: DGCNN's main.py (and the point-cloud
#: codebases copied from it) prints "Train 26, loss: 3.676545, train acc: 0.075407" and "Test 26,
#: loss: 3.640235, test acc: 0.042139": the number is the epoch, and the Test line's loss is the
#: evaluation's (read without the rule, the two lines' losses alternated in one training column
#: and the epoch was lost)
_SPLIT_THEN_EPOCH = re.compile(r"^\W*(train|training|test|val|valid|validation|eval|evaluation)\s+(\d+)\s*[,:|]\s", re.I)

#: Megatron's "validation loss at iteration N": the key the general rule reads from it
_LOSS_AT_STEP = re.compile(r"^(?P<split>validation|valid|val|test|eval)_loss_at_(?:iteration|step|iter)$")

#: PaddleVideo's "epoch:[  7/80 ] val step:0 ..." and "END epoch:7   val loss_avg: ...": the
#: epoch, then the mode word that says whose fields follow
_EPOCH_THEN_MODE = re.compile(r"^\W*(?:\[[^\]]{0,40}\]\s*)?(?:end\s+)?epoch\s*:\s*\[?\s*(?P<ep>\d+)(?:\s*/\s*\d+)?\s*\]?\s+"
                              r"(?P<mode>train|val|valid|validation|eval|test)\b", re.I)

#: Bare split names as keys: "Train: 0.5455, Val: 0.5342" (PyG and DGL examples: accuracies),
#: "Train: 9.535, Val: 9.609" (LLMs-from-scratch: losses), "Loss train: 0.5, val: 0.6" (the
#: val of the key before it; Open3D-ML's "loss train: 10.721  eval: 8.661", "acc train: 0.287
#: eval: 0.317"). The line parser never decides on values, so that lines of one shape are read
#: alike (the shape cache relies on it).
_SPLIT_NAMES = frozenset({"train", "val", "valid", "test", "eval"})

#: a split's label closed by a colon just before a pair: "reward eval: reward: -0.00" (TorchRL's
#: tutorials), "val: loss: 0.31"; the pair is that split's
_SPLIT_LABEL = re.compile(r"(?<![\w])(eval|evaluation|val|valid|validation|test)\s*:\s+$", re.I)

#: two more numbers after a value, separated by blanks only: the value opens a vector
_VECTOR_TAIL = re.compile(rf"[ \t]+{NUM}[ \t]+{NUM}", re.I)

#: Python logging's "(module:lineno)" ("(trainer:486) INFO:"), which is no metric
_LOG_ORIGIN = re.compile(r"\(\w{1,60}:\d{1,7}\)")

#: A lower-case section marker inside a key=value line: ESPnet2's "[train] loss=1.61, ...
#: [valid] loss=1.85": the keys after "[valid]" are the validation's ("valid_loss")
_SECTION = re.compile(r"\[([a-z][a-z_]{0,30})\]\s")

#: a key qualified by a parenthesis before its colon: LitGPT's "loss train (curr): 1.657"
#: (or by a count: "Reward moyen (100 ep): 22.6", a mean over the last 100 episodes)
_QUALIFIED = re.compile(rf"(?<![\w/.\-])(?P<key>[A-Za-z_]\w{{0,40}}(?: [A-Za-z_]\w{{0,40}}){{0,2}}) \([A-Za-z0-9][\w ]{{0,30}}\) ?:\s*(?P<val>{NUM})(?![\w.])")

#: "[Loss] 51566519.44 | [step]    89": a bracketed name followed by its number (LION's
#: trainer); a bracketed lower-case name followed by more keys stays a section (``_SECTION``)
_BRACKET_KEY = re.compile(rf"\[(?P<key>[A-Za-z][A-Za-z_ ]{{0,24}})\][ \t]{{0,16}}(?P<val>{NUM})(?![\w.])")

#: loguru's "{name}:{function}:{line} - " origin ("trainers.base_trainer:train_epochs:256 - ")
_LOGURU_ORIGIN = re.compile(r"(?<![\w.])[A-Za-z_][\w.]{0,80}:[A-Za-z_]\w{0,60}:\d{1,6}(?= - )")

#: a bracketed list of numbers: nnU-Net's "Pseudo dice [0.0, 0.1611, 0.0]", DeepSpeed's
#: "lr=[5e-05]"; plain numbers only (no thousands separators, which would make the split of
#: "1,234,567" ambiguous), so a failed match stops at the first other character
_LIST_NUM = r"[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf)"

_NUM_LIST = re.compile(rf"\[\s*({_LIST_NUM}(?:\s*,\s*{_LIST_NUM})*)\s*\]", re.I)

#: the key just before a list (read in the 80 characters before it)
_LIST_KEY = re.compile(r"(?<![\w/.\-])([A-Za-z_][\w/.\-]{0,40}(?: [A-Za-z_][\w/.\-]{0,40}){0,3})\s*[:=]?\s*$")

#: OpenNMT-py's "Epoch  1, 12850/37527; acc: ..." (batch i of T within the epoch)
_EPOCH_BATCH = re.compile(r"^\s*epoch\s+(\d+)\s*,\s*(\d+)\s*/\s*(\d+)\s*;", re.I)


def _blank(line: str, spans: list[tuple[int, int]]) -> str:
    """``line`` with each span replaced by spaces: no rule reads it, and every other
    character keeps its position."""
    out, at = [], 0
    for a, b in sorted(spans):
        a = max(a, at)
        if b > a:
            out += [line[at:a], " " * (b - a)]
            at = b
    out.append(line[at:])
    return "".join(out)


#: the longest path read back from a ".py:" (longer ones are no source location a log prints)
_MAX_PATH = 300

_LINENO = re.compile(r"\d{1,7}(?::|,| in )")


def _source_locations(line: str) -> list[tuple[int, int]]:
    """Spans of Python source locations, "/usr/lib/python3.6/.../functional.py:3289:" (a
    warning) or 'File "x.py", line 3' (no number here, but the path is no key): found with
    ``str.find`` and a bounded look-back, so a line of many ".py:" stays linear."""
    spans = []
    i = line.find(".py:")
    while i >= 0:
        end = i + 4
        m = _LINENO.match(line, end)
        if m:
            start = max(line.rfind(" ", max(0, i - _MAX_PATH), i), line.rfind("\t", max(0, i - _MAX_PATH), i)) + 1
            if start == 0 and i > _MAX_PATH:
                start = i - _MAX_PATH
            spans.append((start, m.end()))
        i = line.find(".py:", end)
    return spans


def _list_values(line: str, rec: dict, state: dict) -> None:
    """``key [a, b, c]`` / ``key: [a]`` / ``key=[a, b]``: a learning rate per parameter group
    is the first group's (what HF and Lightning report); any other list is a per-class
    score (nnU-Net's Dice per class) and is read as its mean over the finite values, its count
    of non-finite entries beside it (``UNDEFINED_CLASSES_SUFFIX``) when it has any.
    Lists are read beside scalar fields or alone on their line; a line of several lists and
    nothing else (PFNL's "Eval PSNR: [30.5], MSE: [0.0011]" before its first step) is an
    evaluation dump that would otherwise open the log with step-less records."""
    lists = list(_NUM_LIST.finditer(line))
    if not rec and len(lists) > 1:
        return
    for m in lists:
        km = _LIST_KEY.search(line[max(0, m.start() - 80): m.start()])
        if km is None:
            continue
        key = _key_name(km[1])
        if key in rec or _STEPLIKE.match(key):
            continue
        vals = [_num(v) for v in re.split(r"\s*,\s*", m[1].strip())]
        finite = [v for v in vals if v == v and abs(v) != float("inf")]
        if "lr" in key.split("_") or "learning_rate" in key or len(vals) == 1:
            rec[key] = vals[0]  # (a one-element list is the value printed as a tensor's: TF's "Total loss is :[nan]")
        else:
            if finite:
                rec[key] = sum(finite) / len(finite)
            if len(finite) < len(vals):
                rec[key + UNDEFINED_CLASSES_SUFFIX] = float(len(vals) - len(finite))
            # a mean is no number of the line: a line of the same shape must be parsed
            # again, not read through the shape cache (which maps fields to spans)
            state["lists"] = True


def _as_split(rec: dict, split: str, mark: str | None = None) -> dict:
    """``rec``'s fields as the ``split``'s (``valid_loss``): step keys stay, and a key that already
    starts with ``mark`` (the split's name by default) is not prefixed again."""
    mark = split if mark is None else mark
    return {(k if _STEPLIKE.match(k) or k.startswith(mark) else f"{split}_{k}"): v for k, v in rec.items()}


#: "Gen/Dis Loss: 0.6576/0.7134" (rasbt's GAN notebooks): two quantities named by one key, their
#: values in the same order; read as "gen_loss" and "dis_loss", not one column holding the first
#: (the colon may be missing: pytorch-a2c-ppo-acktr's "mean/median reward 23.4/22.0, min/max reward
#: 10.0/40.0")
_SLASH_PAIR = re.compile(rf"(?<![\w/])(?P<a>[A-Za-z]+)\s*/\s*(?P<b>[A-Za-z]+)\s+(?P<what>[A-Za-z]+)\s*:?\s*(?P<x>{NUM})\s*/\s*(?P<y>{NUM})(?![\w.])")


#: a key whose value is a bracket of named values: IMDLBenCo's MetricLogger prints each loss of a
#: distributed run as "predict_loss: [local: 0.6975 | reduced: 0.6919]" (this rank's and the
#: all-reduced value)
_NAMED_BRACKET = re.compile(rf"(?P<key>[A-Za-z_][\w.]*):\s*\[(?P<body>\s*[A-Za-z_]\w*:\s*{NUM}\s*(?:\|\s*[A-Za-z_]\w*:\s*{NUM}\s*)+)\]")
_BRACKET_ITEM = re.compile(rf"([A-Za-z_]\w*):\s*({NUM})")

#: the names a distributed logger gives its value over all ranks
_ALL_RANKS = frozenset({"reduced", "global", "all", "avg", "mean"})


def _named_brackets(line: str) -> str:
    """``line`` with each bracket of named values after a key spelt out as the key's own pairs
    ("predict_loss: [local: 0.6975 | reduced: 0.6919]" -> "predict_loss_local: 0.6975
    predict_loss_reduced: 0.6919"): read as they stand, the names inside ("local", "reduced") were
    columns of their own and the key, the loss, was lost."""
    def spelt(m: re.Match) -> str:
        # the value over all ranks first: of two columns with as many words, the role goes to the
        # one that comes first, and a single rank's batches are a sample of the run's
        items = sorted(_BRACKET_ITEM.findall(m["body"]), key=lambda kv: kv[0].lower() not in _ALL_RANKS)
        return "  ".join(f"{m['key']}_{k}: {v}" for k, v in items)

    return _NAMED_BRACKET.sub(spelt, line)


#: a value that changed, printed as "key: old -> new": FL-bench's "loss: 8.3066 -> nan accuracy:
#: 48.70% -> 30.98%" (before and after the clients' local training); also "=>" and "→"
_ARROW_CHANGE = re.compile(rf"(?P<key>[A-Za-z_][\w.@/\-]*)(?P<sep>\s*[:=]\s*)(?P<a>{NUM})(?P<ua>%?)\s*(?:->|=>|→)\s*(?P<b>{NUM})(?P<ub>%?)(?![\w.])", re.I)


def _arrow_changes(line: str) -> str:
    """``line`` with each "key: old -> new" spelt as "key_before: old, key: new": the value the line
    reports is the new one (read as it stood, the old value took the key, the new one was lost, and
    a word after it could join the next key: "nan accuracy")."""
    return _ARROW_CHANGE.sub(lambda m: f"{m['key']}_before{m['sep']}{m['a']}{m['ua']}, {m['key']}{m['sep']}{m['b']}{m['ub']},", line)


#: CNTK numbers the evaluation nodes of its minibatch lines inside the key: "EvalErr[0]PerSample =
#: 0.29534375" is the epoch summary's "EvalErrPerSample" (one key; split at the bracket, its
#: "EvalErr" took the number of another field)
_CNTK_NODE = re.compile(r"(?<=[a-z])\[\d{1,3}\](?=PerSample\b)")


def _key_values(line: str, state: dict) -> dict | None:
    """``key=value`` / ``key: value`` pairs (``step:N/M`` keeps N)."""
    rec: dict = {}
    if "]PerSample" in line:
        line = _CNTK_NODE.sub("", line)
    if ": [" in line and " | " in line:
        line = _named_brackets(line)
    if ">" in line or "→" in line:
        line = _arrow_changes(line)
    if " detected in " in line and _NAN_DETECTOR.search(line):
        return {NAN_EVENT: float("nan")}
    # (each pattern below runs only when a substring it needs is in the line: most lines of a
    # long log match none of them, and the checks are C-speed scans)
    esp = _ESPNET_EPOCH.search(line) if "epoch" in line else None
    hidden = [m.span() for m in _LOG_ORIGIN.finditer(line)] if "(" in line else []
    if esp:
        hidden.append(esp.span())
    if ".py:" in line:
        hidden += _source_locations(line)
    if " - " in line:
        hidden += [m.span() for m in _LOGURU_ORIGIN.finditer(line)]
    if hidden:
        line = _blank(line, hidden)
    if "episode reward: [(" in line:
        sf = _SF_REWARD.search(line)
        if sf:
            return {"avg_episode_reward": _num(sf[1])}
    if " after " in line or " After " in line:
        after = _AFTER_STEP.match(line)
        if after:
            return {_key_name(after["key"]): _num(after["val"]), after["unit"].lower(): float(after["step"])}
    if " at " in line or " At " in line or " AT " in line:  # ("Training Loss at Step 100: 1.44" as well)
        at = _AT_STEP.match(line)
        if at:
            rec = {_key_name(at["key"]): _num(at["val"]), "step": float(at["step"])}
            for m in _MORE_PAIRS.finditer(line, at.end()):  # ", accuracy: 0.0576" after it
                rec.setdefault(_key_name(m["key"]), _num(m["val"]))
            return rec
    if "tart of epoch" in line:
        se = _START_OF_EPOCH.match(line)
        if se:
            return {"epoch": float(se[1])}
    if "'s " in line:  # LightGBM's "training's binary_logloss: 0.5": the training set's
        line = line.replace("'s ", "_")
    pairs = list(_SLASH_PAIR.finditer(line)) if "/" in line else []
    for m in pairs:  # (words, not free text: "min" here is a minimum, not a unit of the value before)
        rec[f"{m['a']}_{m['what']}".lower()] = _num(m["x"])
        rec[f"{m['b']}_{m['what']}".lower()] = _num(m["y"])
    if pairs:
        line = _blank(line, [m.span() for m in pairs])
    if " of " in line or " per " in line:  # CTR-GCN's "Mean test loss of 8 batches: 0.358": the count is no part of the key
        line = _OF_COUNT.sub("", line)
    for k, v in _segments(line).items():  # "Train loss 1.59" (no separator) and friends
        rec[k] = v
    sections = [(m.end(), m[1]) for m in _SECTION.finditer(line)] if "] " in line else []
    best = "best" in line or "Best" in line
    prev = ""
    for m in _KV.finditer(line):
        key = _key_name(m["key"])
        label = _SPLIT_LABEL.search(line, max(0, m.start() - 24), m.start()) if ": " in line[max(0, m.start() - 24):m.start()] else None
        if label:
            key = f"{label[1].lower()}_{key}"  # TorchRL's "reward eval: reward: -0.00": the evaluation's reward
        if key in _SPLIT_NAMES and prev.endswith("_train"):
            if rec.get(key) == _num(m["val"]):
                del rec[key]  # the same pair, read bare by the segment rule
            key = prev[: -len("train")] + key  # "Loss train: 0.52, val: 0.61": the val *loss*
        prev = key
        if any(isinstance(k, str) and k.endswith("_" + key) and k.split("_", 1)[0] in EVAL_WORDS
               and rec[k] == _num(m["val"]) for k in rec):
            continue  # the tail of an evaluation's longer name the segment rule read whole ("eval mean
            # loss: 0.767" is eval_mean_loss; read again as "mean_loss" it was a training loss)
        if _VECTOR_TAIL.match(line, m.end()):
            continue  # mmdet's "bbox_mAP_copypaste: 0.751 0.987 0.876 ...": a vector, no scalar
        sec = next((name for end, name in reversed(sections) if end <= m.start()), None) if sections else None
        if sec and sec not in ("train", "training"):
            key = f"{sec}_{key}"
        if best and _BEST_BEFORE.search(line, max(0, m.start() - 40), m.start()):
            key = f"best_{key}"  # nnU-Net's "New best EMA pseudo Dice: 0.82": a best so far, not this value
        if m["unit"] in ("ms", "s", "sec"):
            key = key if ("time" in key or key.endswith("avg")) else f"{key}_{m['unit']}"
        elif m["unit"] == "%" and key == "clip":
            key = "clip_pct"  # fairseq's share of clipped updates, not a threshold
        rec[key] = _num(m["val"])
    if "]" in line:
        for m in _BRACKET_KEY.finditer(line):
            rec.setdefault(_key_name(m["key"]), _num(m["val"]))
    for m in _IS.finditer(line):
        key = m["key"].lower().replace(" ", "_")
        rec["lr" if key == "learning_rate" else key] = _num(m["val"])
    lr_to = _LR_TO.search(line) if " to " in line else None
    if lr_to:
        rec.setdefault("lr", _num(lr_to[1]))
    sc = _DL4J_SCORE.search(line) if "core at iteration" in line else None
    if sc:
        rec["iteration"], rec["loss"] = float(sc[1]), _num(sc[2])
    wl = _WITH.search(line) if "with " in line else None
    if wl:
        rec.setdefault("loss", _num(wl["val"]))
    for m in (_QUALIFIED.finditer(line) if "): " in line or ") : " in line else ()):
        rec.setdefault(_key_name(m["key"]), _num(m["val"]))
    if "[" in line:
        _list_values(line, rec, state)
    if esp and rec:
        rec["epoch"] = float(esp[1])
    cat = _CATALYST_EPOCH.match(line) if "*" in line else None
    if cat and rec:
        rec["epoch"] = float(cat[2] or cat[1])
    mode = _EVAL_MODE.search(line, 0, 80) if "(" in line[:80] else None
    if mode and rec:
        # Catalyst's "0/2 * Epoch 0 (valid): ... loss=2.1173", mmdet's "Epoch(val) [1][37]": every
        # field of the line is the validation's (its lr and timers too: a field shared with the
        # training lines would repeat an epoch on consecutive records and cost the epoch axis)
        pre = mode["mode"].lower()
        rec = _as_split(rec, pre, pre + "_")
    if "%)" in line:  # "Accuracy: 9166/10000 (92%)" is 92 (%), not a count of 9166
        for fm in _FRACTION_PCT.finditer(line):
            key = _key_name(fm["key"])
            if _SCORE_WORD.search(key):  # a score; "Batch: 640/60000 (1%)" stays a counter
                rec[key] = _num(fm["pct"])
    for alias in ("train_epoch", "training_epoch"):  # "Train Epoch: 3", NeMo's "Training epoch 0,"
        if alias in rec and "epoch" not in rec:
            rec["epoch"] = rec.pop(alias)
    for pre in ("valid", "val", "validation", "eval", "test"):
        # "Valid Epoch: 16 Loss: nan: 100% 660/660": the line's fields are the validation's
        if f"{pre}_epoch" in rec and "epoch" not in rec:
            rec["epoch"] = rec.pop(f"{pre}_epoch")
            rec = _as_split(rec, pre)
            break
    at = next((k for k in rec if isinstance(k, str) and _LOSS_AT_STEP.match(k)), None) if rec and "loss at " in line else None
    if at is not None:
        # Megatron's "validation loss at iteration 7000 | lm loss value: 7.174200E+00 | lm loss PPL:
        # ...": the number after "iteration" is the step, and the line's values are the
        # validation's (read as "validation_loss_at_iteration: 7000" it was an eval loss of 7000)
        split = _LOSS_AT_STEP.match(at)["split"]
        step = rec.pop(at)
        rec = {k.removesuffix("_value"): v for k, v in rec.items() if k != "iteration" and not k.startswith("loss_")}  # "lm loss value"
        rec = {**_as_split(rec, split), "iteration": step}
    pv = _EPOCH_THEN_MODE.match(line) if rec and "poch" in line[:40] else None
    if pv:
        # PaddleVideo: "epoch:[  7/80 ] val step:0  loss: 0.0366" and "END epoch:7   val loss_avg:
        # 0.0270 top1_avg: 1.0": the epoch, and the split whose fields the line holds (a
        # validation batch's loss is no training loss)
        mode = pv["mode"].lower()
        for k in (f"{mode}_step", f"{mode}_iter", "end_epoch"):
            rec.pop(k, None)
        rec["epoch"] = float(pv["ep"])
        if mode != "train":
            rec = _as_split(rec, mode)
    split = (_SPLIT_LINE.match(line) or (_SPLIT_AFTER_STEP.match(line) if "|" in line[:40] else None)
             or _SPLIT_COLON_AFTER_STEP.match(line))
    if split and rec:
        # pytorch/examples' "Test set: Average loss: 0.2848, Accuracy: 9166/10000 (92%)": the
        # line's fields are that split's
        pre = split[1].lower()
        rec = _as_split(rec, pre)
    se = _SPLIT_THEN_EPOCH.match(line) if rec and not split and not any(_STEPLIKE.match(k) for k in rec) else None
    if se:
        mode = se[1].lower()
        if rec.get(mode) == float(se[2]):
            del rec[mode]  # the split word read as a key of the epoch's number ("train: 26")
        rec["epoch"] = float(se[2])
        if not mode.startswith("train"):
            rec = _as_split(rec, mode)  # (as the split-led lines above: "Validation 3, loss: ..." is validation_loss)
    # bare split names ("Train: 0.5455, Val: 0.5342, Test: 0.4670") stay bare here: whether
    # they are accuracies (PyG/DGL examples) or losses (LLMs-from-scratch's "Train: 9.535,
    # Val: 9.609") shows only in their direction over the run (``records.resolve_bare_splits``)
    ib = _ITER_BRACKET.search(line)
    if ib and rec:
        rec["iteration"] = float(ib[1])
    ebr = _EPOCH_BRACKETS.search(line)
    if ebr and rec:
        ep = int(ebr["ep"])
        rec["epoch"] = float(ep)
        if (ebr["mode"] or "").lower() not in ("(val)", "(test)"):
            i, total = int(ebr["i"] or ebr["pi"]), int(ebr["n"] or ebr["pn"])
            # "Epoch: [0]" (pytorch/examples, MetricLogger, minimind, Swin's "Train: [0/300]")
            # counts epochs from 0; mmcv's "Epoch [1]" and mmengine's "Epoch(train) [1]" from 1
            base = 0 if ebr["colon"] else min(ep, 1)
            rec["step"] = float((ep - base) * total + i)
    bb = _BARE_EPOCH_BRACKETS.match(line) if ebr is None and rec and "][" in line[:24] else None
    if bb:
        ep = int(bb["ep"])
        rec["epoch"], rec["step"] = float(ep), float(ep * int(bb["n"]) + int(bb["i"]))
    tm = _TIMM_TRAIN.search(line) if "%)" in line else None
    if tm and rec:
        ep, i, total = int(tm[1]), int(tm[2]), int(tm[3])
        rec["epoch"], rec["step"] = float(ep), float(ep * total + i)
    # "Epoch 1, 12850/37527; ...": the step is the batch counted across epochs
    eb = _EPOCH_BATCH.match(line)
    if eb:
        ep, i, total = int(eb[1]), int(eb[2]), int(eb[3])
        rec["epoch"], rec["step"] = float(ep), float((ep - 1) * total + i)
    # "Step 10: loss ..." / "Epoch 3 ..." without a separator
    m = _STEP_WORD.match(line)
    if m and m[1].lower() not in rec:
        rec[m[1].lower()] = float(m[2])
    fm = _FRAMED_STEP.match(line) if not rec and line[:12].lstrip()[:2] in _FRAMES else None
    if fm:
        rec[fm[1].lower()] = float(fm[3] or fm[2])
    if "lr(" in line:  # PaddleClas's "lr(PiecewiseDecay): 0.00100000"
        lm = _LR_NAMED.search(line)
        if lm:
            rec["lr"] = _num(lm[1])
    eb_ = _EPOCH_BATCH_OF.match(line) if rec and "Batch" in line else None
    if eb_:
        ep, i, total = int(eb_["ep"]), int(eb_["i"]), int(eb_["n"])
        rec["epoch"], rec["step"] = float(ep), float((ep - 1) * total + i)
        rec.pop("batch", None)
    pc = _PADDLECLAS.search(line) if rec and "][Iter:" in line else None
    if pc:
        ep, i, total = int(pc["ep"]), int(pc["i"]), int(pc["n"])
        if pc["mode"].lower() == "eval":
            rec = _as_split(rec, "eval")
            rec["epoch"] = float(ep)
        else:
            rec["epoch"], rec["step"] = float(ep), float((ep - 1) * total + i)
    fl = _FLASHY_SUMMARY.search(line) if rec and "ummary" in line else None
    if fl:
        stage = fl["stage"].lower()
        if stage != "train":
            rec = _as_split(rec, stage)
        rec["epoch"] = float(fl["ep"])
    lc = _LEADING_COUNT.match(line) if rec and "/" in line[:16] and "batch" not in rec and "step" not in rec else None
    if lc:
        rec["batch"] = float(lc[1])
    its = _ITER_STEP.search(line) if rec and "iter " in line and "step" not in rec else None
    if its:
        rec["iter"], rec["step"] = float(its[1]), float(its[2])
    ps = _PAREN_STEP.search(line) if rec and "tep" in line and "step" not in rec else None
    if ps:
        rec["step"] = float(ps[1])
    if rec and "poch" in line and not any(_STEPLIKE.match(k) for k in rec):
        ei = _EPOCH_INSIDE.search(line)
        if ei:
            rec = {k: v for k, v in rec.items() if not k.endswith("_epoch") or v != float(ei[1])}
            rec["epoch"] = float(ei[1])
    if rec and not any(_STEPLIKE.match(k) or k == "batch" for k in rec if k != "epoch"):
        ci = _COUNTER_INSIDE.search(line) if ("tep" in line or "ter" in line or "atch" in line) else None
        if ci:
            word, n = ci[1].lower(), float(ci[2] or ci[3] or ci[4])
            # (not legacy PaddleDetection's "Test iter 0", "Test finish iter 5": the evaluation loop's batch)
            if not _evaluation_counter(rec, word, n):
                rec[word] = n
    br = _BOOST_ROUND.match(line) if rec and ("]" in line[:12] or "learn" in line) else None
    if br and "boosting_round" not in rec:
        rec["boosting_round"] = float(br[1] or br[2])
    itb = _ITER_BRACKETS.search(line) if rec and "ter" in line and "[" in line else None
    if itb and "step" not in rec and "epoch" not in rec:
        mode = (itb["mode"] or "").lower()
        if mode in ("(val)", "(test)"):
            pre = mode[1:-1]
            rec = _as_split(rec, pre)
        else:
            rec["iter"] = float(itb["i"])
    wi = _WORD_INDEX.search(line) if rec and "[" in line else None
    if wi and wi[1].lower() not in rec:
        rec[wi[1].lower()] = float(wi[2])
    if not rec and ("nan" in line or "NaN" in line or "NAN" in line) and _NAN_WORDS.match(line):
        return {NAN_EVENT: float("nan")}
    if not rec:
        return None
    if best and _BEST_LEAD.match(line):
        # a line led by "Best" restates the best report, it is no new one: ReChorus' closing "Best
        # Iter(dev)=   21	 dev=(HR@5:0.9142,NDCG@5:0.7762)" overwrote the last epoch's dev scores
        rec = {(k if str(k).lower().startswith("best") else f"best_{k}"): v for k, v in rec.items()}
    # a line holding only a step ("Epoch 3/10", "step: 1,000") starts a block: the metric
    # lines that follow are filed under it (multi-line key=value blocks, Keras stdout)
    return rec


def _python_dict(line: str, state: dict) -> dict | None:
    """HF Trainer's stdout: ``{'loss': 2.119, 'grad_norm': 37.6, 'learning_rate': 4.6e-05, 'epoch': 0.25}``
    (read with ``ast.literal_eval``: a literal, never executed)."""
    t = line.strip()
    if not t.endswith("}") or len(t) > 10_000:
        return None
    a = t.find("{")
    if a < 0:
        return None
    if a > 0 and state.get("pipe_header") and _table_cells_before(line[:a]):
        return None  # a results-table row whose last cell prints a one-key dict: the header-table rule's
    t = t[a:]  # fairseq: "2021-01-25 | INFO | valid | {"epoch": 4, "valid_loss": "898.216", ...}"
    obj = None
    try:
        if "'" in t:
            obj = ast.literal_eval(t.replace("nan", "None").replace("inf", "None"))
        elif '"' in t:
            obj = json.loads(t)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    rec = {}
    for k, v in obj.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            rec[str(k)] = float(v)
        elif isinstance(v, str) and _NUM_FULL.match(v.strip()):  # fairseq writes numbers as strings
            rec[str(k)] = _num(v.strip())
    # NaN/inf survive as such, bare or quoted (the DPO reference trainer prints 'loss/train': 'nan')
    for m in re.finditer(r"'(?P<k>[^']+)':\s*'?(?P<v>-?(?:nan|inf))'?(?=\s*[,}])", t, re.I):
        rec[m["k"]] = float(m["v"])
    if rec and ((a > 0 and _LOSSES_LEAD.match(line)) or _spacy_losses(rec)):
        # spaCy's training loops print their per-component losses: "Losses {'ner': 9.899}"
        rec = {f"{k}_loss": v for k, v in rec.items()}
    split = _DICT_SPLIT_LEAD.match(line) if rec and a > 0 else None
    if split:
        # torchrec's BERT4Rec example ends with "Test, metrics {'Recall@1': 0.125, ...}" after its
        # "Epoch 100, metrics {...}": the test set's figures, not the last epoch's again
        return _as_split(rec, split[1].lower())
    if rec and a > 0 and not any(_STEPLIKE.match(k) for k in rec):
        lead = _DICT_LEAD.match(line)  # PEFT's notebooks: "epoch 0: {'accuracy': 0.68, 'f1': 0.81}"
        if lead:
            rec[lead[1].lower()] = float(lead[2])
        elif _STEP_WORD.match(line):
            rec = {**_lead_pairs(line[:a]), **rec}
    return rec or None


def _lead_pairs(lead: str) -> dict:
    """The ``key value`` pairs a line prints before a trailing dict, when they hold its step: Jittor's
    example prints its memory counters after the step's loss ("step 272, loss = 0.0156 {'hold_vars':
    14, 'lived_vars': 64, 'lived_ops': 57}"), and the dict alone was the record (no loss, no step)."""
    pairs = _key_values(lead, {}) or {}
    return pairs if any(_STEPLIKE.match(k) for k in pairs) else {}


def _table_cells_before(prefix: str) -> bool:
    """True when ``prefix`` (a line's text before a dict) is the numeric cells of a results-table row
    (``No log 1.0 250 0.2177``, bars or not): under a table's header the dict is the row's last cell
    (an HF card rendered without borders: ``... 0.2177 {'accuracy': 0.944}``), not a record alone."""
    cells = [c for c in re.split(r"[|\s]+", prefix.replace("No log", "0")) if c]
    return len(cells) >= 2 and all(_NUM_FULL.match(c) for c in cells)


#: a loss word before a dict of losses by component: spaCy's "Losses {'ner': 9.899, 'tagger': 1.2}"
_LOSSES_LEAD = re.compile(r"^\s*losse?s?\s*[:=]?\s*\{", re.I)

#: the names spaCy gives its trainable pipeline components (``nlp.pipe_names`` of the built-in
#: factories, v2 and v3): the keys of the ``losses`` dict that ``nlp.update(..., losses=losses)`` fills
_SPACY_PIPES = frozenset({"ner", "tagger", "parser", "textcat", "textcat_multilabel", "tok2vec", "morphologizer",
                          "senter", "entity_linker", "trainable_lemmatizer", "spancat", "transformer"})


def _spacy_losses(rec: dict) -> bool:
    """Whether a bare printed dict is spaCy's ``losses`` dict: every key names a trainable
    component and nothing else. spaCy's examples (``train_ner.py``, ``train_textcat.py``) and the
    loops copied from them print it as is (``print(losses)``: ``{'ner': 11.27}``, Python 2's
    ``{u'ner': 117.4}``); the number under a component's name is that component's training loss
    summed over the batches so far, not a score (spaCy's scores are ``ents_f``, ``tags_acc``, ...)."""
    return all(k in _SPACY_PIPES for k in rec)


#: a step word and number before a dict: "epoch 0: {...}", "step 100 {...}"
#: a split's name alone before a dict, with at most "metrics"/"results" after it: torchrec's
#: "Test, metrics {'Recall@1': 0.125}" (the dict holds that split's figures; no step is printed)
_DICT_SPLIT_LEAD = re.compile(r"^\s*(test|val|valid|validation|eval|evaluation|dev)\b\s*[,:]?\s*(?:(?:metrics|results)\s*[:=]?\s*)?\{", re.I)

_DICT_LEAD = re.compile(r"^\s*(epoch|step|iter|iteration)\s*[:=]?\s*(\d+)\s*[:,]?\s*\{", re.I)


#: Segment separators; the whitespace-led ones start only at the start of a whitespace run
#: (a run of n spaces would otherwise be rescanned from each of its n positions). Two or
#: more spaces after a number (NaN and inf included) or after a running average's ")" start a
#: new segment (Swin's ``time 0.6068 (0.6098)    loss 6.3568 (6.1324)    grad_norm 2.0382 (inf)``),
#: and so do three or more after anything (arcface_torch's ``2178.40 samples/sec   Loss nan``).
_SEGMENT_SPLIT = re.compile(r"(?<!\s)(?:\s*[,;|\t]\s*|\s+-\s+|\s{3,}(?=[A-Za-z])(?![nN][aA][nN]\b|[iI][nN][fF]))|(?<=[\d)]):\s+|(?:(?<=[\d)])|(?<=[nN]a[nN])|(?<=[iI]nf))\s{2,}(?=[A-Za-z])|(?<=\])\s+(?=[A-Za-z])")

#: a word of a name is never a printed non-finite value: in "Loss nan Acc 0.2345" (a federated
#: client-selection loop's print) "nan" is the loss's value, not the middle of a name "loss nan acc"
_NOT_A_VALUE = r"(?![nN][aA][nN](?![A-Za-z_])|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?(?![A-Za-z_]))"

_SEGMENT = re.compile(
    # ("@" for a top-k cut-off: pytorch/examples' ImageNet "Acc@1 25.333 (23.680)", its older "Prec@1")
    # (a later word may open a parenthesised qualifier: flair's "f1-score (micro avg) 0.0")
    rf"^(?P<key>[A-Za-z][A-Za-z0-9_/.()@\-]*(?:\s{_NOT_A_VALUE}\(?[A-Za-z][A-Za-z0-9_/.()@\-]*){{0,3}})(?:\s*[:=]\s*|\s+)"
    rf"(?P<val>{NUM})(?:\s*/\s*\d+)?\s*(?P<unit>ms|s|sec|secs|%|it/s|GB|MB)?"
    # pytorch/examples' AverageMeter prints "Loss 2.1274e+00 (1.5406e+00)": the value, then its running average
    rf"(?:\s*\(\s*{NUM}\s*\)?)?$", re.I)  # (the segment's closing parenthesis may be stripped)


#: one ``name value`` pair inside a segment that holds several, with no separator between them:
#: TorchRL's issue print "Epoch 0: episode reward -1074.58 actor loss 0.00, critic loss 44.02"
_PAIR = re.compile(rf"(?P<key>{_NOT_A_VALUE}[A-Za-z][A-Za-z_]*(?:\s{_NOT_A_VALUE}[A-Za-z][A-Za-z_]*){{0,2}})\s+(?P<val>{NUM})(?=\s|$)")
_PAIRS_FULL = re.compile(rf"^(?:{_NOT_A_VALUE}[A-Za-z][A-Za-z_]*(?:\s{_NOT_A_VALUE}[A-Za-z][A-Za-z_]*){{0,2}}\s+{NUM}(?:\s+|$)){{2,}}$")


#: a batch's spread printed as one field: triplet-reid's "loss min|avg|max: 0.736|0.973| 3.527"
_MIN_AVG_MAX = re.compile(rf"(?P<key>[A-Za-z][\w\-]*) min\|avg\|max:\s*(?P<lo>{NUM})\s*\|\s*(?P<avg>{NUM})\s*\|\s*(?P<hi>{NUM})")

#: a number in angle brackets: MADlib's "Iteration: 17, Loss: <0.209832004773>"
_ANGLED = re.compile(rf"<\s*({NUM})\s*>")


def _evaluation_counter(rec: dict, word: str, value: float) -> bool:
    """True when ``rec`` already holds this counter under a name an evaluation word starts
    ("test_iter", "test_finish_iter"): the number counts the evaluation's batches, and read as the
    training step it restarted the step axis (the run judged was the evaluation's)."""
    for k, v in rec.items():
        if isinstance(k, str) and k.endswith("_" + word) and v == value and k.split("_", 1)[0] in EVAL_WORDS:
            return True
    return False


def _segments(line: str) -> dict:
    """``key value`` pairs in separated segments: ``Iter 25: Train loss 1.593, Learning Rate 7e-05``
    (MLX), ``Step 5350/50000; acc: 51.25; ppl: 8.43; xent: 2.13`` (OpenNMT), Keras' ``- loss: 0.5``."""
    rec: dict = {}
    if "min|avg|max" in line:
        for m in _MIN_AVG_MAX.finditer(line):
            key = _key_name(m["key"])
            rec.update({f"min_{key}": _num(m["lo"]), f"avg_{key}": _num(m["avg"]), f"max_{key}": _num(m["hi"])})
        line = _MIN_AVG_MAX.sub(" ", line)
    for seg in _SEGMENT_SPLIT.split(line.strip()):
        if "<" in seg:
            seg = _ANGLED.sub(r"\1", seg)
        m = _SEGMENT.match(seg.strip().strip("[]()"))
        if not m and ": " in seg:
            # a label before the pair: flair's "EPOCH 28 done: loss 15.2876 - lr 0.0016" and
            # "DEV : loss 10.32 - score 0.0" (the colon follows a word, not a number)
            m = _SEGMENT.match(seg.rsplit(": ", 1)[1].strip().strip("[]()"))
        if not m:
            if _PAIRS_FULL.match(seg.strip()):  # "episode reward -1074.58 actor loss 0.00": every word run names the number after it
                for pm in _PAIR.finditer(seg.strip()):
                    rec.setdefault(_key_name(pm["key"]), _num(pm["val"]))
            continue
        key = _key_name(m["key"])
        unit = (m["unit"] or "").lower()
        if unit in ("ms", "s", "sec", "secs") and "time" not in key and "took" not in key:
            key = f"{key}_{unit}"
        elif unit == "%" and key == "clip":
            key = "clip_pct"
        rec.setdefault(key, _num(m["val"]))
    return rec
