"""Real small trainings that each produce one pathology (or none), for tests and docs.

Each function trains a real model on CPU in seconds and writes its log to a file; nothing
here fabricates a curve. ``runs`` (supervised MLPs, ``CASES`` names what each should show),
``rl`` (Baird's counterexample, a DQN on CartPole; needs gymnasium), ``cycles`` (iterative
fine-tuning on digits; needs scikit-learn).
"""

from lrdoctor.corpus.runs import CASES, train_mlp

__all__ = ["CASES", "train_mlp"]
