"""The custom app's one-time handshake: answer the `code` Pylon sent, as JSON or as plain text."""

from __future__ import annotations

from starlette.responses import JSONResponse, PlainTextResponse, Response


def media_quality(accept: str, media_type: str) -> float:
    """The q-value an `Accept` header gives `media_type` (most specific range wins, RFC 9110)."""
    main_type = media_type.split("/")[0]
    best: tuple[int, float] = (-1, 0.0)
    for media_range in accept.split(","):
        name, *params = (part.strip() for part in media_range.split(";"))
        name = name.lower()
        specificity = {media_type: 2, f"{main_type}/*": 1, "*/*": 0}.get(name)
        if specificity is None or specificity <= best[0]:
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        best = (specificity, quality)
    return best[1]


def prefers_plain_text(accept: str | None) -> bool:
    """Plain text only when asked for more strongly than JSON; JSON is the default."""
    if not accept:
        return False
    return media_quality(accept, "text/plain") > media_quality(accept, "application/json")


def handshake_response(code: str, accept: str | None) -> Response:
    if prefers_plain_text(accept):
        return PlainTextResponse(code)
    return JSONResponse({"code": code})
