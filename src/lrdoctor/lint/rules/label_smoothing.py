"""``label-smoothing-from-start``: label smoothing on from step 0 (info). The loss cannot go
below the entropy of the smoothed target, so a run that looks stuck may be at that floor;
post-mortem #4 switched it on only after the first epochs."""

from __future__ import annotations

import math
from typing import Iterator

from lrdoctor.finding import Severity
from lrdoctor.lint.arch import is_test_code
from lrdoctor.lint.config import ConfigFile
from lrdoctor.lint.pyfacts import ScriptFacts
from lrdoctor.lint.registry import Hit, register
from lrdoctor.lint.values import named_values

KEYS = {"label_smoothing", "label_smoothing_factor", "smoothing"}
CLASS_KEYS = {"num_classes", "n_classes", "num_labels", "nb_classes", "classes"}
#: class counts shown when the script does not say (a digit, CIFAR-100, ImageNet)
EXAMPLE_K: tuple[int, ...] = (10, 100, 1000)


def loss_floor(eps: float, k: int) -> float:
    """Entropy (nats) of the smoothed target: the least cross-entropy a perfect model reaches.

    >>> round(loss_floor(0.1, 10), 3)
    0.5
    """
    p_true = 1.0 - eps + eps / k
    p_other = eps / k
    h = -p_true * math.log(p_true) if p_true > 0 else 0.0
    if p_other > 0:
        h -= (k - 1) * p_other * math.log(p_other)
    return h


def _message(eps: float, k: int | None) -> str:
    if k and k >= 2:
        floors = f"{loss_floor(eps, k):.3f} nats at K={k}"
    else:
        floors = ", ".join(f"{loss_floor(eps, kk):.2f} at K={kk}" for kk in EXAMPLE_K)
    return (f"label smoothing {eps:g} from step 0: the cross-entropy cannot fall below the smoothed "
            f"target's entropy ({floors}); read loss curves against that floor, or switch it on after warmup")


@register("label-smoothing-from-start", targets=("python", "config"), severity=Severity.INFO,
          summary="label smoothing > 0 from the first step (info: the loss floor it implies)",
          fix="Expect the loss floor in the message (not a plateau), or enable smoothing after the first epochs.",
          source="post-mortem #4 (label smoothing from step 0 hid progress); Szegedy et al. 2016; Muller et al. 2019",
          triggers=(("smoothing",),))
def check(facts) -> Iterator[Hit]:
    if isinstance(facts, ConfigFile):
        for scope in facts.scopes:
            got = scope.number(*KEYS)
            if got and 0 < got[0] < 1:
                k = scope.number(*CLASS_KEYS)
                yield Hit(got[1].line, got[1].col, _message(got[0], int(k[0]) if k else None))
        return
    assert isinstance(facts, ScriptFacts)
    if is_test_code(facts.path):
        return  # a unit test of a loss is not a training run
    ks = [int(v.value) for v in named_values(facts, CLASS_KEYS) if v.value >= 2 and v.value == int(v.value)]
    k = ks[0] if len(set(ks)) == 1 else None
    for v in named_values(facts, KEYS):
        if v.how in ("keyword", "assign", "argparse") and 0 < v.value < 1:
            if v.how == "assign" and v.name.lower() == "smoothing":
                continue  # a bare 'smoothing' variable is as likely an EMA factor
            if v.how == "keyword" and v.name == "smoothing" and v.call and "Loss" not in v.call.attr:
                continue
            yield Hit(v.line, v.col, _message(v.value, k))
