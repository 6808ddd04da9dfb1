"""MLflow runs on a tracking server, read with mlflow's own client (``pip install lrdoctor[mlflow]``).

``mlflow`` is imported inside :func:`read_mlflow_server` only: ``import lrdoctor`` and the CLI
never pay for it. Metric histories come from ``MlflowClient.get_metric_history`` (which pages
through long histories itself); the run's params become its config, numbers parsed.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import numpy as np

from lrdoctor.errors import LogFormatError
from lrdoctor.io.mlflow_store import (
    MAX_METRIC_FILES,
    MetricPoints,
    parse_param,
    points_to_run,
)
from lrdoctor.run import Run, RunMeta

__all__ = ["CONNECT_TIMEOUT_S", "read_mlflow_server"]

#: Seconds to wait for the tracking server to accept a connection before refusing in one
#: line. mlflow's client retries a refused connection with backoff for minutes
#: (MLFLOW_HTTP_REQUEST_MAX_RETRIES=7); a server that does not accept within 5 s on a
#: network where any request takes milliseconds is down or unreachable.
CONNECT_TIMEOUT_S = 5.0


def _reachable(tracking_uri: str, source: str) -> None:
    parts = urlsplit(tracking_uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return  # databricks, sqlite:///..., file:... : the client knows how to reach them
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as err:
        raise LogFormatError(source, f"cannot reach the MLflow tracking server at {tracking_uri} "
                                     f"({err.strerror or type(err).__name__})") from None


def read_mlflow_server(tracking_uri: str | None, run_id: str, source: str) -> Run:
    """The run ``run_id`` from the tracking server at ``tracking_uri`` (None: mlflow's own
    default, ``MLFLOW_TRACKING_URI``). Every failure is one :class:`LogFormatError` line."""
    try:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise LogFormatError(source, "reading an MLflow server needs the mlflow client: "
                                     "pip install 'lrdoctor[mlflow]'") from None
    if tracking_uri:
        _reachable(tracking_uri, source)
    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        info = client.get_run(run_id)
        keys = sorted(info.data.metrics)
        if len(keys) > MAX_METRIC_FILES:
            raise LogFormatError(source, f"the run logs {len(keys)} metrics; runs with more than "
                                         f"{MAX_METRIC_FILES} are refused")
        points = {}
        for key in keys:
            hist = client.get_metric_history(run_id, key)
            points[key] = MetricPoints(
                steps=np.array([m.step for m in hist], dtype=np.float64),
                values=np.array([m.value for m in hist], dtype=np.float64),
                timestamps=np.array([m.timestamp for m in hist], dtype=np.float64),
            )
    except MlflowException as err:
        detail = str(err.message if hasattr(err, "message") else err).splitlines()[0]
        raise LogFormatError(source, f"MLflow server refused the request ({detail})") from None
    config = {k: parse_param(v) for k, v in info.data.params.items()}
    meta = RunMeta(source=source, format="mlflow-server")
    return points_to_run(points, meta, config)
