"""Run the rules over paths: find files, parse each once, apply the rules, drop suppressed hits.

Unparseable files do not stop the run: each becomes a ``parse-error`` finding (severity
error, with the line and column the parser gave) so CI shows it like any other; the CLI
exits 2 only when no file at all could be checked (see docs/lint.md).
"""

from __future__ import annotations

import ast
import functools
import multiprocessing
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from lrdoctor.finding import Severity
from lrdoctor.lint.config import ConfigError, ConfigFile, as_number, read_config
from lrdoctor.lint.model import LintFinding
from lrdoctor.lint.pyfacts import ScriptFacts, parse_script
from lrdoctor.lint.registry import Rule, rules_for
from lrdoctor.lint.suppress import suppressed

__all__ = ["LintResult", "lint_paths", "lint_source", "PARSE_ERROR", "collect_files"]

PARSE_ERROR = "parse-error"
PY_SUFFIXES = (".py",)
CONFIG_SUFFIXES = (".yaml", ".yml", ".json")
#: directories never walked into (virtual environments, caches, VCS metadata, node packages)
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".venv", "venv", "env", ".env", "node_modules",
                       ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox", "build", "dist",
                       "site-packages", ".ipynb_checkpoints", ".eggs"})
#: LR parameter names whose defaults define "the project's default LR" for the test rule
LR_PARAM_NAMES = frozenset({"lr", "learning_rate", "base_lr", "init_lr", "initial_lr", "max_lr"})


@dataclass
class LintResult:
    """The findings of a run, sorted by path, line, column and rule."""

    findings: list[LintFinding] = field(default_factory=list)
    files: int = 0
    """Files checked: linted, or skipped by the text pre-filter because no rule could fire."""
    unparsed: int = 0
    """Files that could not be read or parsed (each is also a ``parse-error`` finding)."""


def collect_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Python and config files under ``paths`` (explicit files are kept whatever their suffix)."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_file():
            out.append(p)
            continue
        if not p.is_dir():
            raise FileNotFoundError(f"{p}: no such file or directory")
        for root, dirs, files in os.walk(p):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
            for name in sorted(files):
                if name.endswith(PY_SUFFIXES + CONFIG_SUFFIXES):
                    out.append(Path(root) / name)
    return out


def _is_test_file(path: Path) -> bool:
    name = path.name
    return name.startswith("test_") or name.endswith("_test.py") or "tests" in path.parts or name == "conftest.py"


def _config_lr_defaults(cfg: ConfigFile) -> list[tuple[float, str]]:
    """The LR a project's own training config sets (``lr:``/``learning_rate:``, any nesting)."""
    out = []
    for scope in cfg.scopes:
        for e in scope.entries:
            if e.key.lower() in LR_PARAM_NAMES:
                v = as_number(e.value)
                if v is not None and v > 0:
                    out.append((v, f"{cfg.path}:{e.line} ({'.'.join(e.keypath)})"))
    return out


def _tool_class(facts: ScriptFacts, cls: str) -> bool:
    info = facts.classes.get(cls)
    names = [cls] + (list(info.bases) if info else [])
    return any(w in n for n in names for w in ("Optim", "optim", "Sched", "sched", "LR", "Adam", "SGD"))


def _lr_defaults(facts: ScriptFacts) -> list[tuple[float, str]]:
    """LR defaults a non-test file declares: ``def train(..., lr=1e-3)`` and ``add_argument('--lr', default=...)``."""
    out = []
    for f in facts.functions.values():
        if f.cls is not None and _tool_class(facts, f.cls):
            continue  # an optimizer's or scheduler's own default is not the project's training LR
        node = f.node
        args = node.args  # type: ignore[attr-defined]
        pos = args.posonlyargs + args.args
        for a, d in zip(pos[len(pos) - len(args.defaults):], args.defaults):
            if a.arg in LR_PARAM_NAMES:
                v = facts.number(d)
                if v is not None and v > 0:
                    out.append((v, f"{facts.path}:{d.lineno} ({f.qualname}({a.arg}=...))"))
        for a, d in zip(args.kwonlyargs, args.kw_defaults):
            if d is not None and a.arg in LR_PARAM_NAMES:
                v = facts.number(d)
                if v is not None and v > 0:
                    out.append((v, f"{facts.path}:{d.lineno} ({f.qualname}({a.arg}=...))"))
    for c in facts.calls:
        if c.attr == "add_argument" and c.node.args and isinstance(c.node.args[0], ast.Constant):
            flag = str(c.node.args[0].value).lstrip("-").replace("-", "_")
            if flag in LR_PARAM_NAMES:
                for kw in c.node.keywords:
                    if kw.arg == "default":
                        v = facts.number(kw.value)
                        if v is not None and v > 0:
                            out.append((v, f"{facts.path}:{kw.value.lineno} (--{flag} default)"))
    return out


SEED_CALLS = frozenset({"manual_seed", "seed", "seed_everything", "set_seed", "manual_seed_all", "set_random_seed",
                        "enable_full_determinism", "PRNGKey", "default_rng", "RandomState", "use_deterministic_algorithms"})


def seeds_anything(facts: ScriptFacts) -> bool:
    return any(c.attr in SEED_CALLS for c in facts.calls)


def _conftest_seeds(path: Path, cache: dict[Path, bool]) -> bool:
    d = path.resolve().parent
    for _ in range(6):
        if d not in cache:
            cf = d / "conftest.py"
            seeded = False
            if cf.is_file():
                try:
                    seeded = seeds_anything(parse_script(str(cf), cf.read_text(encoding="utf-8", errors="replace")))
                except SyntaxError:
                    seeded = False
            cache[d] = seeded
        if cache[d]:
            return True
        if d.parent == d:
            break
        d = d.parent
    return False


def _finding(rule: Rule, path: str, hit, lines: list[str]) -> LintFinding | None:
    text = lines[hit.line - 1] if 0 < hit.line <= len(lines) else ""
    if suppressed(text, rule.id):
        return None
    return LintFinding(rule.id, path, hit.line, hit.col, hit.message, hit.severity or rule.severity,
                       hit.fix or rule.fix, rule.source)


def _run(rules: list[Rule], facts, path: str, lines: list[str], select: set[str] | None) -> list[LintFinding]:
    out = []
    for rule in rules:
        if select is not None and rule.id not in select:
            continue
        for hit in rule.check(facts):
            f = _finding(rule, path, hit, lines)
            if f is not None:
                out.append(f)
    return out


def lint_source(source: str, path: str = "<string>", *, project_lr_defaults: list[tuple[float, str]] | None = None,
                select: Iterable[str] | None = None) -> list[LintFinding]:
    """Lint one Python or config source text (the kind is chosen by ``path``'s suffix).

    Raises SyntaxError / :class:`ConfigError` when it cannot be parsed.
    """
    sel = set(select) if select is not None else None
    if path.endswith(CONFIG_SUFFIXES):
        cfg = read_config(path, source)
        return _run(list(rules_for("config")), cfg, path, cfg.lines, sel)
    facts = parse_script(path, source)
    facts.project_lr_defaults = project_lr_defaults or []
    return _run(list(rules_for("python")), facts, path, facts.lines, sel)


def _parse_error(path: str, line: int, col: int, msg: str) -> LintFinding:
    return LintFinding(PARSE_ERROR, path, max(1, line), max(1, col), msg, Severity.ERROR,
                       "Fix the syntax so the file can be checked (nothing in it was linted).",
                       "the file's parser (Python ast / YAML safe loader / JSON)")


#: a non-test file is parsed for the project's LR defaults only if its text can declare one
_DEFAULT_HINT = re.compile(r"(?:lr|learning_rate)\s*(?::\s*float\s*)?=[^=]|add_argument\(\s*['\"]--(?:lr|learning[-_]rate)")
#: files that mark a project root (LR defaults are shared within one project only)
ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
#: YAML/JSON files larger than this are data (logs, datasets), not hyperparameter configs: skipped
CONFIG_MAX_BYTES = 2_000_000
#: default cap on worker processes (parsing is CPU-bound; more workers than this mostly add start-up)
MAX_DEFAULT_WORKERS = 8
#: below this many files one process is faster than starting workers
PARALLEL_MIN_FILES = 200


@dataclass
class _Job:
    path: Path
    shown: str
    test: bool
    root: str
    defaults: list[tuple[float, str]] = field(default_factory=list)
    conftest_seeds: bool = False


@dataclass
class _Done:
    findings: list[LintFinding]
    defaults: list[tuple[float, str]]
    unparsed: bool
    root: str


@dataclass(frozen=True)
class _Setup:
    """What every file's check needs to know about the run (sent once to each worker)."""

    select: frozenset[str] | None
    py_rules: tuple[Rule, ...]
    cfg_rules: tuple[Rule, ...]
    want_defaults: bool
    """Some test file may override the LR: collect the project's LR defaults."""


def _lint_one(setup: _Setup, job: _Job) -> _Done:
    """Read, pre-filter, parse and lint one file (runs in a worker process for large trees)."""
    sel, py_rules, cfg_rules, want_defaults = (set(setup.select) if setup.select is not None else None,
                                               list(setup.py_rules), list(setup.cfg_rules), setup.want_defaults)
    shown = job.shown
    try:
        text = job.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return _Done([_parse_error(shown, 1, 1, f"cannot read: {err}")], [], True, job.root)
    is_config = job.path.suffix.lower() in CONFIG_SUFFIXES
    try:
        if is_config:
            if len(text) > CONFIG_MAX_BYTES:
                return _Done([], [], False, job.root)
            cfg = read_config(shown, text)
            defaults = _config_lr_defaults(cfg) if want_defaults else []
            return _Done(_run(cfg_rules, cfg, shown, cfg.lines, sel), defaults, False, job.root)
        rules = [r for r in py_rules if r.may_fire(text, shown)]
        need_defaults = want_defaults and not job.test and _DEFAULT_HINT.search(text) is not None
        if not rules and not need_defaults:
            return _Done([], [], False, job.root)  # no rule can fire: not even parsed
        facts = parse_script(shown, text)
    except SyntaxError as err:
        return _Done([_parse_error(shown, err.lineno or 1, err.offset or 1, f"cannot parse Python: {err.msg}")],
                     [], True, job.root)
    except ConfigError as err:
        return _Done([_parse_error(shown, err.line, err.col, str(err))], [], True, job.root)
    except (ValueError, RecursionError, MemoryError) as err:
        return _Done([_parse_error(shown, 1, 1, f"cannot parse: {err}")], [], True, job.root)
    facts.project_lr_defaults = job.defaults
    facts.conftest_seeds = job.conftest_seeds
    defaults = _lr_defaults(facts) if need_defaults else []
    return _Done(_run(rules, facts, shown, facts.lines, sel), defaults, False, job.root)


def _project_root(path: Path, cache: dict[Path, str]) -> str:
    d = path.resolve().parent
    seen = []
    while True:
        if d in cache:
            root = cache[d]
            break
        seen.append(d)
        if any((d / m).exists() for m in ROOT_MARKERS):
            root = str(d)
            break
        if d.parent == d:
            root = ""
            break
        d = d.parent
    for s in seen:
        cache[s] = root
    return root


def _map(setup: _Setup, jobs: list[_Job], workers: int) -> list[_Done]:
    if workers <= 1 or len(jobs) < PARALLEL_MIN_FILES:
        return [_lint_one(setup, j) for j in jobs]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers) as pool:
        return pool.map(functools.partial(_lint_one, setup), jobs, chunksize=max(1, len(jobs) // (workers * 8)))


def lint_paths(paths: Iterable[str | os.PathLike], *, select: Iterable[str] | None = None,
               ignore: Iterable[str] = (), jobs: int | None = None) -> LintResult:
    """Lint every Python and config file under ``paths``; see the module docstring for parse errors.

    ``jobs``: worker processes for large trees (default: the CPU count, at most 8; 1 = in this process).
    Test files are linted after the others, with the LR defaults their project declares.
    """
    files = collect_files(paths)
    skip = set(ignore)
    sel = frozenset(select) if select is not None else None
    py_rules = tuple(r for r in rules_for("python") if r.id not in skip)
    roots: dict[Path, str] = {}
    all_jobs = [_Job(p, str(p), _is_test_file(p), _project_root(p, roots)) for p in files]
    tests = [j for j in all_jobs if j.test]
    others = [j for j in all_jobs if not j.test]
    want = bool(tests) and any(r.id == "test-lr-override" for r in py_rules) and (sel is None or "test-lr-override" in sel)
    setup = _Setup(sel, py_rules, tuple(r for r in rules_for("config") if r.id not in skip), want)
    workers = jobs if jobs is not None else min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS)
    if "fork" not in multiprocessing.get_all_start_methods():
        workers = 1
    result = LintResult()
    done = _map(setup, others, workers)
    by_root: dict[str, list[tuple[float, str]]] = {}
    for d in done:
        by_root.setdefault(d.root, []).extend(d.defaults)
    conftest_cache: dict[Path, bool] = {}
    for j in tests:
        j.defaults = by_root.get(j.root, [])
        j.conftest_seeds = _conftest_seeds(j.path, conftest_cache)
    done += _map(setup, tests, workers)
    for d in done:
        result.findings.extend(d.findings)
        result.unparsed += d.unparsed
        result.files += not d.unparsed
    result.findings.sort(key=lambda f: (f.path, f.line, f.col, f.rule))
    return result
