#!/usr/bin/env python3
"""Benchmark the warehouse loader against `DataFrame.to_sql` and a bare COPY.

The same synthetic message-like rows (HTML bodies, nested JSON) are loaded three ways, each in its
own subprocess so that peak RSS is per method:

- loader: `PostgresWarehouse.transaction().load("issue_messages", ...)`, batches streamed;
- to_sql: one DataFrame of the flattened rows, `to_sql(method="multi", chunksize=1000)`;
- copy:   a bare `COPY` of (id, issue_id, raw) into a table with a primary key.

Timing covers generating the rows and loading them, up to the commit. Uses PYLON_WAREHOUSE_URL or
the embedded server; each method works in a schema of its own, dropped afterwards. Each method
runs --repeat times (interleaved) and its best run is reported.

    .venv/bin/python scripts/benchmark_loader.py                          # 200,000 rows, 3 rounds
    .venv/bin/python scripts/benchmark_loader.py --rows 20000 --repeat 1  # quick
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pylon_dagster.settings import SCHEMA_VAR, Settings
from pylon_dagster.warehouse import ChildBatch, PostgresWarehouse

METHODS = ("loader", "to_sql", "copy")
MESSAGES_PER_ISSUE = 20
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
PARAGRAPH = (
    "<p>Hi team, the export to <b>{account}</b> failed again with error <code>E{code}</code>. "
    "Steps: open the dashboard &rarr; click <a href='https://example.com/r/{code}'>report</a> "
    "&amp; wait. Attached the logs &mdash; thanks! Ünïcödé ✓ 日本語</p>"
)


def _template(t: int) -> dict[str, Any]:
    """One of TEMPLATES message shapes, as `GET /issues/{id}/messages` returns, ~1.5 KB of HTML."""
    private = t % 7 == 0
    body = "".join(PARAGRAPH.format(account=f"acct-{t % 97}", code=t * 31 + n) for n in range(6))
    return {
        "id": None,
        "message_html": f"<div>{body}</div>",
        "timestamp": None,
        "is_private": private,
        "source": "email" if t % 3 else "slack",
        "thread_id": f"thr-{t // 40}" if private else None,
        "author": {
            "name": f"Person {t}",
            "avatar_url": f"https://avatars.example.com/{t}.png",
            "contact": None if private else {"id": f"ct-{t}", "email": f"c{t}@example.com"},
            "user": {"id": f"us-{t % 50}", "email": f"agent{t % 50}@example.com"}
            if private
            else None,
        },
        "email_info": {
            "from_email": f"c{t}@example.com",
            "to_emails": ["support@example.com"],
            "cc_emails": [f"cc{t % 13}@example.com"],
            "bcc_emails": [],
            "message_id": f"<{t}@mail.example.com>",
        },
        "file_urls": [f"https://files.example.com/{t}/log.txt"] if t % 5 == 0 else [],
        "author_unverified": False,
    }


# Rows are made from a pool of shapes, so that generating them costs next to nothing and the
# figures measure loading, while memory stays flat (no method gets the rows prepared in advance).
TEMPLATES = [_template(t) for t in range(1000)]


def message(i: int) -> dict[str, Any]:
    timestamp = (EPOCH + timedelta(seconds=37 * i)).isoformat().replace("+00:00", "Z")
    return {**TEMPLATES[i % len(TEMPLATES)], "id": f"msg-{i:09d}", "timestamp": timestamp}


def warehouse_on(schema: str) -> PostgresWarehouse:
    """The warehouse the environment's settings name, on the schema `schema`."""
    return PostgresWarehouse.from_settings(Settings.from_env({**os.environ, SCHEMA_VAR: schema}))


def drop_schema(schema: str) -> None:
    """Drop the schema `schema` of that warehouse, with everything in it (a benchmark's teardown)."""
    with warehouse_on(schema).engine.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def issue_id(i: int) -> str:
    return f"iss-{i // MESSAGES_PER_ISSUE:07d}"


def run_loader(rows: int, schema: str) -> None:
    def batches() -> Iterator[ChildBatch]:
        for start in range(0, rows, MESSAGES_PER_ISSUE):
            stop = min(start + MESSAGES_PER_ISSUE, rows)
            yield ChildBatch(issue_id(start), [message(i) for i in range(start, stop)])

    warehouse = warehouse_on(schema)
    warehouse.ensure_tables()
    started = time.perf_counter()
    with warehouse.transaction() as tx:
        result = tx.load("issue_messages", batches())
    seconds = time.perf_counter() - started
    assert result.inserted == rows, result
    report(rows, seconds)


def run_to_sql(rows: int, schema: str) -> None:
    import pandas as pd
    from sqlalchemy.dialects import postgresql

    engine = warehouse_on(schema).engine
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    started = time.perf_counter()
    records = []
    for i in range(rows):
        m = message(i)
        author = m["author"]
        records.append(
            {
                "id": m["id"],
                "issue_id": issue_id(i),
                "timestamp": pd.Timestamp(m["timestamp"]),
                "is_private": m["is_private"],
                "source": m["source"],
                "thread_id": m["thread_id"],
                "author_name": author["name"],
                "author_contact_id": (author["contact"] or {}).get("id"),
                "author_contact_email": (author["contact"] or {}).get("email"),
                "author_user_id": (author["user"] or {}).get("id"),
                "author_user_email": (author["user"] or {}).get("email"),
                "from_email": m["email_info"]["from_email"],
                "raw": m,
            }
        )
    frame = pd.DataFrame.from_records(records)
    del records
    with engine.begin() as connection:
        frame.to_sql(
            "issue_messages",
            connection,
            schema=schema,
            index=False,
            method="multi",
            chunksize=1000,
            dtype={"raw": postgresql.JSONB, "timestamp": postgresql.TIMESTAMP(timezone=True)},
        )
    report(rows, time.perf_counter() - started)


def run_copy(rows: int, schema: str) -> None:
    engine = warehouse_on(schema).engine
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
        connection.exec_driver_sql(
            f"CREATE TABLE {schema}.issue_messages "
            "(id text PRIMARY KEY, issue_id text NOT NULL, raw jsonb NOT NULL)"
        )
    started = time.perf_counter()
    with engine.begin() as connection:
        cursor = connection.connection.driver_connection.cursor()
        with (
            cursor,
            cursor.copy(f"COPY {schema}.issue_messages (id, issue_id, raw) FROM STDIN") as copy,
        ):
            for i in range(rows):
                m = message(i)
                copy.write_row((m["id"], issue_id(i), json.dumps(m, ensure_ascii=False)))
    report(rows, time.perf_counter() - started)


RUNNERS: dict[str, Callable[[int, str], None]] = {
    "loader": run_loader,
    "to_sql": run_to_sql,
    "copy": run_copy,
}


def report(rows: int, seconds: float) -> None:
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_rss_mib": peak_kib / 1024}))


def run_one(method: str, rows: int) -> None:
    """In a subprocess: load with one method, print its figures as JSON, drop its schema."""
    schema = f"benchmark_{method}"
    drop_schema(schema)
    try:
        RUNNERS[method](rows, schema)
    finally:
        drop_schema(schema)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best run counts")
    parser.add_argument("--only", choices=METHODS, help=argparse.SUPPRESS)  # subprocess mode
    args = parser.parse_args()
    if args.only:
        run_one(args.only, args.rows)
        return 0

    # Rounds interleave the methods and each keeps its best run: a burst of load from elsewhere on
    # the machine then slows one run, not one method.
    figures: dict[str, dict[str, float]] = {}
    for round_number in range(1, args.repeat + 1):
        for method in args.methods:
            print(
                f"round {round_number}: {method}, {args.rows:,} rows", file=sys.stderr, flush=True
            )
            done = subprocess.run(
                [sys.executable, __file__, "--only", method, "--rows", str(args.rows)],
                check=True,
                stdout=subprocess.PIPE,
                text=True,
            )
            run = json.loads(done.stdout.strip().splitlines()[-1])
            if method not in figures or run["seconds"] < figures[method]["seconds"]:
                figures[method] = run

    print(f"\nbest of {args.repeat} run(s) per method")
    print(f"{'method':<8} {'rows':>9} {'seconds':>9} {'rows/s':>10} {'peak RSS':>11}")
    for method, f in figures.items():
        rate = f["rows"] / f["seconds"]
        print(
            f"{method:<8} {f['rows']:>9,} {f['seconds']:>9.2f} {rate:>10,.0f} "
            f"{f['peak_rss_mib']:>7.0f} MiB"
        )
    if "loader" in figures:
        peak = figures["loader"]["peak_rss_mib"]
        checks = [(f"loader peak RSS {peak:.0f} MiB (target < 1024 MiB)", peak < 1024)]
        speed = {m: f["rows"] / f["seconds"] for m, f in figures.items()}
        for other, target in (("to_sql", 10.0), ("copy", 0.5)):
            if other in speed:
                ratio = speed["loader"] / speed[other]
                checks.append(
                    (f"loader / {other}: {ratio:.2f}x (target >= {target}x)", ratio >= target)
                )
        for text, met in checks:
            print(f"{'met   ' if met else 'MISSED'} {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
