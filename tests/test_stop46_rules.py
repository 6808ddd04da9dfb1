"""Rules from the stop-46 study of the benchmark (issue 9), each on a real log read in place, with
real twins:

- slow_progress: an error rate (WER, CER) never below 90% over 3+ evaluations recognises nothing.
  A percentage needs no proof of its scale (90+ is 90%+ errors on either reading); a fraction
  keeps the earlier proofs (exact 1.0 prints, or a band beside a falling loss).
"""

from __future__ import annotations

from bench_logs import real_log
from trained_digits import warned

import lrdoctor

_PERCENT_RULE = "error rate (a percentage) never below 90%"


def test_a_percentage_error_rate_never_below_90_is_no_learning():
    # whisper-small on Thai at lr 1e-7: WER 97.5410, 95.0820, 93.0328, 91.8033, 90.9836
    f = warned(lrdoctor.diagnose(real_log("fresh431/napatswift-whisper-small-thai/training_results.md")), 2)["slow_progress"]
    assert f.evidence["rule"] == _PERCENT_RULE
    assert f.evidence["metric"] == "eval_wer" and f.evidence["value"] == 90.9836 and f.evidence["points"] == 5


def test_a_percentage_error_rate_that_got_below_90_is_not_judged_so():
    # whisper-small on Darija: WER 129.35 at the first evaluation, then 72.44 and 70.41
    report = lrdoctor.diagnose(real_log("fresh340/kandirresearch-whisper-small-darija/training_results.md"))
    assert "slow_progress" not in warned(report, 2)
    # whisper-small Irish-to-English: WER 102.3, 101.2, 148.2, 95.3, 101.0, 91.9, 99.6, then 71.3 and lower
    report = lrdoctor.diagnose(real_log("fresh467/ymoslem-whisper-small-ga2en-v1-0-1/training_results.md"))
    assert "slow_progress" not in warned(report, 2)
