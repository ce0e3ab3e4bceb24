"""The Pylon asset graph: issues and their children, the knowledge base, the reference streams,
and the support metrics computed from them.

The partitioned assets start at a setting and the table metadata names the warehouse schema, so
the graph is built from `Settings` by `build_assets`.
"""

from typing import NamedTuple

import dagster as dg

from pylon_dagster.assets.analytics import (
    account_support_summary,
    analytics_checks,
    build_daily_metrics,
)
from pylon_dagster.assets.checks import build_asset_checks
from pylon_dagster.assets.common import with_shared_properties, with_table_metadata
from pylon_dagster.assets.issue_children import build_issue_children
from pylon_dagster.assets.issue_deletions import build_issue_deletions
from pylon_dagster.assets.issues import build_issues
from pylon_dagster.assets.knowledge_base import knowledge_base_contents
from pylon_dagster.assets.reference import reference_assets
from pylon_dagster.settings import Settings


class PylonAssets(NamedTuple):
    assets: list[dg.AssetsDefinition]
    checks: list[dg.AssetChecksDefinition]


def build_assets(settings: Settings, partitions: dg.PartitionsDefinition) -> PylonAssets:
    """Every asset and asset check of the code location; `partitions` are the daily partitions
    of `issues` (`issue_partitions(settings.start_date)`)."""
    table_assets = with_shared_properties(
        [
            build_issues(partitions),
            build_issue_children(partitions),
            knowledge_base_contents,
            *reference_assets,
        ]
    )
    tables = with_table_metadata(
        [*table_assets, build_daily_metrics(partitions), account_support_summary],
        settings.warehouse_schema,
    )
    return PylonAssets(
        assets=[*tables, build_issue_deletions(settings.start_date)],
        checks=[*build_asset_checks(tables), *analytics_checks],
    )


__all__ = ["PylonAssets", "build_assets"]
