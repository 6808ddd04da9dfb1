"""What every backend shares: the outcome of one task and the protocol."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Protocol, Sequence

__all__ = ["Outcome", "Backend", "available_cpus", "limit_threads", "describe_error"]


@dataclass(frozen=True)
class Outcome:
    """One finished task: its ``index`` in the submitted items, its ``value`` or its ``error``."""

    index: int
    value: Any = None
    #: "ExceptionType: message" when the task failed on every attempt, else None
    error: str | None = None
    #: how many times it ran (2 when the retry was needed)
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.error is None


class Backend(Protocol):
    """Runs ``fn(item)`` for every item and yields an :class:`Outcome` as each one finishes.

    ``fn`` must be importable by name (a module-level function): processes and cluster
    workers import it, they do not receive its code.
    """

    name: str

    def run(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Outcome]: ...

    def close(self) -> None:
        """Release the workers this backend started (a pool's processes); safe to call twice."""


def available_cpus() -> int:
    """Cores this process may use (its CPU affinity, which containers and taskset narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def limit_threads(threads: int) -> None:
    """Cap the BLAS/OpenMP and torch intra-op threads of this process at ``threads``.

    N workers each using every core (torch's default) run slower than N workers with
    cores/N threads: they oversubscribe the machine and thrash.
    """
    threads = max(1, int(threads))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:  # a task that does not use torch
        pass


def describe_error(err: BaseException) -> str:
    """One line: the exception type and the first line of its message."""
    msg = str(err).strip().splitlines()
    return f"{type(err).__name__}: {msg[0] if msg else ''}".rstrip(": ")
