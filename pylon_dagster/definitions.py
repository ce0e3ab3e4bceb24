"""The Dagster code location: `dagster dev -m pylon_dagster.definitions` or via workspace.yaml."""

import dagster as dg

defs = dg.Definitions()
