"""The ASGI service Pylon calls: the issue-sidebar custom app and the webhook receiver.

Every request must carry Pylon's signature (and the custom header, when one is configured);
anything else is answered 401 before the warehouse is touched.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from sqlalchemy import exc as sa_exc
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pylon_dagster.settings import Settings
from pylon_dagster.warehouse import PostgresWarehouse, WarehouseUnavailableError
from pylon_dagster.warehouse.engine import database_error
from pylon_dagster.warehouse.webhook_events import WebhookEventStore
from pylon_dagster.webapp.handshake import handshake_response
from pylon_dagster.webapp.reader import SidebarReader
from pylon_dagster.webapp.settings import AppSettings
from pylon_dagster.webapp.sidebar import BadParameter, FetchRequest
from pylon_dagster.webapp.signatures import (
    go_query_json,
    parse_query,
    secrets_equal,
    signature_matches,
)

log = logging.getLogger(__name__)

CUSTOM_APP_PATH = "/pylon/custom-app"
WEBHOOK_PATH = "/pylon/webhooks"
SIGNATURE_HEADER = "x-pylon-signature"
# Pylon's docs name both headers for webhooks; either is accepted.
WEBHOOK_SIGNATURE_HEADERS = (SIGNATURE_HEADER, "pylon-webhook-signature")
MAX_WEBHOOK_BYTES = 1024 * 1024

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def unauthorized() -> Response:
    return JSONResponse({"error": "missing or invalid signature"}, status_code=401)


def warehouse_failed(error: WarehouseUnavailableError | sa_exc.DBAPIError) -> Response:
    """503, and one log line saying why: never the request's parameters (requester e-mails),
    which a driver's traceback would show."""
    reason = database_error(error) if isinstance(error, sa_exc.DBAPIError) else str(error)
    log.error("sidebar not served: %s", reason)
    return JSONResponse({"error": "the warehouse is unavailable; try again"}, status_code=503)


class CustomApp:
    """`GET /pylon/custom-app`: the handshake (`request_type=verify`) and the sidebar
    (`request_type=fetch_data`)."""

    def __init__(
        self,
        reader: SidebarReader,
        secret: str,
        header: tuple[str, str] | None,
    ):
        self._reader = reader
        self._secret = secret
        self._header = header

    def authentic(self, request: Request, params: dict[str, list[str]]) -> bool:
        signed = signature_matches(
            self._secret, go_query_json(params), request.headers.get(SIGNATURE_HEADER)
        )
        if self._header is None:
            return signed
        name, value = self._header
        # Both checks always run, so timing does not tell which one failed.
        header_ok = secrets_equal(value, request.headers.get(name))
        return signed and header_ok

    def handle(self, request: Request) -> Response:
        """Synchronous on purpose: Starlette runs it in a worker thread, beside the event loop."""
        params = parse_query(request.scope["query_string"])
        if not self.authentic(request, params):
            return unauthorized()
        request_type = (params.get("request_type") or [""])[0]
        if request_type == "verify":
            code = (params.get("code") or [""])[0]
            if not code:
                return JSONResponse({"error": "code is required"}, status_code=400)
            return handshake_response(code, request.headers.get("accept"))
        if request_type == "fetch_data":
            try:
                fetch = FetchRequest.from_query(params)
            except BadParameter as error:
                return JSONResponse({"error": str(error)}, status_code=400)
            try:
                payload = self._reader.render(fetch)
            except (WarehouseUnavailableError, sa_exc.DBAPIError) as error:
                return warehouse_failed(error)
            return JSONResponse(payload.to_json())
        return JSONResponse({"error": "unknown request_type"}, status_code=400)


class WebhookReceiver:
    """`POST /pylon/webhooks`: verify the body's signature, store the event, answer 200."""

    def __init__(self, store: WebhookEventStore, secret: str, clock: Clock):
        self._store = store
        self._secret = secret
        self._clock = clock

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        signatures = [request.headers.get(name) for name in WEBHOOK_SIGNATURE_HEADERS]
        if not any(signature_matches(self._secret, body, given) for given in signatures):
            return unauthorized()
        stored = await run_in_threadpool(self._store.record, body, self._clock())
        log.info("webhook event %s", "stored" if stored else "already stored (redelivery)")
        return JSONResponse({"stored": stored})


def create_app(
    warehouse: PostgresWarehouse, settings: AppSettings, *, clock: Clock = utc_now
) -> Starlette:
    """The service. An endpoint whose secret is not configured is not served (404).

    `clock` is when "now" is: a webhook's receipt time.
    """
    store = WebhookEventStore(warehouse.engine, warehouse.schema_name)
    reader = SidebarReader(warehouse)
    routes = []
    if settings.app_secret is not None:
        routes.append(
            Route(
                CUSTOM_APP_PATH,
                CustomApp(reader, settings.app_secret, settings.app_header).handle,
                methods=["GET"],
            )
        )
    if settings.webhook_secret is not None:
        routes.append(
            Route(
                WEBHOOK_PATH,
                WebhookReceiver(store, settings.webhook_secret, clock).handle,
                methods=["POST"],
                max_body_size=MAX_WEBHOOK_BYTES,
            )
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(warehouse.prepare)
        yield
        reader.close()

    return Starlette(routes=routes, lifespan=lifespan)


def app_from_env() -> Starlette:
    """The service as `pylon-dagster app` runs it, from the environment's settings and warehouse.

    uvicorn calls this in every worker process (`factory=True`), so each worker builds its own app
    and, on its first request, its own engine and connection pool.
    """
    warehouse = PostgresWarehouse.from_settings(Settings.from_env(os.environ))
    return create_app(warehouse, AppSettings.from_env(os.environ))
