"""Prevention before the first step: ask for a starting LR, then lint a training script.

Runs in about a second: the script is only parsed, never executed.
Run: ``python examples/example_lint_and_recommend.py``.
"""

from __future__ import annotations

import textwrap

import lrdoctor
from lrdoctor.lint import lint_source

# post-mortem #4's loop: a per-step warmup that assigns the LR beside an epoch scheduler
SCRIPT = textwrap.dedent("""
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    step = 0
    for epoch in range(10):
        for x, y in train_loader:
            for g in optimizer.param_groups:
                g["lr"] = 3e-3 * min(1.0, (step + 1) / 500)
            loss = criterion(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
        scheduler.step()
""")
# a tempting fix that is still wrong with StepLR: StepLR is chainable, so it continues from
# the written value and the ramp factors multiply step after step (warmup-compounds)
NAIVE_FIX = SCRIPT.replace('g["lr"] = 3e-3 * min', 'g["lr"] = scheduler.get_last_lr()[0] * min')
# the fix: one closed-form schedule carries both the warmup and the decay, stepped every batch
FIXED = textwrap.dedent("""
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    steps_per_epoch = len(train_loader)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / 500) * 0.5 ** (s // (2 * steps_per_epoch)))
    for epoch in range(10):
        for x, y in train_loader:
            loss = criterion(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
""")


def main() -> dict:
    # 1. the first post-mortem's network: 4.9M-parameter 6-layer transformer, Adam, batch 512
    rec = lrdoctor.recommend(arch="transformer", params="4.9M", layers=6, optimizer="adam",
                             batch_size=512, regime="alphazero")
    print(rec.text())
    # 2. lint the buggy loop, then the fixed one
    found = lint_source(SCRIPT, "train.py")
    for f in found:
        print(f.text())
        print("    fix:", f.fix)
    naive = lint_source(NAIVE_FIX, "train.py")
    for f in naive:
        print(f.text())
    fixed = lint_source(FIXED, "train.py")
    print(f"fixed script: {len(fixed)} findings")
    return {"recommendation": rec, "found": found, "naive": naive, "fixed": fixed}


def test_example_lint_and_recommend():
    out = main()
    assert out["recommendation"].lr == 1e-3 and all(r.source for r in out["recommendation"].reasons)
    assert [f.rule for f in out["found"]] == ["schedule-overwrite"]
    assert [f.rule for f in out["naive"]] == ["warmup-compounds"]
    assert out["fixed"] == []


if __name__ == "__main__":
    main()
