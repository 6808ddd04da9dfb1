"""Static checks of training scripts and configs for the known LR bugs (``lrdoctor lint``).

Python files are parsed with :mod:`ast` and never imported or executed; configs are read
with ``yaml.safe`` composition or :mod:`json`. Each rule lives in its own module under
:mod:`lrdoctor.lint.rules` and registers itself; see docs/lint.md.

>>> from lrdoctor.lint import lint_source
>>> src = '''
... for step in range(1000):
...     for g in opt.param_groups:
...         g["lr"] = 1e-3 * min(1.0, step / 100)
...     opt.step()
...     sched.step()
... '''
>>> [f.rule for f in lint_source(src, "train.py")]
['schedule-overwrite']
"""

from lrdoctor.lint.engine import PARSE_ERROR, LintResult, lint_paths, lint_source
from lrdoctor.lint.model import LintFinding
from lrdoctor.lint.registry import Rule, all_rules, get_rule

__all__ = ["lint_paths", "lint_source", "LintResult", "LintFinding", "Rule", "all_rules", "get_rule", "PARSE_ERROR"]
