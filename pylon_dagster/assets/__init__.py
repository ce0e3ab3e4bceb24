"""The Pylon asset graph: issues and their children, the knowledge base, the reference streams,
and the support metrics computed from them.

The partitioned assets start at a setting, the table metadata names the warehouse schema, and an
instance may leave out streams or the metrics, so the graph is built from `Settings` by
`build_assets`.
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

import dagster as dg

from pylon_dagster.assets.analytics import (
    account_support_summary,
    analytics_checks,
    build_daily_metrics,
)
from pylon_dagster.assets.checks import build_asset_checks
from pylon_dagster.assets.common import with_shared_properties, with_table_metadata
from pylon_dagster.assets.issue_children import CHILD_STREAMS, build_issue_children
from pylon_dagster.assets.issue_deletions import build_issue_deletions
from pylon_dagster.assets.issues import ISSUES_STREAM, build_issues
from pylon_dagster.assets.knowledge_base import KB_STREAMS, build_knowledge_base_contents
from pylon_dagster.assets.reference import build_reference_asset
from pylon_dagster.catalog.metric_tables import ANALYTICS_GROUP
from pylon_dagster.catalog.streams import full_refresh_streams
from pylon_dagster.settings import ConfigError, Settings


class PylonAssets(NamedTuple):
    assets: list[dg.AssetsDefinition]
    checks: list[dg.AssetChecksDefinition]


def build_assets(settings: Settings, partitions: dg.PartitionsDefinition) -> PylonAssets:
    """Every asset and asset check of the instance: those of the streams `settings.streams`
    (with `issues`, its deletion pass), and the metrics unless `settings.metrics` is off;
    `partitions` are the daily partitions of `issues` (`issue_partitions(settings.start_date)`).
    A stream left out that an included asset reads is a `ConfigError` (`check_inputs`)."""
    metrics = [build_daily_metrics(partitions), account_support_summary] if settings.metrics else []
    tables = with_table_metadata(
        [*with_shared_properties(synced_assets(settings, partitions)), *metrics],
        settings.warehouse_schema,
    )
    deletions = (
        [build_issue_deletions(settings.start_date)]
        if ISSUES_STREAM.name in settings.streams
        else []
    )
    check_inputs([*tables, *deletions])
    return PylonAssets(
        assets=[*tables, *deletions],
        checks=[*build_asset_checks(tables), *(analytics_checks if settings.metrics else [])],
    )


def synced_assets(
    settings: Settings, partitions: dg.PartitionsDefinition
) -> list[dg.AssetsDefinition]:
    """The assets of the streams `settings` includes: `issues`, one multi-asset for the children
    of each parent (fetched per parent record) and one asset per full-refresh stream."""
    issue_children = settings.included(CHILD_STREAMS)
    kb_children = settings.included(KB_STREAMS)
    return [
        *([build_issues(partitions)] if ISSUES_STREAM.name in settings.streams else []),
        *([build_issue_children(partitions, issue_children)] if issue_children else []),
        *([build_knowledge_base_contents(kb_children)] if kb_children else []),
        *(build_reference_asset(s) for s in settings.included(full_refresh_streams())),
    ]


def check_inputs(assets: Sequence[dg.AssetsDefinition]) -> None:
    """Every asset's inputs are among `assets`: otherwise `streams` left out a stream that an
    included asset reads (a child's parent, an input of the metrics), and the message says
    which, in one line."""
    built = {key for assets_def in assets for key in assets_def.keys}
    readers: defaultdict[str, set[str]] = defaultdict(set)
    metrics_read = False
    for spec in (spec for assets_def in assets for spec in assets_def.specs):
        for dep in spec.deps:
            if dep.asset_key not in built:
                readers[dep.asset_key.path[-1]].add(spec.key.path[-1])
                metrics_read |= spec.group_name == ANALYTICS_GROUP
    if not readers:
        return
    missing = "; ".join(
        f"{table} (read by {', '.join(sorted(readers[table]))})" for table in sorted(readers)
    )
    them = "them" if len(readers) > 1 else "it"
    remedy = f"add {them} to streams" + (", or set metrics to false" if metrics_read else "")
    raise ConfigError(f"streams leaves out {missing}: {remedy}.")


__all__ = ["PylonAssets", "build_assets"]
