"""``tweetsent distill``: a smaller, faster student of a trained run.

The student keeps some of the teacher's layers and learns from its soft labels (and,
optionally, from unlabelled tweets); it is a run directory like any other.
"""

from tweetsent.distill.core import DistillSettings, distill, kept_layers, make_student

__all__ = ["DistillSettings", "distill", "kept_layers", "make_student"]
