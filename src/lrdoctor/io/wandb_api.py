"""W&B runs on the W&B server, read with ``wandb.Api()`` (``pip install lrdoctor[wandb]``).

``wandb`` is imported inside :func:`read_wandb_api` only. The history is
``Run.scan_history()`` (every logged row, paged by the client), the config ``Run.config``.
This path needs the network and a W&B login; the project's tests (which have neither) cover
the offline run folders (:mod:`lrdoctor.io.wandb_run`), which hold the same rows.
"""

from __future__ import annotations

from lrdoctor.errors import LogFormatError
from lrdoctor.io.records import RecordColumns
from lrdoctor.io.wandb_run import unwrap_config
from lrdoctor.names import STEP_NAMES
from lrdoctor.run import Run, RunMeta

__all__ = ["read_wandb_api"]

_BOOKKEEPING = ("_timestamp", "_runtime")


def read_wandb_api(run_path: str, source: str) -> Run:
    """The run ``entity/project/run_id`` from the W&B server; one-line errors."""
    try:
        import wandb
    except ImportError:
        raise LogFormatError(source, "reading a W&B run needs the wandb SDK: pip install 'lrdoctor[wandb]'") from None
    acc = RecordColumns()
    try:
        run = wandb.Api().run(run_path)
        for row in run.scan_history():
            acc.append({k: v for k, v in row.items() if k not in _BOOKKEEPING})
        config = unwrap_config(dict(run.config))
    except Exception as err:  # wandb raises CommError, ValueError, requests errors, ...
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise LogFormatError(source, f"W&B refused the request ({detail})") from None
    if not len(acc):
        raise LogFormatError(source, "the W&B run logged no history")
    return acc.to_run(RunMeta(source=source, format="wandb-api"), config=config,
                      step_keys=(("_step", "step"),) + STEP_NAMES)
