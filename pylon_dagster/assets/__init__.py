"""The Pylon asset graph: issues and their children, the knowledge base, the reference streams."""

from pylon_dagster.assets.checks import build_asset_checks
from pylon_dagster.assets.common import with_shared_properties
from pylon_dagster.assets.issue_children import issue_children
from pylon_dagster.assets.issues import issues
from pylon_dagster.assets.knowledge_base import knowledge_base_contents
from pylon_dagster.assets.reference import reference_assets

pylon_assets = with_shared_properties(
    [issues, issue_children, knowledge_base_contents, *reference_assets]
)
asset_checks = build_asset_checks(pylon_assets)

__all__ = ["asset_checks", "pylon_assets"]
