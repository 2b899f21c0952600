"""The claim matcher's negation scopes: re-exported from ``core.meaning.negation``.

The implementation moved to ``core/meaning/`` so runtime and evals share it; this module keeps
the evals' import path.

>>> [c.phrase for c in find_cues(tokenize("stretching will not fix it"))]
['will not']
"""

from core.meaning.negation import FLIP, Cue, find_cues, number_cue
from core.meaning.normalize import tokenize

__all__ = ["FLIP", "Cue", "find_cues", "number_cue", "tokenize"]
