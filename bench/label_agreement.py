"""How far two blind labellers agree on the benchmark's logs, and where lrdoctor stands between them.

The detection benchmark (``detection_quality.py``) scores lrdoctor against one reading of each
log: the gatherer's label, made from the numbers before lrdoctor ever ran on it. A second
labeller, blind to that label and to lrdoctor's output, read a random sample of the same logs
again from the log file alone (and the run's ``num_classes`` etc. where the manifest gives it),
with the same vocabulary; ``second_labels.yaml`` holds those readings. This script prints:

- the agreement of the two readings on the run's label (healthy / edge / unhealthy);
- precision and recall of the *second* reading scored against the first with the benchmark's own
  matching (:data:`detection_quality.EQUIVALENT`), beside lrdoctor's and the naive baseline's on
  the same logs: what a second careful reader reaches against a bar that counts every leaned-to
  kind of an edge run;
- the same figures with the second reading as the truth, and with the kinds *both* named.

The logs were drawn at random from the non-holdout logs under 30 kB, in two samples (each entry's
``sample``: before and after the stop's rule changes, printed apart too); a third sample, chosen by
lrdoctor's output (the runs labelled edge on which it reports an error), is read only for that
question. The holdout slice is never read. Usage: ``python bench/label_agreement.py``.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
SECOND = HERE / "second_labels.yaml"
LABELS = ("healthy", "edge", "unhealthy")
#: the samples drawn at random (``second_labels.yaml``'s ``sample``); sample 3 was chosen by lrdoctor's output
RANDOM_SAMPLES = (1, 2)


def _benchmark():
    spec = importlib.util.spec_from_file_location("detection_quality", HERE / "detection_quality.py")
    dq = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = dq  # its dataclasses look their module up while being built
    spec.loader.exec_module(dq)
    return dq


def _kinds(entry: dict) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for k in entry.get("kinds") or []:
        try:
            out[k["kind"]] = float(k["onset"]) if k.get("onset") is not None else None
        except (TypeError, ValueError):
            out[k["kind"]] = None
    return out


def _line(dq, name: str, cases, outcomes) -> str:
    s = dq.score(cases, outcomes)
    tp = sum(v[0] for v in s["per"].values())
    fp = sum(v[1] for v in s["per"].values())
    fn = sum(v[2] for v in s["per"].values())
    return (f"| {name} | {s['precision']:.2f} | {s['recall']:.2f} | {s['clear_recall']:.2f} | {tp} | {fp} | {fn} | "
            f"{s['healthy_errors']} |")


HEADER = ("| reading | precision | recall | recall, unhealthy runs | TP | FP | FN | healthy/edge runs with an error |\n"
          "|---|---|---|---|---|---|---|---|")


def _kinds_tables(dq, first, as_case, as_outcome, ours, naive) -> None:
    first_outcome = [dq.Outcome(predicted=dict(c.kinds)) for c in first]
    # the kinds both readings named; each run keeps the first reading's label
    agreed = [replace(c, kinds={k: v for k, v in c.kinds.items() if k in s.kinds}) for c, s in zip(first, as_case)]
    print("kinds scored against the first reading (the benchmark's truth)\n")
    print(HEADER)
    print(_line(dq, "second reading", first, as_outcome))
    print(_line(dq, "lrdoctor", first, ours))
    print(_line(dq, "naive baseline", first, naive))
    print("\nkinds scored against the second reading\n")
    print(HEADER)
    print(_line(dq, "first reading", as_case, first_outcome))
    print(_line(dq, "lrdoctor", as_case, ours))
    print(_line(dq, "naive baseline", as_case, naive))
    print("\nkinds both readings named (the first reading's run label)\n")
    print(HEADER)
    print(_line(dq, "lrdoctor", agreed, ours))
    print(_line(dq, "naive baseline", agreed, naive))


def _edge_errors(dq, every, outcome: dict) -> None:
    """The issue's bar asks for no error finding on a run labelled edge. What does a second reading
    call the runs the first calls edge and lrdoctor reports at error severity (``outcome``: its
    outcome per (slice, id))?"""
    rows = []
    for c, e in every:
        out = outcome[(c.slice, c.id)]
        if c.label == "edge" and out.errors:
            named = {k["kind"] for k in e.get("kinds") or []}
            rows.append((e["label"], sum(any(q in named for q in dq.EQUIVALENT.get(k, {k})) for k in out.errors), len(out.errors)))
    n = Counter(label for label, _, _ in rows)
    same = sum(s for _, s, _ in rows)
    print(f"\nruns the first reading calls edge with an lrdoctor error finding, read again: {len(rows)}; "
          f"the second reading calls {n['unhealthy']} unhealthy, {n['edge']} edge, {n['healthy']} healthy, and names "
          f"{same} of their {sum(k for _, _, k in rows)} error kinds itself")


def main() -> int:
    dq = _benchmark()
    cases = {(c.slice, c.id): c for c in dq.load_cases(("holdout",)).cases}
    second = yaml.safe_load(SECOND.read_text()) or []
    every = [(cases[(e["slice"], e["id"])], e) for e in second if (e["slice"], e["id"]) in cases]
    # the agreement tables read the random samples only; a sample chosen by lrdoctor's output
    # (``RANDOM_SAMPLES`` names the others) answers its own question below
    pairs = [(c, e) for c, e in every if e.get("sample", 1) in RANDOM_SAMPLES]
    first = [c for c, _ in pairs]
    # the second reading as a case (its own label and kinds) and as an outcome (its kinds "predicted")
    as_case = [replace(c, label=e["label"], kinds=_kinds(e)) for c, e in pairs]
    as_outcome = [dq.Outcome(predicted=_kinds(e)) for _, e in pairs]
    outcome = {(c.slice, c.id): dq.run_lrdoctor(c) for c, _ in every}  # once per log, for both questions
    ours = [outcome[(c.slice, c.id)] for c in first]
    naive = [dq.run_naive(c) for c in first]

    print(f"{len(pairs)} logs of the random samples read twice, blind ({len(every) - len(pairs)} more chosen by lrdoctor's "
          f"output; {len(second) - len(every)} entries name no benchmark log)\n")
    conf = Counter((c.label, s.label) for c, s in zip(first, as_case))
    print("label of the run (rows: first reading, columns: second)\n")
    print("| first \\ second | " + " | ".join(LABELS) + " |\n|---|---|---|---|")
    for a in LABELS:
        print(f"| {a} | " + " | ".join(str(conf[(a, b)]) for b in LABELS) + " |")
    same = sum(conf[(a, a)] for a in LABELS)
    print(f"\nsame label: {same}/{len(pairs)} ({same / max(len(pairs), 1):.0%}); "
          f"healthy in one reading and unhealthy in the other: {conf[('healthy', 'unhealthy')] + conf[('unhealthy', 'healthy')]}\n")
    _kinds_tables(dq, first, as_case, as_outcome, ours, naive)
    for sample in sorted({e.get("sample", 1) for _, e in pairs}):
        idx = [i for i, (_, e) in enumerate(pairs) if e.get("sample", 1) == sample]
        print(f"\n#### sample {sample} ({len(idx)} logs)\n")
        _kinds_tables(dq, *([xs[i] for i in idx] for xs in (first, as_case, as_outcome, ours, naive)))
    _edge_errors(dq, every, outcome)
    per = dq.score(first, as_outcome)["per"]
    print("\nper kind, the second reading against the first\n")
    print("| kind | TP | FP | FN |\n|---|---|---|---|")
    for k, (tp, fp, fn, *_rest) in per.items():
        print(f"| {k} | {tp} | {fp} | {fn} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
