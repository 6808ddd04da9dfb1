"""Write the brief a helper session follows to gather and blind-label one slice of real logs.

    python bench/gather_brief.py fresh1035 "Hugging Face Trainer cards of ..." 12:30 > brief.md

The benchmark's labels are only worth what the reading behind them is worth, so the reading is
fixed in one place: this brief (the rules, the label vocabulary :data:`LABEL_KINDS`, the manifest
format) is the one the gatherers of stop 67 were given, with the slice, the theme, the deadline,
the look-up budget and the search hints filled in (its first wave had no hints, and its licence
rule did not yet spell out blame views at a pinned revision). The briefs of earlier stops were not
kept; their manifests show the same fields and kinds. bench/detection_logs/GATHERING.md says how a
slice then goes from gathered to measured to registered. The brief keeps the gatherer blind: it
forbids running lrdoctor or reading its code, tests, docs or other slices' labels.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["LABEL_KINDS", "LICENCES", "brief"]

LOGS = Path(__file__).resolve().parent / "detection_logs"

#: the kinds a gatherer may label, and what each means to a reader of the numbers. Every name is
#: an lrdoctor finding kind (tests check it), so a label is scored against the same name.
LABEL_KINDS: dict[str, str] = {
    "overfitting": "training loss keeps falling while the validation loss rises from its best and stays up "
                   "(or a held-out metric worsens while the fit improves).",
    "divergence": "the loss grows and stays up (blows up, or ends well above its best), not a blip.",
    "nonfinite": "NaN or inf in a loss or metric.",
    "loss_spike": "sudden jump(s) of the loss that come back down.",
    "oscillation": "the loss swings up and down persistently without settling.",
    "slow_progress": "no learning, or far too slow: loss flat from the start (e.g. at chance, ln K for K "
                     "classes), or a task metric stuck at its floor (accuracy at chance, WER 1.0, F1 0).",
    "plateau": "after some progress, the loss stops improving for a long stretch while training goes on.",
    "performance_reversal": "a task metric (reward, return, accuracy, score) that was better gets clearly "
                            "worse and does not recover, not explained as overfitting.",
    "initial_loss_anomaly": "the first loss is far from what a fresh model of that kind gives (e.g. far above "
                            "ln K for K classes, or absurdly large).",
    "reward_instability": "an RL return swinging wildly.",
    "grad_explosion": "a gradient norm that blows up (only where the log has one).",
    "grad_vanishing": "a gradient norm that collapses towards 0 (only where the log has one).",
    "grad_norm_unstable": "a gradient norm that swings by orders of magnitude (only where the log has one).",
    "clipping_saturated": "gradient clipping active on nearly every step (a clip fraction or coefficient column).",
    "kl_exceeded": "an approximate KL far past its target (PPO-style logs).",
    "q_divergence": "Q-value estimates that multiply without bound (value-based RL).",
    "value_collapse": "a value function's explained variance collapsing (actor-critic logs).",
    "entropy_collapse": "a policy's entropy falling to near 0 early in an RL run (only where the log has one).",
    "schedule_overridden": "a logged learning rate that leaves its schedule (a warmup or a decay undone).",
}

#: the licences under which a copied log may be shipped (bench/detection_logs/README.md)
LICENCES = ("MIT", "Apache-2.0", "BSD", "ISC", "MPL", "GPL/LGPL/AGPL", "CC-BY or CC-BY-SA", "CC0", "Unlicense")

_TEMPLATE = """# Gather and blind-label one slice of real public training logs: slice `{slice}`

You gather real training logs (loss/metric tables, console logs, CSV/JSON logs) that strangers
published, and label each one by reading its numbers. The logs become part of a benchmark that
measures a training-diagnosis tool. Your labels are the ground truth, so they must come from the
numbers alone.

**Theme:** {theme}

**Deadline:** write your last file and your final report by **{deadline} UTC** (run `date`).
Stop gathering early enough to write the manifest and README properly. Fewer well-sourced logs
beat many doubtful ones. Zero logs is an acceptable outcome if nothing qualifies: say so.

## Hard rules

1. **Blind.** Never run, import or install lrdoctor. Never read anything under `{root}/src`,
   `{root}/tests`, `{root}/docs`, `{root}/examples`, any `*.py` file of the project,
   or its README/CONTRIBUTING. Never open other slices' log files, manifests' labels or evidence.
   The ONLY thing you may read from other slices is the `source:` lines, to skip duplicates:
   `grep -h "^  source:" {logs}/manifest_*.yaml | grep -i SOMETHING`.
2. **Where you write.** Only `{logs}/{slice}/` (one sub-folder per log id, holding that log file,
   plus `{slice}/README.md`) and `{logs}/manifest_{slice}.yaml`. Nothing else anywhere: no scratch
   files in /tmp, no git commands, never move, edit or delete any file outside those paths.
3. **Look-up budget.** At most **{calls}** calls in all to the look-up tools (`search`,
   `find_repos`, `find_files`, `read_file`, `find_string`). Count them as you go. If a tool says the
   budget is used up, stop searching and write up what you have.
4. **Licence, read where the log is.** Copy a log only after you have read, yourself, a licence
   that allows redistribution: {licences}. Not OK: no licence found, "other", OpenRAIL/RAIL,
   Llama/Gemma community licences, any non-commercial (NC) licence, a licence you remember rather
   than read.
   - GitHub: the repository's LICENSE file (read it with `read_file`), and record the commit.
   - Hugging Face: the `license:` line of the model card front matter, or the "License: ..."
     line of the same repository's page header, at the same revision (card version) as the table.
     A licence read on a commit diff, a PR page, a blame/code view at a pinned revision other than
     the table's, a base model or another repository does not count.
   Record in `licence:` what you read and where.
5. **Citable source.** `source:` is a full URL a person can open: a Hugging Face model page or
   README blob URL, a GitHub blob URL (owner/repo/blob/commit/path), or an issue URL. If a search
   result does not tell you the owner and repository, skip it. Never guess an owner.
6. **Verbatim.** Copy a contiguous block of complete lines exactly as the stored text holds
   them: the table's header line and rows, or the console lines. Never edit, round, reorder or
   reformat numbers. You may drop a line cut in the middle, and lines before/after the block.
   Keep at least 4 data rows (epochs, evaluations or log lines) per log.
7. **No duplicates.** Skip a source already in any manifest (grep the `source:` lines, rule 1).
   One log per run; two runs from one repo are fine if they are different runs.

## How to label (read the numbers, then decide)

`label` is one of:
- `healthy`: trained as it should (loss falls and settles, metric improves or holds). `kinds: []`.
- `edge`: debatable: a mild problem, or a curve a careful reader could call either way. Give the
  kind you lean to, with its onset.
- `unhealthy`: a clear pathology. Give its kind(s) with onset.

Kinds (use these names only):
{kinds}

`onset` is where the problem begins, as a number on the log's own step axis (the epoch or step
value printed in the log). In `evidence`, write the numbers you read (first/best/last values,
where and how much they move) and why they give your label. Add `num_classes: K` (or
`n_actions`, `target_kl`) only when the source states it.

## Manifest format (`{logs}/manifest_{slice}.yaml`, a YAML list)

```yaml
- id: owner-model-or-run-name          # lowercase, [a-z0-9.-], unique
  file: {slice}/ID/FILENAME            # e.g. training_results.md, log.txt, metrics.csv
  slice: {slice}
  format: 'what the file is, e.g. Hugging Face Trainer model card Training results table'
  repo: 'owner/name or the HF model id'
  path: 'path of the file in the repo, or empty'
  commit: 'commit or revision read at, or empty'
  licence: 'Apache-2.0 (card front matter "license: apache-2.0", read on the same page)'
  source: https://...
  label: healthy | edge | unhealthy
  kinds:
  - kind: overfitting
    onset: 3.0
  evidence: 'numbers read and the reason'
  step_unit: epoch | step | iteration | episode
```

Quote strings that hold `: ` or `#`. Check the file parses: `python3 -c "import yaml,sys;
print(len(yaml.safe_load(open(sys.argv[1]))))" {logs}/manifest_{slice}.yaml`.

`{slice}/README.md`: a title line `# {slice}: blind-labelled real training logs (THEME)`, a
paragraph on what was copied and how, a line `Split: N healthy, N edge, N unhealthy (N logs).`,
and a table `| id | source | format | label |`.

## Finding logs
{hint}
- The `pages` corpus holds rendered Hugging Face model pages and other web pages; the `code`
  corpus holds repository files; `find_string` finds an exact string in GitHub files (e.g. a
  table header like `| Training Loss | Epoch | Step | Validation Loss |`).
- Auto-generated Hugging Face Trainer cards have a "Training results" table, and their front
  matter usually states the licence. Read the page/README text for the table and the licence.
- Prefer logs with 4+ rows and a validation loss or a task metric beside the training loss.
- Aim for a mix: healthy runs are as valuable as broken ones; do not pick only broken runs.

## Final report (your last message)

Number of logs kept, the split (healthy/edge/unhealthy), look-up calls used, what you found but
did not keep and why, and every departure from this brief (anything you did differently).
"""

#: search hints for Hugging Face card themes, from the gatherers' reports (stop 67: cards turned up in
#: the docs corpus; model-family themes gave 1-24 logs each, format and metric themes 0-1)
DEFAULT_HINT = """- Hugging Face model cards turn up in the `docs` corpus more often than in `pages` (which may
  return only the start of a page). A query like `MODEL-NAME fine-tuned unknown dataset Training
  results Validation Loss` works. When an excerpt stops early, try another phrasing with words
  from the table.
- Cards auto-generated by the Trainer say "This model is a fine-tuned version of BASE on the None
  dataset" (or "an unknown dataset", or a named dataset)."""


def brief(slice_name: str, theme: str, deadline: str, calls: int = 38, hint: str = DEFAULT_HINT,
          logs: Path = LOGS) -> str:
    """The brief for one slice, as markdown."""
    kinds = "\n".join(f"- `{k}`: {v}" for k, v in LABEL_KINDS.items())
    return _TEMPLATE.format(slice=slice_name, theme=theme, deadline=deadline, calls=calls, hint=hint,
                            kinds=kinds, licences=", ".join(LICENCES), logs=logs, root=logs.parents[1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("slice", help="the new slice's name, e.g. fresh1035 (not yet in any manifest)")
    ap.add_argument("theme", help="what to gather: a source, a format, a model family")
    ap.add_argument("deadline", help="HH:MM (UTC) by which the gatherer writes its report")
    ap.add_argument("--calls", type=int, default=38, help="look-up budget (default 38)")
    args = ap.parse_args(argv)
    if (LOGS / f"manifest_{args.slice}.yaml").exists():
        print(f"slice {args.slice}: {LOGS / f'manifest_{args.slice}.yaml'} already exists; pick a new name", file=sys.stderr)
        return 2
    sys.stdout.write(brief(args.slice, args.theme, args.deadline, args.calls))
    return 0


if __name__ == "__main__":
    sys.exit(main())
