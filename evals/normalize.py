"""The claim matcher's text normalisation: re-exported from ``core.meaning.normalize``.

The implementation moved to ``core/meaning/`` so the runtime meaning check and the evals use
one negation- and number-aware normaliser; this module keeps the evals' import path.

>>> normalize("Keep pain no more than three out of ten.")
'keep pain no more than 3/10.'
"""

from core.meaning.normalize import (
    NumberMention,
    Token,
    canonical_unit,
    extract_numbers,
    fmt_range,
    load_data,
    normalize,
    number_matches,
    split_sentences,
    stem,
    tokenize,
)

__all__ = [
    "NumberMention",
    "Token",
    "canonical_unit",
    "extract_numbers",
    "fmt_range",
    "load_data",
    "normalize",
    "number_matches",
    "split_sentences",
    "stem",
    "tokenize",
]
