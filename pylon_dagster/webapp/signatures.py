"""Request signatures Pylon puts on custom-app requests and webhooks, and their checks.

Both are hex HMAC-SHA256 with a shared secret. A webhook signs its raw body. A custom-app request
signs its query parameters as Go's `json.Marshal(url.Values)` writes them (Pylon's reference
verifier is Go), so this module reproduces those exact bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qs

# Go's encoder escapes these even inside strings; Python's leaves them as they are.
_GO_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_GO_ESCAPE_TABLE = str.maketrans(_GO_ESCAPES)


def parse_query(query_string: bytes) -> dict[str, list[str]]:
    """The raw query as Go's `url.ParseQuery` sees it: every name with all its values, blanks
    kept, `+` as a space, text as UTF-8."""
    return parse_qs(query_string.decode("utf-8", "replace"), keep_blank_values=True)


def go_query_json(params: Mapping[str, Sequence[str]]) -> bytes:
    """`json.Marshal(url.Values)` in Go: keys sorted, compact, `<>&` and U+2028/9 escaped.

    Go writes other non-ASCII characters as raw UTF-8 and the control characters the way Python
    does (`\\n`, `\\u001f`, ...), so only the escapes above differ. Applying them to the whole text
    is safe: those characters can only occur inside JSON strings.
    """
    text = json.dumps(
        {name: list(values) for name, values in sorted(params.items())},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return text.translate(_GO_ESCAPE_TABLE).encode()


def sign(secret: str, payload: bytes) -> str:
    """Hex HMAC-SHA256 of `payload` under `secret`, as Pylon sends it."""
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def signature_matches(secret: str, payload: bytes, given: str | None) -> bool:
    """Whether `given` is the signature of `payload`, compared in constant time."""
    return given is not None and secrets_equal(sign(secret, payload), given.strip().lower())


def secrets_equal(expected: str, given: str | None) -> bool:
    """Constant-time equality that also copes with non-ASCII input (HTTP headers are latin-1)."""
    if given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))
