"""Example: train a tiny model with a too-high LR from step 150, then diagnose its log.

Runs as a test (pytest collects examples/example_*.py).
"""

from pathlib import Path
import tempfile

import lrdoctor
from lrdoctor.corpus import CASES, train_mlp


def main(out: Path) -> lrdoctor.Report:
    log = train_mlp(CASES["diverge_sgd"], out / "metrics.csv")
    report = lrdoctor.diagnose(log)
    print(report)
    return report


def test_example_finds_divergence():
    with tempfile.TemporaryDirectory() as d:
        report = main(Path(d))
    assert "divergence" in {f.kind for f in report.findings}


if __name__ == "__main__":
    main(Path(tempfile.mkdtemp()))
