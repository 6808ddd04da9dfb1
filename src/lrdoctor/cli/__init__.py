"""The ``lrdoctor`` command: a thin shell over the library, one module per subcommand."""

from __future__ import annotations

import os
import sys

import typer

from lrdoctor.cli import calc as _calc
from lrdoctor.cli import demo as _demo
from lrdoctor.cli import diagnose as _diagnose
from lrdoctor.cli import lint as _lint
from lrdoctor.cli import recommend as _recommend
from lrdoctor.cli import schedule as _schedule
from lrdoctor.cli import experiments as _experiments
from lrdoctor.cli import sweep as _sweep
from lrdoctor.cli import find_lr as _find_lr
from lrdoctor.cli import sharpness as _sharpness

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Learning-rate and training-stability doctor for PyTorch.")
app.command("diagnose")(_diagnose.diagnose_cmd)
app.command("demo")(_demo.demo_cmd)
app.command("schedule")(_schedule.schedule_cmd)
app.command("lint")(_lint.lint_cmd)
app.command("recommend")(_recommend.recommend_cmd)
app.command("sweep")(_sweep.sweep_cmd)
app.command("experiments")(_experiments.experiments_cmd)
app.command("find-lr")(_find_lr.find_lr_cmd)
app.command("sharpness")(_sharpness.sharpness_cmd)
app.add_typer(_calc.app, name="calc")


def main() -> None:
    try:
        app(standalone_mode=True)
    except Exception as err:  # never a traceback for users; LRDOCTOR_DEBUG=1 shows it
        if os.environ.get("LRDOCTOR_DEBUG"):
            raise
        print(f"lrdoctor: internal error: {type(err).__name__}: {err}", file=sys.stderr)
        sys.exit(2)
