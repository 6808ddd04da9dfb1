"""Rules from the stop-46 study of the benchmark (issue 9), each on a real log read in place, with
real twins:

- slow_progress: an error rate (WER, CER) never below 90% over 3+ evaluations recognises nothing.
  A percentage needs no proof of its scale (90+ is 90%+ errors on either reading); a fraction
  keeps the earlier proofs (exact 1.0 prints, or a band beside a falling loss).
- divergence: a training-loss rise that ends below twice its best is withdrawn while the
  evaluation loss sets a new minimum at each evaluation from the onset; a blow-up beyond twice
  its best stands.
- readers: a Keras-callback header whose names run from one split word to the next; empty
  trailing header cells; pictographs before header names; a cell that prints a one-key dict.
- slow_progress: the frozen-evaluation rule reads a Trainer results table, one row per evaluation.
- slow_progress: two reports at ln K beside one accuracy printed at both, within the chance band
  above 1/K, are a uniform output (its ties fall to one class, whose share is the accuracy).
"""

from __future__ import annotations

from bench_logs import real_log
from trained_digits import warned, write_lines

import lrdoctor

_PERCENT_RULE = "error rate (a percentage) never below 90%"


def test_a_percentage_error_rate_never_below_90_is_no_learning():
    # whisper-small on Thai at lr 1e-7: WER 97.5410, 95.0820, 93.0328, 91.8033, 90.9836 (a warning since
    # stop 80, ``rate_trend_p``: the rate falls with a downward trend while the validation loss fell by a tenth+)
    f = warned(lrdoctor.diagnose(real_log("fresh431/napatswift-whisper-small-thai/training_results.md")), 1)["slow_progress"]
    assert f.evidence["rule"] == _PERCENT_RULE and "rate_trend_p" in f.evidence
    assert f.evidence["metric"] == "eval_wer" and f.evidence["value"] == 90.9836 and f.evidence["points"] == 5


def test_a_percentage_error_rate_that_got_below_90_is_not_judged_so():
    # whisper-small on Darija: WER 129.35 at the first evaluation, then 72.44 and 70.41
    report = lrdoctor.diagnose(real_log("fresh340/kandirresearch-whisper-small-darija/training_results.md"))
    assert "slow_progress" not in warned(report, 2)
    # whisper-small Irish-to-English: WER 102.3, 101.2, 148.2, 95.3, 101.0, 91.9, 99.6, then 71.3 and lower
    report = lrdoctor.diagnose(real_log("fresh467/ymoslem-whisper-small-ga2en-v1-0-1/training_results.md"))
    assert "slow_progress" not in warned(report, 2)


def test_a_training_loss_rise_while_the_evaluation_loss_set_a_new_minimum_at_each_evaluation_is_no_divergence():
    # T5 title generator, one epoch: training loss 2.0744 -> 2.8094 -> 2.6264 while the validation
    # loss fell at every one of its 8 evaluations, 2.5949 -> 2.4868
    report = lrdoctor.diagnose(real_log("fresh472/fahmiaziz-t5-base-title-generator/training_results.md"))
    assert "divergence" not in {f.kind for f in report.findings}


def test_a_blow_up_beyond_twice_the_best_stands_while_the_evaluation_recovers():
    # Mistral-7B LoRA: training loss 0.7559 -> 9.4604 at its second report, the first evaluation
    # already at 8.3985; both then fall together (4.77 and 4.74 at the end)
    report = lrdoctor.diagnose(real_log("fresh398/hfcard-imdatta0-mistral-7b-v0.3-metamath-default/training_results.md"))
    assert warned(report, 2)["divergence"].evidence["best_loss"] == 0.7559


def test_a_keras_callback_header_whose_names_have_three_words_is_read():
    # LayoutLM on FUNSD: "Train Loss Validation Loss Train Overall Precision Train Overall Recall
    # Train Overall F1 Train Overall Accuracy Epoch" over rows of seven numbers
    run = lrdoctor.read(real_log("fresh476/layoutlm-funsd-tf-matt6450/training_results.txt"))
    assert run.series("train_overall_f1").values.tolist() == [0.2722, 0.5813, 0.6895, 0.7326, 0.7337]
    assert run.series("eval_loss").values.tolist() == [1.4132, 0.9561, 0.7159, 0.6365, 0.6242]
    assert run.series("epoch").values.tolist() == [0, 1, 2, 3, 4]


def test_a_results_table_with_empty_trailing_header_cells_is_read():
    # ESM-2 regression card: "| Training Loss | Epoch | Step | Validation Loss | R Squared | | |"
    run = lrdoctor.read(real_log("fresh475/hfcard-scdunne-esm2-t6-localization-r2/training_results.md"))
    assert run.series("eval_loss").values.tolist() == [0.0075, 0.0064, 0.0064]
    assert run.series("loss").values.tolist() == [0.0023, 0.0018, 0.0008]


def test_pictographs_before_header_names_are_no_part_of_them():
    # SpeechT5 card: "| 🏋♂ Training Loss | 🕑 Epoch | 🛤 Step | 📉 Validation Loss |"
    run = lrdoctor.read(real_log("fresh217/hfcard-dawarepranav-speecht5-technical-train2/README.md"))
    assert run.series("loss").values.tolist()[:3] == [1.1921, 0.8435, 0.8294]
    assert run.series("eval_loss").values.tolist()[:3] == [0.4136, 0.3791, 0.3766]


def test_a_trainer_results_table_whose_validation_loss_is_frozen_is_no_learning():
    # distilgpt2 on wikitext-2: validation loss 3.6436 at all three epochs while the training loss
    # moves 3.5784, 3.5882, 3.5858; every row of a Trainer's results table is its own evaluation,
    # not the last one carried along beside each training report
    f = warned(lrdoctor.diagnose(real_log("fresh494/timtl-distilgpt2-wikitext2-frozen/training_results.md")), 2)["slow_progress"]
    assert f.evidence["value"] == 3.6436 and f.evidence["points"] == 3


def test_a_trainer_results_table_at_its_printed_resolution_is_not_judged_frozen():
    # SetFit DeBERTa-v3-large on SST-2: validation loss 0.0047 at its last four evaluations, two
    # significant digits: equal prints of a converged loss prove nothing
    report = lrdoctor.diagnose(real_log("fresh332/setfit-debertav3l-sst2-8-5/training_results.md"))
    assert "slow_progress" not in warned(report, 1)


def test_a_cell_that_prints_a_one_key_dict_is_its_number():
    # wav2vec2 on infant cries: "{'accuracy': 0.8152173913043478}" in the Accuracy column of every
    # row, beside F1, precision and recall identical at all five evaluations: no learning
    path = real_log("fresh496/wiam-w2v2-babycry-v4/training_results.md")
    run = lrdoctor.read(path)
    assert run.series("eval_accuracy").values.tolist() == [0.8152173913043478] * 5
    assert run.series("eval_f1").values.tolist() == [0.7322] * 5
    assert warned(lrdoctor.diagnose(path), 2)["slow_progress"].evidence["points"] == 5
    # BERT on MRPC: the dict's accuracy moves (0.8456, 0.8431, 0.8627): no constant predictor
    run = lrdoctor.read(real_log("fresh493/p3ps-test-trainer-glue-mrpc/training_results.md"))
    assert run.series("eval_accuracy").values.tolist() == [0.8455882352941176, 0.8431372549019608, 0.8627450980392157]
    assert "slow_progress" not in warned(lrdoctor.diagnose(run), 1)


def _two_epoch_binary_log(tmp_path, lr: float) -> str:
    """A two-epoch log of a real logistic regression on the digits 0 and 1, zero-initialised (a
    uniform output before any update), trained with SGD at ``lr``: the epoch's mean training loss,
    the held-out loss and accuracy on the 0s and 1s from 1400 on, one line per epoch."""
    import torch

    from trained_digits import digits_mlp

    torch.set_num_threads(1)
    x, y, _ = digits_mlp(0)
    keep = y <= 1
    x, y = x[keep], y[keep]
    split = int((torch.arange(len(keep))[keep] < 1400).sum())
    model = torch.nn.Linear(64, 2)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    lines = []
    for epoch in (1, 2):
        total = 0.0
        for i in range(0, split, 20):
            loss = torch.nn.functional.cross_entropy(model(x[i:i + 20]), y[i:i + 20])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        with torch.no_grad():
            logits = model(x[split:])
            val = torch.nn.functional.cross_entropy(logits, y[split:]).item()
            acc = (logits.argmax(1) == y[split:]).float().mean().item()
        lines.append(f"epoch {epoch}: loss {total / -(-split // 20):.4f} val_loss {val:.4f} val_accuracy {acc:.4f}")
    return write_lines(tmp_path / "train.log", lines)


def test_two_reports_at_ln_k_with_one_accuracy_printed_at_both_are_a_uniform_output():
    # a Keras mammogram classifier: validation loss 0.692 and 0.6915 (ln 2 = 0.6931), validation
    # accuracy 0.5507 at both epochs: the share of the class every tie falls to, not 1/2
    f = warned(lrdoctor.diagnose(real_log("fresh175/bcd-mammogram-2-stuck-chance-keras/paste.txt"),
                                 config={"num_classes": 2}), 2)["slow_progress"]
    assert f.evidence["num_classes"] == 2 and f.evidence["points"] == 2


def test_a_frozen_uniform_output_is_stuck_at_chance_and_one_that_moves_is_not(tmp_path):
    # trained for real: at lr 0 the zero-initialised model stays uniform, loss ln 2 at both epochs
    # and the held-out accuracy the share of the 0s at both
    frozen = _two_epoch_binary_log(tmp_path, lr=0.0)
    assert "0.6931" in open(frozen).read()
    assert warned(lrdoctor.diagnose(frozen, config={"num_classes": 2}), 2)["slow_progress"].evidence["points"] == 2
    # at lr 1e-4 it ranks the two digits right at once (held-out accuracy 0.9744 at both epochs)
    # while its loss barely leaves ln 2 (0.6920, 0.6908): no chance call, the accuracy says it learned
    moving = _two_epoch_binary_log(tmp_path, lr=1e-4)
    report = lrdoctor.diagnose(moving, config={"num_classes": 2})
    assert "slow_progress" not in warned(report, 2), open(moving).read()
