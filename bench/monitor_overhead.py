"""Benchmark: Monitor overhead on post-mortem #1's transformer (4.9M parameters, 6 layers).

    python bench/monitor_overhead.py [--steps 300] [--block 25] [--batch 32] [--peers]

d_model 256, 8 heads, feed-forward 1024, 256-feature state tokens, a 52-way policy head and a
value head, Adam, batch of 32 sequences of 16 tokens on the CPU. The plain loop and the loop
with ``lrdoctor.Monitor`` (default signals: per-step LR and gradient norm, update ratio every
100 steps, detectors every 200+ steps) run in alternating blocks of ``--block`` steps, each
with its own model, so machine noise hits both alike; a second plain model is the A/A control
(the difference between two plain models is the noise floor of the end-to-end numbers). Prints
median and mean step time, the overhead in percent, and the Monitor's own time measured directly. ``--peers`` adds Cockpit's cheapest configuration and ``wandb.watch`` (offline)
where they are installed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import torch
from torch import nn

import lrdoctor


class PolicyValueTransformer(nn.Module):
    def __init__(self, state=256, d=256, heads=8, ff=1024, layers=6, actions=52):
        super().__init__()
        self.embed = nn.Linear(state, d)
        block = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.policy = nn.Linear(d, actions)
        self.value = nn.Linear(d, 1)

    def forward(self, x):
        h = self.encoder(self.embed(x)).mean(1)
        return self.policy(h), self.value(h).squeeze(-1)


def make(seed=0):
    torch.manual_seed(seed)
    model = PolicyValueTransformer()
    return model, torch.optim.Adam(model.parameters(), lr=1e-4)


def step_fn(model, opt, batch, n_tokens=16):
    x = torch.randn(batch, n_tokens, 256)
    a = torch.randint(0, 52, (batch,))
    v = torch.randn(batch)

    def step():
        logits, value = model(x)
        loss = nn.functional.cross_entropy(logits, a) + nn.functional.mse_loss(value, v)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    return step


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300, help="steps per condition")
    ap.add_argument("--block", type=int, default=25)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--peers", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    params = sum(p.numel() for p in PolicyValueTransformer().parameters())
    tmp = tempfile.mkdtemp()
    conds = {}

    m, o = make()
    conds["plain loop"] = (step_fn(m, o, args.batch), lambda loss: None)
    m, o = make(2)  # an A/A control: a second plain model shows the instance-to-instance noise
    conds["plain loop (2nd model)"] = (step_fn(m, o, args.batch), lambda loss: None)
    m, o = make()
    mon = lrdoctor.Monitor(o, model=m, log_to=os.path.join(tmp, "lrd"))
    conds["lrdoctor.Monitor"] = (step_fn(m, o, args.batch), mon.step)
    if args.peers:
        try:
            import cockpit
            from backpack import extend
            from cockpit.utils.configuration import configuration

            m, o = make()
            m = extend(m)
            ck = cockpit.Cockpit(m.parameters(), quantities=configuration("economy"))
            x, a, v = torch.randn(args.batch, 16, 256), torch.randint(0, 52, (args.batch,)), torch.randn(args.batch)
            ce = extend(nn.CrossEntropyLoss())
            counter = [0]

            def ck_step():
                logits, value = m(x)
                loss = ce(logits, a) + nn.functional.mse_loss(value, v)
                losses = nn.functional.cross_entropy(logits, a, reduction="none")
                o.zero_grad(set_to_none=True)
                with ck(counter[0], info={"batch_size": args.batch, "individual_losses": losses, "loss": loss}):
                    loss.backward(create_graph=ck.create_graph(counter[0]))
                o.step()
                counter[0] += 1
                return loss

            ck_step()  # fails here if Cockpit cannot handle the model
            conds["Cockpit economy"] = (ck_step, lambda loss: None)
        except Exception as err:
            print(f"Cockpit: not measured ({type(err).__name__}: {str(err).splitlines()[0][:120]})")
        try:
            os.environ["WANDB_MODE"] = "offline"
            os.environ["WANDB_DIR"] = tmp
            os.environ["WANDB_SILENT"] = "true"
            import wandb

            m, o = make()
            wandb.init(project="lrdoctor-bench", mode="offline")
            wandb.watch(m, log="gradients", log_freq=100)
            conds["wandb.watch (offline)"] = (step_fn(m, o, args.batch), lambda loss: wandb.log({"loss": loss.item()}))
        except Exception as err:
            print(f"wandb: not measured ({type(err).__name__}: {err})")

    times = {k: [] for k in conds}
    for k, (fn, after) in conds.items():  # warm up
        for _ in range(3):
            after(fn())
    done = 0
    while done < args.steps:
        for k, (fn, after) in conds.items():
            for _ in range(args.block):
                t = time.perf_counter()
                loss = fn()
                after(loss)
                times[k].append(time.perf_counter() - t)
        done += args.block
    mon.close()
    base_med, base_mean = statistics.median(times["plain loop"]), statistics.mean(times["plain loop"])
    print(f"model: {params / 1e6:.2f}M parameters, batch {args.batch} x 16 tokens, {args.threads} threads, "
          f"{args.steps} steps per condition in blocks of {args.block}")
    for k, v in times.items():
        med, mean = statistics.median(v), statistics.mean(v)
        print(f"  {k:24s} median {med * 1e3:7.2f} ms ({(med / base_med - 1) * 100:+.2f}%)   "
              f"mean {mean * 1e3:7.2f} ms ({(mean / base_mean - 1) * 100:+.2f}%)")
    print(f"Monitor findings: {[f.kind for f in mon.findings]}")
    direct = monitor_own_time(args.batch, args.steps)
    print(f"Monitor's own time per step, measured directly (hooks + step(), {args.steps} steps): "
          f"median {statistics.median(direct) * 1e3:.3f} ms = {statistics.median(direct) / base_med * 100:.3f}% of the "
          f"median step; mean {statistics.mean(direct) * 1e3:.3f} ms = {statistics.mean(direct) / base_mean * 100:.3f}%")


def monitor_own_time(batch: int, steps: int) -> list[float]:
    """Time inside the Monitor only: optimizer hooks registered just before and just after the
    Monitor's (hooks run in registration order) bracket its hooks; step() is timed around the call."""
    m, o = make(1)
    marks: dict[str, float] = {}
    o.register_step_pre_hook(lambda *a: marks.__setitem__("pre0", time.perf_counter()))
    o.register_step_post_hook(lambda *a: marks.__setitem__("post0", time.perf_counter()))
    mon = lrdoctor.Monitor(o, model=m, log_to=tempfile.mkdtemp())
    o.register_step_pre_hook(lambda *a: marks.__setitem__("pre1", time.perf_counter()))
    o.register_step_post_hook(lambda *a: marks.__setitem__("post1", time.perf_counter()))
    fn = step_fn(m, o, batch)
    out = []
    for _ in range(steps):
        loss = fn()
        t = time.perf_counter()
        mon.step(loss)
        own = time.perf_counter() - t
        out.append(own + (marks["pre1"] - marks["pre0"]) + (marks["post1"] - marks["post0"]))
    mon.close()
    return out


if __name__ == "__main__":
    main()
