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

  main     the tables without the declared sidebar indexes, one process (served by this script
           with the indexes left out of the specs)
  indexes  the declared indexes, one process (`pylon-dagster app`)
  workers  the declared indexes, `pylon-dagster app --workers N` (--workers, default 2)
  before   with `--compare-with CHECKOUT`, measured first: `--workers N` served from another
           checkout of the project (e.g. `git archive main pylon_dagster | tar -x -C DIR`), on
           the same data in the same run, so the ratios compare code, not the machine's moods

Prints, per size and configuration, of the open-loop run: requests sent, answered, errors,
throughput (answers a second), p50 and p99 latency and the machine's load average. Then what a
sidebar costs, in units the machine's load hardly changes: CPU time of the app's processes, of
the Postgres server (when it runs on this machine) and of this load generator per request; the
statements and the rows of `issues` Postgres reads per sidebar (counted in one transaction that
renders READS_SAMPLE sidebars with the configuration's code); and the capacity (answers a second
from CAPACITY_CLIENTS closed-loop clients). Last, the targets (p99 < 50 ms, no errors) for the last
configuration and its ratios to the first. An app whose capacity is below the rate falls behind
for good: its queue grows until every answer comes after --timeout.

The load generator runs on the same cores as the app and Postgres, so it is kept cheap: h11 on
keep-alive connections, requests signed before the run. Uses PYLON_WAREHOUSE_URL or an embedded
Postgres in a temporary state folder; each size works in a schema of its own, dropped afterwards.
The machine's other work shows in the latencies: on a shared machine, run it more than once.

    .venv/bin/python scripts/benchmark_app.py                    # 10,000 and 100,000 issues, 60 s
    .venv/bin/python scripts/benchmark_app.py --sizes 10000 --duration 10 --configs workers
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import json
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
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import h11
import psutil
from benchmark_loader import warehouse_on  # this folder is on sys.path when run as a script

CONFIGS = ("main", "indexes", "workers")
BASE_ISSUES = 10_000
PAGE = 5_000
WARMUP_RATE = 10.0
CAPACITY_CLIENTS = 16
CAPACITY_SECONDS = 15.0
READS_SAMPLE = 100
MAX_IN_FLIGHT = 256
"""Requests awaiting an answer at most (one keep-alive connection each). Later ones wait their turn
in the client (their latency still runs from their scheduled time)."""
RECEIVE_BYTES = 65_536
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
    code: Path | None = None
    """A checkout of another version of the project whose app is served (`--compare-with`)."""

    @property
    def title(self) -> str:
        indexes = "indexes" if self.indexes else "no indexes"
        return f"{self.name} ({indexes}, {self.workers} worker{'s' * (self.workers > 1)})"

    def env(self) -> dict[str, str]:
        """Environment additions of the processes that run this configuration's code."""
        return {"PYTHONPATH": str(self.code)} if self.code else {}


@dataclass(frozen=True)
class Figures:
    sent: int
    answered: int
    errors: int
    error_kinds: dict[str, int]
    """Errors by kind: `timeout`, `HTTP <status>`, or the connection's exception."""
    throughput: float
    p50_ms: float
    p99_ms: float
    """inf when that share of the requests had not answered within the timeout."""


@dataclass(frozen=True)
class Costs:
    """What a sidebar costs, in units the machine's other work hardly changes."""

    capacity: float
    """Answers a second in a closed loop (CAPACITY_CLIENTS back to back): what the app can do."""
    app_cpu_ms: float
    """CPU time of the app's processes per answer of the open-loop run."""
    postgres_cpu_ms: float
    """CPU time of the Postgres server's processes per answer (nan if it runs elsewhere)."""
    client_cpu_ms: float
    """CPU time of this load generator per request sent: taken from the same cores."""
    statements: float
    """Statements sent to Postgres per sidebar (`sidebar_reads.py`)."""
    rows_read: float
    """Rows of `issues` read per sidebar (`sidebar_reads.py`)."""
    load_average: float
    """The machine's 1-minute load average at the end of the open-loop run."""


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
    """The organization in the warehouse, and the account summary the sidebar reads."""
    from pylon_dagster.assets.analytics import build_account_summary

    warehouse = warehouse_on(schema)
    warehouse.ensure_tables()
    with warehouse.transaction() as tx:
        tx.load("accounts", [organization.accounts])
        tx.load("contacts", [organization.contacts])
        tx.load("issues", organization.pages())
    build_account_summary(warehouse, datetime.now(UTC))


def set_indexes(schema: str, present: bool) -> None:
    """Drop the declared indexes, or create them again (`ensure_tables()`); then ANALYZE."""
    from pylon_dagster.catalog.tables import TABLES
    from pylon_dagster.warehouse.sql import qualified

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
    startup (`prepare()`) does not create them: the tables as they were before."""
    from pylon_dagster.catalog.tables import TABLES
    from pylon_dagster.cli import main

    for name, spec in list(TABLES.items()):
        TABLES[name] = dataclasses.replace(spec, indexes=())
    main(["app", "--port", str(port), "--workers", "1"])


@contextmanager
def running_app(
    config: Config, schema: str, secret: str, log_path: Path
) -> Iterator[tuple[str, psutil.Process]]:
    """The app of `config`, once every worker has started: its URL and its main process.
    Stopped on exit."""
    port = free_port()
    if config.indexes:
        command = [COMMAND, "app", "--port", str(port), "--workers", str(config.workers)]
    else:
        command = [sys.executable, __file__, "--serve-without-indexes", str(port)]
    env = {
        **os.environ,
        **config.env(),
        "PYLON_WAREHOUSE_SCHEMA": schema,
        "PYLON_APP_SECRET": secret,
    }
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
        yield f"http://127.0.0.1:{port}", psutil.Process(process.pid)
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


def measure_reads(config: Config, schema: str, organization: Organization) -> tuple[float, float]:
    """Statements and rows of `issues` per sidebar of READS_SAMPLE random issues, measured by
    `sidebar_reads.py` in a process that runs the code of `config`."""
    rng = random.Random(3)
    sample = [
        sidebar_ids(organization.issue(rng.randrange(organization.size)))
        for _ in range(READS_SAMPLE)
    ]
    url = warehouse_on(schema).engine.url.render_as_string(hide_password=False)
    result = subprocess.run(
        [sys.executable, Path(__file__).with_name("sidebar_reads.py"), schema],
        input=json.dumps(sample),
        env={**os.environ, **config.env(), "SIDEBAR_READS_URL": url},
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise SystemExit(
            f"sidebar_reads.py failed with the code of {config.title}:\n{result.stderr}"
        )
    statements, rows = json.loads(result.stdout)
    return statements, rows


def cpu_seconds(process: psutil.Process | None) -> float:
    """CPU seconds of `process`, of its children alive, and of those it has waited for."""
    if process is None:
        return math.nan
    times = process.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in process.children(recursive=True):
        with suppress(psutil.Error):  # a child that ended meanwhile
            total += sum(child.cpu_times()[:2])
    return total


def postgres_server(schema: str) -> psutil.Process | None:
    """The Postgres server's main process, when it runs on this machine (its backend's parent)."""
    with warehouse_on(schema).engine.connect() as connection:
        backend = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    with suppress(psutil.Error):
        server = psutil.Process(backend).parent()
        if server is not None and "postgres" in server.name():
            return server
    return None


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


class HttpConnection:
    """One keep-alive HTTP/1.1 connection; h11 writes the requests and parses the answers.

    The load generator shares the machine's cores with the app and Postgres, so it is kept cheap:
    no client library's pool, retries or per-request objects, only the protocol.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self._reader = reader
        self._writer = writer
        self._http = h11.Connection(h11.CLIENT)

    @classmethod
    async def open(cls, host: str, port: int) -> HttpConnection:
        return cls(*await asyncio.open_connection(host, port))

    async def get(self, target: str, headers: list[tuple[str, str]]) -> tuple[int, bytes]:
        """Status and body of `GET target`."""
        request = h11.Request(method="GET", target=target, headers=headers)
        self._writer.write(self._http.send(request) + self._http.send(h11.EndOfMessage()))
        status, body = 0, bytearray()
        while True:
            event = self._http.next_event()
            if event is h11.NEED_DATA:
                self._http.receive_data(await self._reader.read(RECEIVE_BYTES))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                self._http.start_next_cycle()
                return status, bytes(body)
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("the app closed the connection")

    def close(self) -> None:
        self._writer.close()


class HttpClient:
    """Up to `size` keep-alive connections to the app, each carrying one request at a time; a
    request waits for a free one (its latency still runs from its scheduled time)."""

    def __init__(self, url: str, size: int):
        address = urlsplit(url)
        self._host, self._port = address.hostname or "127.0.0.1", address.port or 80
        self._host_header = address.netloc
        self._idle: list[HttpConnection] = []
        self._slots = asyncio.Semaphore(size)

    async def get(self, target: str, headers: dict[str, str]) -> tuple[int, bytes]:
        request_headers = [("Host", self._host_header), *headers.items()]
        async with self._slots:
            if self._idle:
                # The app closes a connection idle for 5 s (uvicorn's keep-alive timeout): then
                # the request is sent again on a new one, as HTTP clients do for a GET.
                with suppress(ConnectionError, h11.ProtocolError):
                    return await self._exchange(self._idle.pop(), target, request_headers)
            connection = await HttpConnection.open(self._host, self._port)
            return await self._exchange(connection, target, request_headers)

    async def _exchange(
        self, connection: HttpConnection, target: str, headers: list[tuple[str, str]]
    ) -> tuple[int, bytes]:
        try:
            answer = await connection.get(target, headers)
        except BaseException:  # a timeout or a failure mid-answer: the connection is unusable
            connection.close()
            raise
        self._idle.append(connection)
        return answer

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()


def is_sidebar(status: int, body: bytes) -> bool:
    return status == 200 and b'"components"' in body


async def capacity(url: str, requests: list[tuple[str, dict[str, str]]]) -> float:
    """Answers a second with CAPACITY_CLIENTS clients that each send their next request as soon
    as the last one answered: the app's throughput, whatever the open-loop queue did."""
    loop = asyncio.get_running_loop()
    pending = itertools.cycle(requests)
    answered = 0
    client = HttpClient(url, CAPACITY_CLIENTS)

    async def one_client(deadline: float) -> None:
        nonlocal answered
        while loop.time() < deadline:
            path, headers = next(pending)
            with suppress(OSError, h11.ProtocolError):
                # Awaited before `answered` is read: `answered += await ...` would read it
                # first and lose the other clients' answers meanwhile.
                answer = await client.get(path, headers)
                answered += is_sidebar(*answer)

    start = loop.time()
    try:
        await asyncio.gather(
            *(one_client(start + CAPACITY_SECONDS) for _ in range(CAPACITY_CLIENTS))
        )
    finally:
        client.close()
    return answered / (loop.time() - start)


async def drive(
    url: str, requests: list[tuple[str, dict[str, str]]], rate: float, timeout: float
) -> Figures:
    """Send `requests` open-loop at `rate` a second; latency from each one's scheduled time."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    last_answer = 0.0
    client = HttpClient(url, MAX_IN_FLIGHT)

    async def one(path: str, headers: dict[str, str], scheduled: float) -> None:
        nonlocal errors, last_answer
        try:
            async with asyncio.timeout_at(scheduled + timeout):
                status, body = await client.get(path, headers)
            error = None if is_sidebar(status, body) else f"HTTP {status}"
        except TimeoutError:
            error = "timeout"
        except (OSError, h11.ProtocolError) as failure:
            error = type(failure).__name__
        if error is None:
            last_answer = loop.time()
            latencies.append(last_answer - scheduled)
        else:
            errors[error] += 1

    tasks = []
    start = loop.time() + 0.1
    try:
        for i, (path, headers) in enumerate(requests):
            scheduled = start + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(path, headers, scheduled)))
        await asyncio.gather(*tasks)
    finally:
        client.close()

    def percentile(share: float) -> float:
        rank = math.ceil(share * len(requests)) - 1
        ordered = sorted(latencies)
        return ordered[rank] * 1000 if rank < len(ordered) else math.inf

    answered = len(latencies)
    elapsed = max(last_answer - start, len(requests) / rate)
    return Figures(
        sent=len(requests),
        answered=answered,
        errors=errors.total(),
        error_kinds=dict(errors),
        throughput=answered / elapsed,
        p50_ms=percentile(0.50),
        p99_ms=percentile(0.99),
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
    parser.add_argument(
        "--compare-with",
        type=Path,
        metavar="CHECKOUT",
        help="also measure the app of another checkout of this project (e.g. a `git worktree` of "
        "main), first, as `before` with --workers workers: the ratios are against it",
    )
    parser.add_argument("--serve-without-indexes", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_without_indexes is not None:  # subprocess modes
        serve_without_indexes(args.serve_without_indexes)
    elif os.environ.get("PYLON_WAREHOUSE_URL"):
        benchmark(args)
    else:
        os.environ["PYLON_DAGSTER_STATE"] = tempfile.mkdtemp(prefix="pylon-benchmark-app-")
        try:
            benchmark(args)
        finally:
            from pylon_dagster.settings import state_dir
            from pylon_dagster.warehouse.embedded import stop_embedded_server

            stop_embedded_server(state_dir(os.environ))
    return 0


def benchmark(args: argparse.Namespace) -> None:
    configs = [
        Config(name, args.workers if name == "workers" else 1, name != "main")
        for name in args.configs
    ]
    if args.compare_with is not None:
        configs.insert(0, Config("before", args.workers, True, args.compare_with.resolve()))
    secret = secrets.token_hex(16)
    logs = Path(tempfile.mkdtemp(prefix="pylon-benchmark-app-logs-"))
    results: dict[tuple[int, str], tuple[Figures, Costs]] = {}
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
            postgres = postgres_server(schema)
            for config in configs:
                set_indexes(schema, config.indexes)
                warmup = signed_requests(organization, secret, int(WARMUP_RATE * args.warmup), 2)
                measured = signed_requests(organization, secret, int(args.rate * args.duration))
                log_path = logs / f"{size}-{config.name}.log"
                print(f"  {config.title}: {args.duration:g} s", file=sys.stderr, flush=True)
                with running_app(config, schema, secret, log_path) as (url, app):
                    asyncio.run(drive(url, warmup, WARMUP_RATE, args.timeout))
                    closed_loop = asyncio.run(capacity(url, warmup))
                    cpu_before = cpu_seconds(app), cpu_seconds(postgres), time.process_time()
                    open_loop = asyncio.run(drive(url, measured, args.rate, args.timeout))
                    cpu_after = cpu_seconds(app), cpu_seconds(postgres), time.process_time()
                    load_average = os.getloadavg()[0]
                app_cpu, postgres_cpu, client_cpu = (
                    (after - before) * 1000
                    for before, after in zip(cpu_before, cpu_after, strict=True)
                )
                answered = max(open_loop.answered, 1)
                statements, rows_read = measure_reads(config, schema, organization)
                results[size, config.name] = (
                    open_loop,
                    Costs(
                        capacity=closed_loop,
                        app_cpu_ms=app_cpu / answered,
                        postgres_cpu_ms=postgres_cpu / answered,
                        client_cpu_ms=client_cpu / open_loop.sent,
                        statements=statements,
                        rows_read=rows_read,
                        load_average=load_average,
                    ),
                )
        finally:
            with engine.begin() as connection:
                connection.exec_driver_sql(drop)
    print(f"app logs: {logs}", file=sys.stderr)
    report(args, configs, results)


def report(
    args: argparse.Namespace,
    configs: list[Config],
    results: dict[tuple[int, str], tuple[Figures, Costs]],
) -> None:
    def ms(value: float) -> str:
        return f"> {args.timeout * 1000:,.0f}" if math.isinf(value) else f"{value:,.1f}"

    print(
        f"\nsigned fetch_data requests, open-loop at {args.rate:g}/s for {args.duration:g} s, "
        f"{args.accounts} accounts; latency from the scheduled send time; {os.cpu_count()} cores "
        "shared by the app, Postgres and this load generator"
    )
    print(
        f"{'issues':>8}  {'configuration':<32} {'sent':>6} {'answered':>8} {'errors':>6} "
        f"{'answers/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'load avg':>8}"
    )
    for size in args.sizes:
        for config in configs:
            f, c = results[size, config.name]
            kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(f.error_kinds.items()))
            print(
                f"{size:>8,}  {config.title:<32} {f.sent:>6,} {f.answered:>8,} {f.errors:>6,} "
                f"{f.throughput:>9.1f} {ms(f.p50_ms):>9} {ms(f.p99_ms):>9} {c.load_average:>8.1f}"
                + (f"  ({kinds})" if kinds else "")
            )
    print(
        "\ncost per sidebar: CPU ms of the app's processes, of Postgres and of the load generator "
        "(per answer of the open-loop run), statements and rows of `issues` read; capacity: "
        f"answers/s with {CAPACITY_CLIENTS} closed-loop clients"
    )
    print(
        f"{'issues':>8}  {'configuration':<32} {'app CPU ms':>10} {'Postgres ms':>11} "
        f"{'client ms':>9} {'statements':>10} {'rows':>6} {'capacity/s':>10}"
    )
    for size in args.sizes:
        for config in configs:
            c = results[size, config.name][1]
            print(
                f"{size:>8,}  {config.title:<32} {c.app_cpu_ms:>10.2f} {c.postgres_cpu_ms:>11.2f} "
                f"{c.client_cpu_ms:>9.2f} {c.statements:>10.1f} {c.rows_read:>6,.0f} "
                f"{c.capacity:>10.1f}"
            )
    first, last = configs[0], configs[-1]
    for size in args.sizes:
        f, c = results[size, last.name]
        met = f.p99_ms < P99_TARGET_MS and f.errors == 0
        print(
            f"{'met   ' if met else 'MISSED'} {size:,} issues, {last.title}: p99 {ms(f.p99_ms)} "
            f"ms, {f.errors} errors (target p99 < {P99_TARGET_MS:g} ms, no errors; load average "
            f"{c.load_average:.1f})"
        )
        if first != last:
            base, base_cost = results[size, first.name]
            print(
                f"       vs {first.title}: app CPU per sidebar "
                f"{c.app_cpu_ms / base_cost.app_cpu_ms:.2f}x, Postgres CPU "
                f"{c.postgres_cpu_ms / base_cost.postgres_cpu_ms:.2f}x, statements "
                f"{base_cost.statements:g} -> {c.statements:g}, rows read "
                f"{base_cost.rows_read:,.0f} -> {c.rows_read:,.0f}, capacity "
                f"{c.capacity / base_cost.capacity:.1f}x, open-loop answers "
                f"{f.throughput / base.throughput:.1f}x, p99 {ms(base.p99_ms)} -> {ms(f.p99_ms)} ms"
            )


if __name__ == "__main__":
    sys.exit(main())
