"""Precision of `lrdoctor lint` on real public code (bench/lint_corpus, see its README/MANIFEST).

Runs the linter over each project folder of the corpus (one project per run, so the test
rules read only that project's LR defaults) and over the shared real-log configs when
present, matches every finding with its hand verdict in bench/lint_corpus/VERDICTS.csv,
and prints per rule: findings, true, false, unjudged, precision, and how many files the
rule examined (its text trigger matched and the file was parsed) - so a quiet rule shows
how much real code it stayed quiet on. The project's own deliberate reproductions of the
post-mortem bugs are linted too, as a recall check.

    python bench/lint_precision.py [--site-packages]

``--site-packages`` also lints the installed transformers, lightning, accelerate,
stable_baselines3, torch.optim, torch.testing._internal, ray's rllib/train/tune examples,
torch_lr_finder and pyhessian (4,277 files at the pinned versions): a wider check that no
rule fires falsely on code it was not developed on.

Exit 1 when a finding has no verdict or a rule's precision is below 90% (issue 14).
"""

from __future__ import annotations

import csv
import sys
import sysconfig
from collections import Counter
from pathlib import Path

from lrdoctor.lint import all_rules, lint_paths
from lrdoctor.lint.engine import collect_files

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "bench" / "lint_corpus"
SHARED_CONFIGS = ROOT.parent / "shared" / "reallogs"
#: the project's own code that reproduces post-mortem bugs on purpose (recall check)
REPRODUCTIONS = {
    "src/lrdoctor/demo.py": "schedule-overwrite",
    "tests/test_monitor.py": "schedule-overwrite",
    "tests/test_trust.py": "schedule-overwrite",
    "tests/test_rl.py": "nstep-large",
}
MIN_PRECISION = 0.9
SITE_PACKAGES = ("transformers", "lightning", "accelerate", "stable_baselines3", "torch/optim", "torch/testing/_internal",
                 "ray/rllib", "ray/train", "ray/tune/examples", "torch_lr_finder", "pyhessian")


def main() -> int:
    verdicts = {}
    with open(CORPUS / "VERDICTS.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            verdicts[(row["path"], int(row["line"]), row["rule"])] = row["verdict"]
    found = []
    folders = sorted(p for p in CORPUS.iterdir() if p.is_dir())
    n_files = 0
    for folder in folders:
        res = lint_paths([folder], jobs=1)
        n_files += res.files
        found += [(str(Path(f.path).relative_to(CORPUS)), f.line, f.rule) for f in res.findings]
    if SHARED_CONFIGS.is_dir():
        res = lint_paths([SHARED_CONFIGS], jobs=1)
        n_files += res.files
        found += [(str(Path(f.path).relative_to(SHARED_CONFIGS.parent)), f.line, f.rule) for f in res.findings]
    if "--site-packages" in sys.argv:
        sp = Path(sysconfig.get_paths()["purelib"])
        targets = [sp / t for t in SITE_PACKAGES if (sp / t).exists()]
        res = lint_paths(targets)
        print(f"site-packages: {res.files} files checked ({', '.join(SITE_PACKAGES)})")
        n_files += res.files
        found += [("site-packages/" + str(Path(f.path).relative_to(sp)), f.line, f.rule) for f in res.findings]
    examined = Counter()
    files = [p for f in folders for p in collect_files([f]) if p.suffix == ".py"]
    rules = all_rules()
    for p in files:
        text = p.read_text(encoding="utf-8", errors="replace")
        for r in rules:
            if "python" in r.targets and r.may_fire(text, str(p)):
                examined[r.id] += 1
    n_cfg = sum(1 for f in folders for p in collect_files([f]) if p.suffix in (".yml", ".yaml", ".json"))
    print(f"corpus: {n_files} files checked ({len(files)} Python, {n_cfg} configs in {len(folders)} projects"
          f"{', + shared real-log configs' if SHARED_CONFIGS.is_dir() else ''})")
    print(f"{'rule':28} {'findings':>8} {'true':>5} {'false':>5} {'unjudged':>8} {'precision':>9} {'py files examined':>17}")
    bad = False
    for r in rules:
        mine = [f for f in found if f[2] == r.id]
        tp = sum(verdicts.get(f) == "TP" for f in mine)
        fp = sum(verdicts.get(f) == "FP" for f in mine)
        un = len(mine) - tp - fp
        prec = f"{tp / (tp + fp):.0%}" if tp + fp else "-"
        print(f"{r.id:28} {len(mine):8} {tp:5} {fp:5} {un:8} {prec:>9} {examined[r.id]:17}")
        if un or (tp + fp and tp / (tp + fp) < MIN_PRECISION):
            bad = True
    for f in found:
        if f not in verdicts:
            print(f"  unjudged: {f[0]}:{f[1]} {f[2]}")
    print("recall on the project's own reproductions of post-mortem bugs:")
    for path, rule in REPRODUCTIONS.items():
        p = ROOT / path
        if p.exists():
            got = [f for f in lint_paths([p], jobs=1).findings if f.rule == rule]
            print(f"  {path}: {rule} {'found at line ' + str(got[0].line) if got else 'MISSED'}")
            bad |= not got
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
