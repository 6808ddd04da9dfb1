"""pytest plugin (entry point ``pytest11``, loaded automatically once lrdoctor is installed).

- fixture ``lrdoctor_seed``: seeds ``random``, numpy and torch (seed 0, or the marker's
  ``seed=``) and restores their RNG states after the test;
- fixture ``lrdoctor_losses``: a list the test appends its losses to;
- marker ``@pytest.mark.lrdoctor_training(seed=0)``: a training test. It is seeded as above,
  and when it fails, the report gets a section with the seed, the first -> last loss and
  lrdoctor's diagnosis of the losses recorded in ``lrdoctor_losses``.

Importing this module imports neither torch nor the rest of lrdoctor: every pytest session
of every project with lrdoctor installed loads it.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

__all__ = ["MARKER", "lrdoctor_seed", "lrdoctor_losses"]

MARKER = "lrdoctor_training"
_LOSSES = pytest.StashKey[list]()
_SEED = pytest.StashKey[int]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(seed=0): a training test: seeded RNGs, and a failure "
                                       "reports lrdoctor's diagnosis of the losses in lrdoctor_losses")


def _marker_seed(item: pytest.Item) -> int:
    m = item.get_closest_marker(MARKER)
    return int(m.kwargs.get("seed", m.args[0] if m.args else 0)) if m else 0


@pytest.fixture
def lrdoctor_seed(request: pytest.FixtureRequest) -> Iterator[int]:
    """The test's seed (0, or the marker's); random, numpy and torch are seeded with it and
    restored afterwards."""
    from lrdoctor.testing import seeded

    seed = _marker_seed(request.node)
    request.node.stash[_SEED] = seed
    with seeded(seed):
        yield seed


@pytest.fixture
def lrdoctor_losses(request: pytest.FixtureRequest) -> list:
    """Append the run's losses here; a failing ``lrdoctor_training`` test reports their diagnosis."""
    losses: list = []
    request.node.stash[_LOSSES] = losses
    return losses


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:  # a marked test is seeded even when it does not ask for the fixture
        if item.get_closest_marker(MARKER) is not None and "lrdoctor_seed" not in getattr(item, "fixturenames", ()):
            item.fixturenames.insert(0, "lrdoctor_seed")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[Any]:
    outcome = yield
    report = outcome.get_result()
    if call.when != "call" or not report.failed or item.get_closest_marker(MARKER) is None:
        return
    losses = [float(x) for x in item.stash.get(_LOSSES, [])]
    seed = item.stash.get(_SEED, _marker_seed(item))
    if not losses:
        text = f"seed {seed}: no losses recorded (append them to the lrdoctor_losses fixture)"
    else:
        from lrdoctor.testing import diagnose_losses

        try:
            finding = diagnose_losses(losses) or "no finding (the curve looks healthy to the detectors)"
        except Exception as err:  # the plugin never hides the test's own failure
            finding = f"(diagnosis failed: {type(err).__name__}: {err})"
        text = f"seed {seed}: loss {losses[0]:.4g} -> {losses[-1]:.4g} over {len(losses)} steps; lrdoctor: {finding}"
    report.sections.append(("lrdoctor diagnosis", text))
    if isinstance(report.longrepr, str) or report.longrepr is None:
        report.longrepr = f"{report.longrepr or ''}\nlrdoctor diagnosis: {text}"
    else:
        try:
            report.longrepr.addsection("lrdoctor diagnosis", text)
        except AttributeError:
            pass
