"""The signature payloads must be byte-identical to what Pylon's Go code signs."""

from __future__ import annotations

import pytest

from pylon_dagster.webapp.signatures import (
    go_query_json,
    parse_query,
    secrets_equal,
    sign,
    signature_matches,
)


def test_parse_query_keeps_every_value_and_blank_like_go() -> None:
    raw = b"request_type=verify&code=a%3Cb%3E%26c&empty=&flag&x=1&x=2&plus=a+b&u=%C3%A9"
    assert parse_query(raw) == {
        "request_type": ["verify"],
        "code": ["a<b>&c"],
        "empty": [""],
        "flag": [""],
        "x": ["1", "2"],
        "plus": ["a b"],
        "u": ["é"],
    }


def test_go_query_json_matches_go_bytes() -> None:
    params = {
        "z": ["<&>", ""],
        "requester_email": ["a+b@x.com"],
        "é": ["ü\u2028"],
        "request_type": ["fetch_data"],
        "a": ['line\nbreak"q\\\x01\t'],
    }
    # Written out by hand from Go's encoding/json rules: keys in byte order, no spaces, HTML
    # characters and U+2028 escaped, other non-ASCII raw, control characters escaped.
    expected = (
        '{"a":["line\\nbreak\\"q\\\\\\u0001\\t"],"request_type":["fetch_data"],'
        '"requester_email":["a+b@x.com"],"z":["\\u003c\\u0026\\u003e",""],"é":["ü\\u2028"]}'
    )
    assert go_query_json(params) == expected.encode()


def test_sign_is_hex_hmac_sha256() -> None:
    # RFC 4231, test case 2.
    assert (
        sign("Jefe", b"what do ya want for nothing?")
        == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", True),
        ("5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843", True),
        ("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3844", False),
        ("", False),
        (None, False),
        ("é" * 64, False),
    ],
)
def test_signature_matches(given: str | None, expected: bool) -> None:
    assert signature_matches("Jefe", b"what do ya want for nothing?", given) is expected


def test_secrets_equal() -> None:
    assert secrets_equal("token", "token")
    assert not secrets_equal("token", "tokem")
    assert not secrets_equal("token", None)
    assert not secrets_equal("token", "tökén")
