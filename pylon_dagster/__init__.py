"""pylon-dagster: Pylon support data into Postgres with Dagster, served back into Pylon.

`pylon_dagster.PylonComponent` (what a `defs.yaml` names) and `build_pylon_definitions` are
imported on first use, so importing a submodule does not load the whole asset graph.
"""

from typing import Any

__all__ = ["PylonComponent", "build_pylon_definitions"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from pylon_dagster import component

        return getattr(component, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    # `dg` looks for component types in `dir(pylon_dagster)`.
    return sorted([*globals(), *__all__])
