"""The Pylon asset graph: issues and their children, the knowledge base, the reference streams,
and the support metrics computed from them."""

from pylon_dagster.assets.analytics import analytics_assets, analytics_checks
from pylon_dagster.assets.checks import build_asset_checks
from pylon_dagster.assets.common import with_shared_properties
from pylon_dagster.assets.issue_children import issue_children
from pylon_dagster.assets.issue_deletions import issue_deletions
from pylon_dagster.assets.issues import issues
from pylon_dagster.assets.knowledge_base import knowledge_base_contents
from pylon_dagster.assets.reference import reference_assets

table_assets = with_shared_properties(
    [issues, issue_children, knowledge_base_contents, *reference_assets]
)
pylon_assets = [*table_assets, issue_deletions, *analytics_assets]
asset_checks = [*build_asset_checks([*table_assets, *analytics_assets]), *analytics_checks]

__all__ = ["asset_checks", "pylon_assets"]
