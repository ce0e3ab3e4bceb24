"""`scripts/screenshots.py`: a fresh demo, its UI in headless Chromium, two pictures that are not
blank, and nothing left running afterwards."""

from __future__ import annotations

import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "screenshots.py"
# A screenshot of a UI has thousands of colours (text anti-aliasing); a blank page has one or two.
FEWEST_COLOURS = 256


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="Debian's chromium is not installed: apt-get install chromium",
)
def test_the_script_captures_the_lineage_and_partitions_then_stops_the_demo(tmp_path: Path):
    workdir, pictures = tmp_path / "demo", tmp_path / "pictures"
    script = runpy.run_path(str(SCRIPT))  # its settings; `main` runs only in the subprocess
    sizes = {
        "lineage.png": script["LINEAGE_VIEWPORT"],
        "issues-partitions.png": script["PARTITIONS_VIEWPORT"],
    }

    result = subprocess.run(
        [
            sys.executable, str(SCRIPT), "--out-dir", str(pictures), "--workdir", str(workdir),
            "--issues", "120",
        ],
        capture_output=True,
        text=True,
        timeout=1700,
    )  # fmt: skip

    log = workdir / "demo.log"
    assert result.returncode == 0, (
        result.stdout + result.stderr + (log.read_text()[-4000:] if log.exists() else "")
    )
    for name, size in sizes.items():
        with Image.open(pictures / name) as picture:
            assert picture.format == "PNG"
            assert picture.size == (size["width"], size["height"])
            colours = picture.convert("RGB").getcolors(maxcolors=picture.width * picture.height)
        assert len(colours) >= FEWEST_COLOURS, f"{name} looks blank: {len(colours)} colours"
    assert not (workdir / ".state" / "postgres" / "postmaster.pid").exists()
    assert _processes_naming(workdir) == []


def _processes_naming(folder: Path) -> list[str]:
    """Processes whose command line or environment names `folder`: the demo's `dagster dev` and
    run workers (its state folder), its Postgres (`-D`) and Chromium (its profile)."""
    found = []
    for process in psutil.process_iter():
        try:
            command = " ".join(process.cmdline())
            environment = " ".join(process.environ().values())
        except psutil.Error:
            continue
        if str(folder) in command or str(folder) in environment:
            found.append(f"{process.pid}: {command[:200]}")
    return found


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--chromium", "/nonexistent/chromium"], "Error: Debian's chromium is not installed"),
        (["--workdir", "{used}"], "is not empty: the pictures need a fresh demo"),
    ],
    ids=["no_chromium", "used_workdir"],
)
def test_the_script_refuses_what_it_cannot_use_in_one_line(
    tmp_path: Path, arguments: list[str], message: str
):
    used = tmp_path / "used"
    used.mkdir()
    (used / "demo.log").write_text("an earlier demo")

    result = subprocess.run(
        [sys.executable, str(SCRIPT), *(a.format(used=used) for a in arguments)],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert result.stdout.count("\n") == 1 and message in result.stdout, result.stdout
    assert result.stderr == ""
    assert (used / "demo.log").read_text() == "an earlier demo"
