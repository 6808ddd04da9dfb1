"""The lint rules: one module per rule; importing this package registers them all."""

from lrdoctor.lint.rules import schedule_overwrite  # noqa: F401
from lrdoctor.lint.rules import scheduler_order  # noqa: F401
from lrdoctor.lint.rules import scheduler_granularity  # noqa: F401
from lrdoctor.lint.rules import label_smoothing  # noqa: F401
from lrdoctor.lint.rules import warmup_missing  # noqa: F401
from lrdoctor.lint.rules import tests_unseeded  # noqa: F401
from lrdoctor.lint.rules import tests_lr_override  # noqa: F401
from lrdoctor.lint.rules import soft_target_tau  # noqa: F401
from lrdoctor.lint.rules import nstep_large  # noqa: F401
from lrdoctor.lint.rules import recurrent_no_clip  # noqa: F401
from lrdoctor.lint.rules import warmup_too_long  # noqa: F401
from lrdoctor.lint.rules import lr_above_recommended  # noqa: F401
from lrdoctor.lint.rules import constant_lr_cycles  # noqa: F401
from lrdoctor.lint.rules import warmup_compounds  # noqa: F401
