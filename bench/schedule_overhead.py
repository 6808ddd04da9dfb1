"""Benchmark: per-step cost of lrdoctor's torch adapter vs torch's LambdaLR and HF's schedule.

    python bench/schedule_overhead.py [--steps 20000]
    PYTHONPATH=/tmp/old/src python bench/schedule_overhead.py    # the same bench on an older tree

Same optimizer (SGD, 1 and 4 param groups), same schedule (linear warmup x cosine), timed
interleaved in one run: ``scheduler.step()`` only (the optimizer step is outside the timer).
``to_torch`` is timed with the Schedule (block-evaluated) and with the plain lambda (any
callable ``step -> multiplier``, called per step). Also: one scalar evaluation ``s(step)``
against the plain lambda (the cost of the single numpy path for one step), and 1M steps of
the schedule as one numpy array against a Python loop over the lambda.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
import torch

from lrdoctor import schedules as S


def make_opt(groups):
    return torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)]} for _ in range(groups)], lr=0.1)


def time_steps(sched, n):
    t = time.perf_counter()
    for _ in range(n):
        sched.step()
    return (time.perf_counter() - t) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=30, help="interleaved rounds of --chunk steps per scheduler")
    ap.add_argument("--chunk", type=int, default=2000)
    args = ap.parse_args()
    torch.set_num_threads(1)
    T, W = args.steps, args.steps // 20
    ours = S.warmup(W) * S.cosine(T, start_step=W)

    def lam(step):  # the usual hand-written lambda, math only
        if step < W:
            return step / W
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - W) / (T - W))))

    makers = {
        "lrdoctor to_torch": lambda o: S.to_torch(o, ours),
        "torch LambdaLR": lambda o: torch.optim.lr_scheduler.LambdaLR(o, lam),
    }
    try:  # any callable: since issue 11; the bench also runs on older trees (PYTHONPATH=<old>/src)
        S.to_torch(make_opt(1), lam)
        makers["to_torch(plain lambda)"] = lambda o: S.to_torch(o, lam)
    except TypeError:
        print("(this lrdoctor's to_torch takes Schedules only: no plain-lambda row)")
    try:
        import transformers

        makers["HF cosine (LambdaLR)"] = lambda o: transformers.get_cosine_schedule_with_warmup(o, W, T)
    except ImportError:
        pass
    import warnings

    warnings.filterwarnings("ignore")  # scheduler.step() without optimizer.step(): the point here
    for groups in (1, 4):
        res = {k: [] for k in makers}
        scheds = {k: mk(make_opt(groups)) for k, mk in makers.items()}
        for r in range(args.repeat):  # interleaved chunks: machine noise hits every scheduler alike
            for k in (list(makers) if r % 2 else list(makers)[::-1]):
                res[k].append(time_steps(scheds[k], args.chunk))
        base = statistics.median(res["torch LambdaLR"])
        print(f"scheduler.step() cost, median of {args.repeat} interleaved chunks of {args.chunk} steps, "
              f"{groups} param group(s)")
        for k, v in res.items():
            m = statistics.median(v)
            print(f"  {k:24s} {m:7.2f} us/step   ratio vs LambdaLR {m / base:.2f}")
    k = np.arange(10_000) % T
    scal = {}
    for name, fn in (("s(step)", ours), ("lambda(step)", lam)):
        runs = []
        for _ in range(5):
            t = time.perf_counter()
            for i in k.tolist():
                fn(i)
            runs.append((time.perf_counter() - t) / k.size * 1e6)
        scal[name] = statistics.median(runs)
    print(f"one scalar evaluation: lrdoctor s(step) {scal['s(step)']:.2f} us, plain lambda {scal['lambda(step)']:.2f} us "
          f"(ratio {scal['s(step)'] / scal['lambda(step)']:.1f})")
    x = np.arange(1_000_000)
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        ours(x)
        runs.append(time.perf_counter() - t)
    arr = statistics.median(runs)
    t = time.perf_counter()
    [lam(i) for i in range(1_000_000)]
    loop = time.perf_counter() - t
    print(f"1M-step array evaluation (median of 5): lrdoctor {arr * 1e3:.1f} ms; python loop over the lambda {loop * 1e3:.0f} ms "
          f"({loop / arr:.0f}x)")


if __name__ == "__main__":
    main()
