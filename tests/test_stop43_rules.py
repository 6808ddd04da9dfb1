"""Rules from the stop-43 study of the benchmark (issue 9), each on a really trained run or a real
log read in place, with a twin:

- readers: a tqdm bar whose postfix is ``key: value`` pairs with no commas between them (ostris'
  ai-toolkit calls ``set_postfix_str("lr: 2.0e-04 loss: 5.226e-01")``): the fields are the record
  and the bar's count is its step;
- slow_progress: an F-score printed beside its precision and recall takes their scale: spaCy prints
  all three in percent, so an F of 0.13 then 0.00 is no F of 13% but one under 1 in 700.
"""

from __future__ import annotations

import io

import pytest
import torch
from bench_logs import real_log
from trained_digits import digits_mlp, warned, write_lines

import lrdoctor

torch.set_num_threads(1)


def _ai_toolkit_bar(lr: float, steps: int = 300, every: int = 30) -> tuple[list[str], list[float]]:
    """The digits MLP trained for real with Adam at ``lr`` under a real tqdm bar (``total=steps``),
    whose postfix is set the way ai-toolkit sets it every ``every`` steps; each time the bar's
    rendering is one line of the log, followed by ai-toolkit's "Saving at step N" line. Returns the
    lines and the losses shown (as printed, 4 significant digits)."""
    from tqdm import tqdm

    x, y, model = digits_mlp(0)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    bar = tqdm(total=steps, desc="my-lora", file=io.StringIO(), ascii=True)
    lines, shown = [], []
    for step in range(1, steps + 1):
        i = (step * 50) % 1400
        loss = torch.nn.functional.cross_entropy(model(x[i:i + 50]), y[i:i + 50])
        opt.zero_grad()
        loss.backward()
        opt.step()
        bar.update(1)
        if step % every == 0:
            text = f"{loss.item():.3e}"
            bar.set_postfix_str(f"lr: {lr:.1e} loss: {text}")
            lines += [str(bar), f"Saving at step {step}"]
            shown.append(float(text))
    bar.close()
    return lines, shown


def test_a_postfix_of_colon_pairs_is_read_at_the_bar_count(tmp_path):
    lines, shown = _ai_toolkit_bar(lr=0.003)
    assert "| 30/300 [" in lines[0] and lines[0].endswith("]")  # tqdm's own rendering
    run = lrdoctor.read(write_lines(tmp_path / "train.log", lines))
    loss = run.series("loss").finite()
    assert loss.values.tolist() == shown
    assert loss.steps.tolist() == list(range(30, 301, 30))
    assert run.series("lr").values[0] == pytest.approx(0.003)


def test_the_same_bar_shows_a_run_stuck_at_chance(tmp_path):
    lines, shown = _ai_toolkit_bar(lr=1.0)
    # Adam at 300x its usual LR kills the ReLUs: the loss sits at ln 10 = 2.303 after the first report
    assert all(abs(v - 2.303) < 0.04 for v in shown[1:])
    report = lrdoctor.diagnose(write_lines(tmp_path / "train.log", lines), config={"num_classes": 10})
    assert warned(report, at_least=2)["slow_progress"].evidence["ln_k"] == pytest.approx(2.3026, abs=1e-3)
    healthy, _ = _ai_toolkit_bar(lr=0.003)
    assert "slow_progress" not in warned(lrdoctor.diagnose(write_lines(tmp_path / "ok.log", healthy), config={"num_classes": 10}))


def test_spacy_percent_f_score_at_its_floor_is_no_learning():
    # spaCy's spancat on Danish: SPANS_SC_F 0.13 (P 0.06, R 40.00) then 0.00 at four evaluations
    report = lrdoctor.diagnose(real_log("fresh160/spacy-12299-spancat-danish-zero/paste.txt"))
    got = warned(report, at_least=2)
    assert "slow_progress" in got and got["slow_progress"].evidence["metric"] == "spans_sc_f"


def _spacy_table(percent: bool, epochs: int = 6) -> list[str]:
    """A spaCy ``spacy train`` table of a really trained one-vs-rest finder of the digit 0 (about 1
    in 10 of the digits): the digits MLP fitted with Adam, evaluated on the held-out digits for
    precision, recall and F of the positive class, printed as fractions or (as spaCy does) in percent."""
    x, y, model = digits_mlp(0)
    target = (y == 0).long()
    head = torch.nn.Linear(10, 2)
    opt = torch.optim.Adam(list(model.parameters()) + list(head.parameters()), lr=0.01)
    scale = 100.0 if percent else 1.0
    lines = ["E    #       LOSS CLS  ENTS_F  ENTS_P  ENTS_R  SCORE ", "---  ------  --------  ------  ------  ------  ------"]
    step = 0
    for epoch in range(epochs):
        total = 0.0
        for i in range(0, 1400, 100):
            loss = torch.nn.functional.cross_entropy(head(model(x[i:i + 100])), target[i:i + 100])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            step += 1
        with torch.no_grad():
            pred = head(model(x[1400:])).argmax(1)
        truth = target[1400:]
        tp = int(((pred == 1) & (truth == 1)).sum())
        p = tp / max(int((pred == 1).sum()), 1)
        r = tp / max(int((truth == 1).sum()), 1)
        f = 2 * p * r / (p + r) if p + r else 0.0
        lines.append(f"{epoch:>3}  {step:>6}  {total:>8.2f}  {f * scale:>6.2f}  {p * scale:>6.2f}  {r * scale:>6.2f}  {f:>6.2f}")
    return lines


@pytest.mark.parametrize("percent", [True, False])
def test_a_learned_f_score_is_not_at_its_floor_on_either_scale(tmp_path, percent):
    lines = _spacy_table(percent)
    last_f = float(lines[-1].split()[3])
    assert last_f > (50 if percent else 0.5)  # the finder learned its class
    report = lrdoctor.diagnose(write_lines(tmp_path / "train.log", lines))
    assert "slow_progress" not in warned(report)


def _rendered_card(order: tuple[str, ...], epochs: int = 5) -> tuple[list[str], dict[str, list[float]]]:
    """The HF Trainer "Training results" table of the digits MLP trained for real as a one-vs-rest
    finder of the digit 0 (AdamW, 14 steps an epoch, ``logging_steps`` beyond the run, so every
    training-loss cell says "No log"), copied from a rendered model page: borders lost, one space
    between words, metric names in title case ("Roc Auc" is scikit-learn's ``roc_auc``). Returns the
    lines and each metric's printed values."""
    from sklearn.metrics import f1_score, roc_auc_score

    x, y, model = digits_mlp(1)
    target = (y == 0).long()
    head = torch.nn.Linear(10, 2)
    opt = torch.optim.AdamW(list(model.parameters()) + list(head.parameters()), lr=0.003)
    title = {"accuracy": "Accuracy", "f1": "F1", "roc_auc": "Roc Auc", "accuracy_score": "Accuracy Score"}
    lines = ["Training Loss Epoch Step Validation Loss " + " ".join(title[k] for k in order)]
    printed: dict[str, list[float]] = {k: [] for k in ("validation_loss", *order)}
    for epoch in range(1, epochs + 1):
        for i in range(0, 1400, 100):
            loss = torch.nn.functional.cross_entropy(head(model(x[i:i + 100])), target[i:i + 100])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            logits = head(model(x[1400:]))
        truth = target[1400:].numpy()
        score = torch.softmax(logits, 1)[:, 1].numpy()
        pred = logits.argmax(1).numpy()
        got = {"validation_loss": torch.nn.functional.cross_entropy(logits, target[1400:]).item(),
               "accuracy": float((pred == truth).mean()), "f1": f1_score(truth, pred), "roc_auc": roc_auc_score(truth, score)}
        got["accuracy_score"] = got["accuracy"]
        cells = [f"{got[k]:.4f}" for k in ("validation_loss", *order)]
        for k, c in zip(("validation_loss", *order), cells):
            printed[k].append(float(c))
        lines.append(f"No log {float(epoch)} {epoch * 14} " + " ".join(cells))
    return lines, printed


@pytest.mark.parametrize("order", [("accuracy", "f1", "roc_auc"), ("f1", "roc_auc", "accuracy"), ("accuracy_score", "roc_auc")])
def test_a_rendered_card_with_a_two_word_auc_column_is_read_by_name(tmp_path, order):
    # ("Accuracy Score" right after "Validation Loss" stays one name: a tail ends the name before it
    # only when that word is itself a metric's)
    lines, printed = _rendered_card(order)
    run = lrdoctor.read(write_lines(tmp_path / "training_results.txt", lines))
    for key in order:
        assert run.series(f"eval_{key}").values.tolist() == printed[key]
    assert run.series("validation_loss").values.tolist() == printed["validation_loss"]
    assert "eval_roc" not in run.metrics and "eval_auc_accuracy" not in run.metrics


def test_a_text_overlap_score_at_exactly_zero_through_a_finished_run_is_no_learning(tmp_path):
    # mT5-small summarising: ROUGE-1/2/L 0.0 at all three evaluations of a three-epoch Trainer card
    # (a results table is the whole run): no summary shared one word with its reference
    path = real_log("fresh392/hfcard-nour4286-mt5-small-summarization-task/training_results.md")
    got = warned(lrdoctor.diagnose(path), at_least=2)
    assert got["slow_progress"].evidence["metric"] == "eval_rouge1"
    # the same three evaluations as the first records of a JSON-lines log, whose run may go on: a
    # seq2seq model's first evaluations can score 0 (mT5 writes its sentinel tokens at first)
    rows = [line.split() for line in open(path).read().splitlines()[1:]]
    lines = [f'{{"epoch": {r[-7]}, "step": {r[-6]}, "eval_loss": {r[-5]}, "eval_rouge1": {r[-4]}}}' for r in rows]
    assert [float(r[-4]) for r in rows] == [0.0, 0.0, 0.0]
    report = lrdoctor.diagnose(write_lines(tmp_path / "log.jsonl", lines))
    assert "slow_progress" not in warned(report, at_least=2)
