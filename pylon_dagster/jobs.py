"""Asset jobs: what schedules, sensors and the headless sync launch."""

from __future__ import annotations

import dagster as dg

from pylon_dagster.assets.common import KEY_PREFIX
from pylon_dagster.assets.issues import ISSUES

ISSUES_SELECTION = dg.AssetSelection.assets(ISSUES).downstream(depth=1)
REFERENCE_SELECTION = dg.AssetSelection.key_prefixes([KEY_PREFIX]) - ISSUES_SELECTION

issues_job = dg.define_asset_job(
    "pylon_issues_job",
    selection=ISSUES_SELECTION,
    description="Issues updated in the partitions' days, then their messages and threads.",
)

reference_job = dg.define_asset_job(
    "pylon_reference_job",
    selection=REFERENCE_SELECTION,
    description="Full refresh of the reference streams and the knowledge base.",
)

jobs = [issues_job, reference_job]
