"""The command's start-up and exit: what a short `pylon-dagster sync` pays besides its runs."""

import gc
import subprocess
import sys

import click

from pylon_dagster.cli import _kept_for_the_process, main


def test_what_a_command_imports_is_left_out_of_the_collectors_walks() -> None:
    frozen = gc.get_freeze_count()
    try:
        with _kept_for_the_process():
            assert not gc.isenabled()  # no collection while the modules are imported
            modules = [{"module": n} for n in range(1000)]
        assert gc.get_freeze_count() >= frozen + len(modules)
        assert gc.isenabled()
    finally:
        gc.unfreeze()


def test_a_collector_switched_off_stays_off() -> None:
    gc.disable()
    try:
        with _kept_for_the_process():
            pass
        assert not gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()


def test_the_web_service_and_the_emulator_load_only_for_their_commands() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, pylon_dagster.cli; "
            "print(sorted({'uvicorn', 'pylon_emulator', 'pylon_dagster.webapp'} & set(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"
    with click.Context(main) as ctx:
        assert {"app", "emulator", "sync"} <= set(main.list_commands(ctx))
        app = main.get_command(ctx, "app")
    assert app is not None and app.name == "app"
