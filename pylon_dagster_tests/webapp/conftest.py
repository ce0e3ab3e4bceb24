"""The web service on a real socket over a test warehouse, and a client that signs like Pylon."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from pylon_dagster.assets.analytics import build_account_summary
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.webapp.app import CUSTOM_APP_PATH, create_app
from pylon_dagster.webapp.settings import AppSettings
from pylon_dagster.webapp.signatures import go_query_json, sign
from pylon_emulator import Dataset, generate
from pylon_emulator.serving import AppServer

APP_SECRET = "app-secret-for-tests"
HEADER = ("X-App-Token", "header-secret-for-tests")
WEBHOOK_SECRET = "webhook-secret-for-tests"
SETTINGS = AppSettings(app_secret=APP_SECRET, app_header=HEADER, webhook_secret=WEBHOOK_SECRET)


class PylonCaller:
    """Calls the custom-app endpoint the way Pylon does: signed query, custom header."""

    def __init__(self, client: httpx.Client):
        self.client = client

    def get(
        self,
        params: Mapping[str, str],
        *,
        secret: str | None = APP_SECRET,
        header: tuple[str, str] | None = HEADER,
        accept: str | None = None,
    ) -> httpx.Response:
        headers = dict([header]) if header else {}
        if secret is not None:
            headers["X-Pylon-Signature"] = sign(
                secret, go_query_json({k: [v] for k, v in params.items()})
            )
        if accept is not None:
            headers["Accept"] = accept
        return self.client.get(CUSTOM_APP_PATH, params=params, headers=headers)


@pytest.fixture
def now() -> datetime:
    """The service's and the data's clock: the last noon (UTC) before the test started, read
    once per test. A webhook received then falls in that day's `issues` partition only (noon is
    hours from either midnight), the summary's 90-day window is the same as the expectations',
    and it is never after the real clock the sensors read, whatever the date when they run."""
    started = datetime.now(UTC)
    noon = started.replace(hour=12, minute=0, second=0, microsecond=0)
    return noon if noon <= started else noon - timedelta(days=1)


@pytest.fixture
def dataset(now: datetime) -> Dataset:
    """Six accounts over 120 days, so some issues are older than the sidebar's 90-day window."""
    return generate(11, issues=300, now=now, days=120, accounts=6, contacts=40)


def load(warehouse: PostgresWarehouse, dataset: Dataset) -> None:
    """The dataset in the warehouse, and the account summary the sidebar reads, as of the
    dataset's `now`."""
    warehouse.ensure_tables()
    with warehouse.transaction() as tx:
        tx.load("accounts", [dataset.accounts])
        tx.load("contacts", [dataset.contacts])
        tx.load("issues", [dataset.issues])
    build_account_summary(warehouse, dataset.now)


@pytest.fixture
def service_url(warehouse: PostgresWarehouse, now: datetime) -> Iterator[str]:
    app = create_app(warehouse, SETTINGS, clock=lambda: now)
    with AppServer(app, lifespan="on") as server:
        yield server.url


@pytest.fixture
def http(service_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service_url, timeout=30) as client:
        yield client


@pytest.fixture
def pylon(http: httpx.Client) -> PylonCaller:
    return PylonCaller(http)
