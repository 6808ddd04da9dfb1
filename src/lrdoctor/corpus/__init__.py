"""Real small trainings that each produce one pathology (or none), for tests and docs.

Each function trains a real torch model on CPU in about a second and writes its log to a
file; nothing here fabricates a curve. ``CASES`` names what each should show.
"""

from lrdoctor.corpus.runs import CASES, train_mlp

__all__ = ["CASES", "train_mlp"]
