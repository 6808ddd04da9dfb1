"""Stop 81, series read under the wrong role (the readers pool).

**A source-separation SDR is an evaluation figure** (``names.SOURCE_SEPARATION_WORDS``, the
``eval_accuracy`` role rule beside PSNR/SSIM/Dice). Music source separation scores its model by the
signal-to-distortion ratio of each separated stem against the reference (BSS Eval's SDR, Vincent,
Gribonval & Fevotte 2006; the Music Demixing Challenge's "nSDR", Mitsufuji et al. 2021), in dB,
higher-is-better, computed on whole validation tracks: ZFTurbo's trainer prints "Instr guitar sdr:
<dB> (Std: <dB>)" after each validation, Demucs and SCNet "valid_nsdr". Before, the column played no
role, so no detector read it: a validation SDR printed as ``nan`` (ZFTurbo's mel-band conformer,
labelled unhealthy, nonfinite) was never seen. Never a running best ("new_best_valid_nsdr") nor a loss
term (SpeechBrain's "si-snr_loss" is a training objective, another quantity).
"""

from __future__ import annotations

import math

import lrdoctor
from bench_logs import real_log
from series_helpers import columns_run, findings_of

from lrdoctor.finding import Severity
from lrdoctor.names import resolve_aliases

# unhealthy, labelled nonfinite: "Instr guitar sdr: nan (Std: nan)" at the first validation, finite losses
_ZFTURBO_SDR_NAN = "fresh196/zfturbo-196-guitar-sdr-nan/paste.txt"
# unhealthy (labelled loss_spike): Demucs' valid summary, "Nsdr" per epoch
_DEMUCS_VALID = "fresh62/demucs-issue354-valid-summary/valid_summary.txt"
# unhealthy, labelled nonfinite: SCNet under AMP, "valid_nsdr" beside "new_best_valid_nsdr" (a running best)
_SCNET_AMP_NAN = "fresh151/scnet-14-large-amp-nan/train.log"
# healthy twin: ZFTurbo's mel-roformer on drums, an "SDR drums" column per epoch, every value finite
_ZFTURBO_HEALTHY = "fresh196/zfturbo-2-melroformer-drums-table/paste.txt"


def _role(names: list[str], role: str = "eval_accuracy") -> str | None:
    got = resolve_aliases(names).get(role)
    return got[0] if got else None


def test_an_sdr_column_is_the_evaluation_figure_but_never_a_best_a_loss_or_the_training_side():
    assert _role(["epoch", "loss", "guitar_sdr"]) == "guitar_sdr"
    assert _role(["epoch", "loss", "valid_nsdr", "new_best_valid_nsdr"]) == "valid_nsdr"
    assert _role(["epoch", "loss", "new_best_valid_nsdr"]) is None  # a running best alone: no evaluation of the weights as they stand
    assert _role(["epoch", "si_sdr_loss"]) is None and _role(["epoch", "si_sdr_loss"], "loss") == "si_sdr_loss"
    assert _role(["epoch", "loss", "train_sdr"]) is None  # named as the training side's


def test_a_nan_sdr_beside_finite_losses_is_seen_by_the_nonfinite_check():
    # (finite first: a machine-written column NaN on every row may be one the trainer never filled)
    run = columns_run(loss=[0.61, 0.52, 0.47, 0.45], guitar_sdr=[3.1, 4.2, math.nan, math.nan])
    assert run.meta.roles.get("eval_accuracy") == "guitar_sdr"
    [f] = [f for f in lrdoctor.diagnose(run).findings if f.kind == "nonfinite"]
    assert f.evidence["metric"] == "eval_accuracy" and f.evidence.get("losses_finite") is True
    finite = columns_run(loss=[0.61, 0.52, 0.47, 0.45], guitar_sdr=[3.1, 4.2, 4.9, 5.0])
    assert not [f for f in lrdoctor.diagnose(finite).findings if f.kind == "nonfinite"]


def test_the_zfturbo_sdr_nan_is_found():
    run = lrdoctor.read(real_log(_ZFTURBO_SDR_NAN))
    assert run.meta.roles.get("eval_accuracy") == "guitar_sdr"
    [f] = findings_of(lrdoctor.diagnose(run), "nonfinite")
    assert f.severity is Severity.ERROR and f.evidence["metric"] == "eval_accuracy"


def test_demucs_and_scnet_sdr_columns_are_read_as_the_evaluation_and_keep_their_findings():
    assert lrdoctor.read(real_log(_DEMUCS_VALID)).meta.roles.get("eval_accuracy") == "Nsdr"
    run = lrdoctor.read(real_log(_SCNET_AMP_NAN))
    assert run.meta.roles.get("eval_accuracy") == "valid_nsdr"
    [err] = [f for f in findings_of(lrdoctor.diagnose(run), "nonfinite") if f.severity is Severity.ERROR]
    assert err.evidence["metric"] == "loss"  # the training loss's blow-up, as before


def test_the_healthy_twin_with_a_finite_sdr_stays_silent():
    run = lrdoctor.read(real_log(_ZFTURBO_HEALTHY))
    assert run.meta.roles.get("eval_accuracy") == "sdr_drums"
    assert not [f for f in lrdoctor.diagnose(run).findings if f.severity.rank >= 1]
