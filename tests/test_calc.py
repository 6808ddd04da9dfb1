"""Calculators: the post-mortems' numbers, the formulas' inverses, the CLI, bad input."""

import doctest
import math
import subprocess
import sys

import pytest

from lrdoctor import calc
from lrdoctor.prescribe import calc as calc_module


def cli(*args):
    return subprocess.run([sys.executable, "-m", "lrdoctor", "calc", *map(str, args)], capture_output=True, text=True,
                          env={"COLUMNS": "200"})


def test_doctests():
    assert doctest.testmod(calc_module).failed == 0


def test_dqn_post_mortem_soft_update_numbers():
    # Post-mortem #5: tau 0.012 at 48 steps/s. 1 - 0.988^100 = 0.70098: "70%" in DESIGN.md. The issue
    # quotes 70.3%, which no integer N gives (N=100: 70.10%, N=101: 70.46%); we keep the formula.
    s = calc.soft_update(0.012, 100, steps_per_sec=48)
    assert s.replaced == pytest.approx(1 - 0.988 ** 100) and round(s.replaced, 2) == 0.70
    assert s.seconds == pytest.approx(100 / 48)
    assert s.half_life_seconds == pytest.approx(math.log(0.5) / math.log(0.988) / 48)
    assert round(calc.soft_update(0.005, 100).replaced, 1) == 0.4  # the fix: "40%"


def test_nstep_post_mortem_numbers():
    assert round(calc.nstep(0.995, 8).gamma_n, 3) == 0.961
    assert round(calc.nstep(0.995, 5).gamma_n, 3) == 0.975
    assert calc.nstep(0.995, 5).horizon == pytest.approx(200)


def test_inverses_round_trip():
    tau = calc.tau_for_half_life(50)
    assert calc.soft_update(tau, 50).replaced == pytest.approx(0.5)
    tau = calc.tau_for_share(0.4, 100)
    assert calc.soft_update(tau, 100).replaced == pytest.approx(0.4)


def test_batch_lora_scaling_raft():
    assert calc.effective_batch(4, 4, 1, samples=256).optimizer_steps == 16  # LoRA post-mortem: 5 of 16 warmup steps
    l = calc.lora_lr(1e-4, alpha=32, r=16)
    assert l.scale == 2 and l.effective_lr == pytest.approx(2e-4)
    assert calc.lora_lr(1e-4, alpha=32, r=16, rslora=True).scale == pytest.approx(8)
    assert calc.scale_lr(1e-3, 256, 512).new_lr == pytest.approx(2e-3)
    assert calc.scale_lr(1e-3, 256, 1024, "sqrt").new_lr == pytest.approx(2e-3)
    assert calc.raft_lr(2e-4).cycle_lr == pytest.approx(5e-5)


@pytest.mark.parametrize("fn,args,name", [
    (calc.soft_update, (1.5, 10), "tau"), (calc.nstep, (1.0, 3), "gamma"), (calc.nstep, (0.99, 0), "n"),
    (calc.effective_batch, (0,), "batch"), (calc.lora_lr, (1e-4, 16, 0), "r"), (calc.scale_lr, (1e-3, 1, 2, "cubic"), "rule"),
])
def test_bad_arguments_name_the_parameter(fn, args, name):
    with pytest.raises(ValueError, match=f"'{name}' parameter"):
        fn(*args)


def test_cli_tau_prints_numbers_formula_and_source():
    p = cli("tau", "--tau", 0.012, "--steps", 100, "--steps-per-sec", 48)
    assert p.returncode == 0, p.stderr
    assert "70.1%" in p.stdout and "1.20 s" in p.stdout and "formula:" in p.stdout and "post-mortem" in p.stdout
    p = cli("tau", "--half-life", 138.3)
    assert "0.004999" in p.stdout and "39.4%" in p.stdout


def test_cli_nstep_batch_lora():
    assert "0.961" in cli("nstep", "--gamma", 0.995, "--n", 8, "--n", 5).stdout
    out = cli("batch", "--batch", 4, "--accumulation", 4, "--samples", 256, "--warmup", 5).stdout
    assert "16" in out and "31%" in out and "warning" in out
    assert "0.0016" in cli("lora", "--lr", 2e-4, "--alpha", 16, "--r", 8, "--new-r", 64).stdout


def test_cli_bad_value_is_one_line_exit_2():
    p = cli("tau", "--tau", 2)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.strip().count("\n") == 0 and "'tau' parameter" in p.stderr
