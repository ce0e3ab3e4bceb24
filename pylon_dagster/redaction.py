"""Secrets kept out of every text the project shows, logs, stores or sends.

The one place that scrubs them. The Pylon client passes everything it takes from a response
(bodies of any status, headers, httpx's exception texts) through `redact` with its token; URLs are
shown through `masked_url`, and a driver's or httpx's message about a URL is scrubbed of
`url_secrets`, or of `url_forms` when the whole URL is the secret (the alert webhook's).
Matching ignores letter case: an upstream that upper-cases the header it quotes still quotes the
secret.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import SplitResult, unquote, unquote_plus, urlsplit, urlunsplit

import httpx

MASK = "***"
_SECRET_PARAMETER = re.compile(r"pass|pwd|secret|token|key|auth|sig|credential", re.IGNORECASE)
"""Query parameter names whose values are masked: `password`, `sslpassword`, `api_key`,
`access_token`, `signature`... Masking a harmless one (`sslkey`, a file path) costs nothing."""


def is_header_safe(secret: str) -> bool:
    """Whether `secret` can be sent in an HTTP header as it is: printable ASCII, no whitespace.
    httpx refuses any other header value with an error quoting it."""
    return all("!" <= char <= "~" for char in secret)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret, in any letter case, replaced by `***`."""
    pattern = _pattern(frozenset(secret for secret in secrets if secret))
    return pattern.sub(MASK, text) if pattern else text


def redact_json(value: Any, secrets: Iterable[str | None], *, source: bytes) -> Any:
    """A JSON value decoded from `source` with `redact` applied to every string in it, keys
    included. Walking a large page costs more than decoding it, so the walk is skipped when
    `source` cannot hold a secret: no secret in it, each character as written or escaped."""
    wanted = frozenset(secret for secret in secrets if secret)
    pattern = _pattern(wanted)
    if pattern is None or not _may_hold(source, wanted):
        return value
    return _scrubbed(value, pattern)


def _may_hold(source: bytes, secrets: frozenset[str]) -> bool:
    """Whether JSON text may decode to a string holding a secret. Text not in UTF-8 (JSON may be
    UTF-16 or UTF-32) is not searched: it may. Otherwise a secret is written plainly, or with some
    of its characters escaped (`\\u0070`, `\\/`): the escaped form is searched for (slowly) only
    if the text holds an escape of one of its characters."""
    if json.detect_encoding(source) != "utf-8":
        return True
    lowered = source.lower()
    if any(secret.lower().encode() in lowered for secret in secrets):
        return True
    patterns = _json_patterns(secrets)
    return (
        patterns.escape.search(lowered) is not None and patterns.written.search(source) is not None
    )


def _escapes(char: str) -> set[bytes]:
    """How JSON may escape `char` or its other letter case, lower-cased."""
    escapes = {b"\\u%04x" % ord(variant) for variant in {char.lower(), char.upper()}}
    if char in '/"\\':
        escapes.add(b"\\" + char.encode())
    return escapes


class _JsonPatterns(NamedTuple):
    escape: re.Pattern[bytes]
    """Any escape of a character of a secret (in lower-cased text)."""
    written: re.Pattern[bytes]
    """A secret with each character itself or escaped, in any letter case."""


@lru_cache(maxsize=32)
def _json_patterns(secrets: frozenset[str]) -> _JsonPatterns:
    def written(char: str) -> bytes:
        forms = {re.escape(char.encode())} | {re.escape(escape) for escape in _escapes(char)}
        return b"(?:" + b"|".join(sorted(forms)) + b")"

    escapes = {escape for secret in secrets for char in secret for escape in _escapes(char)}
    alternatives = [b"".join(written(char) for char in secret) for secret in secrets]
    return _JsonPatterns(
        escape=re.compile(b"|".join(re.escape(escape) for escape in sorted(escapes))),
        written=re.compile(b"|".join(alternatives), re.IGNORECASE),
    )


def _scrubbed(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(MASK, value)
    if isinstance(value, list):
        return [_scrubbed(item, pattern) for item in value]
    if isinstance(value, dict):
        return {pattern.sub(MASK, key): _scrubbed(item, pattern) for key, item in value.items()}
    return value


@lru_cache(maxsize=32)
def _pattern(secrets: frozenset[str]) -> re.Pattern[str] | None:
    """One case-insensitive alternation, longest secret first: a secret holding another is masked
    whole."""
    if not secrets:
        return None
    ordered = sorted(secrets, key=len, reverse=True)
    return re.compile("|".join(re.escape(secret) for secret in ordered), re.IGNORECASE)


def is_secret_parameter(name: str) -> bool:
    return bool(_SECRET_PARAMETER.search(name))


def masked_url(url: str) -> str:
    """`url` with its password (`user:***@`) and the values of its secret-looking query
    parameters (`?password=***`) masked, for messages and reports."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=_masked_netloc(parts), query=_masked_query(parts)))


def _masked_netloc(parts: SplitResult) -> str:
    if parts.password is None:
        return parts.netloc
    userinfo, _, host = parts.netloc.rpartition("@")
    return f"{userinfo.partition(':')[0]}:{MASK}@{host}"


def _masked_query(parts: SplitResult) -> str:
    pairs = []
    for pair in parts.query.split("&") if parts.query else []:
        name, sep, _ = pair.partition("=")
        pairs.append(f"{name}={MASK}" if sep and is_secret_parameter(unquote_plus(name)) else pair)
    return "&".join(pairs)


def url_secrets(url: str) -> list[str]:
    """What `masked_url` masks, as written and decoded: the strings a message quoting the URL
    (or the connection settings taken from it) must not contain."""
    parts = urlsplit(url)
    found = [parts.password, unquote(parts.password)] if parts.password else []
    for pair in parts.query.split("&") if parts.query else []:
        name, sep, value = pair.partition("=")
        if sep and value and is_secret_parameter(unquote_plus(name)):
            found += [value, unquote_plus(value)]
    return found


def url_forms(url: str) -> list[str]:
    """The ways a message may quote `url` when the whole URL is a secret (a chat webhook's): as
    given, as httpx normalizes it, its path and query alone, and its secrets."""
    parts = urlsplit(url)
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    forms = [url, str(httpx.URL(url)), tail, parts.path, *url_secrets(url)]
    return [form for form in forms if len(form) > 1]  # a bare `/` is no secret
