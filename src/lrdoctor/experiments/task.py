"""The task interface: what one training run of a sweep needs, and how to find it by name.

A task factory is an importable function (``mypkg.tasks:make`` or ``path/to/file.py:make``)
that returns a :class:`Task`. Existing training code fits in a few lines:

    def make():
        return Task(model_fn=lambda: MyNet(),
                    optimizer_fn=lambda params, lr: torch.optim.AdamW(params, lr=lr),
                    batches=list_of_batches,                    # or a function seed -> iterable
                    loss_fn=lambda model, batch: F.cross_entropy(model(batch[0]), batch[1]))

The factory runs inside each worker after the cell's seed is set, so everything it creates
randomly (the model's initial weights, dropout, shuffling) follows the seed.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence, Union

from lrdoctor.errors import InputError

__all__ = ["Task", "load_factory", "make_task", "parse_task_ref", "check_task_kwargs"]

#: A batch is whatever ``loss_fn`` takes: a tensor, a tuple, a dict of tensors.
Batch = Any


@dataclass
class Task:
    """What one (LR, seed) run needs. Only ``model_fn``, ``optimizer_fn``, ``batches`` and
    ``loss_fn`` are required.

    - ``model_fn()`` builds the model (called after seeding, so its init follows the seed).
    - ``optimizer_fn(params, lr)`` builds the optimizer at the LR under test.
    - ``batches``: a sequence of batches, cycled when the run is longer (static data), or a
      function ``seed -> iterable`` (a fresh stream per seed; cycled if it ends).
    - ``loss_fn(model, batch)`` returns the scalar loss tensor of one step, or ``(loss,
      {name: value})`` to log more signals for the detectors (``entropy`` of a policy,
      ``explained_variance`` of a value head, ``accuracy``...).
    - ``eval_fn(model)`` (optional) returns a float or a dict of floats, logged as ``eval_*``
      every ``eval_every`` steps (0: at the end only) and at the end.
    - ``scheduler_fn(optimizer, steps)`` (optional) builds an LR scheduler stepped every step.
    - ``max_grad_norm`` (optional) clips the total gradient norm before each step.
    - ``device`` (optional, e.g. "cuda"): the model and every tensor in each batch are moved
      there (a Ray task with ``--num-gpus 1`` sees its GPU as "cuda").
    - ``config`` (optional): the run's config for the detectors and prescriptions (e.g.
      ``{"n_actions": 52}`` lets ``entropy_collapse`` compare the entropy with ln 52).
    """

    model_fn: Callable[[], Any]
    optimizer_fn: Callable[[Any, float], Any]
    batches: Union[Sequence[Batch], Callable[[int], Iterable[Batch]]]
    loss_fn: Callable[[Any, Batch], Any]
    eval_fn: Callable[[Any], Union[float, Mapping[str, float]]] | None = None
    eval_every: int = 0
    scheduler_fn: Callable[[Any, int], Any] | None = None
    max_grad_norm: float | None = None
    device: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)

    def stream(self, seed: int) -> Iterable[Batch]:
        """The batches of one run: the data cycled for as long as the run asks."""
        source = self.batches
        if callable(source):
            first = list(_take(source(seed), 1))
            if not first:
                raise InputError("task", "batches(seed) yielded no batch")
            return _chain_cycle(lambda: source(seed))
        if len(source) == 0:
            raise InputError("task", "batches is empty")
        return _chain_cycle(lambda: iter(source))


def _take(it: Iterable[Any], n: int) -> Iterable[Any]:
    for i, x in enumerate(it):
        if i >= n:
            return
        yield x


def _chain_cycle(make: Callable[[], Iterable[Any]]) -> Iterable[Any]:
    while True:
        empty = True
        for x in make():
            empty = False
            yield x
        if empty:
            return


def parse_task_ref(ref: str) -> tuple[str, str]:
    """``"pkg.mod:make"`` or ``"path/file.py:make"`` -> (module or path, function name)."""
    target, sep, func = ref.rpartition(":")
    if not sep or not target or not func.isidentifier():
        raise InputError(ref, "a task is MODULE:FUNCTION or FILE.py:FUNCTION (e.g. examples/blobnet.py:make)")
    return target, func


def load_factory(ref: str) -> Callable[..., Task]:
    """Import the factory named by ``ref``; a clear one-line error when it cannot be found."""
    target, func = parse_task_ref(ref)
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = Path(target).resolve()
        if not path.is_file():
            raise InputError(target, "task file not found")
        name = "lrdoctor_task_" + "".join(c if c.isalnum() else "_" for c in path.stem)
        module = sys.modules.get(name)
        if module is None or getattr(module, "__file__", None) != str(path):
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise InputError(target, "cannot import this file as a Python module")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as err:
            raise InputError(target, f"cannot import task module ({err})") from err
    factory = getattr(module, func, None)
    if not callable(factory):
        raise InputError(ref, f"{target} has no function {func!r}")
    return factory


def check_task_kwargs(factory: Callable[..., Any], kwargs: Mapping[str, Any], ref: str) -> None:
    """One line naming the arguments the factory does not take (before any worker starts)."""
    if not kwargs:
        return
    params = inspect.signature(factory).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    unknown = [k for k in kwargs if k not in params and not takes_any]
    if unknown:
        raise InputError(ref, f"the task factory takes no argument {', '.join(map(repr, unknown))} "
                              f"(it takes: {', '.join(params) or 'none'})")


def make_task(ref: str, kwargs: Mapping[str, Any] | None = None) -> Task:
    """Call the factory ``ref`` with ``kwargs`` and check that it returned a Task."""
    factory = load_factory(ref)
    kwargs = dict(kwargs or {})
    check_task_kwargs(factory, kwargs, ref)
    task = factory(**kwargs)
    if not isinstance(task, Task):
        raise InputError(ref, f"the factory must return lrdoctor.experiments.Task, got {type(task).__name__}")
    return task
