"""The Ray backend: one Ray task per item, with resources, streamed back with ``ray.wait``.

Ray does the distribution, the retry (``max_retries``/``retry_exceptions``) and the
resource accounting; this module only maps items to tasks and tasks to outcomes.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

from lrdoctor.backends.base import Outcome, describe_error, limit_threads
from lrdoctor.backends.local import RETRIES

__all__ = ["RayBackend"]


def _call(fn: Callable[[Any], Any], item: Any, threads: int) -> Any:
    limit_threads(threads)  # Ray sets OMP_NUM_THREADS; torch's own pool is set here
    return fn(item)


class RayBackend:
    """Ray tasks asking for ``num_cpus``/``num_gpus`` each; a failed task is retried once by Ray.

    ``address``: "auto" (the cluster this machine belongs to), "ray://head:10001", or None to
    start a local instance (``ray.init(num_cpus=local_cpus)``) unless Ray is already initialised.
    """

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: float = 1, num_gpus: float = 0,
                 local_cpus: int | None = None) -> None:
        try:
            import ray  # noqa: F401  (only: is it installed?)
        except ImportError as err:
            from lrdoctor.errors import InputError

            raise InputError("--backend ray", "Ray is not installed: pip install 'lrdoctor[ray]'") from err
        self.address, self.num_cpus, self.num_gpus, self.local_cpus = address, num_cpus, num_gpus, local_cpus

    def close(self) -> None:
        """Nothing to stop: the Ray instance outlives a sweep (``ray.shutdown()`` is the owner's call)."""

    def _init(self) -> None:
        import ray

        if ray.is_initialized():
            return
        kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if self.address is None:
            if self.local_cpus is not None:
                kw["num_cpus"] = self.local_cpus
        else:
            kw["address"] = self.address
        ray.init(**kw)

    def run(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Outcome]:
        import ray
        from ray.exceptions import RayError, RayTaskError

        if not items:
            return
        self._init()
        remote = ray.remote(_call).options(num_cpus=self.num_cpus, num_gpus=self.num_gpus,
                                           max_retries=RETRIES, retry_exceptions=True)
        threads = max(1, int(self.num_cpus))
        fn_ref = ray.put(fn)
        pending = {remote.remote(fn_ref, item, threads): i for i, item in enumerate(items)}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                i = pending.pop(ref)
                try:
                    yield Outcome(i, ray.get(ref))
                except RayTaskError as err:  # the task's own exception, after Ray's retry
                    cause = err.cause if getattr(err, "cause", None) is not None else err
                    yield Outcome(i, error=describe_error(cause), attempts=RETRIES + 1)
                except RayError as err:  # worker or node died on every attempt
                    yield Outcome(i, error=describe_error(err), attempts=RETRIES + 1)
