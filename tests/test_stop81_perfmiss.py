"""performance_reversal from a continual learner's logged forgetting (stop 81, perfmiss): Avalanche's
``ExperienceForgetting`` / ``StreamForgetting`` (Chaudhry et al. 2018's forgetting measure: the
accuracy an experience had when it was last trained on minus its accuracy now) of at least
``min_gain_share`` of the accuracy's scale is a fall of at least a fifth of the learned level, the
reversal's own materiality (``_forgot``). Only those names: PEFT's MetaMathQA comparison logs a
``forgetting`` of its own beside its losses, and stays unread. Real logs read in place: Avalanche's
LwF forgetting the first experiences (two eval blocks of one run, both found), and a healthy Avalanche
log and a healthy PEFT log with its own ``forgetting`` key (silent)."""

from __future__ import annotations

from bench_logs import real_log

import lrdoctor
from lrdoctor.detect.rl.returns import DEFAULTS, _forgot


def _reversal(report):
    return next((f for f in report.findings if f.kind == "performance_reversal"), None)


def _avalanche(tmp_path, forgetting, accuracy):
    """An Avalanche interactive logger's eval phase: one block per earlier experience."""
    lines = []
    for i, (fg, acc) in enumerate(zip(forgetting, accuracy), start=1):
        lines += [f"-- Starting eval on experience {i} (Task 0) from test stream --",
                  f"> Eval on experience {i} (Task 0) from test stream ended.",
                  f"        ExperienceForgetting/eval_phase/test_stream/Task000/Exp{i:03d} = {fg:.4f}",
                  f"        Loss_Exp/eval_phase/test_stream/Task000/Exp{i:03d} = {1.0 + fg:.4f}",
                  f"        Top1_Acc_Exp/eval_phase/test_stream/Task000/Exp{i:03d} = {acc:.4f}"]
    path = tmp_path / "avalanche.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_forgetting_of_a_fifth_of_the_scale_is_a_reversal_and_less_is_not(tmp_path):
    assert DEFAULTS.min_gain_share == 0.2
    hit = _forgot(lrdoctor.read(_avalanche(tmp_path, [0.05, 0.21], [0.93, 0.76])), DEFAULTS)
    assert len(hit) == 1 and hit[0].evidence["forgetting"] == 0.21 and hit[0].evidence["reports"] == 1
    assert _forgot(lrdoctor.read(_avalanche(tmp_path, [0.05, 0.19], [0.93, 0.78])), DEFAULTS) == []


def test_a_forgetting_printed_in_percent_is_read_on_its_own_scale(tmp_path):
    assert _forgot(lrdoctor.read(_avalanche(tmp_path, [5.0, 19.0], [93.0, 78.0])), DEFAULTS) == []
    hit = _forgot(lrdoctor.read(_avalanche(tmp_path, [5.0, 40.0], [93.0, 58.0])), DEFAULTS)
    assert hit and hit[0].evidence["drop_share_of_gain"] == 0.4


def test_the_finding_starts_at_the_first_report_past_the_share_and_names_the_largest(tmp_path):
    run = lrdoctor.read(_avalanche(tmp_path, [0.1, 0.3, 0.9, 0.5], [0.9, 0.7, 0.1, 0.5]))
    f = _forgot(run, DEFAULTS)[0]
    assert f.evidence["forgetting"] == 0.9 and f.evidence["reports"] == 3 and f.evidence["metric"].endswith("exp003")
    assert f.start_step == run.series("experience_forgetting/eval_phase/test_stream/task000/exp002").steps[0]


def test_avalanche_lwf_forgetting_every_earlier_experience_is_found():
    """ContinualAI/avalanche issue 1260 (LwF): ExperienceForgetting 0.9582, 0.9692, 0.9645 on
    experiences 1-3, their accuracy now 0.0-0.03 (labelled unhealthy, performance_reversal)."""
    f = _reversal(lrdoctor.diagnose(lrdoctor.read(real_log("fresh176/avalanche-1260-lwf-eval-forgetting/paste.txt"))))
    assert f is not None and f.evidence["forgetting"] == 0.9692 and f.evidence["reports"] == 3


def test_avalanche_lwf_forgetting_experience_2_after_experience_3_is_found():
    """The same run's earlier eval block: experience 2 forgot 0.5985 (accuracy 0.3786) as soon as
    experience 3 was learned (0.9981) (labelled unhealthy, performance_reversal)."""
    f = _reversal(lrdoctor.diagnose(lrdoctor.read(real_log("fresh176/avalanche-1260-lwf-eval-after-exp3/paste.txt"))))
    assert f is not None and f.evidence["forgetting"] == 0.5985


def test_a_healthy_avalanche_log_stays_silent():
    """Avalanche issue 1271: the training-phase accuracy of one experience climbing 0.44 -> 0.997
    (labelled healthy): no forgetting logged, nothing to report."""
    assert _reversal(lrdoctor.diagnose(lrdoctor.read(real_log("fresh176/avalanche-1271-task001-epochs/paste.txt")))) is None


def test_peft_s_own_forgetting_key_is_not_read_as_avalanche_s():
    """PEFT's MetaMathQA comparison of IA3 on Llama-3.2-3B logs a ``forgetting`` of its own
    (labelled healthy): another library's quantity, not judged."""
    run = lrdoctor.read(real_log("fresh116/peft-metamath-ia3-lr1e-3/ia3--llama-3.2-3B-lr_0.001.json"))
    assert "forgetting" in run.names
    assert _forgot(run, DEFAULTS) == [] and _reversal(lrdoctor.diagnose(run)) is None
