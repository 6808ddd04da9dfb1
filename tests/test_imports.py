"""Layering: the CLI and `lrdoctor diagnose` stay torch-free, and no module reaches into
another package's private names (``from lrdoctor.detect._common import ...`` outside detect/)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "lrdoctor"

PROBE = """
import sys
sys.argv = ["lrdoctor", "diagnose", sys.argv[1], "--format", "json"]
import lrdoctor.cli
try:
    lrdoctor.cli.main()
except SystemExit as e:
    code = e.code
heavy = sorted(m for m in ("torch", "ray", "matplotlib", "transformers", "lightning", "mlflow", "wandb") if m in sys.modules)
print("HEAVY", heavy, file=sys.stderr)
"""


def test_import_and_diagnose_never_import_torch(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("step,loss,lr\n" + "".join(f"{i},{2.0 / (i + 1)},0.001\n" for i in range(200)))
    out = subprocess.run([sys.executable, "-c", PROBE, str(csv)], capture_output=True, text=True, timeout=120)
    assert '"findings"' in out.stdout
    assert "HEAVY []" in out.stderr, out.stderr[-2000:]


def _imports(path: Path) -> list[tuple[str, int]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lrdoctor"):
            out.append((node.module, node.lineno))
            out += [(f"{node.module}.{a.name}", node.lineno) for a in node.names]
        elif isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.startswith("lrdoctor")]
    return out


def test_no_module_imports_a_private_name_of_another_package():
    bad = []
    for path in SRC.rglob("*.py"):
        package = ".".join(("lrdoctor",) + path.relative_to(SRC).parent.parts)
        for name, line in _imports(path):
            parts = name.split(".")
            for i, part in enumerate(parts):
                if part.startswith("_") and not part.startswith("__"):
                    owner = ".".join(parts[:i])
                    if not (SRC.parent / owner.replace(".", "/")).is_dir():  # a private name in a module:
                        owner = ".".join(parts[:i - 1])                       # its package owns it
                    # a private name may be used inside its own package (and its subpackages)
                    if not (package == owner or package.startswith(owner + ".")):
                        bad.append(f"{path.relative_to(SRC)}:{line} imports {name}")
                    break
    assert not bad, "\n".join(bad)


def test_import_lrdoctor_does_not_import_pandas():
    # pandas (and pyarrow, which pandas 3 imports when installed) is loaded only where a table
    # is read: `import lrdoctor` and the diagnosis of a text or JSON log stay light
    code = ("import sys, lrdoctor, lrdoctor.cli; import json, pathlib, tempfile; "
            "p = pathlib.Path(tempfile.mkdtemp()) / 'm.jsonl'; "
            "p.write_text(''.join(json.dumps({'step': i, 'loss': 1 / (1 + i)}) + '\\n' for i in range(50))); "
            "lrdoctor.diagnose(p); print(sorted(m for m in ('pandas', 'pyarrow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr[-2000:]
