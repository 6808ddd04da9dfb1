"""The format zoo (issue 9): short verbatim console excerpts of ~30 training frameworks, each
read with ``lrdoctor.read`` and checked against what a person reading the excerpt expects:
which column is the loss, the eval loss, the LR, the gradient norm, the task metric, which
axis is the step, and a few of their values. The expected values below were copied by hand
from the excerpts (tests/data/format_zoo/MANIFEST.yaml names each excerpt's source), never
from lrdoctor's output.

Excerpts that lrdoctor still misreads are listed in ``STILL_MISREAD`` with the reason; their
expectations run as strict xfails, so a fix that makes one read right fails the suite until
the entry moves to ``ZOO``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

import lrdoctor
from lrdoctor.errors import InputError
from lrdoctor.io import textlog
from lrdoctor.io.limits import MAX_LINE_CHARS

ZOO_DIR = Path(__file__).parent / "data" / "format_zoo"


@dataclass(frozen=True)
class Expect:
    """What a person reading the excerpt expects lrdoctor to return."""

    #: role -> raw column name
    roles: dict = field(default_factory=dict)
    #: role -> the first values of its series (nan allowed)
    values: dict = field(default_factory=dict)
    #: the step column, and the first steps (None: rows are indexed by record)
    step_column: str | None = "?"
    steps: tuple = ()
    #: roles that must not be assigned (a column a person would not read as that role)
    absent: tuple = ()


ZOO: dict[str, Expect] = {
    "axolotl/issue592_eval_and_train_dicts.log": Expect(
        # HF dicts between bare tqdm bars (blank lines between them)
        roles={"loss": "loss", "eval_loss": "eval_loss", "lr": "learning_rate"},
        values={"loss": [1.8218], "eval_loss": [1.7152758836746216], "lr": [0.00019606025492468137]},
        step_column="epoch", steps=(0.07, 0.1)),
    "caffe/lcnn_issue11_solver.log": Expect(
        roles={"loss": "loss", "lr": "lr", "task_metric": "accuracy"},
        values={"loss": [0.667568, 0.609652], "lr": [0.000174348], "task_metric": [0.78125, 0.84375]},
        step_column="iteration", steps=(1853400, 1853500, 1853600, 1853700)),
    "catalyst/issue290_epoch_train_valid.log": Expect(
        # "0/2 * Epoch 0 (train): ... loss=2.2828" then "(valid): ... loss=2.1173": the second is the eval loss
        roles={"loss": "loss", "eval_loss": "valid_loss"},
        values={"loss": [2.2828, 1.9457], "eval_loss": [2.1173, 1.6803]}, step_column="epoch", steps=(0, 1)),
    "catalyst/issue60_epoch_metrics.log": Expect(
        roles={"loss": "loss", "eval_loss": "valid_loss", "lr": "lr"},
        values={"loss": [1.58647, 1.28700], "eval_loss": [1.37917], "lr": [0.001]}, step_column="epoch", steps=(0, 1)),
    "cleanrl/issue11_global_step.log": Expect(
        roles={"ep_return": "episode_reward"}, values={"ep_return": [15.527101137763129, 23.907788285943155]},
        step_column="global_step", steps=(3442, 3456, 3472)),
    "deepspeed/transformers_issue14531_t5_zero.log": Expect(
        values={"loss": [6.2645, 0.0, 0.0], "lr": [0.001]}, step_column="epoch", steps=(0.02, 0.04, 0.06)),
    "deit/issue76_metric_logger.log": Expect(
        # "Epoch: [2]  [ 150/1251]": batch 150 of 1251 in epoch 2 (0-based epochs)
        roles={"loss": "loss", "lr": "lr"}, values={"loss": [6.8610, 6.8604, 6.8637], "lr": [0.000201]},
        step_column="step", steps=(2 * 1251 + 150, 2 * 1251 + 160)),
    "detectron2/d2go_issue524_events.log": Expect(
        roles={"loss": "total_loss", "lr": "lr"}, values={"loss": [1.36, 1.353], "lr": [3.8077e-06, 7.5527e-06]},
        step_column="iter", steps=(19, 39, 59, 79, 99)),
    "detectron2/issue195_events.log": Expect(
        roles={"loss": "total_loss", "lr": "lr"}, values={"loss": [1.194, 1.172, 1.120], "lr": [0.006394]},
        step_column="iter", steps=(639, 659, 679)),
    "espnet/issue2674_espnet2_trainer.log": Expect(
        # "[train] ... loss=1.613 ... [valid] loss=1.854": the validation loss is the eval loss;
        # the batch counter restarts every epoch, so rows stay in log order
        roles={"loss": "loss", "eval_loss": "valid_loss", "lr": "lr_0"},
        values={"loss": [1.601, 1.613, 1.585, 1.568], "eval_loss": [1.854], "lr": [0.100]}, step_column=None),
    "fairseq/issue940_train_inner.log": Expect(
        roles={"loss": "loss", "eval_loss": "valid_loss", "lr": "lr", "grad_norm": "gnorm"},
        values={"loss": [11.521, 11.346, 11.186], "eval_loss": [8.11425], "lr": [8.90889e-05], "grad_norm": [1.543, 1.507]},
        step_column="num_updates", steps=(445, 495, 545, 595)),
    "fairseq/issue2493_wav2vec2_hydra_json.log": Expect(
        # wav2vec2 fine-tuning, fairseq's JSON records behind "| INFO | train_inner |" (numbers as strings)
        roles={"loss": "loss", "lr": "lr", "grad_norm": "gnorm"},
        values={"loss": [609.299], "lr": [5e-05], "grad_norm": [112.028]}, step_column="num_updates", steps=(1400,)),
    "fastai/eagerai_readme_space_table.log": Expect(
        # the console table fastai prints: "epoch  train_loss  valid_loss  accuracy  time" (the time
        # "00:04" is no metric, and train_loss + valid_loss are no parts of one summed loss)
        roles={"loss": "train_loss", "eval_loss": "valid_loss", "task_metric": "accuracy"},
        values={"loss": [0.360149, 0.352106, 0.368743], "eval_loss": [0.329587, 0.345761], "task_metric": [0.846702]},
        step_column="epoch", steps=(0, 1, 2, 3, 4)),
    "fastai/tsai_issue639_tabbed_table.log": Expect(
        roles={"loss": "train_loss", "eval_loss": "valid_loss", "task_metric": "accuracy"},
        values={"loss": [math.nan, math.nan], "eval_loss": [math.nan], "task_metric": [0.958595]},
        step_column="epoch", steps=(0, 1, 2, 3)),
    "hf_trainer/time_moe_issue71_dicts.log": Expect(
        roles={"loss": "loss", "lr": "learning_rate", "grad_norm": "grad_norm"},
        values={"loss": [0.1474, 0.1549, 0.1864], "grad_norm": [math.nan, 0.1899697184562683], "lr": [0.0001]},
        step_column="epoch", steps=(0.04, 0.08, 0.12)),
    "hf_trainer/soxan_issue9_notebook_markdown_table.log": Expect(
        # the notebook's "Step | Training Loss | Validation Loss | Accuracy" table pasted as markdown;
        # the accuracy of HF's results table is the evaluation's
        roles={"loss": "training_loss", "eval_loss": "validation_loss", "eval_accuracy": "eval_accuracy"},
        values={"loss": [0.6984, 0.3947], "eval_loss": [0.497485, 0.291701], "eval_accuracy": [0.813416]},
        step_column="step", steps=(10, 20, 30, 40, 50, 60)),
    "hf_trainer/tinyllama_issue153_metrics_block.log": Expect(
        roles={"loss": "train_loss", "eval_loss": "eval_loss"}, values={"loss": [0.0063], "eval_loss": [math.nan]},
        step_column="epoch", steps=(5.0,)),
    "keras/issue2937_keras1_epochs.log": Expect(
        # the excerpt opens on epoch 1's result line before any "Epoch N/200": that row has no epoch
        roles={"loss": "loss", "eval_loss": "val_loss", "eval_accuracy": "val_acc", "task_metric": "acc"},
        values={"loss": [1.3731, 1.2137], "eval_loss": [1.0936], "eval_accuracy": [0.6131], "task_metric": [0.5027]},
        step_column="epoch", steps=(2, 3, 4, 5, 6)),
    "keras/keras_complex_issue22_verbose2.log": Expect(
        roles={"loss": "loss"}, values={"loss": [0.2431, 0.2135, 0.2003, 0.2163]}, step_column="epoch", steps=(1, 2, 3, 4, 5, 6)),
    "keras/ssd_keras_issue344_callbacks.log": Expect(
        # callbacks' prose: "setting learning rate to 0.001" is the LR; "val_loss did not improve from
        # 3.22992" is the best so far, not this epoch's val_loss
        roles={"loss": "loss", "eval_loss": "val_loss", "lr": "lr"},
        values={"loss": [3.6317, 3.6136, 3.6122], "eval_loss": [3.3623, 3.3704, 3.3643], "lr": [0.001, 0.001, 0.001]},
        step_column="epoch", steps=(25, 26, 27, 28)),
    "keras/issue12707_indented.log": Expect(
        roles={"loss": "loss", "eval_loss": "val_loss", "eval_accuracy": "val_acc", "task_metric": "acc"},
        values={"loss": [2.3118, 2.0468], "eval_loss": [1.7989, 1.8605], "eval_accuracy": [0.1587], "task_metric": [0.1406]},
        step_column="epoch", steps=(1, 2, 3, 4)),
    "kerasrl/issue51_episode_logger.log": Expect(
        roles={"loss": "loss", "ep_return": "episode_reward", "q_values": "mean_q"},
        values={"loss": [0.045398, 0.033347], "ep_return": [-1.0], "q_values": [-0.510456, -0.598909]},
        step_column="episode", steps=(3692, 3693, 3694)),
    "lightning/issue14094_acc_in_bar.log": Expect(
        # "Epoch 0:  92%|...| 932/1016 [..., loss=0.223, v_num=77, acc=0.875]" redrawn for 9 batches with
        # the same postfix: one measurement, not 9 (a frozen display is no frozen loss); v_num is no
        # metric, the validation bar in between adds no row
        roles={"loss": "loss", "task_metric": "acc"}, values={"loss": [0.223], "task_metric": [0.875]},
        step_column="step", steps=(932,), absent=("v_num",)),
    "lightning/issue4225_progress_bar.log": Expect(
        # each batch is printed twice, the second time with the updated postfix: the last one wins
        roles={"loss": "loss"}, values={"loss": [10.473, 10.224, 10.047, 9.926, 9.847]},
        step_column="step", steps=(1, 2, 3, 4, 5), absent=("v_num", "training")),
    "llama_accessory/issue48_metric_logger_closs.log": Expect(
        roles={"loss": "closs", "lr": "lr", "grad_norm": "grad_norm"},
        values={"loss": [1.0800, 1.0779], "lr": [0.000026], "grad_norm": [0.4995]},
        step_column="step", steps=(1480, 1490, 1500)),
    "llama_factory/issue3529_trainer_dicts.log": Expect(
        roles={"loss": "loss", "lr": "learning_rate", "grad_norm": "grad_norm"},
        values={"loss": [1.7319, 1.7129], "grad_norm": [0.547949492931366], "lr": [2.7037732088676582e-05]},
        step_column="epoch", steps=(1.42, 1.49, 1.55)),
    "llama_factory/issue774_trainer_log.jsonl": Expect(
        roles={"loss": "loss", "lr": "learning_rate"}, values={"loss": [4.4671, 4.4577], "lr": [1.4439610072863874e-08]},
        step_column="current_steps", steps=(3200, 3210, 3220, 3230)),
    "megatron/megatron_llm_issue11.log": Expect(
        roles={"loss": "lm_loss", "lr": "learning_rate", "grad_norm": "grad_norm"},
        values={"loss": [2.504220, 2.493043], "lr": [9.150e-06], "grad_norm": [0.231, 0.236]},
        step_column="iteration", steps=(122, 123, 124, 125)),
    "minimind/issue26_epoch_paren.log": Expect(
        # "Epoch:[0/19](100/24681)": batch 100 of epoch 0
        roles={"loss": "loss", "lr": "lr"}, values={"loss": [8.863, 5.251, 4.716], "lr": [0.0002]},
        step_column="step", steps=(0, 100, 200, 300)),
    "mmdetection/issue2672_v1_epoch_lines.log": Expect(
        # "Epoch [1][2400/7517]": mmcv counts epochs from 1 (no colon after "Epoch"), so the
        # step is (1 - 1) * 7517 + 2400
        roles={"loss": "loss", "lr": "lr", "task_metric": "acc"},
        values={"loss": [0.4890, 0.4794, 0.4704], "lr": [0.00125], "task_metric": [93.4961]},
        step_column="step", steps=(2400, 2450, 2500)),
    "mmengine/pr155_epoch_train.log": Expect(
        # "Epoch(train) [1][10/90]": epochs from 1, so the first epoch's batches are steps 10, 20, 30
        roles={"loss": "loss", "lr": "lr"}, values={"loss": [11.4723, 1.5616, -6.0185], "lr": [0.01]},
        step_column="step", steps=(10, 20, 30)),
    "mmengine/yolo_world_issue359_val_then_train.log": Expect(
        # "Epoch(val) [119][416/416]  coco/bbox_mAP: 0.7510" then "Epoch(train) [120][50/61] ... loss: 14.8006";
        # the bbox_mAP_copypaste vector is no metric
        roles={"loss": "loss", "lr": "lr", "grad_norm": "grad_norm", "eval_accuracy": "val_coco/bbox_map"},
        values={"loss": [14.8006], "lr": [4.4240e-05], "grad_norm": [87.5206], "eval_accuracy": [0.7510]},
        absent=("bbox_map_copypaste",)),
    "nanogpt/issue110_iters.log": Expect(
        roles={"loss": "loss"}, values={"loss": [4.0863, 3.7441, 3.9848]}, step_column="step", steps=(1631, 1632, 1633)),
    "nanogpt/issue215_quoted_timestamps.log": Expect(
        roles={"loss": "loss", "eval_loss": "val_loss"},
        values={"loss": [3.9883, 3.9408, 3.9994, 3.8853, 4.2490, math.nan], "eval_loss": [4.0427]},
        step_column="step", steps=(2920, 2930, 2940, 2990, 3000, 3010, 3020)),
    "nemo/bionemo_pr740_iteration_lines.log": Expect(
        roles={"loss": "reduced_train_loss", "eval_loss": "val_loss", "lr": "lr"},
        values={"loss": [1.233, 1.288, 1.333], "eval_loss": [4.106], "lr": [3e-05]},
        step_column="global_step", steps=(120, 121, 122)),
    "nnunet/issue2128_v2_epoch.log": Expect(
        # "Pseudo dice [0.8399]" is this epoch's validation Dice; "New best EMA pseudo Dice: 0.8196" is not
        roles={"loss": "train_loss", "eval_loss": "val_loss", "lr": "learning_rate", "eval_accuracy": "pseudo_dice"},
        values={"loss": [-0.7526], "eval_loss": [-0.771], "lr": [0.00036], "eval_accuracy": [0.8399]},
        step_column="epoch", steps=(195,)),
    "nnunet/issue938_v1_epoch.log": Expect(
        roles={"loss": "train_loss", "eval_loss": "validation_loss", "lr": "lr",
               "eval_accuracy": "average_global_foreground_dice"},
        values={"loss": [-0.6584, -0.6505], "eval_loss": [-0.7226, -0.6722], "lr": [0.009937, 0.009928],
                "eval_accuracy": [0.8837, 0.8203]},
        step_column="epoch", steps=(6, 7)),
    "opennmt/issue1072_steps.log": Expect(
        roles={"loss": "xent", "lr": "lr", "task_metric": "acc"},
        values={"loss": [2.13, 2.19, 2.28], "lr": [0.00066, 0.00067], "task_metric": [51.25, 48.90]},
        step_column="step", steps=(5350, 5400, 5450)),
    "opennmt/issue528_epoch_lines.log": Expect(
        # "Epoch 13, 64500/64667": batch 64500 of epoch 13 (1-based), so (13 - 1) * 64667 + 64500
        roles={"task_metric": "acc", "eval_accuracy": "validation_accuracy"},
        values={"task_metric": [57.58, 57.87], "eval_accuracy": [56.7115]},
        step_column="step", steps=(12 * 64667 + 64500, 12 * 64667 + 64550)),
    "openpcdet/pr1229_timm_style.log": Expect(
        # "Train:    1/3 ( 33%) [  49/323 ( 15%)]": batch 49 of 323 in epoch 1
        roles={"loss": "loss", "lr": "lr"}, values={"loss": [516.7, 36.77, 23.51], "lr": [1.000e-04, 1.351e-04]},
        step_column="step", steps=(323 + 0, 323 + 49, 323 + 99, 323 + 149)),
    "paddleocr/openocr_issue9_openrec.log": Expect(
        roles={"loss": "loss", "lr": "lr"}, values={"loss": [69.376022, 63.990349], "lr": [0.000005]},
        step_column="global_step", steps=(100, 110, 120)),
    "pytorch_examples/gotorch_pr265_mnist_python.log": Expect(
        # pytorch/examples' MNIST prints: "Train Epoch: 0, Loss: 0.139567" and "Test set: Average loss:
        # 0.2848, Accuracy: 9166/10000 (92%)": the test set's loss and accuracy (92 %, not a count)
        roles={"loss": "loss", "eval_loss": "test_average_loss", "eval_accuracy": "test_accuracy"},
        values={"loss": [0.139567, 0.068877], "eval_loss": [0.2848, 0.2322], "eval_accuracy": [92.0, 93.0, 94.0]},
        step_column="epoch", steps=(0, 1, 2, 3, 4)),
    "pyg/dgl_pr6992_ogbn_products_sage.log": Expect(
        # "Train: 0.5455, Val: 0.5342, Test: 0.4670" are the three splits' accuracies
        roles={"loss": "loss", "eval_accuracy": "val_acc", "task_metric": "train_acc"},
        values={"loss": [2.1922, 2.2190], "eval_accuracy": [0.5342, 0.5406], "task_metric": [0.5455, 0.5429]},
        step_column="epoch", steps=(0, 1)),
    "rllib/ray_pr27093_result_block.log": Expect(
        roles={"loss": "total_loss", "lr": "cur_lr", "ep_return": "episode_reward_mean", "approx_kl": "kl",
               "value_loss": "vf_loss", "policy_loss": "policy_loss", "entropy": "entropy"},
        values={"ep_return": [22.577142857142857], "approx_kl": [0.027845896780490875], "loss": [8.862993240356445]}),
    "sb3/sb1_issue1204_time_train_table.log": Expect(
        roles={"loss": "train/loss", "lr": "train/learning_rate", "approx_kl": "train/approx_kl",
               "explained_variance": "train/explained_variance"},
        values={"loss": [20.1], "approx_kl": [0.010918302], "value_loss": [36.8]},
        step_column="time/total_timesteps", steps=(3584,)),
    "sb3/zoo_pr521_rollout_tables.log": Expect(
        roles={"ep_return": "rollout/ep_rew_mean", "approx_kl": "train/approx_kl", "loss": "train/loss"},
        values={"ep_return": [-213.0], "approx_kl": [0.2149679], "clip_fraction": [0.277]},
        step_column="time/total_timesteps", steps=(73728,)),
    "tf_object_detection/models_issue2980_global_step.log": Expect(
        # every line printed twice (absl and the python logger): one row per step
        roles={"loss": "loss"}, values={"loss": [79.3501, 72.8609, 67.3308, 64.2655, 62.5264, 60.8808]},
        step_column="global_step", steps=(1, 2, 3, 4, 5, 6)),
    "tf_object_detection/tf2_tutorial_issue6_per_step.log": Expect(
        roles={"loss": "loss"}, values={"loss": [1.343, 1.710, 1.531, 1.545]}, step_column="step", steps=(3800, 3900, 4000, 4100)),
    "torchtune/pr1358_step_lines.log": Expect(
        roles={"loss": "loss", "lr": "lr"}, values={"loss": [2.085338592529297, 1.8718312978744507], "lr": [2e-05]},
        step_column="step", steps=(1, 2, 3)),
    "tqdm_custom/gsoc_deeplense_ft_md.log": Expect(
        # "Epoch 1/50 [FT]: 100%|...| 157/157 [..., loss=0.919]" then "Epoch 1/50 - Train Loss: 0.9780, ...
        # Validation Loss: 1.3758, Validation Accuracy: 33.73%": one row per epoch (at the bar's last batch)
        roles={"loss": "loss", "eval_loss": "validation_loss", "eval_accuracy": "validation_accuracy",
               "task_metric": "train_accuracy"},
        values={"loss": [0.919, 0.796, 0.787, 0.671], "eval_loss": [1.3758, 0.9801, 0.9628, 2.0815],
                "eval_accuracy": [33.73, 52.49, 53.99, 36.68], "task_metric": [50.15, 59.49]},
        step_column="step", steps=(157 + 157, 2 * 157 + 157, 3 * 157 + 157, 4 * 157 + 157)),
    "tqdm_custom/gtsrb_outputs_md.log": Expect(
        # "Epoch 1 of 20" ... "Train Loss: 0.0068, Train Acc: 35.43" / "Val Loss: 0.0030, Val Acc: 64.70";
        # a torch warning's "functional.py:3289:" is no metric
        roles={"loss": "train_loss", "eval_loss": "val_loss", "eval_accuracy": "val_acc", "task_metric": "train_acc"},
        values={"loss": [0.0068, 0.0021, 0.0012], "eval_loss": [0.0030, 0.0016, 0.0010], "eval_accuracy": [64.70, 81.69, 89.57]},
        step_column="epoch", steps=(1, 2, 3), absent=("usr/local/lib/python3.6/dist-packages/torch/nn/functional.py",)),
    "ultralytics/issue2023_multi_gpu.log": Expect(
        # results.csv's loss is the sum of the parts: 0.4635 + 0.2344 + 0.805
        values={"loss": [0.4635 + 0.2344 + 0.805], "eval_accuracy": [0.941]}, step_column="epoch", steps=(151, 152, 153)),
    "wav2vec2/transformers_issue21103_eval_wer.log": Expect(
        roles={"loss": "loss", "eval_loss": "eval_loss", "lr": "learning_rate"},
        values={"loss": [142.6154, 116.9755, 105.4153], "eval_loss": [80.37191009521484, 73.21361541748047],
                "lr": [0.00028539729505169863]},
        step_column="epoch", steps=(0, 1, 2, 3, 4)),
    "yolov5/issue5050_epoch_block.log": Expect(
        # "mAP@.5  mAP@.5:.95" of the "all" row are results.csv's metrics/mAP_0.5 and metrics/mAP_0.5:0.95
        values={"loss": [0.09476]}, roles={"loss": "loss", "eval_accuracy": "metrics/map_0.5:0.95", "task_metric": "metrics/map_0.5"},
        step_column="epoch", steps=(14,)),
    # (read right since the JSON reader takes numeric strings and a "[2022-..." head is text)
    "fairseq/issue233_json.log": Expect(roles={"loss": "loss", "eval_loss": "valid_loss", "grad_norm": "gnorm"},
                                        values={"loss": [3.097, 3.095, 3.092]}),
    "deepspeed/issue1825_log_dist.log": Expect(values={"lr": [5e-05, 5e-05]}, step_column="step", steps=(40, 50)),
    "litgpt/pr1055_finetune_lora.log": Expect(roles={"loss": "loss_train"}, values={"loss": [1.657, 1.506, 1.610]},
                                              step_column="iter", steps=tuple(range(1, 10))),
    "yolov5/issue2552_results_rows.log": Expect(values={"loss": [0.123, 0.08027]}, step_column="epoch", steps=(0, 1, 2)),
}

#: Excerpts lrdoctor still misreads, with what a person expects and why it fails today.
STILL_MISREAD: dict[str, tuple[Expect, str]] = {
    "ultralytics/issue7531_batch_rows.log": (
        Expect(values={"loss": [0.8296 + 1.756 + 1.274]}),
        "batch rows pasted without the 'Epoch GPU_mem box_loss ...' header: nothing names the columns"),
}


def _close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def check(rel: str, exp: Expect) -> None:
    run = lrdoctor.read(ZOO_DIR / rel)
    roles = run.meta.roles
    for role, column in exp.roles.items():
        assert roles.get(role) == column, (rel, role, roles)
    for role, want in exp.values.items():
        s = run.series(role)
        assert s is not None, (rel, role, roles)
        got = [float(v) for v in s.values[:len(want)]]
        assert len(got) == len(want) and all(_close(g, w) for g, w in zip(got, want)), (rel, role, got, want)
    if exp.step_column != "?":
        assert run.meta.step_column == exp.step_column, (rel, run.meta.step_column)
    if exp.steps:
        got = [float(v) for v in run.steps[:len(exp.steps)]]
        assert got == [float(v) for v in exp.steps], (rel, got)
    for name in exp.absent:
        assert name not in run.metrics and name not in roles.values(), (rel, name)


@pytest.mark.parametrize("rel", sorted(ZOO))
def test_zoo_excerpt_reads_as_a_person_reads_it(rel):
    check(rel, ZOO[rel])


@pytest.mark.parametrize("rel", sorted(STILL_MISREAD))
def test_still_misread_excerpts_fail_as_documented(rel):
    exp, reason = STILL_MISREAD[rel]
    try:
        check(rel, exp)
    except (AssertionError, InputError):
        pytest.xfail(reason)
    pytest.fail(f"{rel} now reads right: move it from STILL_MISREAD to ZOO")


def test_manifest_lists_every_excerpt_with_source_and_licence():
    manifest = yaml.safe_load((ZOO_DIR / "MANIFEST.yaml").read_text())["files"]
    listed = {m["path"] for m in manifest}
    on_disk = {str(p.relative_to(ZOO_DIR)) for p in ZOO_DIR.glob("*/*") if p.is_file()}
    assert listed == on_disk == set(ZOO) | set(STILL_MISREAD)
    for m in manifest:
        assert m["source"].startswith("https://github.com/") and m["repo"] in m["source"] and m["licence"]
        n = len((ZOO_DIR / m["path"]).read_text(encoding="utf-8").splitlines())
        assert n == m["lines"] and 3 <= n <= 40, m["path"]
    assert len({m["framework"] for m in manifest}) >= 20


def test_every_zoo_excerpt_parses_the_same_with_and_without_the_shape_cache():
    """The reader reuses the parse of a line shape (digits aside); the new rules (progress
    bars, lists, sections) must give the same records either way."""
    for rel in sorted(ZOO):
        lines = (ZOO_DIR / rel).read_text(encoding="utf-8").splitlines(keepends=True)
        cached = textlog.parse_lines(lines)
        # a rule registered by hand turns the cache off (parse_lines compares the rule list)
        probe = textlog.LineRule("never", lambda line, state: None)
        textlog.register_rule(probe, first=False)
        try:
            plain = textlog.parse_lines(lines)
        finally:
            textlog.RULES.remove(probe)
        assert len(cached[0]) == len(plain[0]), rel
        for a, b in zip(cached[0], plain[0]):
            assert a.keys() == b.keys() and all(_close(float(a[k]), float(b[k])) for k in a), (rel, a, b)


@pytest.mark.parametrize("line", [
    "Epoch 1:  5%|" + "#" * 1_000_000,                         # a bar that never closes
    "Epoch 1:  5%|#| 1/9 [" + "a=1, " * 200_000,                # a postfix that never closes
    "Pseudo dice [" + "0.1, " * 200_000,                         # a list that never closes
    "x [" + "1," * 500_000,                                      # digits and commas, no bracket
    "loss train (" * 80_000 + "curr): 1.0",                      # qualifiers that never close
    "[valid] " * 120_000 + "loss=1.0",                           # section markers
    "Epoch(train) [" * 60_000,
    "Train: 1 [ " * 90_000,
    "bbox_mAP_copypaste: " + "0.5 " * 250_000,                   # a vector after a key
    "New best " * 110_000 + "dice: 0.5",
    "a.py:1:" * 150_000,                                         # source locations
    "Test set: " + "acc: 1/2 (" * 150_000,                        # fractions that never close
    "acc" + " " * 16_000 + ": 1/2 (3%)",
    "learning rate to " * 100_000,
    "Epoch 1 " + "(valid) " * 100_000,
    "x" * 20_000 + ".py:12: loss=1",
    "1: " + "1.0, " * 200_000 + "avg, 0.1 rate,",               # Darknet's numbers that never end
    "Region 1 " * 150_000 + "Avg IOU: 0.5",
    "[1/2]" * 150_000 + "[3/4] Loss: 1.0",                        # epoch/batch brackets
    "[Eval:" * 150_000 + "test] map=0.5",                         # split tags that never close
    "Test net output #1: " * 40_000 + "loss = 1.0",               # Caffe's net outputs
    "I20250403 16:40:52.338333 " * 30_000 + "solver.cpp:1] loss = 1",
])
def test_new_rules_stay_linear_on_long_hostile_lines(line):
    line = line[:MAX_LINE_CHARS]
    t = time.perf_counter()
    textlog.parse_lines([line, line + "=1"])
    assert time.perf_counter() - t < 1.0


def test_rules_keep_to_their_shapes(tmp_path):
    """Twins of the new rules: a counter's "a/b (p%)" stays the counter, a bare split name alone is
    no accuracy, an "Epoch N (train)" line keeps its keys, a list of several evaluation
    numbers alone on a line opens no step-less record, and a bar without a postfix adds no row."""
    p = tmp_path / "twins.log"
    p.write_text("Eval PSNR: [30.5], MSE: [0.0011]\n"
                 + "".join(f"Batch: {640 * i}/60000 ({i}%) loss: {1 / i:.3f}\n" for i in range(1, 6))
                 + "Epoch 1:  50%|#####     | 5/10 [00:01<00:01, 4.00it/s]\n"
                 + "Train: 0.91\n")
    run = lrdoctor.read(p)
    assert run.meta.step_column == "batch" and [float(s) for s in run.steps[:2]] == [640.0, 1280.0]
    assert "train_acc" not in run.metrics and "eval_psnr" not in run.metrics
    assert [float(v) for v in run.series("loss").values] == [1.0, 0.5, 0.333, 0.25, 0.2]
