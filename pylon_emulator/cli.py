"""`pylon-dagster emulator`: serve the Pylon API emulator until Ctrl-C."""

from __future__ import annotations

import logging
from typing import get_args

import click

from pylon_dagster.catalog.endpoints import LATEST_API_VERSION, ApiVersion
from pylon_emulator.app import DEMO_TOKEN, PylonEmulator, RateLimitHeaderStyle
from pylon_emulator.dataset import generate
from pylon_emulator.server import EmulatorServer


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8765, show_default=True, help="Port to listen on (0: any free).")
@click.option("--seed", default=1, show_default=True, help="Seed of the synthetic data.")
@click.option("--issues", default=2000, show_default=True, help="Number of issues to generate.")
@click.option(
    "--days", default=90, show_default=True, help="Issues are spread over this many past days."
)
@click.option(
    "--time-scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Speed up rate-limit time: a minute lasts 60/time-scale seconds.",
)
@click.option(
    "--token",
    default=DEMO_TOKEN,
    show_default=True,
    help="Bearer token the emulator accepts (a demo value, not a secret).",
)
@click.option(
    "--rate-limits",
    type=click.Choice(get_args(ApiVersion)),
    default=LATEST_API_VERSION,
    show_default=True,
    help="Which published per-minute limits to enforce.",
)
@click.option(
    "--rate-limit-headers",
    type=click.Choice(get_args(RateLimitHeaderStyle)),
    default=None,
    help="Announce each endpoint's budget in X-RateLimit-* or IETF RateLimit-* headers.",
)
def emulator(
    host: str,
    port: int,
    seed: int,
    issues: int,
    days: int,
    time_scale: float,
    token: str,
    rate_limits: ApiVersion,
    rate_limit_headers: RateLimitHeaderStyle | None,
) -> None:
    """Serve a local Pylon API with synthetic data, for the demo and for tests."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    pylon = PylonEmulator(
        generate(seed, issues, days=days),
        token=token,
        time_scale=time_scale,
        rate_limit_preset=rate_limits,
        rate_limit_headers=rate_limit_headers,
    )
    server = EmulatorServer(pylon, host=host, port=port)
    click.echo(
        f"Pylon emulator serving {issues} issues (seed {seed}) at {server.url}\n"
        f"Rate limits {rate_limits}; a rate-limit minute lasts {pylon.window_seconds}s.\n"
        "Point the pipeline at it with:\n"
        f"  export PYLON_API_URL={server.url}\n"
        f"  export PYLON_API_TOKEN={token}\n"
        # Exact, not rounded: a client whose minute is shorter than the server's earns 429s.
        f"  export PYLON_RATE_LIMIT_WINDOW_SECONDS={pylon.window_seconds}\n"
        f"Control API (counters, faults, mutations, truth): {server.url}/_emulator/\n"
        "Press Ctrl-C to stop."
    )
    server.serve_forever()
