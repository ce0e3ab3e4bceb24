"""`dagster dev` in a subprocess, driven through Dagster's GraphQL API as the UI drives it.

The process gets a session of its own, so stopping it ends the webserver, the daemon, the code
servers and every run worker they started, whatever happens in the test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGSTER = Path(sys.executable).with_name("dagster")
"""The virtualenv running the tests (PYLON_DAGSTER_VENV may put it outside the repository)."""
STOP_TIMEOUT_SECONDS = 30
POLL_SECONDS = 1.0

T = TypeVar("T")

WORKSPACE_QUERY = """
query Workspace {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message }
        }
      }
    }
  }
}
"""

LAUNCH_BACKFILL = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
  }
}
"""

LAUNCH_RUN = """
mutation LaunchRun($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on UnauthorizedError { message }
  }
}
"""

BACKFILL_QUERY = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      status
      numPartitions
      endTimestamp
      error { message }
    }
    ... on PythonError { message }
  }
}
"""

RUNS_QUERY = """
query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    __typename
    ... on Runs {
      results {
        runId
        jobName
        status
        startTime
        endTime
        assetSelection { path }
        tags { key value }
      }
    }
    ... on PythonError { message }
  }
}
"""

PARTITION_STATS_QUERY = """
query Stats($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    __typename
    ... on AssetNode {
      partitionStats { numMaterialized numPartitions numFailed numMaterializing }
    }
  }
}
"""

TICKS_QUERY = """
query Ticks($selector: SensorSelector!, $after: Float, $before: Float) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor {
      sensorState {
        status
        ticks(limit: 1000, afterTimestamp: $after, beforeTimestamp: $before) {
          status
          timestamp
          skipReason
          runIds
          error { message }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""


class DeadlineExceeded(AssertionError):
    pass


def wait_for(
    probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = POLL_SECONDS
) -> T:
    """Call `probe` until it returns something truthy, and return that; give up at `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise DeadlineExceeded(f"gave up after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


RUN_LOGS_QUERY = """
query RunLogs($runId: ID!) {
  logsForRun(runId: $runId) {
    __typename
    ... on EventConnection { events { ... on MessageEvent { message } } }
    ... on PythonError { message }
  }
}
"""


class DagsterDev:
    """A running `dagster dev`: `graphql()` plus helpers for the queries the tests need."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log_path: Path):
        self.process = process
        self.url = f"http://127.0.0.1:{port}/graphql"
        self.log_path = log_path
        self._http = httpx.Client(timeout=30.0)

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        response = self._http.post(self.url, json={"query": query, "variables": variables or {}})
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    # -- readiness -------------------------------------------------------------------------------

    def location_loaded(self, location: str) -> bool:
        """True once the webserver answers and `location` loaded; raises if it failed to load."""
        if self.process.poll() is not None:
            raise AssertionError(
                f"dagster dev exited with {self.process.returncode}:\n{self.log_tail()}"
            )
        try:
            data = self.graphql(WORKSPACE_QUERY)
        except httpx.TransportError:
            return False  # not listening yet
        except httpx.HTTPStatusError:
            return False  # the webserver answers before its GraphQL app is mounted
        workspace = data["workspaceOrError"]
        entries = {e["name"]: e for e in workspace.get("locationEntries", [])}
        entry = entries.get(location)
        if entry is None or entry["loadStatus"] != "LOADED":
            return False
        loaded = entry["locationOrLoadError"]
        if loaded["__typename"] == "PythonError":
            raise AssertionError(f"code location {location} failed to load: {loaded['message']}")
        return loaded["__typename"] == "RepositoryLocation"

    # -- backfills and runs ------------------------------------------------------------------------

    def launch_asset_backfill(
        self, asset_path: Sequence[str], partitions: Sequence[str], *also: Sequence[str]
    ) -> str:
        """A backfill of `asset_path` (and of the assets `also` names) over `partitions`."""
        params = {
            "partitionNames": list(partitions),
            "assetSelection": [{"path": list(path)} for path in (asset_path, *also)],
            "fromFailure": False,
            "title": "end-to-end test backfill",
        }
        result = self.graphql(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
        assert result["__typename"] == "LaunchBackfillSuccess", result
        return result["backfillId"]

    def launch_job(self, location: str, job_name: str) -> str:
        """Launch a run of a job, as its schedule's tick does; its run id."""
        params = {
            "selector": {
                "repositoryLocationName": location,
                "repositoryName": "__repository__",
                "jobName": job_name,
            },
            "runConfigData": {},
        }
        result = self.graphql(LAUNCH_RUN, {"params": params})["launchRun"]
        assert result["__typename"] == "LaunchRunSuccess", result
        return result["run"]["runId"]

    def backfill(self, backfill_id: str) -> dict[str, Any]:
        result = self.graphql(BACKFILL_QUERY, {"id": backfill_id})["partitionBackfillOrError"]
        assert result["__typename"] == "PartitionBackfill", result
        return result

    def runs(
        self, *, tags: Mapping[str, str] | None = None, statuses: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        run_filter: dict[str, Any] = {}
        if tags:
            run_filter["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        if statuses:
            run_filter["statuses"] = list(statuses)
        result = self.graphql(RUNS_QUERY, {"filter": run_filter})["runsOrError"]
        assert result["__typename"] == "Runs", result
        return [
            {**run, "tags": {tag["key"]: tag["value"] for tag in run["tags"]}}
            for run in result["results"]
        ]

    def run_messages(self, run_id: str) -> list[str]:
        """The messages of a run's event log, as the UI shows them."""
        result = self.graphql(RUN_LOGS_QUERY, {"runId": run_id})["logsForRun"]
        assert result["__typename"] == "EventConnection", result
        return [event["message"] for event in result["events"] if event.get("message")]

    def partition_stats(self, asset_path: Sequence[str]) -> dict[str, int]:
        result = self.graphql(PARTITION_STATS_QUERY, {"key": {"path": list(asset_path)}})
        node = result["assetNodeOrError"]
        assert node["__typename"] == "AssetNode", node
        return node["partitionStats"]

    def sensor_ticks(
        self, location: str, sensor: str, *, after: float | None = None, before: float | None = None
    ) -> list[dict[str, Any]]:
        selector = {
            "repositoryLocationName": location,
            "repositoryName": "__repository__",
            "sensorName": sensor,
        }
        result = self.graphql(TICKS_QUERY, {"selector": selector, "after": after, "before": before})
        found = result["sensorOrError"]
        assert found["__typename"] == "Sensor", found
        return found["sensorState"]["ticks"]

    # -- shutdown ----------------------------------------------------------------------------------

    def stop(self) -> None:
        """End the whole process group: SIGTERM first (dagster dev shuts its children down), then
        SIGKILL for anything still alive in the group (e.g. a run worker mid-run)."""
        self._http.close()
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT_SECONDS)


@contextmanager
def dagster_dev(workdir: Path, env: Mapping[str, str]) -> Iterator[DagsterDev]:
    """Start `dagster dev -w workspace.yaml` in `workdir` (which holds the workspace file); the
    whole process group is terminated on exit, whatever happened."""
    port = free_port()
    log_path = workdir / "dagster-dev.log"
    command = [str(DAGSTER), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    dev = DagsterDev(process, port, log_path)
    try:
        yield dev
    finally:
        dev.stop()
