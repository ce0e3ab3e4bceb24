"""The project's own jobs, loadable by reference so Dagster can run their steps in subprocesses.

A step subprocess imports this module afresh and builds the code location from the environment
(`PYLON_API_URL`, `PYLON_API_TOKEN`, `PYLON_WAREHOUSE_URL`, ...), exactly as `dagster dev` would.
"""

import dagster as dg


def issues_job() -> dg.JobDefinition:
    from pylon_dagster.definitions import defs

    return defs.resolve_job_def("pylon_issues_job")
