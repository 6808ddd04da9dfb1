"""Stop 76: performance_reversal on a log too short for the few-point rule, on really trained runs,
their twins and real logs read in place.

**A score that lost a fifth of its level and stayed there, on a short log.** The few-point rule
reads a score of at least five reports, and its stepped-down rules ask four after the best; the
error-rate rules ask three. An HF card of three or four epochs therefore went unjudged unless its
score collapsed to nothing or to exactly chance: a BERTimbau language-variety classifier at
accuracy 0.9405 after epoch 1, then 0.5 at the three epochs after, or a Whisper LoRA whose WER went
0.5176, 0.5237, then 0.8449 and 0.7855. A ratio-scale score (an error rate: 1.25x its best, the same
distance in the log domain) is now a reversal when every report from some point to the end, at
least two of them (``divergence``'s ``few_after``: one low report is a dip), lies a fifth of its best
below that best. The guards are the other rules': a best above an untrained model's level, no
non-finite loss, no RL return, and a fall beyond the binomial noise of the evaluation set, whose
size is read from as few as two distinct values (the smallest lattice that fits is at most the
true size, so this can only silence a fall).

The short rule also stays silent on a model whose loss never left ln K (slow_progress's
stuck-at-chance): it learned nothing to lose, and two reports carry no order statistic to tell its
score's moves from the noise of a guess (a ResNet-50 on five validation images printed accuracy 0.8,
then 0.6 twice, with its loss at 0.69-0.70 = ln 2 throughout)."""

from __future__ import annotations

from pathlib import Path

import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, held_out_loss, write_lines

import lrdoctor
from lrdoctor.finding import Severity

torch.set_num_threads(1)

_BERTIMBAU = "fresh1176/liaad-lvi-bert-large-portuguese-cased-36bec4e/training_results.md"
_WHISPER_LORA = "fresh1316/bearbearyu1223-whisper-large-peft-lora-zh-tw-v0.1/training_results.md"
_NINE_IMAGES = "fresh175/eyenet-9-dr-small-subset-keras/paste.txt"
_FIVE_IMAGES = "fresh53/hfcard-resnet50-first-model-alexkolosov/training_results.md"


def _accuracy_card(tmp_path: Path, unlearn: bool) -> str:
    """Train the 64-32-10 digits MLP with Adam (lr 0.01) for four epochs and write an HF card's
    table: each epoch's mean training loss, held-out loss and held-out accuracy (397 digits). With
    ``unlearn``, epoch 2 trains on shuffled labels and the LR then drops to 1e-5: what epoch 1
    learned is lost, and the last two epochs barely move."""
    x, y, model = digits_mlp(0)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    shuffle = torch.Generator().manual_seed(1)
    lines = ["Training Loss | Epoch | Step | Validation Loss | Accuracy |", "---|---|---|---|---|"]
    for epoch in range(1, 5):
        if unlearn and epoch == 2:
            train, _ = fit_epoch(model, opt, x, y[torch.randperm(y.numel(), generator=shuffle)])
            for group in opt.param_groups:
                group["lr"] = 1e-5
        else:
            train, _ = fit_epoch(model, opt, x, y)
        with torch.no_grad():
            acc = (model(x[1400:]).argmax(1) == y[1400:]).float().mean().item()
        lines.append(f"{train:.4f} | {epoch:.1f} | {28 * epoch} | {held_out_loss(model, x, y):.4f} | {acc:.4f} |")
    return write_lines(tmp_path / "README.md", lines)


def _reversal(report):
    return [f for f in report.findings if f.kind == "performance_reversal"]


def test_a_short_card_whose_accuracy_stepped_down_and_stayed_is_a_reversal(tmp_path):
    """The unlearned run: held-out accuracy about 0.9 after epoch 1, far below it at the three epochs
    after. Four reports: too few for the few-point rule, which needs five."""
    report = lrdoctor.diagnose(_accuracy_card(tmp_path, unlearn=True))
    [f] = _reversal(report)
    assert f.severity is Severity.WARNING and f.start_step == 28.0
    assert "stayed at least 20% below it at all 3 later evaluations" in f.summary
    assert f.evidence["peak"] > 0.8 and f.evidence["end"] < 0.8 * f.evidence["peak"]


def test_a_short_card_whose_accuracy_holds_is_no_reversal(tmp_path):
    """The twin, trained on the real labels throughout: accuracy climbs past epoch 1 and holds."""
    report = lrdoctor.diagnose(_accuracy_card(tmp_path, unlearn=False))
    assert _reversal(report) == []


def test_the_bertimbau_card_is_a_reversal():
    """Read in place: accuracy 0.9405 at epoch 1, then 0.5 at epochs 2-4 as the training loss rose to ln 2."""
    [f] = _reversal(lrdoctor.diagnose(real_log(_BERTIMBAU)))
    assert f.evidence["peak"] == 0.9405 and f.evidence["end"] == 0.5


def test_the_whisper_lora_card_is_a_reversal_of_its_error_rate():
    """Read in place: WER 0.5176 (best), 0.5237, then 0.8449 and 0.7855, both at least 1.25x the best."""
    [f] = _reversal(lrdoctor.diagnose(real_log(_WHISPER_LORA)))
    assert f.evidence["peak"] == 0.5176 and f.evidence["rise_factor"] >= 1.25


def test_one_image_of_nine_is_no_reversal():
    """Keras on 9 validation images: val_acc 0.5556 = 5/9, then 0.4444 = 4/9 twice. The lattice of
    two values gives n = 9, and one image is within the binomial noise."""
    assert _reversal(lrdoctor.diagnose(real_log(_NINE_IMAGES))) == []


def test_a_model_stuck_at_ln_2_has_no_reversal():
    """A ResNet-50 card on 5 validation images: accuracy 0.8, 0.6, 0.6 while the training loss sat at
    0.69-0.70 = ln 2: the stuck-at-chance error stands alone."""
    report = lrdoctor.diagnose(real_log(_FIVE_IMAGES))
    assert _reversal(report) == []
    assert any(f.kind == "slow_progress" and f.severity is Severity.ERROR for f in report.findings)
