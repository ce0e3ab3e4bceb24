#!/usr/bin/env python3
"""Benchmark the Custom App's sidebar: signed `fetch_data` requests, open-loop, at scale.

For each warehouse size, a synthetic organization (accounts, contacts and issues from
`pylon_emulator`'s generator; beyond 10,000 issues, copies of those under new ids and numbers) is
loaded through the project's loader. Then, for each configuration, `pylon-dagster app` is started
and driven open-loop: request i is sent at t0 + i / rate whether or not earlier ones have answered,
and its latency runs from that scheduled time, so queueing counts. Each request is a sidebar load
as Pylon sends it (signed query with the ids of a random issue, its account and requester).
A request is an error if it does not answer 200 with a sidebar within --timeout seconds.

Configurations (`--configs`), each measured after a warm-up that is not counted (--warmup seconds
at WARMUP_RATE requests a second: connections opened, caches filled, and no backlog left behind
for an app that cannot keep up):

  main     the tables without the declared sidebar indexes, one process: the app before they
           and `--workers` existed (served by this script with the indexes left out of the specs)
  indexes  the declared indexes, one process (`pylon-dagster app`)
  workers  the declared indexes, `pylon-dagster app --workers N` (--workers, default 2)

Prints, per size and configuration: the rows of `issues` Postgres reads per sidebar (its own
counters, unaffected by the machine's load), the app's capacity (answers a second from
CAPACITY_CLIENTS closed-loop clients, measured after the warm-up), then of the open-loop run: requests sent,
answered, errors, throughput (answers a second), p50 and p99 latency; then the targets (p99 < 50
ms, no errors) for the last configuration and its ratios to the first. An app whose capacity is
below the rate falls behind for good: its queue grows until every answer comes after --timeout. Uses PYLON_WAREHOUSE_URL or an embedded Postgres in a temporary state
folder; each size works in a schema of its own, dropped afterwards. The machine's other work shows
in the figures: on a shared machine, run it more than once.

    .venv/bin/python scripts/benchmark_app.py                    # 10,000 and 100,000 issues, 60 s
    .venv/bin/python scripts/benchmark_app.py --sizes 10000 --duration 10 --configs workers
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import math
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from benchmark_loader import warehouse_on  # this folder is on sys.path when run as a script

CONFIGS = ("main", "indexes", "workers")
BASE_ISSUES = 10_000
PAGE = 5_000
WARMUP_RATE = 10.0
CAPACITY_CLIENTS = 16
CAPACITY_SECONDS = 15.0
ROWS_READ_SAMPLE = 100
MAX_IN_FLIGHT = 256
"""Requests awaiting an answer at most. Later ones wait their turn in the client (their latency
still runs from their scheduled time): httpx's pool slows to a crawl with thousands of them."""
TARGETS = 2_000
"""Distinct issues the requests are drawn from."""
STARTUP_SECONDS = 120
STOP_SECONDS = 10
P99_TARGET_MS = 50.0
COMMAND = str(Path(sys.executable).with_name("pylon-dagster"))


@dataclass(frozen=True)
class Config:
    name: str
    workers: int
    indexes: bool

    @property
    def title(self) -> str:
        indexes = "indexes" if self.indexes else "no indexes"
        return f"{self.name} ({indexes}, {self.workers} worker{'s' * (self.workers > 1)})"


@dataclass(frozen=True)
class Figures:
    sent: int
    answered: int
    errors: int
    throughput: float
    p50_ms: float
    p99_ms: float
    """inf when that share of the requests had not answered within the timeout."""
    capacity: float
    """Answers a second in a closed loop (CAPACITY_CLIENTS back to back): what the app can do."""
    rows_read: float
    """Rows of `issues` read per sidebar (`issue_rows_read`): independent of the machine's load."""


# -- data ------------------------------------------------------------------------------------------


class Organization:
    """`size` issues: the generator's first 10,000, then copies of them under new ids and
    numbers (same account, requester, dates and contents), made on demand."""

    def __init__(self, size: int, accounts: int, seed: int = 7):
        from pylon_emulator import generate

        now = datetime.now(UTC).replace(second=0, microsecond=0)
        base = generate(
            seed,
            issues=min(size, BASE_ISSUES),
            now=now,
            days=365,
            accounts=accounts,
            contacts=accounts * 10,
        )
        self.size = size
        self.accounts = base.accounts
        self.contacts = base.contacts
        self._base = base.issues

    def issue(self, i: int) -> dict[str, Any]:
        copy, template = divmod(i, len(self._base))
        issue = self._base[template]
        if copy == 0:
            return issue
        number = issue["number"] + copy * len(self._base)
        return {**issue, "id": f"{issue['id']}-{copy}", "number": number}

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        for start in range(0, self.size, PAGE):
            yield [self.issue(i) for i in range(start, min(start + PAGE, self.size))]


def load(schema: str, organization: Organization) -> None:
    warehouse = warehouse_on(schema)
    warehouse.ensure_tables()
    with warehouse.transaction() as tx:
        tx.load("accounts", [organization.accounts])
        tx.load("contacts", [organization.contacts])
        tx.load("issues", organization.pages())


def set_indexes(schema: str, present: bool) -> None:
    """Drop the declared indexes, or create them again (`ensure_tables()`); then ANALYZE."""
    from pylon_dagster.warehouse.sql import qualified
    from pylon_dagster.warehouse.tables import TABLES

    warehouse = warehouse_on(schema)
    if present:
        warehouse.ensure_tables()
    declared = [
        index
        for spec in TABLES.values()
        for index in spec.all_indexes
        if index.terms in spec.indexes and not present
    ]
    with warehouse.transaction() as tx:
        for index in declared:
            tx.connection.exec_driver_sql(f"DROP INDEX IF EXISTS {qualified(schema, index.name)}")
        for table in ("issues", "accounts", "contacts"):
            tx.connection.exec_driver_sql(f"ANALYZE {qualified(schema, table)}")


# -- the app ---------------------------------------------------------------------------------------


def serve_without_indexes(port: int) -> None:
    """In a subprocess: `pylon-dagster app` (one process) whose specs declare no indexes, so its
    startup (`ensure_tables()`) does not create them: the tables as they were before."""
    from pylon_dagster.cli import main
    from pylon_dagster.warehouse.tables import TABLES

    for name, spec in list(TABLES.items()):
        TABLES[name] = dataclasses.replace(spec, indexes=())
    main(["app", "--port", str(port), "--workers", "1"])


@contextmanager
def running_app(config: Config, schema: str, secret: str, log_path: Path) -> Iterator[str]:
    """The app of `config`, once every worker has started; its URL. Stopped on exit."""
    port = free_port()
    if config.indexes:
        command = [COMMAND, "app", "--port", str(port), "--workers", str(config.workers)]
    else:
        command = [sys.executable, __file__, "--serve-without-indexes", str(port)]
    env = {**os.environ, "PYLON_WAREHOUSE_SCHEMA": schema, "PYLON_APP_SECRET": secret}
    env.pop("PYLON_WEBHOOK_SECRET", None)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while log_path.read_text(errors="replace").count("Application startup complete.") < (
            config.workers
        ):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the app did not start; its log:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:  # requests still queued: the run is over anyway
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the load --------------------------------------------------------------------------------------


def sidebar_ids(issue: dict[str, Any]) -> dict[str, str]:
    """The ids Pylon sends with the sidebar of `issue`."""
    return {
        "issue_id": issue["id"],
        "account_id": (issue["account"] or {}).get("id") or "",
        "requester_id": (issue["requester"] or {}).get("id") or "",
        "requester_email": (issue["requester"] or {}).get("email") or "",
    }


def issue_rows_read(schema: str, organization: Organization) -> float:
    """Rows of `issues` Postgres reads per sidebar, by its own counters for one transaction that
    renders ROWS_READ_SAMPLE sidebars in this process: what the indexes save, on any machine."""
    from sqlalchemy import text

    from pylon_dagster.webapp.queries import SidebarQueries
    from pylon_dagster.webapp.sidebar import FetchRequest, render

    rng = random.Random(3)
    with warehouse_on(schema).transaction() as tx:
        queries = SidebarQueries(tx.connection, schema)
        for _ in range(ROWS_READ_SAMPLE):
            ids = sidebar_ids(organization.issue(rng.randrange(organization.size)))
            request = FetchRequest.from_query({name: [value] for name, value in ids.items()})
            render(queries, request, now=datetime.now(UTC))
        read = tx.connection.execute(
            text(
                "SELECT seq_tup_read + coalesce(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables "
                "WHERE schemaname = :schema AND relname = 'issues'"
            ),
            {"schema": schema},
        ).scalar_one()
    return read / ROWS_READ_SAMPLE


def signed_requests(
    organization: Organization, secret: str, count: int, seed: int = 1
) -> list[tuple[str, dict[str, str]]]:
    """`count` (path with query, headers) of sidebar loads of random issues, signed like Pylon."""
    from pylon_dagster.webapp.app import CUSTOM_APP_PATH
    from pylon_dagster.webapp.signatures import go_query_json, sign

    rng = random.Random(seed)
    picked = [organization.issue(rng.randrange(organization.size)) for _ in range(TARGETS)]
    requests = []
    for issue in picked:
        params = {
            "request_type": "fetch_data",
            "app_id": "app_benchmark",
            "widget_id": "widget_benchmark",
            "organization_id": "org_benchmark",
            **sidebar_ids(issue),
        }
        signature = sign(secret, go_query_json({k: [v] for k, v in params.items()}))
        requests.append(
            (f"{CUSTOM_APP_PATH}?{urlencode(params)}", {"X-Pylon-Signature": signature})
        )
    return [requests[rng.randrange(len(requests))] for _ in range(count)]


async def capacity(url: str, requests: list[tuple[str, dict[str, str]]]) -> float:
    """Answers a second with CAPACITY_CLIENTS clients that each send their next request as soon
    as the last one answered: the app's throughput, whatever the open-loop queue did."""
    loop = asyncio.get_running_loop()
    pending = itertools.cycle(requests)
    answered = 0
    limits = httpx.Limits(max_connections=CAPACITY_CLIENTS)

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def one_client(deadline: float) -> None:
            nonlocal answered
            while loop.time() < deadline:
                path, headers = next(pending)
                with suppress(httpx.HTTPError):
                    # Awaited before `answered` is read: `answered += await ...` would read it
                    # first and lose the other clients' answers meanwhile.
                    response = await client.get(path, headers=headers)
                    answered += response.status_code == 200

        start = loop.time()
        clients = (one_client(start + CAPACITY_SECONDS) for _ in range(CAPACITY_CLIENTS))
        await asyncio.gather(*clients)
        return answered / (loop.time() - start)


async def drive(
    url: str, requests: list[tuple[str, dict[str, str]]], rate: float, timeout: float
) -> Figures:
    """Send `requests` open-loop at `rate` a second; latency from each one's scheduled time."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors = 0
    last_answer = 0.0
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as client:

        async def one(path: str, headers: dict[str, str], scheduled: float) -> None:
            nonlocal errors, last_answer
            try:
                async with asyncio.timeout_at(scheduled + timeout), in_flight:
                    response = await client.get(path, headers=headers)
                ok = response.status_code == 200 and "components" in response.json()
            except (httpx.HTTPError, TimeoutError, ValueError):
                ok = False
            if ok:
                last_answer = loop.time()
                latencies.append(last_answer - scheduled)
            else:
                errors += 1

        tasks = []
        start = loop.time() + 0.1
        for i, (path, headers) in enumerate(requests):
            scheduled = start + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(path, headers, scheduled)))
        await asyncio.gather(*tasks)

    def percentile(share: float) -> float:
        rank = math.ceil(share * len(requests)) - 1
        ordered = sorted(latencies)
        return ordered[rank] * 1000 if rank < len(ordered) else math.inf

    answered = len(latencies)
    elapsed = max(last_answer - start, len(requests) / rate)
    return Figures(
        sent=len(requests),
        answered=answered,
        errors=errors,
        throughput=answered / elapsed,
        p50_ms=percentile(0.50),
        p99_ms=percentile(0.99),
        capacity=math.nan,
        rows_read=math.nan,
    )


# -- main ------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--accounts", type=int, default=200, help="accounts (10 contacts each)")
    parser.add_argument("--configs", nargs="+", choices=CONFIGS, default=list(CONFIGS))
    parser.add_argument("--workers", type=int, default=2, help="workers of the `workers` config")
    parser.add_argument("--rate", type=float, default=200.0, help="requests a second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds not counted")
    parser.add_argument("--timeout", type=float, default=10.0, help="a slower answer is an error")
    parser.add_argument("--serve-without-indexes", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_without_indexes is not None:  # subprocess mode
        serve_without_indexes(args.serve_without_indexes)
    elif os.environ.get("PYLON_WAREHOUSE_URL"):
        benchmark(args)
    else:
        os.environ["PYLON_DAGSTER_STATE"] = tempfile.mkdtemp(prefix="pylon-benchmark-app-")
        try:
            benchmark(args)
        finally:
            from pylon_dagster.state import state_dir
            from pylon_dagster.warehouse.embedded import stop_embedded_server

            stop_embedded_server(state_dir(os.environ))
    return 0


def benchmark(args: argparse.Namespace) -> None:
    configs = [
        Config(name, args.workers if name == "workers" else 1, name != "main")
        for name in args.configs
    ]
    secret = secrets.token_hex(16)
    logs = Path(tempfile.mkdtemp(prefix="pylon-benchmark-app-logs-"))
    results: dict[tuple[int, str], Figures] = {}
    for size in args.sizes:
        schema = f"benchmark_app_{size}"
        engine = warehouse_on(schema).engine
        drop = f"DROP SCHEMA IF EXISTS {schema} CASCADE"
        with engine.begin() as connection:
            connection.exec_driver_sql(drop)
        try:
            print(f"loading {size:,} issues ...", file=sys.stderr, flush=True)
            organization = Organization(size, args.accounts)
            started = time.perf_counter()
            load(schema, organization)
            print(f"  loaded in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            for config in configs:
                set_indexes(schema, config.indexes)
                warmup = signed_requests(organization, secret, int(WARMUP_RATE * args.warmup), 2)
                measured = signed_requests(organization, secret, int(args.rate * args.duration))
                log_path = logs / f"{size}-{config.name}.log"
                print(f"  {config.title}: {args.duration:g} s", file=sys.stderr, flush=True)
                with running_app(config, schema, secret, log_path) as url:
                    asyncio.run(drive(url, warmup, WARMUP_RATE, args.timeout))
                    closed_loop = asyncio.run(capacity(url, warmup))
                    open_loop = asyncio.run(drive(url, measured, args.rate, args.timeout))
                results[size, config.name] = dataclasses.replace(
                    open_loop, capacity=closed_loop, rows_read=issue_rows_read(schema, organization)
                )
        finally:
            with engine.begin() as connection:
                connection.exec_driver_sql(drop)
    print(f"app logs: {logs}", file=sys.stderr)
    report(args, configs, results)


def report(
    args: argparse.Namespace, configs: list[Config], results: dict[tuple[int, str], Figures]
) -> None:
    def ms(value: float) -> str:
        return f"> {args.timeout * 1000:,.0f}" if math.isinf(value) else f"{value:,.1f}"

    print(
        f"\nsigned fetch_data requests, open-loop at {args.rate:g}/s for {args.duration:g} s, "
        f"{args.accounts} accounts; latency from the scheduled send time"
    )
    print(
        f"{'issues':>8}  {'configuration':<32} {'sent':>6} {'answered':>8} {'errors':>6} "
        f"{'answers/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'capacity/s':>10} {'rows/sidebar':>12}"
    )
    for size in args.sizes:
        for config in configs:
            f = results[size, config.name]
            print(
                f"{size:>8,}  {config.title:<32} {f.sent:>6,} {f.answered:>8,} {f.errors:>6,} "
                f"{f.throughput:>9.1f} {ms(f.p50_ms):>9} {ms(f.p99_ms):>9} {f.capacity:>10.1f} "
                f"{f.rows_read:>12,.0f}"
            )
    first, last = configs[0], configs[-1]
    for size in args.sizes:
        f = results[size, last.name]
        met = f.p99_ms < P99_TARGET_MS and f.errors == 0
        print(
            f"{'met   ' if met else 'MISSED'} {size:,} issues, {last.title}: p99 {ms(f.p99_ms)} "
            f"ms, {f.errors} errors (target p99 < {P99_TARGET_MS:g} ms, no errors)"
        )
        if first != last:
            base = results[size, first.name]
            print(
                f"       vs {first.title}: rows read per sidebar {base.rows_read:,.0f} -> "
                f"{f.rows_read:,.0f}, capacity {f.capacity / base.capacity:.1f}x, open-loop "
                f"answers {f.throughput / base.throughput:.1f}x, p50 {ms(base.p50_ms)} -> "
                f"{ms(f.p50_ms)} ms"
            )


if __name__ == "__main__":
    sys.exit(main())
