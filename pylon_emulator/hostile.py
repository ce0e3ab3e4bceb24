"""What a hostile or broken upstream sends instead of Pylon's answers (the fault switches in
`faults.py` pick them): records without ids, JSON nested deeper than any parser goes, a body that
never ends, a redirect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import RedirectResponse, Response, StreamingResponse

Payload = dict[str, Any]


def without_ids(payload: Payload, ids: frozenset[str]) -> Payload:
    """`payload` with the records of `data` whose id is in `ids` stripped of their `id`."""
    data = payload.get("data")
    if not ids or not isinstance(data, list):
        return payload
    stripped = [
        {k: v for k, v in record.items() if k != "id"} if record.get("id") in ids else record
        for record in data
    ]
    return {**payload, "data": stripped}


def deeply_nested(depth: int) -> Response:
    """A 200 whose `data` is an array nested `depth` levels deep, written out as bytes: a JSON
    library would need as many levels of recursion to produce it as to read it."""
    body = b'{"data":' + b"[" * depth + b"]" * depth + b"}"
    return Response(body, media_type="application/json")


def trickle(interval_seconds: float) -> Response:
    """A 200 that sends one space (JSON's leading whitespace) every `interval_seconds` and never
    its body, until the client hangs up: each byte arrives well within a read timeout."""

    async def spaces() -> AsyncIterator[bytes]:
        while True:
            yield b" "
            await asyncio.sleep(interval_seconds)

    return StreamingResponse(spaces(), media_type="application/json")


def redirect(url: str) -> Response:
    """`307 Temporary Redirect` to `url`, as a moved host or an HTTP-to-HTTPS proxy answers."""
    return RedirectResponse(url, status_code=307)
