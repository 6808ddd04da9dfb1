"""In-process and process-pool backends (``concurrent.futures``, spawn context)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterator, Sequence

from lrdoctor.backends.base import Outcome, available_cpus, describe_error, limit_threads

__all__ = ["SerialBackend", "LocalPool", "RETRIES"]

#: Extra attempts for a task that raised (or whose worker died) before it is reported as
#: failed. One, as the issue asks: a transient failure (a killed worker) gets a second
#: chance, a deterministic bug does not cost more than twice its time.
RETRIES = 1


class SerialBackend:
    """Every task in this process, one after another: the baseline, and the easiest to debug."""

    name = "serial"

    def close(self) -> None:
        pass

    def run(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Outcome]:
        for i, item in enumerate(items):
            err = None
            for attempt in range(1, RETRIES + 2):
                try:
                    yield Outcome(i, fn(item), attempts=attempt)
                    break
                except Exception as e:  # reported, never raised: the other tasks still run
                    err = describe_error(e)
            else:
                yield Outcome(i, error=err, attempts=RETRIES + 1)


class LocalPool:
    """A ``ProcessPoolExecutor`` over the usable cores, spawn context (safe with torch and threads).

    ``workers`` processes (default: the usable cores), each limited to
    ``threads_per_worker`` torch/BLAS threads (default: cores // workers, at least 1), so the
    pool never runs more threads than the machine has cores. The processes start on the first
    ``run`` and are kept for the next ones (their imports are paid once) until :meth:`close`.
    """

    name = "local"

    def __init__(self, workers: int | None = None, threads_per_worker: int | None = None) -> None:
        cpus = available_cpus()
        self.workers = max(1, workers or cpus)
        self.threads_per_worker = max(1, threads_per_worker or cpus // self.workers)
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(max_workers=self.workers,
                                                 mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=limit_threads, initargs=(self.threads_per_worker,))
        return self._executor

    def close(self) -> None:
        """Stop the worker processes (cancelling what has not started)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> "LocalPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def run(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Outcome]:
        attempts = [0] * len(items)
        raised = [0] * len(items)  # attempts that raised in the task itself
        broken = [0] * len(items)  # attempts lost to a dead worker (which task killed it is unknown,
        # so every task the dead pool held is charged one, separately from its own exceptions)
        todo = list(range(len(items)))
        while todo:  # one pass per pool; a new pool only when a worker died and broke this one
            pool = self._pool()
            running: dict[Future, int] = {}
            retry: list[int] = []

            def submit(i: int) -> None:
                attempts[i] += 1
                running[pool.submit(fn, items[i])] = i

            try:
                for i in todo:
                    submit(i)
                while running:
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for fut in done:
                        i = running.pop(fut)
                        try:
                            value = fut.result()
                        except BrokenProcessPool as e:
                            broken[i] += 1
                            if broken[i] > RETRIES:
                                yield Outcome(i, error=describe_error(e), attempts=attempts[i])
                            else:  # rerun on a fresh pool
                                retry.append(i)
                            continue
                        except Exception as e:
                            raised[i] += 1
                            if raised[i] > RETRIES:
                                yield Outcome(i, error=describe_error(e), attempts=attempts[i])
                            else:
                                try:
                                    submit(i)
                                except BrokenProcessPool:
                                    attempts[i] -= 1
                                    retry.append(i)
                            continue
                        yield Outcome(i, value, attempts=attempts[i])
            except BaseException:
                for fut in running:  # the caller stopped early (an interrupt): do not leave work queued
                    fut.cancel()
                raise
            finally:
                if retry:
                    pool.shutdown(wait=False, cancel_futures=True)
                    self._executor = None
            todo = retry
