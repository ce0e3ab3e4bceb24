#!/usr/bin/env python3
"""Regenerate the README's pictures of the Dagster UI from a fresh demo.

    apt-get install chromium                    # the browser: Debian's (nothing is downloaded)
    .venv/bin/pip install -e '.[screenshots]'   # Playwright (the test extras include it)
    .venv/bin/python scripts/screenshots.py     # docs/lineage.png, docs/issues-partitions.png

Starts `pylon-dagster demo` (emulator, embedded Postgres, first sync, Dagster's UI) in a fresh
folder on free ports and waits until the UI answers. Then headless Chromium dismisses the "Join
the Dagster community" dialog a fresh Dagster UI opens, opens the global asset lineage with the
issues and knowledge-base groups expanded (the reference and analytics groups stay one box each,
so the picture fits one screen), waits until every asset shows its status and captures it; then the partitions of
`pylon/issues`. Finally it stops the demo as Ctrl-C does, which stops Dagster's webserver and daemon and its
embedded Postgres, and fails if anything it started is still running.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parent.parent
PYLON_DAGSTER = Path(sys.executable).with_name("pylon-dagster")
# A user's own settings would point the demo elsewhere; it must run as on a fresh clone.
SETTINGS_NOT_INHERITED = (
    "PYLON_START_DATE",
    "DAGSTER_HOME",
    "PYLON_API_URL",
    "PYLON_API_TOKEN",
    "PYLON_WAREHOUSE_URL",
    "PYLON_WAREHOUSE_SCHEMA",
)
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UI_TIMEOUT_SECONDS = 900
DEMO_STOP_SECONDS = 120
PAGE_TIMEOUT_MS = 120_000
COMMUNITY_DIALOG_TIMEOUT_MS = 60_000
# The UI's own encoding of expanded groups in the lineage's URL (`?expanded=`).
EXPANDED_GROUPS = "global@global:pylon_issues,global@global:pylon_knowledge_base"
LINEAGE_NAMES = (
    "pylon_reference",
    "issues",
    "issue_messages",
    "issue_threads",
    "knowledge_bases",
    "knowledge_base_articles",
    "knowledge_base_collections",
)
LINEAGE_VIEWPORT = {"width": 1200, "height": 1640}
# The UI's stored preference "Hide navigation", set before the first page draws: the graph is
# laid out once, in the whole width.
NAVIGATION_HIDDEN = "window.localStorage.setItem('dagster-nav-collapsed', 'true')"
PARTITIONS_VIEWPORT = {"width": 1280, "height": 640}


class ScreenshotError(RuntimeError):
    """Something the pictures need did not happen; the message says what and where to look."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=ROOT / "docs", help="where the PNGs go")
    parser.add_argument("--issues", type=int, help="issues the demo's emulator generates")
    parser.add_argument(
        "--workdir", type=Path, help="a new folder for the demo, kept; default: a temporary one"
    )
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args(argv)
    # Ctrl-C or SIGTERM here still stops the demo; and the demo inherits default signal handling
    # even when this script was started with those signals ignored (e.g. in the background).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if args.workdir is not None and args.workdir.exists() and any(args.workdir.iterdir()):
        print(f"Error: --workdir {args.workdir} is not empty: the pictures need a fresh demo")
        return 1
    if not Path(args.chromium).exists():
        print("Error: Debian's chromium is not installed: apt-get install chromium", flush=True)
        return 1
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="pylon-screenshots-"))
    workdir.mkdir(parents=True, exist_ok=True)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with running_demo(workdir, issues=args.issues) as url:
            pictures = capture(url, args.chromium, args.out_dir, workdir / "chromium-profile")
    except ScreenshotError as error:
        print(f"Error: {error}", flush=True)
        return 1
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    for picture in pictures:
        print(f"Wrote {picture}")
    return 0


@contextmanager
def running_demo(workdir: Path, *, issues: int | None) -> Iterator[str]:
    """`pylon-dagster demo` in `workdir` on free ports; yields the UI's URL, then stops it all."""
    for name in ("dagster.yaml", "workspace.yaml"):
        shutil.copy(ROOT / name, workdir / name)
    env = {name: value for name, value in os.environ.items() if name not in SETTINGS_NOT_INHERITED}
    env["PYLON_DAGSTER_STATE"] = str(workdir / ".state")
    port = _free_port()
    command = [str(PYLON_DAGSTER), "demo", "--emulator-port", "0", "--dagster-port", str(port)]
    if issues is not None:
        command += ["--issues", str(issues)]
    log = workdir / "demo.log"
    print(f"Starting the demo in {workdir} (its output: {log})", flush=True)
    started = time.monotonic()
    with log.open("w") as sink:
        # A session of its own: stopping it reaches `dagster dev` and everything that started.
        demo = subprocess.Popen(
            command, cwd=workdir, env=env, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_serving(url, demo, log)
        print(f"The demo's UI answered {time.monotonic() - started:.0f} s after start", flush=True)
        yield url
    finally:
        _stop(demo, env, workdir, log)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_serving(url: str, demo: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + UI_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if demo.poll() is not None:
            raise ScreenshotError(f"the demo exited with code {demo.returncode}; see {log}")
        try:
            if httpx.get(f"{url}/server_info", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise ScreenshotError(f"the demo's UI did not answer within {UI_TIMEOUT_SECONDS} s; see {log}")


def _stop(demo: subprocess.Popen[bytes], env: dict[str, str], workdir: Path, log: Path) -> None:
    """Ctrl-C to the demo's process group, as in its terminal, SIGKILL if it hangs; then its
    Postgres, if still running (a killed demo cannot stop it). Raises if anything was left."""
    postgres_pid = workdir / ".state" / "postgres" / "postmaster.pid"
    if demo.poll() is None:
        os.killpg(demo.pid, signal.SIGINT)
        try:
            demo.wait(timeout=DEMO_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            print(f"The demo did not stop within {DEMO_STOP_SECONDS} s: killing it", flush=True)
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
    left = _group_alive(demo.pid)
    if left:
        os.killpg(demo.pid, signal.SIGKILL)
    if postgres_pid.exists():
        subprocess.run([str(PYLON_DAGSTER), "stop-postgres"], cwd=workdir, env=env, check=False)
    if left or postgres_pid.exists():
        raise ScreenshotError(
            "the demo left "
            + ("processes of its dagster dev" if left else "its embedded Postgres")
            + f" running; see {log}"
        )
    print("Stopped the demo, its dagster dev and its embedded Postgres", flush=True)


def _group_alive(group: int) -> bool:
    """Whether a process of the demo's group (its `dagster dev`, code servers, run workers) runs.

    Zombies do not count: a child that exited after its parent stopped waits to be reaped by the
    machine's init process, which in some containers never does."""
    table = subprocess.run(
        ["ps", "-A", "-o", "pgid=,stat="], capture_output=True, text=True, check=True
    ).stdout
    return any(
        int(pgid) == group and not stat.startswith("Z")
        for pgid, stat in (line.split(None, 1) for line in table.splitlines() if line.strip())
    )


def capture(url: str, chromium: str, out_dir: Path, profile: Path) -> list[Path]:
    """The lineage and the partitions of `pylon/issues`, in headless Chromium with a fresh
    profile; returns the pictures written."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        raise ScreenshotError(
            "Playwright is not installed: .venv/bin/pip install -e '.[screenshots]'"
        ) from None
    lineage, partitions = out_dir / "lineage.png", out_dir / "issues-partitions.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport=LINEAGE_VIEWPORT,
        )
        browser.add_init_script(NAVIGATION_HIDDEN)
        try:
            page = browser.new_page()
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(f"{url}/asset-groups?expanded={EXPANDED_GROUPS}")
            _dismiss_community_dialog(page)
            _wait_for_lineage(page)
            page.screenshot(path=lineage)
            page.set_viewport_size(PARTITIONS_VIEWPORT)
            page.goto(f"{url}/assets/pylon/issues?view=partitions")
            page.get_by_text("Missing (").wait_for()
            _no_dialog(page)
            page.screenshot(path=partitions)
        except Error as error:
            raise ScreenshotError(
                f"the Dagster UI did not show what was expected: {error}"
            ) from None
        finally:
            browser.close()
    return [lineage, partitions]


def _dismiss_community_dialog(page: Page) -> None:
    """A fresh Dagster UI opens "Join the Dagster community" over every page: Skip it."""
    dialog = page.get_by_role("dialog").filter(has_text="Join the Dagster community")
    dialog.wait_for(timeout=COMMUNITY_DIALOG_TIMEOUT_MS)
    dialog.get_by_role("button", name="Skip").click()
    dialog.wait_for(state="detached")


def _wait_for_lineage(page: Page) -> None:
    """Every asset of the picture drawn in view, with its status, and no dialog over them."""
    for name in LINEAGE_NAMES:
        page.get_by_text(name, exact=True).last.wait_for()
    # Each collapsed group says "N assets (fetching statuses)" until its statuses arrive.
    fetching = page.get_by_text("fetching statuses")
    while fetching.count():
        fetching.first.wait_for(state="detached")
    page.get_by_text("% filled").first.wait_for()
    _no_dialog(page)


def _no_dialog(page: Page) -> None:
    if page.get_by_role("dialog").count():
        raise ScreenshotError("a dialog is still open over the page")


if __name__ == "__main__":
    sys.exit(main())
