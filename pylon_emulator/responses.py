"""What the emulator sends back: Pylon's envelope and error shape, and the deliberately broken bodies."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send


class ApiError(Exception):
    """A request Pylon would refuse: becomes `{"errors": [message], "request_id", "code"}`."""

    def __init__(self, status: int, message: str, code: str):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def new_request_id() -> str:
    return str(uuid.uuid4())


class _JSONResponse(JSONResponse):
    """JSON as UTF-8; text UTF-8 cannot carry (a lone surrogate) goes out `\\uXXXX`-escaped.

    A JSON string may hold an unpaired surrogate escape such as `"\\ud800"`, and APIs do send
    them; Starlette's own rendering would crash on one instead of serving it.
    """

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(
                content, ensure_ascii=True, allow_nan=False, indent=None, separators=(",", ":")
            ).encode("ascii")


def envelope(payload: Mapping[str, Any], request_id: str | None = None) -> JSONResponse:
    """A 200 with `payload` (`data`, `pagination` when paginated) and `request_id` (a fresh one
    by default)."""
    return _JSONResponse({**payload, "request_id": request_id or new_request_id()})


def error_response(
    status: int, message: str, code: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = {"errors": [message], "request_id": new_request_id(), "code": code}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def api_error_response(error: ApiError) -> JSONResponse:
    return error_response(error.status, error.message, error.code)


class DroppedResponse(Response):
    """Announces a JSON body, sends a third of it, then ends without completing the response.

    The server closes the connection when the application returns mid-response, so the client sees
    a transport error (a truncated body), as when a proxy or the network drops the connection.
    """

    def __init__(self, body: bytes):
        super().__init__(body, media_type="application/json")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        partial = self.body[: max(1, len(self.body) // 3)]
        await send({"type": "http.response.body", "body": partial, "more_body": True})


def malformed_response(body: bytes, *, truncated: bool) -> Response:
    """A 200 that is not a JSON envelope: cut-off JSON, or a proxy's HTML error page."""
    if truncated:
        return Response(body[: len(body) // 2], media_type="application/json")
    page = "<html><body><h1>502 Bad Gateway</h1><p>upstream hiccup</p></body></html>"
    return Response(page, media_type="text/html")


def json_object_body(raw: bytes) -> dict[str, Any]:
    """A request's JSON object body (an empty body is `{}`); anything else is a 400."""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "request body is not valid JSON", "invalid_request_body") from None
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object", "invalid_request_body")
    return body
