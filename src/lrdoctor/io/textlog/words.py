"""Metric words of logs printed in Chinese, Japanese and Korean, in the English the line rules read.

A training script prints its keys in its author's language ("训练损失: 0.52, 验证准确率: 81.2%",
"エポック 3 損失: 0.41", "에폭 3 손실: 0.41"); the line rules and the role table read English names.
Each known word becomes its English name (``训练损失`` -> ``train_loss``), a full-width colon
after it an ASCII one, and an ordinal counter ("第3轮", "第 120 步") the counter's name and its
number. The script's other words are blanked: no rule reads them, and glued to an English name
("整体测试集上的Loss") they would change it.
"""

from __future__ import annotations

import re

__all__ = ["LOCAL_WORDS", "has_local_script", "to_english"]

#: local word -> the English name the role table knows. Longer words are replaced first, so that
#: "验证损失" is "val_loss", not "验证" + "loss".
LOCAL_WORDS: dict[str, str] = {
    # Chinese (simplified and traditional)
    "训练损失": "train_loss", "訓練損失": "train_loss", "训练集损失": "train_loss",
    "验证损失": "val_loss", "驗證損失": "val_loss", "验证集损失": "val_loss", "校验损失": "val_loss",
    "测试损失": "test_loss", "測試損失": "test_loss", "测试集损失": "test_loss",
    "平均损失": "loss", "总损失": "loss", "損失": "loss", "损失": "loss", "损失值": "loss",
    "训练准确率": "train_acc", "訓練準確率": "train_acc", "训练精度": "train_acc", "训练集准确率": "train_acc",
    "验证准确率": "val_acc", "驗證準確率": "val_acc", "验证精度": "val_acc", "验证集准确率": "val_acc",
    "测试准确率": "test_acc", "測試準確率": "test_acc", "测试精度": "test_acc", "测试集准确率": "test_acc",
    "准确率": "acc", "準確率": "acc", "正确率": "acc", "精度": "acc", "精确度": "acc",
    "学习率": "lr", "學習率": "lr",
    "梯度范数": "grad_norm", "梯度裁剪": "grad_clip",
    "奖励": "reward", "獎勵": "reward", "平均奖励": "mean_reward", "回报": "return",
    "轮次": "epoch", "周期": "epoch", "迭代次数": "iteration", "迭代": "iteration", "步数": "step",
    "训练次数": "step", "训练步数": "step",
    # a split's name before an English metric ("整体测试集上的Loss", the loss on the whole test set)
    "训练集": "train", "测试集": "test", "验证集": "val", "训练": "train", "测试": "test", "验证": "val",
    # Japanese
    "学習損失": "train_loss", "検証損失": "val_loss", "テスト損失": "test_loss",
    "検証精度": "val_acc", "テスト精度": "test_acc", "正解率": "acc", "学習率": "lr",
    "エポック": "epoch", "ステップ": "step", "損失関数": "loss", "ロス": "loss",
    # Korean
    "훈련 손실": "train_loss", "학습 손실": "train_loss", "검증 손실": "val_loss", "테스트 손실": "test_loss",
    "검증 정확도": "val_acc", "테스트 정확도": "test_acc", "정확도": "acc", "손실": "loss", "학습률": "lr",
    "에폭": "epoch", "에포크": "epoch", "스텝": "step",
}

_WORDS = re.compile("|".join(re.escape(w) for w in sorted(LOCAL_WORDS, key=len, reverse=True)))

#: "第3轮" (the 3rd epoch), "第 120 步" (step 120), "第5次迭代": an ordinal counter
_ORDINAL = re.compile(r"第\s*(\d+)\s*(轮|輪|个epoch|個epoch|次迭代|步|epoch)")
_ORDINAL_NAME = {"轮": "epoch", "輪": "epoch", "个epoch": "epoch", "個epoch": "epoch", "epoch": "epoch",
                 "次迭代": "iteration", "步": "step"}

#: the scripts whose words the table holds: CJK ideographs, kana, hangul
_LOCAL = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


_BLANKS = re.compile(r"[ \t]+")
_LOCAL_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]+")


def has_local_script(line: str) -> bool:
    return _LOCAL.search(line) is not None


def to_english(line: str) -> str:
    """``line`` with its known local metric words in English (see the module)."""
    line = _ORDINAL.sub(lambda m: f" {_ORDINAL_NAME[m[2]]} {m[1]} ", line)
    line = _WORDS.sub(lambda m: f" {LOCAL_WORDS[m[0]]} ", line)
    # the other words of the script are no names a rule reads: blanked, so that they neither glue to
    # an English name ("上的Loss") nor stand for one
    line = _LOCAL_RUN.sub(" ", line)
    line = line.replace("\uff1a", ": ").replace("\uff08", " (").replace("\uff09", ") ")
    return _BLANKS.sub(" ", line).strip()  # one blank between words: "test Loss" is one name
