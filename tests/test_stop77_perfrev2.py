"""performance_reversal on a return's own scale (stop 77, round 2). A return has no meaningful zero,
so a fall is read against the return's gain and scatter, never against its level:

* the trend rule judges a return whose smoothed peak lies in the first tenth of the run but after
  its first report, its gain measured from that first report (the climb was shorter than the
  smoothing window, so the smoothed start already sits at the peak);
* a return logged beside the running best its log prints (angela's ``Avg`` / ``BestAvg``) that stays
  below that best at each of its last reports, by a fifth of the gain from its first report and by
  more than 3 robust sigmas of the reports since the best, is a reversal when no other rule speaks.

Real logs of the benchmark are read in place; their healthy twins stay silent."""

from pathlib import Path

import numpy as np

import lrdoctor
from lrdoctor.detect.rl.returns import DEFAULTS, _fast_climb_start, _return_far_from_printed_best, detect_reversal
from lrdoctor.detect.rl._common import task_curve

LOGS = Path(__file__).resolve().parents[1] / "bench" / "detection_logs"


def _reversals(path: Path) -> list:
    return [f for f in detect_reversal(lrdoctor.read(str(path))) if f.kind == "performance_reversal"]


def _angela_log(path: Path, avgs: list[float]) -> Path:
    """An angela-style console: Avg every 100 episodes beside BestAvg, the running best of Avg."""
    best, lines = -np.inf, []
    for i, a in enumerate(avgs, start=1):
        best = max(best, a)
        lines.append(f"Episode: {100 * i:5d}   Avg: {a:8.2f}   BestAvg: {best:8.2f}   |  Steps: {50000 * i:8d}   Secs: {300 * i:6d}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_printed_best_rule_arithmetic_on_a_synthetic_console(tmp_path):
    """First -1.0, best 0.08 at episode 500; then four reports near -0.3: the gap of 0.38 is 35% of
    the gain of 1.08 and many sigmas of the later reports, whose median is below the climb's: found.
    The same console ending 0.0, 0.02, 0.01 is 7% of the gain from the best: silent."""
    run = lrdoctor.read(str(_angela_log(tmp_path / "fell.log", [-1.0, -0.97, -0.29, 0.0, 0.08, -0.15, -0.46, -0.30, -0.32])))
    found = _return_far_from_printed_best(run, DEFAULTS)
    assert found and found[0].kind == "performance_reversal"
    assert abs(found[0].evidence["drop_share_of_gain"] - 0.38 / 1.08) < 1e-6
    assert found[0].start_step == 500
    held = lrdoctor.read(str(_angela_log(tmp_path / "held.log", [-1.0, -0.97, -0.29, 0.0, 0.08, 0.05, 0.0, 0.02, 0.01])))
    assert _return_far_from_printed_best(held, DEFAULTS) == []


def test_fast_climb_start_is_the_first_report_of_a_return_only():
    """The first report of a return whose smoothed peak is after it; None at a peak on the first report."""
    run = lrdoctor.read(str(LOGS / "fresh1191/dlr-rm-qrdqn-asteroids-nofs-v4-monitor/0.monitor.csv"))
    t = task_curve(run)
    p = int(np.argmax(t.smooth))
    assert 0 < p < 0.1 * t.n  # the climb is hidden in the smoothing window
    assert _fast_climb_start(t, p) == float(t.c.mid[0])
    assert _fast_climb_start(t, 0) is None


def test_qrdqn_asteroids_fast_climb_then_fall_is_a_reversal():
    """QR-DQN on Asteroids (unhealthy, performance_reversal): 100-episode mean 280 -> 880 by episode
    59 of 679, then down to 241; the smoothed start already sat at the peak."""
    f = _reversals(LOGS / "fresh1191/dlr-rm-qrdqn-asteroids-nofs-v4-monitor/0.monitor.csv")
    assert f and f[0].evidence["start"] == 280.0


def test_angela_hallway_ppo_fell_below_its_printed_best():
    """angela's PPO on Hallway (unhealthy, performance_reversal): Avg -0.99 -> 0.05, BestAvg 0.08, then
    -0.15, -0.46, -0.30, -0.32."""
    f = _reversals(LOGS / "fresh22/angela-hallway-ppo/hallway_ppo.log")
    assert f and f[0].evidence["printed_best"] == "best_avg"


def test_angela_pong_resume_and_stuck_bipedal_walker_fell_below_their_printed_best():
    """Pong resumed (edge): Avg -5.11 -> -3.81 (BestAvg -3.78), then -5.42 ... -5.22; the DDPG
    BipedalWalker (unhealthy): Avg about -102, a best of -37.89, then -135 ... -138."""
    for rel in ("fresh25/angela-pong-pg-resume2/pong_pg_resume2.log",
                "fresh28/angela-bipedalwalker-ddpg-stuck/bipedal_walker_ddpg.log"):
        f = _reversals(LOGS / rel)
        assert f and f[0].evidence.get("printed_best") == "best_avg", rel


def test_healthy_twins_stay_silent():
    """Healthy twins of the same shapes: Tianshou's A2C on InvertedPendulum climbs to 1000 within its
    first tenth and holds it (a fall of 2% of the gain); angela's healthy Pong run after a resume ends
    7% of its gain below its printed best; angela's PG on Acrobot ends within 1% of it."""
    for rel in ("fresh35/tianshou-invertedpendulum-a2c-10seeds",
                "fresh25/angela-pong-pg-resume1",
                "fresh28/angela-acrobot-pg"):
        files = [p for p in (LOGS / rel).iterdir() if p.is_file()]
        assert files, rel
        assert _reversals(files[0]) == [], rel
