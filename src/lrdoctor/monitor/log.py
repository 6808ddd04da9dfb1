"""Where the Monitor writes: an append-only JSON Lines log that ``lrdoctor diagnose`` reads,
optionally mirrored to a TensorBoard SummaryWriter.

A crash loses at most the steps not yet flushed (``flush_every``); a file that ends mid-line
is still read (the JSONL reader keeps the complete lines and warns).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

__all__ = ["LOG_NAME", "CONFIG_NAME", "JsonlLog"]

#: File names inside ``log_to``; ``lrdoctor diagnose DIR`` looks for them.
LOG_NAME = "lrdoctor.jsonl"
CONFIG_NAME = "lrdoctor-config.json"


class JsonlLog:
    def __init__(self, directory: str | Path, config: Mapping[str, Any] | None = None, tensorboard: Any = None) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / LOG_NAME
        self._fh = open(self.path, "a", encoding="utf-8")
        self.tb = tensorboard
        if config:
            (self.dir / CONFIG_NAME).write_text(json.dumps(dict(config), default=str, indent=1))

    def write(self, rows: list[dict[str, Any]]) -> None:
        for r in rows:
            self._fh.write(json.dumps(r) + "\n")  # NaN/Infinity as bare tokens, as HF writes them
        self._fh.flush()
        if self.tb is not None:
            for r in rows:
                step = int(r["step"])
                for k, v in r.items():
                    if k != "step" and isinstance(v, (int, float)):
                        self.tb.add_scalar(k, v, step)

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()
        if self.tb is not None:
            self.tb.flush()
