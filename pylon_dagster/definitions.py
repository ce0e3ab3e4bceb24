"""The Dagster code location: `dagster dev -m pylon_dagster.definitions` or via workspace.yaml.

`defs` is loaded lazily (`@dg.definitions`): importing this module (or any of the project's)
reads no setting, starts no server, connects to nothing and writes nothing. Calling `defs()` reads
the environment once into a `PylonComponent` (a mistake is one `ConfigError` before anything
runs), which builds the assets, schedules, sensors and resources: the same code path as a `dg`
project's `defs.yaml`.
"""

import os

import dagster as dg

from pylon_dagster.component import code_location


@dg.definitions
def defs() -> dg.Definitions:
    return code_location(os.environ)
