"""The command's start-up and exit: what a short `pylon-dagster sync` pays besides its runs."""

import gc

from pylon_dagster.cli import _kept_for_the_process


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
