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
                                      -> the issue (or message) as it is now (or was, once deleted)
    GET    /_emulator/truth/{stream}  what the API serves for a stream (`store.STREAMS`); children
                                      (issue_messages, issue_threads, knowledge_base_*) keyed by
                                      parent id
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pylon_dagster.emulator.responses import ApiError, api_error_response, json_object_body
from pylon_dagster.emulator.store import STREAMS

if TYPE_CHECKING:
    from pylon_dagster.emulator.app import PylonEmulator

PREFIX = "/_emulator"
MUTATIONS = ("update_issue", "create_issue", "add_message", "delete_issue")


def routes(emulator: PylonEmulator) -> list[Route]:
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
