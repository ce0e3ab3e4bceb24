#!/usr/bin/env python3
"""Time the README's two commands on fresh clones: the baseline's pip install against the lock's.

Each run clones the repository at a commit into a temporary folder and runs
`python3 scripts/dev.py test <one fast test file>` or `python3 scripts/dev.py demo --help` there,
first with empty pip and uv caches (a fresh machine), then again with the caches the first run
filled. It prints the seconds to the end of the install step (the first `+ command` line) and to
the end of the command, and the baseline / candidate ratios. Baseline and candidate alternate so
both see the same machine load. Usage:

    python3 scripts/benchmark_install.py [--baseline REF] [--candidate REF]

The baseline defaults to the commit before uv.lock was added, the candidate to HEAD.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "test": ["test", "pylon_dagster_tests/webapp/test_format_duration.py", "-q"],
    "demo": ["demo", "--help"],
}


@dataclass(frozen=True)
class Timing:
    install: float
    total: float


def git(*arguments: str) -> str:
    return subprocess.run(
        ["git", *arguments], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def before_the_lock() -> str:
    added = git("log", "--diff-filter=A", "--format=%H", "--", "uv.lock").splitlines()
    if not added:
        sys.exit("Error: no commit adds uv.lock here; pass --baseline REF.")
    return f"{added[-1]}~1"


def timed_run(commit: str, command: list[str], caches: Path, folder: Path) -> Timing:
    """Clone `commit` into `folder` and time `python3 scripts/dev.py COMMAND` there."""
    subprocess.run(["git", "clone", "-q", str(ROOT), str(folder)], check=True)
    subprocess.run(
        ["git", "-c", "advice.detachedHead=false", "checkout", "-q", commit], cwd=folder, check=True
    )
    env = {key: value for key, value in os.environ.items() if key != "PYLON_DAGSTER_VENV"}
    env |= {"PIP_CACHE_DIR": str(caches / "pip"), "UV_CACHE_DIR": str(caches / "uv")}
    start = time.monotonic()
    process = subprocess.Popen(
        ["python3", "scripts/dev.py", *command],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    install = None
    output = []
    for line in process.stdout:
        output.append(line)
        if install is None and line.startswith("+ "):
            install = time.monotonic() - start
    if process.wait() != 0 or install is None:
        sys.exit(f"Error: {' '.join(command)} failed at {commit}:\n{''.join(output[-20:])}")
    return Timing(install, time.monotonic() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="commit to compare with (default: before uv.lock)")
    parser.add_argument("--candidate", default="HEAD", help="commit to measure (default: HEAD)")
    arguments = parser.parse_args()
    commits = {
        "baseline": git("rev-parse", arguments.baseline or before_the_lock()),
        "candidate": git("rev-parse", arguments.candidate),
    }
    print(f"baseline {commits['baseline'][:10]}, candidate {commits['candidate'][:10]}")
    print(f"{'command':<6} {'caches':<6} {'side':<10} {'install s':>10} {'total s':>8}")
    with tempfile.TemporaryDirectory(prefix="pylon-install-bench-") as scratch:
        for name, command in COMMANDS.items():
            timings: dict[tuple[str, str], Timing] = {}
            for caches in ("empty", "warm"):
                for side, commit in commits.items():
                    folder = Path(scratch) / f"{name}-{caches}-{side}"
                    cache_folder = Path(scratch) / f"caches-{name}-{side}"
                    timing = timed_run(commit, command, cache_folder, folder)
                    shutil.rmtree(folder)  # a virtualenv is large; the caches stay for "warm"
                    timings[caches, side] = timing
                    print(
                        f"{name:<6} {caches:<6} {side:<10} {timing.install:>10.1f} {timing.total:>8.1f}",
                        flush=True,
                    )
                baseline, candidate = timings[caches, "baseline"], timings[caches, "candidate"]
                print(
                    f"{name:<6} {caches:<6} {'ratio':<10} {baseline.install / candidate.install:>9.1f}x"
                    f" {baseline.total / candidate.total:>7.1f}x",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
