"""The emulator's control API over HTTP, for tests that run it in another process.

No Bearer token is needed, and these requests are neither counted nor rate limited. Every answer is
`{"data": ...}`; a bad request is a 400 (404 for an unknown issue or stream) with `{"errors": [...]}`.

    GET    /_emulator/config          time_scale, window_seconds, rate_limit_preset, rate_limits,
                                      dataset size and `now`
    GET    /_emulator/counters        requests per endpoint key, responses per status, rate_limited,
                                      dropped, malformed, child_fetches {issue_id: {messages, threads}}
    POST   /_emulator/reset-counters  zero the counters
    GET    /_emulator/faults          the current fault switches
    POST   /_emulator/faults          change some switches: {"server_error_rate": 0.2, ...}; the
                                      others keep their value (names and meaning: `faults.Faults`)
    DELETE /_emulator/faults          every switch back to healthy
    POST   /_emulator/mutations       {"action": "update_issue", "issue_id": ..., "fields": {...}}
                                      {"action": "create_issue", "fields": {...}}
                                      {"action": "add_message", "issue_id": ..., "fields": {...}}
                                      {"action": "delete_issue", "issue_id": ...}
                                      {"action": "restore_issue", "issue_id": ...} (a deleted one)
                                      -> the issue (or message) as it is now (or was, once deleted)
    GET    /_emulator/truth/{stream}  what the API serves for a stream (`store.STREAMS`); children
                                      (issue_messages, issue_threads, knowledge_base_*) keyed by
                                      parent id
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pylon_emulator.counters import CounterSnapshot
from pylon_emulator.dataset import Dataset, Record
from pylon_emulator.faults import Faults
from pylon_emulator.responses import ApiError, api_error_response, json_object_body
from pylon_emulator.store import STREAMS

PREFIX = "/_emulator"
MUTATIONS = ("update_issue", "create_issue", "add_message", "delete_issue", "restore_issue")


class Controlled(Protocol):
    """What the control API drives: `app.PylonEmulator`'s Python control API, as seen from here.

    A protocol rather than the class, so that `app.py` (which mounts these routes) is the only one
    of the two modules to import the other.
    """

    @property
    def dataset(self) -> Dataset: ...
    @property
    def time_scale(self) -> float: ...
    @property
    def window_seconds(self) -> float: ...
    @property
    def rate_limit_preset(self) -> str: ...
    @property
    def rate_limits(self) -> Mapping[str, int]: ...
    @property
    def rate_limit_headers(self) -> str | None: ...
    @property
    def faults(self) -> Faults: ...

    def set_faults(self, **changes: Any) -> Faults: ...
    def clear_faults(self) -> Faults: ...
    def counters(self) -> CounterSnapshot: ...
    def reset_counters(self) -> None: ...
    def update_issue(self, issue_id: str, /, **fields: Any) -> Record: ...
    def create_issue(self, **fields: Any) -> Record: ...
    def add_message(self, issue_id: str, /, **fields: Any) -> Record: ...
    def delete_issue(self, issue_id: str) -> Record: ...
    def restore_issue(self, issue_id: str) -> Record: ...
    def truth(self, stream: str) -> list[Record] | dict[str, list[Record]]: ...


def routes(emulator: Controlled) -> list[Route]:
    """The control routes of one emulator."""

    async def config(_: Request) -> Any:
        return {
            "time_scale": emulator.time_scale,
            "window_seconds": emulator.window_seconds,
            "rate_limit_preset": emulator.rate_limit_preset,
            "rate_limits": emulator.rate_limits,
            "rate_limit_headers": emulator.rate_limit_headers,
            "issues": len(emulator.dataset.issues),
            "now": emulator.dataset.now.isoformat().replace("+00:00", "Z"),
        }

    async def counters(_: Request) -> Any:
        return emulator.counters().to_json()

    async def reset_counters(_: Request) -> Any:
        emulator.reset_counters()
        return emulator.counters().to_json()

    async def faults(_: Request) -> Any:
        return emulator.faults.to_json()

    async def change_faults(request: Request) -> Any:
        return emulator.set_faults(**json_object_body(await request.body())).to_json()

    async def clear_faults(_: Request) -> Any:
        return emulator.clear_faults().to_json()

    async def mutate(request: Request) -> Any:
        body = json_object_body(await request.body())
        action, issue_id, fields = body.get("action"), body.get("issue_id"), body.get("fields", {})
        if action not in MUTATIONS:
            raise ValueError(f"unknown action {action!r}: use {', '.join(MUTATIONS)}")
        if not isinstance(fields, dict):
            raise ValueError("fields must be an object")
        if action == "create_issue":
            return emulator.create_issue(**fields)
        if not isinstance(issue_id, str):
            raise ValueError(f"{action} needs issue_id, a string")
        if action == "delete_issue":
            return emulator.delete_issue(issue_id)
        if action == "restore_issue":
            return emulator.restore_issue(issue_id)
        mutation = emulator.update_issue if action == "update_issue" else emulator.add_message
        return mutation(issue_id, **fields)

    async def truth(request: Request) -> Any:
        stream = request.path_params["stream"]
        if stream not in STREAMS:
            raise LookupError(f"unknown stream {stream!r}; known: {', '.join(STREAMS)}")
        return emulator.truth(stream)

    return [
        _route("/config", "GET", config),
        _route("/counters", "GET", counters),
        _route("/reset-counters", "POST", reset_counters),
        _route("/faults", "GET", faults),
        _route("/faults", "POST", change_faults),
        _route("/faults", "DELETE", clear_faults),
        _route("/mutations", "POST", mutate),
        _route("/truth/{stream}", "GET", truth),
    ]


def _route(path: str, method: str, action: Callable[[Request], Awaitable[Any]]) -> Route:
    """A control route answering `{"data": await action(request)}`, or a 400/404 with `errors`."""

    async def serve(request: Request) -> Response:
        try:
            result = await action(request)
        except ApiError as exc:
            return api_error_response(exc)
        except LookupError as exc:
            return api_error_response(ApiError(404, str(exc.args[0]), "not_found"))
        except (TypeError, ValueError) as exc:
            return api_error_response(ApiError(400, str(exc), "invalid_request_body"))
        return JSONResponse({"data": result})

    return Route(PREFIX + path, serve, methods=[method])
