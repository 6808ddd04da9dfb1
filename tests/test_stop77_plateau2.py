"""Stop 77's plateau from an LR decayed to nil, on a synthetic series, two real logs read in place and healthy twins.

**A positive LR below ``lr_nil`` on every report of a log past the start of training is a plateau.**
slow_progress's nil-LR rule (``_lr_stays_zero``) already calls such a log an error: no update can
change a float32 weight. When that LR is positive rather than exactly 0, a schedule decayed it
there (no LR is configured under 1e-12; halving from 1e-4 takes 27 halvings, each a patience or an
epoch without a new best), so the run trained at a real LR before the log began and then stalled:
the labellers' plateau, a warning beside slow_progress's error. An LR of exactly 0 may be a
configuration that never learned, and a cosine tail above 1e-12 is a schedule ending: neither is one.
"""

from __future__ import annotations

from pathlib import Path

from bench_logs import real_log

import lrdoctor
from lrdoctor.detect.progress import DEFAULTS, LR_DECAYED_TO_NIL_RULE, _lr_decayed_to_nil
from lrdoctor.finding import Severity

# unhealthy, labelled plateau: LR halved to 1.7e-24 (EarlyStopping counter 199 of 300)
_TSL = "fresh11/tsl-issue294-lr-decayed-plateau/issue294.log"
# unhealthy, labelled plateau: Informer's LR halved to 9e-281
_INFORMER = "fresh95/informer-469-custom-lr-underflow/train.log"
# healthy: a LLaMA-Factory pre-training tail past the start, LR 1.4e-8 -> 2.9e-10 (above lr_nil)
_LF_TAIL = "fresh8/jsonl-llamafactory-issue774-pt-final-null/trainer_log.jsonl"
# healthy: the end of a 160k-iteration segmentation run, LR printed 0 at every report
_RVSA_END = ("fresh1185/rvsa-vit-b-rvsa-kvdiff-loveda-160k-end/"
             "upernet_vit_base_win_rvsa_v3_kvdiff_wsz7_512x512_160k_loveda_dpr10_lr6e5_lrd90_ps16.log.json")


def _kinds(path: Path) -> dict[str, Severity]:
    return {f.kind: f.severity for f in lrdoctor.diagnose(lrdoctor.read(path)).findings}


def _excerpt(tmp_path: Path, lr: float) -> Path:
    """Five epoch reports from epoch 300 (past the start), a loss that wanders 2.10-2.12 and an LR
    ``lr`` halved at each epoch."""
    p = tmp_path / "metrics.csv"
    rows = "".join(f"{300 + i},{2.1 + 0.01 * (i % 3):.4f},{lr / 2 ** i:.6g}\n" for i in range(5))
    p.write_text("epoch,loss,lr\n" + rows)
    return p


def test_a_positive_lr_below_nil_past_the_start_is_a_plateau(tmp_path):
    run = lrdoctor.read(_excerpt(tmp_path, 1e-20))
    f = _lr_decayed_to_nil(run, DEFAULTS)
    assert f is not None and f.kind == "plateau" and f.severity is Severity.WARNING
    assert f.evidence["rule"] == LR_DECAYED_TO_NIL_RULE and 0.0 < f.evidence["value"] < DEFAULTS.lr_nil
    assert f.evidence["points"] == 5


def test_an_lr_above_nil_or_exactly_zero_is_not(tmp_path):
    # 1e-8 halved four times is 6e-10, above lr_nil: a schedule ending, not a dead one
    assert _lr_decayed_to_nil(lrdoctor.read(_excerpt(tmp_path, 1e-8)), DEFAULTS) is None
    p = tmp_path / "zero.csv"
    p.write_text("epoch,loss,lr\n" + "".join(f"{300 + i},{2.1 + 0.01 * (i % 3):.4f},0.00000000\n" for i in range(5)))
    assert _lr_decayed_to_nil(lrdoctor.read(p), DEFAULTS) is None  # 0 may be a configuration: slow_progress's alone


def test_real_logs_with_an_lr_halved_to_nil_find_the_plateau():
    for rel in (_TSL, _INFORMER):
        kinds = _kinds(real_log(rel))
        assert kinds.get("plateau") is Severity.WARNING, rel
        assert kinds.get("slow_progress") is Severity.ERROR, rel  # slow_progress's error stays beside it


def test_healthy_tails_with_a_tiny_or_zero_lr_stay_silent():
    for rel in (_LF_TAIL, _RVSA_END):
        kinds = _kinds(real_log(rel))
        assert "plateau" not in kinds and "slow_progress" not in kinds, rel
