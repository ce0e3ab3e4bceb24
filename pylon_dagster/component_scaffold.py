"""`dg scaffold defs pylon_dagster.PylonComponent pylon_us`: a `defs.yaml` that loads as it is
written once its token variable is set, named after its folder, with a comment on each choice."""

from __future__ import annotations

import re

import dagster as dg
from dagster.components import scaffold_component

from pylon_dagster.catalog.tablespec import is_plain_name

TEMPLATE = """\
type: {type_name}

attributes:
  # The organization's API token (Pylon: Settings > API; Admin only), read from the environment
  # when a run or sensor starts: never written into the run config or the UI.
  api_token: "{{{{ env.{token_var} }}}}"
  # https://api.eu.usepylon.com for an organization in Pylon's EU region.
  api_url: https://api.usepylon.com
  # Where the tables go: a Postgres URL (kept an EnvVar), left out for an embedded Postgres.
  # warehouse_url: "{{{{ env.ANALYTICS_DB_URL }}}}"
  warehouse_schema: {name}
  # Start of every asset key ({name}/issues) and job, schedule and sensor name.
  key_prefix: {name}
  # First day of the daily `issues` partitions; left out: 30 days before the first load.
  # start_date: "2024-01-01"
"""


def instance_name(folder: str) -> str:
    """A plain lower-case name from a folder's: `pylon-us` becomes `pylon_us`, `2nd-org`
    becomes `pylon_2nd_org` (a name starts with a letter), `---` becomes `instance`."""
    name = re.sub(r"[^a-z0-9_]+", "_", folder.lower()).strip("_")[:57] or "instance"
    return name if is_plain_name(name) else f"pylon_{name}"


class PylonComponentScaffolder(dg.Scaffolder):
    """A YAML instance named after its folder (the n-th appended to a `defs.yaml`: with `_n`);
    the Python form is Dagster's own."""

    def scaffold(self, request: dg.ScaffoldRequest) -> None:
        if request.scaffold_format != "yaml":
            scaffold_component(request)
            return
        if request.append:  # `target_path` is the `defs.yaml` its instance goes into
            declared = request.target_path.read_text()
            count = len(re.findall(r"^type:", declared, flags=re.MULTILINE))
            name = f"{instance_name(request.target_path.parent.name)}_{count + 1}"
            request.target_path.write_text(f"{declared}---\n{self._text(request, name)}")
            return
        request.target_path.mkdir(parents=True, exist_ok=True)
        name = instance_name(request.target_path.name)
        (request.target_path / "defs.yaml").write_text(self._text(request, name))

    @staticmethod
    def _text(request: dg.ScaffoldRequest, name: str) -> str:
        return TEMPLATE.format(
            type_name=request.type_name, token_var=f"{name.upper()}_API_TOKEN", name=name
        )
