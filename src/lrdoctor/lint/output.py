"""Renderers: text (``file:line:col rule message``), JSON (a list of finding objects) and
SARIF 2.1.0 (what GitHub code scanning and other review tools read to show findings inline)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from lrdoctor.lint.model import LintFinding
from lrdoctor.lint.registry import Rule, all_rules

__all__ = ["render_text", "render_json", "render_sarif", "sarif_log", "SARIF_SCHEMA_URI"]

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"info": "note", "warning": "warning", "error": "error"}
INFO_URI = "https://pypi.org/project/lrdoctor/"


def render_text(findings: Iterable[LintFinding], files: int) -> str:
    out = []
    fl = list(findings)
    for f in fl:
        out.append(f"{f.path}:{f.line}:{f.col}: {f.rule} [{f.severity.value}] {f.message}")
        out.append(f"    fix: {f.fix}")
    n = len(fl)
    out.append(f"{n} finding{'s' if n != 1 else ''} in {files} file{'s' if files != 1 else ''} checked")
    return "\n".join(out)


def render_json(findings: Iterable[LintFinding]) -> str:
    return json.dumps([f.to_dict() for f in findings], indent=2)


def _uri(path: str) -> str:
    p = Path(path)
    try:
        p = p.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return p.resolve().as_uri()
    return p.as_posix()


def _rule_obj(r: Rule) -> dict:
    return {
        "id": r.id, "name": r.id.replace("-", " ").title().replace(" ", ""),
        "shortDescription": {"text": r.summary},
        "fullDescription": {"text": f"{r.summary}. Source: {r.source}."},
        "help": {"text": f"Fix: {r.fix}"},
        "defaultConfiguration": {"level": _LEVEL[r.severity.value]},
        "properties": {"source": r.source},
    }


def sarif_log(findings: Iterable[LintFinding], version: str) -> dict:
    rules = all_rules()
    from lrdoctor.lint.engine import PARSE_ERROR

    ids = [r.id for r in rules]
    rule_objs = [_rule_obj(r) for r in rules] + [{
        "id": PARSE_ERROR, "name": "ParseError", "shortDescription": {"text": "the file could not be parsed"},
        "defaultConfiguration": {"level": "error"}}]
    ids.append(PARSE_ERROR)
    results = []
    for f in findings:
        results.append({
            "ruleId": f.rule, "ruleIndex": ids.index(f.rule) if f.rule in ids else -1,
            "level": _LEVEL[f.severity.value],
            "message": {"text": f"{f.message}. Fix: {f.fix}"},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": _uri(f.path)},
                "region": {"startLine": f.line, "startColumn": f.col}}}],
            "properties": {"fix": f.fix, "source": f.source, "severity": f.severity.value},
        })
    for r in results:
        if r["ruleIndex"] < 0:
            del r["ruleIndex"]
    return {
        "$schema": SARIF_SCHEMA_URI, "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "lrdoctor", "version": version, "informationUri": INFO_URI,
                                      "rules": rule_objs}},
                  "results": results}],
    }


def render_sarif(findings: Iterable[LintFinding], version: str) -> str:
    return json.dumps(sarif_log(findings, version), indent=2)
