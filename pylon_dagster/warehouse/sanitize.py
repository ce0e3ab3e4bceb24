"""Turn an API record into JSON text Postgres accepts: the sanitising rule.

JSON can carry things Postgres cannot store: U+0000 (text and jsonb reject it) and lone UTF-16
surrogates such as an unpaired `\\ud800` (not encodable as UTF-8); Python's JSON reader also
accepts NaN and Infinity, which JSON and jsonb do not. The rule, applied to keys and values alike:

- U+0000 and every lone surrogate become U+FFFD (the Unicode replacement character);
- NaN, Infinity and -Infinity become null.

Typed columns are computed from the stored `raw`, so they follow the same rule. A record changed
by the rule counts as `sanitized` in the load result; everything else is stored byte for byte.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

REPLACEMENT = "\ufffd"
# Built once: `json.dumps` with options builds a new encoder on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_STRICT_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def encode_record(record: Mapping[str, Any]) -> tuple[bytes, bool]:
    """The record as compact UTF-8 JSON, and whether the sanitising rule changed it."""
    text = _ENCODER.encode(record)
    # NUL appears escaped in the encoded text, and a lone surrogate makes UTF-8 encoding fail.
    # These tests only decide whether to take the exact (slower) path: a false positive such as
    # the word "NaN" inside a string is harmless.
    if "\\u0000" not in text and "NaN" not in text and "Infinity" not in text:
        try:
            return text.encode(), False
        except UnicodeEncodeError:
            pass
    clean, changed = _scrub(record)
    return (_STRICT_ENCODER.encode(clean).encode(), True) if changed else (text.encode(), False)


def _scrub(value: Any) -> tuple[Any, bool]:
    if isinstance(value, str):
        clean = clean_text(value)
        return clean, clean != value
    if isinstance(value, float):
        return (None, True) if not math.isfinite(value) else (value, False)
    if isinstance(value, Mapping):
        items = [(_scrub(k), _scrub(v)) for k, v in value.items()]
        changed = any(kc or vc for (_, kc), (_, vc) in items)
        return {k: v for (k, _), (v, _) in items}, changed
    if isinstance(value, list | tuple):
        scrubbed = [_scrub(v) for v in value]
        return [v for v, _ in scrubbed], any(c for _, c in scrubbed)
    return value, False


def clean_text(text: str) -> str:
    """`text` with the characters Postgres cannot store replaced (the rule above)."""
    return _UNSTORABLE.sub(REPLACEMENT, text)
