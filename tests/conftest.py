import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

# a rule that raises on a log fails the test (and the CLI subprocesses it starts) instead of
# turning into a skipped check, as it does for users (lrdoctor.detect.STRICT_ENV)
os.environ.setdefault("LRDOCTOR_STRICT", "1")

REALLOGS = Path(os.environ.get("LRDOCTOR_REALLOGS", Path(__file__).resolve().parents[2] / "shared" / "reallogs"))


@pytest.fixture(scope="session")
def reallogs() -> Path:
    if not REALLOGS.is_dir():
        pytest.skip(f"real-log corpus not found at {REALLOGS} (set LRDOCTOR_REALLOGS)")
    return REALLOGS


class TinyRegressor(torch.nn.Module):
    """The smallest model HF Trainer accepts: returns {"loss", "logits"} from (x, labels)."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 1)

    def forward(self, x, labels=None):
        out = self.lin(x)
        return {"loss": torch.nn.functional.mse_loss(out, labels), "logits": out}


def tiny_regression_data(n=64, seed=0):
    """A list of {"x", "labels"} examples, the dataset shape HF Trainer's default collator takes."""
    g = torch.Generator().manual_seed(seed)
    return [{"x": torch.randn(4, generator=g), "labels": torch.randn(1, generator=g)} for _ in range(n)]


def pytest_sessionfinish(session, exitstatus):
    """Every finding produced in any test (detectors, Monitor, Guard, instruments) must fit its
    kind's declared evidence schema (lrdoctor.finding.Evidence)."""
    from lrdoctor.finding import SEEN_PROBLEMS

    if SEEN_PROBLEMS:
        print("\nevidence schema problems:\n  " + "\n  ".join(SEEN_PROBLEMS))
        session.exitstatus = 1
