"""overfitting's turned-minimum rule (stop 68): a held-out loss that turned at a minimum in the
middle of the run, and whose later evaluations wobble instead of climbing in order, was silent
when the few points could not separate the rise from its own scatter. It now stands when every
later evaluation is 10% or more above the minimum, the training loss at least halved since, the
held-out loss is not on its way back down, and no held-out score is back, at any later
evaluation, to what it was at the minimum. A really trained digits MLP on 100 examples with a
fifth of their labels redrawn at random, its twin on 1,000, and real logs of the benchmark read
in place: two unhealthy, two healthy ones that each guard keeps silent."""

from pathlib import Path

import pytest
import torch

import lrdoctor

torch.set_num_threads(1)

LOGS = Path(__file__).resolve().parents[1] / "bench" / "detection_logs"


def _mlp_log(path, n_train, *, seed=6, lr=0.003, evals=8, every=50, flipped=0.2):
    """Train a 64-128-10 MLP with Adam at ``lr`` on ``n_train`` digits whose labels are, with
    probability ``flipped``, replaced by a label drawn at random (a noisy-label training set: the
    wrong labels can only be memorised), in batches of 16; every ``every`` updates write the loss on
    the whole (noisy) training set, and the loss and accuracy on 300 held-out digits with their
    true labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = torch.tensor(d.data / 16.0, dtype=torch.float32), torch.tensor(d.target)
    torch.manual_seed(seed)
    perm = torch.randperm(len(y))
    tr, va = perm[:n_train], perm[n_train:n_train + 300]
    noisy = y.clone()
    flip = torch.rand(len(y)) < flipped
    noisy[flip] = torch.randint(0, 10, (int(flip.sum()),))
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    rows = ["step,loss,eval_loss,eval_accuracy"]
    for step in range(1, evals * every + 1):
        i = tr[torch.randint(0, n_train, (16,))]
        loss = torch.nn.functional.cross_entropy(model(x[i]), noisy[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % every == 0:
            with torch.no_grad():
                train = float(torch.nn.functional.cross_entropy(model(x[tr]), noisy[tr]))
                out = model(x[va])
                held = float(torch.nn.functional.cross_entropy(out, y[va]))
                acc = float((out.argmax(1) == y[va]).float().mean())
            rows.append(f"{step},{train:.4f},{held:.4f},{acc:.4f}")
    path.write_text("\n".join(rows) + "\n")
    return [tuple(map(float, r.split(","))) for r in rows[1:]]


def _overfitting(report):
    return [f for f in report.findings if f.kind == "overfitting"]


def test_an_mlp_memorising_noisy_labels_turns_at_its_minimum_and_its_twin_on_more_data_does_not(tmp_path):
    small = tmp_path / "hundred.csv"
    rows = _mlp_log(small, 100)
    held, acc = [r[2] for r in rows], [r[3] for r in rows]
    i = held.index(min(held))
    # the picture the rule is for: a minimum inside the run, later readings that wobble, none back
    # near it, the training loss halved since, the accuracy never back to its value at the minimum
    assert 0 < i < len(held) - 3 and any(b < a for a, b in zip(held[i + 1:], held[i + 2:]))
    assert all(h >= 1.1 * held[i] for h in held[i + 1:]) and rows[-1][1] <= 0.5 * rows[i][1]
    assert max(acc[i + 1:]) < acc[i]
    found = _overfitting(lrdoctor.diagnose(small))
    assert len(found) == 1 and "turned at its minimum" in found[0].summary
    assert found[0].evidence["eval_min_step"] == rows[i][0]

    big = tmp_path / "thousand.csv"  # the same share of wrong labels, ten times the examples
    _mlp_log(big, 1000)
    report = lrdoctor.diagnose(big)
    assert "overfitting" in report.coverage.ran and not _overfitting(report)


@pytest.mark.parametrize("log, minimum, train_last", [
    # IndicBERT on MahaPhrase: validation loss 0.3427 at epoch 4, then 0.3923, 0.3913, 0.4789, 0.4538
    ("fresh915/mahaphrase-indicbert-ft3", "0.3427", 0.0457),
    # a Keras BERT, labelled unhealthy overfitting in a slice measured blind after the rule was
    # written: 0.2818, 0.2334, then 0.2836, 0.3938, 0.3378 while the training loss fell 0.2233 -> 0.0519
    ("fresh1057/felixshier-ac-02-bert-finetuned", "0.2334", 0.0519),
])
def test_a_real_fine_tune_whose_validation_loss_turned_and_wobbled_is_overfitting(log, minimum, train_last):
    found = _overfitting(lrdoctor.diagnose(LOGS / log / "training_results.md"))
    assert len(found) == 1 and f"turned at its minimum {minimum}" in found[0].summary
    assert found[0].evidence["train_last"] == train_last


def test_a_held_out_loss_on_its_way_back_down_is_not_called_turned():
    # an early-stopping notebook: validation loss 0.008987 at epoch 15, then 0.016889 ... 0.011086,
    # every one of them 10%+ above it, but each lower than the one before from epoch 16 on
    log = LOGS / "fresh83" / "heaton-iris-earlystop-classification"
    path = next(p for p in log.iterdir() if p.name != "README.md")
    report = lrdoctor.diagnose(path)
    assert "overfitting" in report.coverage.ran and not _overfitting(report)


def test_a_held_out_loss_above_its_minimum_while_the_wer_improves_is_not_overfitting():
    # wav2vec2 CTC on ATCOSIM: validation loss 0.0525 at step 1000, then 0.060-0.069, while the WER
    # improved 0.0277 -> 0.0195 and the training loss fell 0.0624 -> 0.0163
    log = LOGS / "fresh958" / "jz-w2v2-960h-atcosim" / "training_results.md"
    report = lrdoctor.diagnose(log)
    assert "overfitting" in report.coverage.ran and not _overfitting(report)
