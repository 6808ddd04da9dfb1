"""Does a log read the same when it comes the way real logs come?

The same training output reaches lrdoctor through ``print`` or a logger, from one process or
eight, from Linux or Windows, saved by pandas or a spreadsheet. Each shipped benchmark log
(``bench/detection_logs``) that reads is rewritten with one change at a time, and the series of
the main roles (loss, eval loss, task metric, eval accuracy, return, LR) are compared with the
original's: same length, same values (within float printing). The figure per change is the share
of logs read the same; the baseline column is the same figure for the code at ``--against REV``
(a git worktree), in the same run.

Changes to text logs (logs whose lines carry no prefix of their own, and are no tab table):
Windows line ends, a UTF-8 byte-order mark, trailing blanks, colour codes, Python's logging
formats (``INFO:root:``; ``%(asctime)s - %(levelname)s - ``), Hydra's job logging, loguru's
layout, torchrun's ``[rank0]:`` / ``[default0]:`` tags, Open MPI's ``[1,0]<stdout>:``.
Changes to CSV tables: semicolons (with decimal points, and with decimal commas), quoted cells,
Windows line ends, pandas' index column written back as ``Unnamed: 0``.

    python bench/reader_invariance.py
    python bench/reader_invariance.py --against ec56b7a   # and the same for an older commit
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "bench" / "detection_logs"
ROLES = ("loss", "eval_loss", "task_metric", "eval_accuracy", "ep_return", "lr")


#: the changes, as source: the child process of each code tree runs it (two versions of lrdoctor
#: never share one interpreter's imports)
_TRANSFORMS = r"""
def _lines(prefix):
    return lambda t: "\n".join((prefix + ln) if ln.strip() else ln for ln in t.split("\n"))

TEXT = {
    "crlf": lambda t: t.replace("\n", "\r\n"),
    "bom": lambda t: "\ufeff" + t,
    "trailing blanks": lambda t: "\n".join(ln + "  " for ln in t.split("\n")),
    "colour codes": lambda t: "\n".join(("\x1b[32m" + ln + "\x1b[0m") if ln.strip() else ln for ln in t.split("\n")),
    "logging basic": _lines("INFO:root:"),
    "logging asctime": _lines("2024-05-01 12:00:00,123 - INFO - "),
    "logging cookbook": _lines("2024-05-01 12:00:00,123 - __main__ - INFO - "),
    "hf examples": _lines("05/01/2024 12:00:00 - INFO - __main__ - "),
    "filename[line]": _lines("2024-05-01 12:00:00,123 - train.py[line:88] - INFO: "),
    "name after level": _lines("2024-05-01 12:00:00 INFO     __main__: "),
    "thread and level": _lines("2024-05-01 12:00:00,123 [MainThread  ] [INFO ]  "),
    "mmengine": _lines("2024/05/01 12:00:00 - mmengine - INFO - "),
    "rich handler": lambda t: "\n".join(("[05/01/24 12:00:00] INFO     " + ln + "    train.py:88") if ln.strip() else ln for ln in t.split("\n")),
    "hydra": _lines("[2024-05-01 12:00:00,123][__main__][INFO] - "),
    "loguru": _lines("2024-05-01 12:00:00.123 | INFO     | __main__:train:88 - "),
    "torchrun rank": _lines("[rank0]: "),
    "torchrun tee": _lines("[default0]:"),
    "open mpi": _lines("[1,0]<stdout>:"),
}

#: the changes that put a logger's or launcher's header in front of each line
PREFIXES = {name for name in TEXT if name not in ("crlf", "bom", "trailing blanks", "colour codes")}

CSV = {
    "semicolon": lambda df, p: df.to_csv(p, sep=";", index=False),
    "semicolon, decimal comma": lambda df, p: df.to_csv(p, sep=";", decimal=",", index=False),
    "quoted": lambda df, p: df.to_csv(p, index=False, quoting=1),
    "crlf": lambda df, p: df.to_csv(p, index=False, lineterminator="\r\n"),
    "pandas index": lambda df, p: df.to_csv(p),
}
"""


# the measurement runs in a child process per code tree, so that two versions never share imports
_CHILD = r'''
import json, sys, tempfile
from pathlib import Path
import numpy as np
import pandas as pd
sys.path.insert(0, sys.argv[1])
import lrdoctor
from lrdoctor.io.textlog import _strip_prefix
spec = json.loads(sys.stdin.read())
ROLES = spec["roles"]

def sig(path):
    try:
        run = lrdoctor.read(path)
    except Exception:
        return None
    return {r: run.series(r).finite().values.tolist() for r in ROLES if run.series(r) is not None}

def same(a, b):
    return a is not None and b is not None and a.keys() == b.keys() and all(
        len(a[k]) == len(b[k]) and np.allclose(a[k], b[k], rtol=1e-6, equal_nan=True) for k in a)

exec(spec["transforms"])  # TEXT, CSV
tmp = Path(tempfile.mkdtemp())
out = {}
for f in spec["text"]:
    f = Path(f)
    text = f.read_text(encoding="utf-8", errors="replace")
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if not lines or sum(_strip_prefix(ln) != ln for ln in lines) > 0.2 * len(lines) \
            or sum("\t" in ln for ln in lines) > 0.5 * len(lines):
        continue  # lines with a prefix of their own, or a tab table: a second prefix is no real log
    base = sig(f)
    if not base:
        continue
    for name, fn in TEXT.items():
        if f.suffix == ".md" and name in PREFIXES:
            continue  # a model card is written by the hub's card generator, never through a logger
        p = tmp / ("t" + f.suffix)
        p.write_bytes(fn(text).encode("utf-8"))
        ok, n = out.get("text: " + name, (0, 0))
        out["text: " + name] = (ok + same(base, sig(p)), n + 1)
for f in spec["csv"]:
    f = Path(f)
    if f.read_text(errors="replace")[:1] == "#":
        continue  # a gym Monitor file: its JSON line is no CSV row
    base = sig(f)
    try:
        df = pd.read_csv(f)
    except Exception:
        continue
    if not base:
        continue
    for name, fn in CSV.items():
        p = tmp / "t.csv"
        fn(df, p)
        ok, n = out.get("csv: " + name, (0, 0))
        out["csv: " + name] = (ok + same(base, sig(p)), n + 1)
print(json.dumps(out))
'''


def _shipped(suffixes: tuple[str, ...]) -> list[str]:
    import yaml

    out = []
    for m in sorted(LOGS.glob("manifest_*.yaml")):
        for e in yaml.safe_load(m.read_text()) or []:
            f = LOGS / e["file"]
            if e.get("shipped", True) is not False and f.exists() and f.suffix.lower() in suffixes:
                out.append(str(f))
    return out


def _measure(src: Path, text: list[str], csv: list[str]) -> dict:
    spec = json.dumps({"roles": ROLES, "text": text, "csv": csv, "transforms": _TRANSFORMS})
    got = subprocess.run([sys.executable, "-c", _CHILD, str(src)], input=spec, capture_output=True, text=True, check=True)
    return json.loads(got.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--against", help="a git revision to measure beside the working tree")
    args = ap.parse_args(argv)
    text = _shipped((".txt", ".log", ".out", ".md"))
    csv = _shipped((".csv",))
    ours = _measure(ROOT / "src", text, csv)
    theirs = None
    if args.against:
        with tempfile.TemporaryDirectory() as d:
            wt = Path(d) / "tree"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(wt), args.against],
                           check=True, capture_output=True)
            try:
                theirs = _measure(wt / "src", text, csv)
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(wt)], capture_output=True)
    print(f"| change | logs | read the same (this tree) |{f' at {args.against} |' if theirs else ''}")
    print(f"|---|---|---|{'---|' if theirs else ''}")
    for name in ours:
        ok, n = ours[name]
        row = f"| {name} | {n} | {ok / n:.3f} |"
        if theirs:
            tok, tn = theirs.get(name, (0, n))
            row += f" {tok / tn:.3f} |"
        print(row)
    worst = min(ok / n for ok, n in ours.values())
    print(f"\nworst share read the same: {worst:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
