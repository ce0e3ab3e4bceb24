"""The one scrubber of secrets: any letter case, JSON escapes, URL passwords and parameters."""

from __future__ import annotations

import json

import pytest

from pylon_dagster.redaction import (
    is_header_safe,
    masked_url,
    redact,
    redact_json,
    url_forms,
    url_secrets,
)

TOKEN = "pylon-Token/42"


def test_a_secret_is_masked_in_any_letter_case_and_the_longest_first():
    text = "Bearer PYLON-TOKEN/42, bearer pylon-token/42, and pylon-token/4"
    assert redact(text, [TOKEN, "pylon"]) == "Bearer ***, bearer ***, and ***-token/4"
    assert redact(text, [None, ""]) == text


@pytest.mark.parametrize(
    "written",
    [
        '"PYLON-TOKEN/42"',
        '"\\u0070ylon-token\\/42"',
        '"\\u0050YLON-TOKEN\\u002F42"',
        '{"Bearer pylon-token/42": 1}',
    ],
    ids=["upper_case", "escaped", "escaped_upper_case", "in_a_key"],
)
def test_every_string_of_a_json_body_is_scrubbed_however_the_secret_is_written(written: str):
    source = f'{{"data": [{{"note": {written}}}], "request_id": "r"}}'.encode()
    scrubbed = redact_json(json.loads(source), [TOKEN], source=source)
    assert TOKEN.lower() not in json.dumps(scrubbed).lower()
    assert "***" in json.dumps(scrubbed)


def test_a_json_body_without_the_secret_comes_back_as_it_was():
    source = b'{"data": [{"note": "pylon-token/4 \\u0070"}]}'
    value = json.loads(source)
    assert redact_json(value, [TOKEN], source=source) is value


def test_a_json_body_not_in_utf8_is_scrubbed_all_the_same():
    value = {"note": TOKEN.upper()}
    source = json.dumps(value).encode("utf-16")
    assert redact_json(json.loads(source), [TOKEN], source=source) == {"note": "***"}


@pytest.mark.parametrize(
    ("url", "shown", "secrets"),
    [
        ("postgresql://u:pw@h:5/db", "postgresql://u:***@h:5/db", ["pw"]),
        (
            "postgresql://u@h/db?sslmode=require&password=p%40ss&sslpassword=X",
            "postgresql://u@h/db?sslmode=require&password=***&sslpassword=***",
            ["p%40ss", "p@ss", "X"],
        ),
        ("https://h/x?API_KEY=k1&q=1#f", "https://h/x?API_KEY=***&q=1#f", ["k1"]),
        ("https://h/x", "https://h/x", []),
    ],
)
def test_a_url_is_shown_without_its_password_or_secret_parameters(
    url: str, shown: str, secrets: list[str]
):
    assert masked_url(url) == shown
    assert sorted(set(url_secrets(url))) == sorted(set(secrets))


@pytest.mark.parametrize("token", ["tok\n", "\ntok", "to k", "tok\t", "tok\r", "tok\x1b", "toké"])
def test_a_token_with_whitespace_control_or_non_ascii_characters_is_not_header_safe(token: str):
    assert not is_header_safe(token)
    assert is_header_safe("tok_-.~!42")


def test_a_secret_url_is_scrubbed_whole_or_in_parts():
    url = "https://hooks.example.com/services/T0/Secret-B1?token=Q"
    text = f"for url '{url}', path '/services/T0/Secret-B1', host 'hooks.example.com'"
    scrubbed = redact(text, url_forms(url))
    assert scrubbed == "for url '***', path '***', host 'hooks.example.com'"
