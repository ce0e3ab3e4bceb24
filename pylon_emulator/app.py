"""`PylonEmulator`: a local Pylon API (a Starlette ASGI app) over synthetic data.

Every request to a Pylon route goes through one pipeline, in this order:

1. counted under its catalogue key (`GET /issues/{id}/messages`);
2. Bearer auth: a missing or wrong token is a 401 `invalid_api_token`;
3. a pending rate-limit storm answers 429;
4. the endpoint's per-minute budget (sliding window, a minute lasting `60 / time_scale` seconds)
   answers 429 with `Retry-After` (decimal seconds when time-scaled);
5. injected latency, then a 5xx if the faults say so;
6. the handler (`routes.py`), whose 4xx carry Pylon's error shape;
7. if the faults say so, the connection is dropped halfway through the body, or the body is
   replaced by a malformed one.

The Python API (`set_faults`, `counters`, mutations, `truth`) has an HTTP twin under `/_emulator/`,
described in `control.py`.
"""

from __future__ import annotations

import asyncio
import hmac
import math
from collections.abc import Mapping
from typing import Any, Literal, get_args

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from pylon_dagster.catalog.endpoints import RATE_LIMITS_PER_MINUTE, ApiVersion, Endpoint
from pylon_emulator import control
from pylon_emulator.counters import Counters, CounterSnapshot
from pylon_emulator.dataset import Dataset, generate
from pylon_emulator.faults import FaultInjector, Faults
from pylon_emulator.hostile import deeply_nested, redirect, trickle, without_ids
from pylon_emulator.ratelimit import RateLimiter
from pylon_emulator.responses import (
    ApiError,
    DroppedResponse,
    api_error_response,
    envelope,
    error_response,
    malformed_response,
    new_request_id,
)
from pylon_emulator.routes import HANDLERS, Call, Handler
from pylon_emulator.store import EmulatorStore

DEMO_TOKEN = "pylon-emulator-token"
"""The emulator's default API token: a public demo value, not a secret."""

Record = dict[str, Any]
RateLimitHeaderStyle = Literal["x-ratelimit", "ietf"]
_HEADER_PREFIX: dict[str, str] = {"x-ratelimit": "X-RateLimit-", "ietf": "RateLimit-"}


class PylonEmulator:
    """The emulated Pylon organization: data, rate limits, faults and counters behind one ASGI app.

    `dataset` defaults to `generate(seed=1)`. `time_scale` speeds up rate-limit time: a "minute"
    lasts `60 / time_scale` seconds. `rate_limit_preset` picks a published limit table and
    `rate_limits` overrides single endpoints, e.g. `{"POST /issues/search": 5}`.
    `rate_limit_headers` adds the budget to every answer of a limited endpoint: `"x-ratelimit"`
    (`X-RateLimit-Limit`, `-Remaining`, `-Reset`) or `"ietf"` (`RateLimit-Limit`, ...); None sends
    none, as Pylon's documentation leaves uncertain.
    """

    def __init__(
        self,
        dataset: Dataset | None = None,
        *,
        token: str = DEMO_TOKEN,
        time_scale: float = 1.0,
        rate_limit_preset: ApiVersion = "2026-04",
        rate_limits: Mapping[str, int] | None = None,
        rate_limit_headers: RateLimitHeaderStyle | None = None,
    ):
        if not token:
            raise ValueError("the emulator needs a non-empty token")
        if time_scale <= 0:
            raise ValueError(f"time_scale must be positive, got {time_scale}")
        self.dataset = dataset if dataset is not None else generate(seed=1)
        self.token = token
        self.time_scale = time_scale
        self.window_seconds = 60.0 / time_scale
        self.rate_limit_preset = rate_limit_preset
        self.rate_limits = {**RATE_LIMITS_PER_MINUTE[rate_limit_preset], **(rate_limits or {})}
        if rate_limit_headers not in (None, *get_args(RateLimitHeaderStyle)):
            raise ValueError(f"unknown rate_limit_headers style {rate_limit_headers!r}")
        self.rate_limit_headers = rate_limit_headers
        self.store = EmulatorStore(self.dataset)
        self._counters = Counters()
        self._faults = FaultInjector()
        self._rate_limiter = RateLimiter(self.rate_limits, self.window_seconds)
        self.app = Starlette(
            routes=[
                *(self._route(endpoint, handler) for endpoint, handler in HANDLERS.items()),
                *control.routes(self),
            ],
            exception_handlers={HTTPException: self._unknown_route},
            middleware=[Middleware(_RoutedAsSent)],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def __repr__(self) -> str:
        return (
            f"PylonEmulator(issues={len(self.dataset.issues)}, time_scale={self.time_scale}, "
            f"rate_limit_preset={self.rate_limit_preset!r})"
        )

    # -- Python control API ----------------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        return self._faults.settings

    def set_faults(self, **changes: Any) -> Faults:
        """Change some fault switches (see `Faults`); the others keep their value."""
        return self._faults.configure(changes)

    def clear_faults(self) -> Faults:
        return self._faults.clear()

    def counters(self) -> CounterSnapshot:
        return self._counters.snapshot()

    def reset_counters(self) -> None:
        self._counters.reset()

    def update_issue(self, issue_id: str, /, **fields: Any) -> Record:
        return self.store.update_issue(issue_id, fields)

    def create_issue(self, **fields: Any) -> Record:
        return self.store.create_issue(fields)

    def add_message(self, issue_id: str, /, **fields: Any) -> Record:
        return self.store.add_message(issue_id, fields)

    def delete_issue(self, issue_id: str) -> Record:
        return self.store.delete_issue(issue_id)

    def restore_issue(self, issue_id: str) -> Record:
        return self.store.restore_issue(issue_id)

    def rate_floor_seconds(self) -> float:
        """The least time the requests counted so far could take within this emulator's limits."""
        return self.counters().rate_floor_seconds(self.rate_limits, self.window_seconds)

    def truth(self, stream: str) -> list[Record] | dict[str, list[Record]]:
        """What the API serves for a stream (see `store.STREAMS`); children keyed by parent id."""
        return self.store.truth(stream)

    # -- request pipeline ------------------------------------------------------------------------

    def _route(self, endpoint: Endpoint, handler: Handler) -> Route:
        async def serve(request: Request) -> Response:
            self._counters.count_request(endpoint.key)
            response = await self._respond(endpoint, handler, request)
            self._add_rate_limit_headers(endpoint, response)
            response.headers.update(self.faults.extra_headers)
            if response.status_code == 429:
                self._counters.count_refused(endpoint.key)
            if isinstance(response, DroppedResponse):
                self._counters.count_dropped()
            else:
                self._counters.count_response(response.status_code)
            return response

        return Route(endpoint.path, serve, methods=[endpoint.method], name=endpoint.key)

    async def _respond(self, endpoint: Endpoint, handler: Handler, request: Request) -> Response:
        if not self._authorized(request):
            return error_response(
                401, "missing or invalid API token in the Authorization header", "invalid_api_token"
            )
        faults = self._faults.draw()
        if faults.settings.redirect_to is not None:
            return redirect(faults.settings.redirect_to)
        if faults.storm:
            return self._rate_limited(
                f"rate limit exceeded for {endpoint.key}", faults.settings.storm_retry_after
            )
        wait = self._rate_limiter.admit(endpoint.key)
        if wait is not None:
            limit = self.rate_limits[endpoint.key]
            return self._rate_limited(
                f"rate limit of {limit} requests per minute exceeded for {endpoint.key}", wait
            )
        if faults.delay_seconds:
            await asyncio.sleep(faults.delay_seconds)
        if faults.server_error_status is not None:
            return error_response(
                faults.server_error_status, "internal error (injected)", "internal_error"
            )
        call = Call(request, await request.body(), self.store, faults.settings, self._counters)
        echo = _echoed_authorization(request, faults.settings)
        try:
            payload = without_ids(handler(call), faults.settings.served_without_id)
        except ApiError as exc:
            if faults.settings.echo_authorization:
                exc = ApiError(exc.status, f"{exc.message} ({echo})", exc.code)
            return api_error_response(exc)
        response = envelope(
            payload,
            f"{new_request_id()} ({echo})" if faults.settings.echo_authorization_in_2xx else None,
        )
        if faults.drop:
            return DroppedResponse(response.body)
        if faults.malformed:
            self._counters.count_malformed()
            return malformed_response(response.body, truncated=faults.truncated)
        if faults.settings.deep_nesting:
            return deeply_nested(faults.settings.deep_nesting)
        if faults.settings.trickle_seconds:
            return trickle(faults.settings.trickle_seconds)
        return response

    def _add_rate_limit_headers(self, endpoint: Endpoint, response: Response) -> None:
        if self.rate_limit_headers is None or isinstance(response, DroppedResponse):
            return
        budget = self._rate_limiter.remaining(endpoint.key)
        if budget is None:
            return
        limit, remaining, reset = budget
        prefix = _HEADER_PREFIX[self.rate_limit_headers]
        response.headers[prefix + "Limit"] = str(limit)
        response.headers[prefix + "Remaining"] = str(remaining)
        response.headers[prefix + "Reset"] = self._format_seconds(reset)

    def _authorized(self, request: Request) -> bool:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credentials.strip().encode(), self.token.encode()
        )

    def _rate_limited(self, message: str, retry_after: float | None) -> Response:
        headers = {} if retry_after is None else {"Retry-After": self._format_seconds(retry_after)}
        return error_response(429, message, "rate_limited", headers)

    def _format_seconds(self, seconds: float) -> str:
        """Whole seconds, rounded up, against real time; milliseconds when time-scaled."""
        if float(seconds).is_integer():
            return str(int(seconds))
        if self.time_scale == 1:
            return str(math.ceil(seconds))
        return f"{math.ceil(seconds * 1000) / 1000:.3f}".rstrip("0").rstrip(".")

    async def _unknown_route(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        code = {404: "not_found", 405: "method_not_allowed"}.get(status, "invalid_request_body")
        detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
        self._counters.count_response(status)
        return error_response(status, f"{detail}: {request.method} {request.url.path}", code)


def _echoed_authorization(request: Request, faults: Faults) -> str:
    """What the echo faults quote: the request's Authorization header, upper-cased if asked."""
    sent = request.headers.get("authorization", "")
    return f"you sent Authorization: {sent.upper() if faults.echo_upper_case else sent}"


class _RoutedAsSent:
    """Routes match the path as the client sent it, before percent-decoding, as a real API's do:
    an id holding an encoded `/` (`%2F`) stays one segment instead of becoming a path of its own.
    Handlers decode each path parameter (`Call.path`)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path = scope.get("raw_path")
        if scope["type"] == "http" and raw_path is not None:
            scope = {**scope, "path": raw_path.decode("latin-1")}
        await self.app(scope, receive, send)
