"""`PylonHttpClient`: the plain client. One request to a Pylon endpoint, answered by the decoded
JSON envelope or an explicit error; whatever paces and retries its requests is in the transport it
is given (`client.py` stacks the layers)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

import httpx

from pylon_dagster.catalog.endpoints import Endpoint
from pylon_dagster.pylon.errors import (
    PylonAuthenticationError,
    PylonNotFoundError,
    PylonRequestError,
    PylonResponseError,
    PylonUnavailableError,
)
from pylon_dagster.pylon.retry import transient_failure
from pylon_dagster.pylon.stats import ENDPOINT_EXTENSION
from pylon_dagster.redaction import is_header_safe, redact, redact_json

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_DECODED = "pylon_dagster.decoded_json"
"""The response extension that keeps a body's decoded JSON: the retry layer decodes a body to
judge it, the client reads it from there instead of decoding a large page twice."""


class PylonHttpClient:
    """Sends one request at a time to Pylon with the API token and decodes the answer.

    The token goes only into the Authorization header; every text taken from a response or from
    httpx is scrubbed of it. Use as a context manager, or call `close()`.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_token: str,
        transport: httpx.BaseTransport,
        timeout: httpx.Timeout | None = None,
    ):
        if not api_token or not is_header_safe(api_token):
            raise PylonAuthenticationError(
                status_code=0,
                base_url=base_url,
                errors=[
                    "the API token holds whitespace, control or non-ASCII characters"
                    if api_token
                    else "no API token configured"
                ],
                request_id=None,
            )
        self.base_url = base_url.rstrip("/")
        self._token = api_token
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {api_token}",
                "Accept": "application/json",
                "User-Agent": "pylon-dagster",
            },
            timeout=timeout or DEFAULT_TIMEOUT,
            transport=transport,
        )

    def __enter__(self) -> PylonHttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def redact(self, text: str) -> str:
        """`text` without the token, in any letter case. Every text taken from a response (its
        decoded body is scrubbed whole in `_decode`) or from httpx passes here first."""
        return redact(text, [self._token])

    def send(
        self,
        endpoint: Endpoint,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one request and return the decoded JSON envelope."""
        path = endpoint.url_path(**(path_params or {}))
        response = self._http.request(
            endpoint.method,
            path,
            params=params,
            json=json_body,
            extensions={ENDPOINT_EXTENSION: endpoint.key},
        )
        return self._decode(endpoint, path, response)

    def _decode(self, endpoint: Endpoint, path: str, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        url = self.base_url + path
        if response.is_redirect:
            location = self.redact(response.headers["location"])
            raise PylonResponseError(
                f"{endpoint.method} {url} answered {status}, a redirect to "
                f"{location}. Redirects are not followed (the API token would go along): set "
                "PYLON_API_URL to your organization's API host itself (https://api.usepylon.com, "
                "or https://api.eu.usepylon.com for EU organizations)."
            )
        # Worth another attempt, but none is made here: the transport had no retry layer, or
        # its last attempt ended so.
        if failure := transient_failure(response):
            raise PylonUnavailableError(
                method=endpoint.method, url=url, attempts=1, last_failure=failure
            )
        body = redact_json(decoded_json(response), [self._token], source=response.content)
        if status in (401, 403):
            errors, request_id, _ = _error_fields(body)
            raise PylonAuthenticationError(
                status_code=status, base_url=self.base_url, errors=errors, request_id=request_id
            )
        if status >= 400:
            errors, request_id, code = _error_fields(body)
            error_type = PylonNotFoundError if status == 404 else PylonRequestError
            raise error_type(
                status_code=status,
                method=endpoint.method,
                url=url,
                errors=errors,
                request_id=request_id,
                code=code,
            )
        if not isinstance(body, dict):
            raise PylonUnavailableError(
                method=endpoint.method,
                url=url,
                attempts=1,
                last_failure=self.redact(not_a_json_object(response) or ""),
            )
        return body


def not_a_json_object(response: httpx.Response) -> str | None:
    """Why a response that is neither an error nor a redirect is still no answer, when its body
    is not the JSON object Pylon always answers with (None: it is). For the retry layer."""
    if response.is_redirect or response.status_code >= 400:
        return None
    if isinstance(decoded_json(response), dict):
        return None
    content_type = response.headers.get("content-type", "no content type")
    return (
        f"{response.status_code} response whose body is not a JSON object ({content_type}, "
        f"{len(response.content)} bytes): Pylon or a proxy sent a malformed response"
    )


def decoded_json(response: httpx.Response) -> Any:
    """The body of `response` decoded as JSON (None: it is not JSON), decoded once."""
    if _DECODED not in response.extensions:
        response.extensions[_DECODED] = _json_or_none(response)
    return response.extensions[_DECODED]


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    except RecursionError:
        # Deterministic, so not worth a retry; Pylon's envelope is a few levels deep.
        raise PylonResponseError(
            f"{response.request.method} {response.request.url.copy_with(query=None)} answered "
            f"{response.status_code} with JSON nested deeper than Python reads (about "
            f"{sys.getrecursionlimit()} levels): not Pylon's envelope."
        ) from None


def _error_fields(body: Any) -> tuple[list[str], str | None, str | None]:
    if not isinstance(body, dict):
        return [], None, None
    errors = body.get("errors")
    messages = [str(e) for e in errors] if isinstance(errors, list) else []
    request_id, code = body.get("request_id"), body.get("code")
    return (
        messages,
        str(request_id) if request_id is not None else None,
        str(code) if code is not None else None,
    )
