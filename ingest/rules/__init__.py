"""Rule data for ingestion (``block_rules.yaml``), loaded from the package with importlib.resources.

``load_rules`` parses the YAML once and returns the plain mapping; the segmenter
reads its abbreviation list and the classifier its patterns, feature words and
thresholds. The folder also ships the learned classifier's weights (``block_model.npz``,
read by ``ingest.block_model``). It does not compile or interpret the rules (the callers do).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

RULES_FILE = "block_rules.yaml"


@lru_cache(maxsize=1)
def load_rules() -> dict[str, Any]:
    """The parsed ``block_rules.yaml``; raises ``ValueError`` if it is not a mapping.

    >>> "abbreviations" in load_rules()["sentences"]
    True
    """
    text = resources.files(__name__).joinpath(RULES_FILE).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"ingest/rules/{RULES_FILE} must be a mapping")
    return data
