#!/usr/bin/env python3
"""Statements sent and rows of `issues` read per sidebar: a helper process of `benchmark_app.py`.

Renders the sidebars of the requests on standard input (a JSON list of `fetch_data` query
parameters) in one transaction, with the code of whichever checkout is first on `PYTHONPATH`, and
prints `[statements, rows]` per sidebar. It imports only the web app's query and render functions,
whose signatures every version of the project shares, so `--compare-with` can run it on an older
checkout. The rows come from Postgres's own counters: the machine's load does not change them.

    echo '[{"issue_id": "iss-1"}]' | SIDEBAR_READS_URL=postgresql+psycopg://... \
        python scripts/sidebar_reads.py SCHEMA
"""

from __future__ import annotations

import json
import os
import sys

import sqlalchemy as sa

from pylon_dagster.webapp.queries import SidebarQueries
from pylon_dagster.webapp.sidebar import FetchRequest, render

URL_VAR = "SIDEBAR_READS_URL"
ROWS_READ = sa.text(
    "SELECT seq_tup_read + coalesce(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables "
    "WHERE schemaname = :schema AND relname = 'issues'"
)


def sidebar_reads(url: str, schema: str, requests: list[dict[str, str]]) -> tuple[float, float]:
    statements = 0

    def count(*_: object) -> None:
        nonlocal statements
        statements += 1

    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection, connection.begin():
            queries = SidebarQueries(connection, schema)
            sa.event.listen(connection, "before_cursor_execute", count)
            for ids in requests:
                render(queries, FetchRequest.from_query({name: [v] for name, v in ids.items()}))
            sa.event.remove(connection, "before_cursor_execute", count)
            read = connection.execute(ROWS_READ, {"schema": schema}).scalar_one()
    finally:
        engine.dispose()
    return statements / len(requests), read / len(requests)


if __name__ == "__main__":
    print(json.dumps(sidebar_reads(os.environ[URL_VAR], sys.argv[1], json.load(sys.stdin))))
