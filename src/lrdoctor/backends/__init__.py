"""Run many independent tasks: in this process, on a local process pool, or on a Ray cluster.

One small layer shared by sweeps (and anything else that fans out independent work). Each
backend takes an importable function and a list of items and streams back an
:class:`Outcome` per item, in the order they finish:

    backend = get_backend("local")               # or "serial", "ray" (address="auto")
    for out in backend.run(fn, items):
        out.index, out.value, out.error

The distribution itself is ``concurrent.futures`` or Ray; nothing here schedules work.
"""

from __future__ import annotations

from lrdoctor.backends.base import Backend, Outcome, available_cpus
from lrdoctor.backends.local import LocalPool, SerialBackend

__all__ = ["Backend", "Outcome", "LocalPool", "SerialBackend", "RayBackend", "BACKENDS", "get_backend",
           "available_cpus"]

#: The names ``get_backend`` (and ``lrdoctor sweep --backend``) accept.
BACKENDS = ("local", "ray", "serial")


def __getattr__(name: str):
    if name == "RayBackend":  # ray is an optional extra: import it on first use only
        from lrdoctor.backends.ray_backend import RayBackend

        return RayBackend
    raise AttributeError(f"module 'lrdoctor.backends' has no attribute {name!r}")


def get_backend(name: str, *, workers: int | None = None, address: str | None = None,
                num_cpus: float = 1, num_gpus: float = 0) -> Backend:
    """The backend called ``name`` ("local", "ray" or "serial").

    ``workers``: processes of the local pool (default: the usable cores). ``address``: the Ray
    cluster to join ("auto", "ray://host:10001"; None starts a local instance unless Ray is
    already initialised). ``num_cpus``/``num_gpus``: the resources each Ray task asks for.
    """
    if name == "local":
        return LocalPool(workers=workers)
    if name == "serial":
        return SerialBackend()
    if name == "ray":
        from lrdoctor.backends.ray_backend import RayBackend

        return RayBackend(address=address, num_cpus=num_cpus, num_gpus=num_gpus)
    from lrdoctor.errors import InputError

    raise InputError("--backend", f"The 'backend' parameter must be one of {', '.join(BACKENDS)}. Got {name!r} instead.")
