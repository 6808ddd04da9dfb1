"""The three instruments on a small classifier, in a few seconds:

* the LR range test (``lrdoctor.find_lr``) with every rule's suggestion,
* the sharpness and the largest stable LR of the optimizer (``lrdoctor.sharpness``),
* the gradient noise scale and what it says about the batch size (``lrdoctor.noise_scale``).

Run: ``python examples/example_instruments.py``.
"""

from __future__ import annotations

import torch

import lrdoctor


def make():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1024, 16, generator=g)
    y = (x[:, :4] + 0.5 * torch.randn(1024, 4, generator=g)).argmax(1)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 4))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=64, shuffle=True,
                                         generator=torch.Generator().manual_seed(0))
    return model, loader, x, y


def main() -> dict:
    torch.set_num_threads(1)
    model, loader, x, y = make()
    loss_fn = torch.nn.functional.cross_entropy
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    rt = lrdoctor.find_lr(model, opt, loss_fn, loader)
    print(f"range test: {len(rt.lrs)} steps ({rt.stopped}); suggestion {rt.suggestion:.3g}")
    for name, s in rt.suggestions.items():
        print(f"  {name:<15} {s.lr:.3g}" if s.lr else f"  {name:<15} none")

    opt.param_groups[0]["lr"] = rt.suggestion
    for xb, yb in loader:  # one epoch at the suggested LR
        opt.zero_grad()
        loss_fn(model(xb), yb).backward()
        opt.step()

    sh = lrdoctor.sharpness(model, loss_fn, (x, y), optimizer=opt)
    print(f"sharpness {sh.lambda_max:.4g} ({sh.hvps} HVPs): max stable lr {sh.max_stable_lr:.3g} "
          f"for {sh.rule.kind} at lr {sh.lr:.3g}")
    finding = sh.to_finding()
    print(finding.summary if finding else "lr within the stability bound")

    ns = lrdoctor.noise_scale(model, loss_fn, loader, draws=10)
    print(ns.summary(batch=64))
    return {"suggestion": rt.suggestion, "sharpness": sh, "noise": ns}


def test_example_instruments():
    out = main()
    assert out["suggestion"] is not None and out["suggestion"] > 0
    assert out["sharpness"].lambda_max > 0 and out["sharpness"].max_stable_lr > 0
    assert out["noise"].draws == 10


if __name__ == "__main__":
    main()
