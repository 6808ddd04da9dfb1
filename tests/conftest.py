import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

REALLOGS = Path(os.environ.get("LRDOCTOR_REALLOGS", Path(__file__).resolve().parents[2] / "shared" / "reallogs"))


@pytest.fixture(scope="session")
def reallogs() -> Path:
    if not REALLOGS.is_dir():
        pytest.skip(f"real-log corpus not found at {REALLOGS} (set LRDOCTOR_REALLOGS)")
    return REALLOGS
