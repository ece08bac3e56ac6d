"""The simulated tokenizer the scripted model and the fake provider share: ceil(chars / 4)."""

from __future__ import annotations

import json
import math
from typing import Any


def canonical(obj: Any) -> str:
    """The canonical JSON of a value: sorted keys, no spaces, unicode kept."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def estimate_tokens(obj: Any) -> int:
    """ceil(chars / 4) of a string, or of the canonical JSON of anything else."""
    text = obj if isinstance(obj, str) else canonical(obj)
    return math.ceil(len(text) / 4)
