"""Runs named by a tracker URI instead of a path: ``mlflow://`` and ``wandb://``.

==============================  ===================================================
URI                             run
==============================  ===================================================
``mlflow://HOST:PORT/RUN_ID``   run RUN_ID on the MLflow tracking server at
                                ``http://HOST:PORT``
``mlflow:///RUN_ID``            run RUN_ID on mlflow's configured tracking URI
                                (``MLFLOW_TRACKING_URI``: https, a path prefix,
                                Databricks, a database)
``wandb://ENTITY/PROJECT/ID``   a W&B run through ``wandb.Api()``
==============================  ===================================================

One scheme per tracker, read as a URL: the authority is the server, the path the run;
an empty authority (``mlflow:///``, as in ``file:///``) means "the tracker's own default".
A path that passed through :class:`pathlib.Path` (the CLI's argument) has lost one slash
of ``//`` (``mlflow:/HOST:PORT/RUN_ID``); both spellings are accepted. Local MLflow stores
(``mlruns/``) and W&B run folders are paths, not URIs: :func:`lrdoctor.read` takes them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from lrdoctor.errors import InputError, LogFormatError
from lrdoctor.run import Run

__all__ = ["SCHEMES", "TrackerURI", "parse_tracker_uri", "read_tracker_uri"]

#: The URI schemes :func:`read_tracker_uri` understands.
SCHEMES = ("mlflow", "wandb")
_URI = re.compile(r"^(mlflow|wandb):(/.*)$")


@dataclass(frozen=True)
class TrackerURI:
    """A parsed tracker URI: ``host`` (None: the tracker's default), the run's path parts and
    ``text``, the URI spelled canonically (``//`` restored after a :class:`~pathlib.Path`)."""

    scheme: str
    host: str | None
    parts: tuple[str, ...]
    text: str


def parse_tracker_uri(text: str) -> TrackerURI | None:
    """The URI's parts, None when ``text`` is no tracker URI; a malformed one is refused."""
    m = _URI.match(text.strip())
    if not m:
        return None
    scheme, rest = m.group(1), m.group(2)
    default = rest.startswith("///") or (not rest.startswith("//") and rest.count("/") == 1 and scheme == "mlflow")
    parts = tuple(p for p in rest.split("/") if p)
    if scheme == "mlflow":
        if default and len(parts) == 1:
            return TrackerURI(scheme, None, parts, f"mlflow:///{parts[0]}")
        if len(parts) == 2:
            return TrackerURI(scheme, parts[0], parts[1:], f"mlflow://{parts[0]}/{parts[1]}")
        raise LogFormatError(text, "an MLflow URI is mlflow://HOST:PORT/RUN_ID (or mlflow:///RUN_ID "
                                   "for the tracking URI in MLFLOW_TRACKING_URI)")
    if len(parts) == 3:
        return TrackerURI(scheme, None, parts, "wandb://" + "/".join(parts))
    raise LogFormatError(text, "a W&B URI is wandb://ENTITY/PROJECT/RUN_ID")


def read_tracker_uri(text: str) -> Run:
    """The run a tracker URI names (clients imported inside the readers)."""
    uri = parse_tracker_uri(text)
    if uri is None:
        raise LogFormatError(text, f"not a tracker URI (schemes: {', '.join(SCHEMES)})")
    text = uri.text
    try:
        return _read(uri)
    except InputError:
        raise
    except Exception as err:  # the reader boundary: one named line, never a traceback
        if os.environ.get("LRDOCTOR_DEBUG"):
            raise
        detail = str(err).splitlines()[0] if str(err) else "no detail"
        raise LogFormatError(text, f"cannot read ({type(err).__name__}: {detail})") from None


def _read(uri: TrackerURI) -> Run:
    text = uri.text
    if uri.scheme == "mlflow":
        from lrdoctor.io.mlflow_server import read_mlflow_server

        tracking = f"http://{uri.host}" if uri.host else None
        return read_mlflow_server(tracking, uri.parts[0], source=text)
    from lrdoctor.io.wandb_api import read_wandb_api

    return read_wandb_api("/".join(uri.parts), source=text)
